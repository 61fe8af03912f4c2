"""AsyncRedisRepository: the Redis repository over redis.asyncio, awaited."""

from __future__ import annotations

from typing import Literal, TypeVar

import redis.asyncio
from pydantic import BaseModel

from ..core.async_repository import AsyncRepository
from ..core.lazy import AsyncLazyCommand
from ..redis_.base import RedisRepositoryBase
from ..redis_.core import RedisCore
from .driver import AsyncSession

M = TypeVar("M", bound=BaseModel)


class AsyncRedisRepository(RedisRepositoryBase[M], AsyncRepository[M]):
    """RedisRepository over a :class:`redis.asyncio.Redis` client: the same methods,
    arguments, specifications, errors and meaning, awaited (``await repo.get(...)``,
    ``await repo.save(...)``); ``lazy=True`` gives an AsyncLazyCommand, ``stream()`` an async
    iterator.

    Outside a unit of work every write runs at once (atomically); inside one
    (``uow.repository`` of an AsyncRedisUnitOfWork) writes are queued until
    ``await uow.commit()``. Every method is written once, in
    :class:`~assimilator_stack.redis_.base.RedisRepositoryBase`.
    """

    session_type = AsyncSession
    lazy_command = AsyncLazyCommand
    session: redis.asyncio.Redis

    def __init__(self, session: redis.asyncio.Redis, model: type[M],
                 index_timeout: float = 60.0, *, query_timeout_ms: int = 0,
                 unindexed: Literal["raise", "warn"] = "raise",
                 index_check_interval: float = 1.0, core: RedisCore[M] | None = None) -> None:
        super().__init__(session, model, index_timeout, query_timeout_ms=query_timeout_ms,
                         unindexed=unindexed, index_check_interval=index_check_interval,
                         core=core)
