"""RedisRepository: the sync repository over redis-py."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import redis
import redis.cluster
from pydantic import BaseModel

from ...core.lazy import LazyCommand
from ...core.repository import EntityLike, Repository, SpecOf
from ...core.specs import OnlySpecification
from ...documents.projections import complete, defer_loading, is_read_only
from .index_control import RedisIndex
from .operations import RedisRepositoryBase
from .plans import ModelPlans
from .sync_driver import SyncSession

if TYPE_CHECKING:
    from ...core.hits import Hit
    from ...core.metrics import Metric
    from .health import IndexStatus

M = TypeVar("M", bound=BaseModel)


class RedisRepository(RedisRepositoryBase[M], Repository[M]):
    """Entities of ``model`` as RedisJSON documents under ``{prefix}:{id}``, over a
    :class:`redis.Redis` client or a :class:`redis.cluster.RedisCluster` (README, "Redis
    Cluster").

    Outside a unit of work every write runs at once (atomically); inside one
    (``uow.repository``) writes are queued until ``uow.commit()``. Every method is written
    once, in :class:`~assimilator_stack.backends.redis.operations.RedisRepositoryBase`, and
    shared with
    :class:`~assimilator_stack.aio.AsyncRedisRepository`.
    """

    session_type = SyncSession
    lazy_command = LazyCommand
    index_face = RedisIndex
    session: redis.Redis | redis.cluster.RedisCluster

    def __init__(self, session: redis.Redis | redis.cluster.RedisCluster, model: type[M],
                 index_timeout: float = 60.0,
                 *, query_timeout_ms: int = 0, unindexed: Literal["raise", "warn"] = "raise",
                 index_check_interval: float = 1.0, redis_wildcards: bool = False,
                 plans: ModelPlans[M] | None = None) -> None:
        super().__init__(session, model, index_timeout, query_timeout_ms=query_timeout_ms,
                         unindexed=unindexed, index_check_interval=index_check_interval,
                         redis_wildcards=redis_wildcards, plans=plans)

    def save(self, obj: EntityLike[M] = None, **fields: Any) -> M:
        queue = self._queue
        if queue is not None and not is_read_only(obj):
            # In a unit of work: queued, nothing to send, so no plan to run (per save).
            entity, options = self.plans.build(obj, fields)
            queue.append(self.plans.save_op(entity, options))
            return entity
        saved: M = super().save(obj, **fields)
        return saved

    # -- partial entities (only): a field left out is loaded on first access ---------------

    @overload
    def get(self, *specs: SpecOf[M], lazy: Literal[False] = False) -> M: ...
    @overload
    def get(self, *specs: SpecOf[M], lazy: Literal[True]) -> LazyCommand[M]: ...
    @overload
    def get(self, *specs: SpecOf[M], lazy: bool = False) -> M | LazyCommand[M]: ...
    def get(self, *specs: Any, lazy: bool = False) -> Any:
        found = super().get(*specs, lazy=lazy)
        if not lazy and _partial(specs):
            self._defer(found)
        return found

    @overload
    def filter(self, *specs: SpecOf[M], lazy: Literal[False] = False) -> list[M]: ...
    @overload
    def filter(self, *specs: SpecOf[M], lazy: Literal[True]) -> LazyCommand[list[M]]: ...
    @overload
    def filter(self, *specs: SpecOf[M], lazy: bool = False) -> list[M] | LazyCommand[list[M]]: ...
    def filter(self, *specs: Any, lazy: bool = False) -> Any:
        found = super().filter(*specs, lazy=lazy)
        if not lazy and _partial(specs):
            for entity in found:
                self._defer(entity)
        return found

    def stream(self, *specs: SpecOf[M], batch_size: int = 1000) -> Iterator[M]:
        found = super().stream(*specs, batch_size=batch_size)
        return self._deferring(found) if _partial(specs) else found

    # The exact types of the methods RedisRepositoryBase runs (it returns Any: it is shared
    # with the async repository). Declarations only: nothing is added to a call.
    if TYPE_CHECKING:
        @overload
        def count(self, *specs: SpecOf[M], lazy: Literal[False] = False) -> int: ...
        @overload
        def count(self, *specs: SpecOf[M], lazy: Literal[True]) -> LazyCommand[int]: ...
        @overload
        def count(self, *specs: SpecOf[M], lazy: bool = False) -> int | LazyCommand[int]: ...
        def count(self, *specs: SpecOf[M], lazy: bool = False) -> int | LazyCommand[int]: ...
        def explain(self, *specs: SpecOf[M]) -> list[str]: ...
        def aggregate(self, *specs: SpecOf[M], group_by: str | Sequence[str] = (),
                      **metrics: Metric) -> list[dict[str, Any]]: ...
        def suggest(self, field: str, prefix: str, *, limit: int = 10) -> list[str]: ...
        def hits(self, *specs: SpecOf[M], highlight: Iterable[str] | str = (),
                 summarize: Iterable[str] | str = (), tags: tuple[str, str] = ("<b>", "</b>")
                 ) -> list[Hit[M]]: ...
        def index_status(self) -> IndexStatus: ...
        @property
        def index(self) -> RedisIndex: ...
        @overload
        def update(self, obj: EntityLike[M] = None, **values: Any) -> M: ...
        @overload
        def update(self, obj: SpecOf[M], *specs: SpecOf[M], **values: Any) -> int: ...
        def update(self, obj: Any = None, *specs: SpecOf[M], **values: Any) -> M | int: ...
        @overload
        def delete(self, obj: M) -> None: ...
        @overload
        def delete(self, obj: SpecOf[M] | None = None, *specs: SpecOf[M]) -> int: ...
        def delete(self, obj: Any = None, *specs: SpecOf[M]) -> int | None: ...
        def refresh(self, obj: M) -> None: ...
        def is_modified(self, obj: M) -> bool: ...

    def _deferring(self, found: Iterator[M]) -> Iterator[M]:
        try:
            for entity in found:
                self._defer(entity)
                yield entity
        finally:  # stopping early frees what the read holds on the server
            close = getattr(found, "close", None)
            if close is not None:
                close()

    def _defer(self, entity: Any) -> None:
        def load_rest() -> None:
            complete(entity, self._run(self._reading(self.plans.fetch(entity, self._watch))))

        defer_loading(entity, load_rest)


def _partial(specs: tuple[Any, ...]) -> bool:
    return any(isinstance(spec, OnlySpecification) for spec in specs)
