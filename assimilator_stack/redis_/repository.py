"""RedisRepository: the sync repository over redis-py."""

from __future__ import annotations

from typing import Any, TypeVar

import redis
from pydantic import BaseModel

from ..core.lazy import LazyCommand
from ..core.repository import Repository
from ..exceptions import NotFoundError
from .core import RedisCore, WriteOp
from .driver import SyncSession
from .protocol import Plan
from .ready import ready_indexes

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class RedisRepository(Repository[M]):
    """Entities of ``model`` as RedisJSON documents under ``{prefix}:{id}``.

    Outside a unit of work every write runs at once (atomically); inside one
    (``uow.repository``) writes are queued until ``uow.commit()``.
    """

    def __init__(self, session: redis.Redis, model: type[M], index_timeout: float = 60.0,
                 *, core: RedisCore[M] | None = None) -> None:
        super().__init__(session=session, model=model)
        self.core: RedisCore[M] = core or RedisCore(model, index_timeout=index_timeout)
        self._ready = ready_indexes(session)
        self._session = SyncSession(session)
        self._pending: list[WriteOp] | None = None  # set while inside a unit of work
        self._watching = False

    def for_unit_of_work(self) -> RedisRepository[M]:
        """A repository for one unit of work: same client and model, its own watched
        connection and queue of writes."""
        return RedisRepository(self.session, self.model, core=self.core)

    # -- what a unit of work drives ----------------------------------------------------------

    def _begin(self) -> None:
        self._session.release()
        self._pending = []
        self._watching = False

    def _commit(self) -> None:
        ops, self._pending = self._pending or [], []
        watched, self._watching = self._watching, False
        try:
            self._run(self.core.commit(ops, reads_watched=watched))
        finally:
            self._session.release()

    def _rollback(self) -> None:
        self._pending = [] if self._pending is not None else None
        self._watching = False
        self._session.release()

    def _close(self) -> None:
        self._rollback()
        self._pending = None

    def _run(self, plan: Plan[T]) -> T:
        return self._session.run(plan)

    def _read(self, plan: Plan[T]) -> T:
        """Run a read; keys it WATCHed count as read by the unit of work even when the read
        then failed (NotFoundError: "it was absent" is what the caller decides on)."""
        try:
            return self._run(plan)
        finally:
            self._watching |= self._session.watching

    def _write(self, op: WriteOp) -> None:
        if self._pending is not None:
            self._pending.append(op)
        else:
            SyncSession(self.session).run(self.core.commit([op], reads_watched=False))

    @property
    def _watch(self) -> bool:
        return self._pending is not None

    # -- reads ------------------------------------------------------------------------------

    def get(self, *specs: Any, lazy: bool = False) -> Any:
        if lazy:
            return LazyCommand(self.get, *specs)
        return self._read(self.core.get(specs, self._ready, self._watch))

    def filter(self, *specs: Any, lazy: bool = False) -> Any:
        if lazy:
            return LazyCommand(self.filter, *specs)
        return self._read(self.core.filter(specs, self._ready, self._watch))

    def count(self, *specs: Any, lazy: bool = False) -> Any:
        if lazy:
            return LazyCommand(self.count, *specs)
        return self._run(self.core.count(specs, self._ready))

    def refresh(self, obj: M) -> None:
        fresh = self._read(self.core.fetch(obj, self._watch))
        obj.__dict__.update(fresh.__dict__)
        # extra="allow" models keep unknown keys outside __dict__
        object.__setattr__(obj, "__pydantic_extra__", fresh.__pydantic_extra__)
        object.__setattr__(obj, "__pydantic_fields_set__", set(fresh.__pydantic_fields_set__))

    def is_modified(self, obj: M) -> bool:
        try:
            stored = self._run(self.core.fetch(obj, watch=False))
        except NotFoundError:
            return True
        return not self.core.same(stored, obj)

    # -- writes -----------------------------------------------------------------------------

    def save(self, obj: Any = None, **fields: Any) -> M:
        entity, options = self.core.build(obj, fields)
        self._write(self.core.save_op(entity, options))
        return entity

    def update(self, obj: Any = None, *specs: Any, **values: Any) -> Any:
        entity, options = self.core.build(obj, values)
        self._write(self.core.save_op(entity, options, force_update=True))
        return entity

    def delete(self, obj: Any = None, *specs: Any) -> Any:
        if obj is None:
            return None
        self._write(self.core.delete_op(obj))
        return None
