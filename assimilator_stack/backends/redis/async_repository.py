"""AsyncRedisRepository: the Redis repository over redis.asyncio, awaited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import redis.asyncio
import redis.asyncio.cluster
from pydantic import BaseModel

from ...core.async_repository import AsyncRepository
from ...core.lazy import AsyncLazyCommand
from ...core.repository import EntityLike, SpecOf
from .async_driver import AsyncSession
from .index_control import AsyncRedisIndex
from .operations import RedisRepositoryBase
from .plans import ModelPlans

if TYPE_CHECKING:
    from ...core.hits import Hit
    from ...core.metrics import Metric
    from .health import IndexStatus

M = TypeVar("M", bound=BaseModel)


class AsyncRedisRepository(RedisRepositoryBase[M], AsyncRepository[M]):
    """RedisRepository over a :class:`redis.asyncio.Redis` client: the same methods,
    arguments, specifications, errors and meaning, awaited (``await repo.get(...)``,
    ``await repo.save(...)``); ``lazy=True`` gives an AsyncLazyCommand, ``stream()`` an async
    iterator.

    Outside a unit of work every write runs at once (atomically); inside one
    (``uow.repository`` of an AsyncRedisUnitOfWork) writes are queued until
    ``await uow.commit()``. Every method is written once, in
    :class:`~assimilator_stack.backends.redis.operations.RedisRepositoryBase`.
    """

    session_type = AsyncSession
    lazy_command = AsyncLazyCommand
    index_face = AsyncRedisIndex
    session: redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster

    def __init__(self, session: redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster,
                 model: type[M],
                 index_timeout: float = 60.0, *, query_timeout_ms: int = 0,
                 unindexed: Literal["raise", "warn"] = "raise",
                 index_check_interval: float = 1.0, redis_wildcards: bool = False,
                 plans: ModelPlans[M] | None = None) -> None:
        super().__init__(session, model, index_timeout, query_timeout_ms=query_timeout_ms,
                         unindexed=unindexed, index_check_interval=index_check_interval,
                         redis_wildcards=redis_wildcards, plans=plans)

    # The exact types of the methods RedisRepositoryBase runs (it returns Any: it is shared
    # with the sync repository). Declarations only: nothing is added to a call.
    if TYPE_CHECKING:
        @overload
        def get(self, *specs: SpecOf[M], lazy: Literal[False] = False
                ) -> Coroutine[Any, Any, M]: ...
        @overload
        def get(self, *specs: SpecOf[M], lazy: Literal[True]) -> AsyncLazyCommand[M]: ...
        @overload
        def get(self, *specs: SpecOf[M], lazy: bool = False
                ) -> Coroutine[Any, Any, M] | AsyncLazyCommand[M]: ...
        def get(self, *specs: SpecOf[M], lazy: bool = False
                ) -> Coroutine[Any, Any, M] | AsyncLazyCommand[M]: ...
        @overload
        def filter(self, *specs: SpecOf[M], lazy: Literal[False] = False
                   ) -> Coroutine[Any, Any, list[M]]: ...
        @overload
        def filter(self, *specs: SpecOf[M], lazy: Literal[True]
                   ) -> AsyncLazyCommand[list[M]]: ...
        @overload
        def filter(self, *specs: SpecOf[M], lazy: bool = False
                   ) -> Coroutine[Any, Any, list[M]] | AsyncLazyCommand[list[M]]: ...
        def filter(self, *specs: SpecOf[M], lazy: bool = False
                   ) -> Coroutine[Any, Any, list[M]] | AsyncLazyCommand[list[M]]: ...
        @overload
        def count(self, *specs: SpecOf[M], lazy: Literal[False] = False
                  ) -> Coroutine[Any, Any, int]: ...
        @overload
        def count(self, *specs: SpecOf[M], lazy: Literal[True]) -> AsyncLazyCommand[int]: ...
        @overload
        def count(self, *specs: SpecOf[M], lazy: bool = False
                  ) -> Coroutine[Any, Any, int] | AsyncLazyCommand[int]: ...
        def count(self, *specs: SpecOf[M], lazy: bool = False
                  ) -> Coroutine[Any, Any, int] | AsyncLazyCommand[int]: ...
        def stream(self, *specs: SpecOf[M], batch_size: int = 1000) -> AsyncIterator[M]: ...
        async def explain(self, *specs: SpecOf[M]) -> list[str]: ...
        async def aggregate(self, *specs: SpecOf[M], group_by: str | Sequence[str] = (),
                            **metrics: Metric) -> list[dict[str, Any]]: ...
        async def suggest(self, field: str, prefix: str, *, limit: int = 10
                          ) -> list[str]: ...
        async def hits(self, *specs: SpecOf[M], highlight: Iterable[str] | str = (),
                       summarize: Iterable[str] | str = (),
                       tags: tuple[str, str] = ("<b>", "</b>")) -> list[Hit[M]]: ...
        async def index_status(self) -> IndexStatus: ...
        @property
        def index(self) -> AsyncRedisIndex: ...
        async def save(self, obj: EntityLike[M] = None, **fields: Any) -> M: ...
        @overload
        async def update(self, obj: EntityLike[M] = None, **values: Any) -> M: ...
        @overload
        async def update(self, obj: SpecOf[M], *specs: SpecOf[M], **values: Any) -> int: ...
        async def update(self, obj: Any = None, *specs: SpecOf[M], **values: Any
                         ) -> M | int: ...
        @overload
        async def delete(self, obj: M) -> None: ...
        @overload
        async def delete(self, obj: SpecOf[M] | None = None, *specs: SpecOf[M]) -> int: ...
        async def delete(self, obj: Any = None, *specs: SpecOf[M]) -> int | None: ...
        async def refresh(self, obj: M) -> None: ...
        async def is_modified(self, obj: M) -> bool: ...
