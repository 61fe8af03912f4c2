"""RedisRepository: the sync repository over redis-py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import redis
from pydantic import BaseModel

from ..core.lazy import LazyCommand
from ..core.repository import Repository
from ..core.specs import Specification
from ..exceptions import InvalidQueryError, NotFoundError
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
                 *, query_timeout_ms: int = 0, core: RedisCore[M] | None = None) -> None:
        super().__init__(session=session, model=model)
        self.core: RedisCore[M] = core or RedisCore(
            model, index_timeout=index_timeout, query_timeout_ms=query_timeout_ms)
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
            self._run(self.core.commit(ops, reads_watched=watched, ready=self._ready))
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
            SyncSession(self.session).run(
                self.core.commit([op], reads_watched=False, ready=self._ready))

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

    def stream(self, *specs: Any, batch_size: int = 1000) -> Iterator[M]:
        """Every match, in the order ``filter`` gives, read ``batch_size`` at a time (memory
        holds one batch). Stopping early frees what the read holds on the server."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidQueryError(
                f"stream(batch_size=...) must be an int >= 1, got {batch_size!r}"
            )
        read = self.core.read(specs, page=batch_size)  # checked now, not at the first next()
        return self._stream(read)

    def _stream(self, read: Any) -> Iterator[M]:
        try:
            while not read.done:
                yield from self._read(
                    self.core.read_page(read, self._ready, self._watch))
        finally:
            if not read.done:
                self._run(self.core.close_read(read))

    def count(self, *specs: Any, lazy: bool = False) -> Any:
        if lazy:
            return LazyCommand(self.count, *specs)
        return self._run(self.core.count(specs, self._ready))

    def explain(self, *specs: Any) -> list[str]:
        """The FT.AGGREGATE (or, for a lookup by id, JSON.MGET) ``filter(*specs)`` sends first,
        as a list of arguments."""
        return self._run(self.core.explain(specs, self._ready))

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
        """``update(entity)``: store a changed entity (it must exist). ``update(*specs,
        **values)``: set ``values`` on every match; returns how many entities changed."""
        if _is_selection(obj) or (obj is None and specs):
            selection = specs if obj is None else (obj, *specs)
            return self._bulk(self.core.update_matches(
                selection, values, self._ready, queue=self._watch))
        entity, options = self.core.build(obj, values)
        self._write(self.core.save_op(entity, options, force_update=True))
        return entity

    def delete(self, obj: Any = None, *specs: Any) -> Any:
        """``delete(entity)``: delete it. ``delete(*specs)``: delete every match; returns how
        many. ``delete()`` deletes nothing."""
        if obj is None and not specs:
            return 0
        if _is_selection(obj) or obj is None:
            selection = specs if obj is None else (obj, *specs)
            return self._bulk(self.core.delete_matches(
                selection, self._ready, queue=self._watch))
        self._write(self.core.delete_op(obj))
        return None

    def _bulk(self, plan: Plan[tuple[int, list[WriteOp]]]) -> int:
        if self._pending is None:
            done, _ = SyncSession(self.session).run(plan)
            return done
        done, ops = self._read(plan)
        self._pending.extend(ops)
        return done


def _is_selection(obj: Any) -> bool:
    """The first argument of update()/delete() selects entities (a specification or a Python
    predicate) rather than being one."""
    if isinstance(obj, Specification):
        return True
    return callable(obj) and not isinstance(obj, (BaseModel, dict, type))
