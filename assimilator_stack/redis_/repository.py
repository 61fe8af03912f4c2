"""RedisRepository: the sync repository over redis-py."""

from __future__ import annotations

from typing import Literal, TypeVar

import redis
from pydantic import BaseModel

from ..core.lazy import LazyCommand
from ..core.repository import Repository
from .base import RedisRepositoryBase
from .core import RedisCore
from .driver import SyncSession

M = TypeVar("M", bound=BaseModel)


class RedisRepository(RedisRepositoryBase[M], Repository[M]):
    """Entities of ``model`` as RedisJSON documents under ``{prefix}:{id}``, over a
    :class:`redis.Redis` client.

    Outside a unit of work every write runs at once (atomically); inside one
    (``uow.repository``) writes are queued until ``uow.commit()``. Every method is written
    once, in :class:`~assimilator_stack.redis_.base.RedisRepositoryBase`, and shared with
    :class:`~assimilator_stack.aio.AsyncRedisRepository`.
    """

    session_type = SyncSession
    lazy_command = LazyCommand
    session: redis.Redis

    def __init__(self, session: redis.Redis, model: type[M], index_timeout: float = 60.0,
                 *, query_timeout_ms: int = 0, unindexed: Literal["raise", "warn"] = "raise",
                 index_check_interval: float = 1.0, core: RedisCore[M] | None = None) -> None:
        super().__init__(session, model, index_timeout, query_timeout_ms=query_timeout_ms,
                         unindexed=unindexed, index_check_interval=index_check_interval,
                         core=core)
