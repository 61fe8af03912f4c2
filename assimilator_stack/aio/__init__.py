"""The async API: the same patterns over redis.asyncio (and the in-memory twin), awaited.

Every class here runs the plans of :mod:`assimilator_stack.redis_.core` (or wraps the sync
in-memory twin); nothing about Redis is written twice.
"""

from ..core.async_repository import AsyncRepository
from ..core.lazy import AsyncLazyCommand
from ..core.unit_of_work import AsyncUnitOfWork
from ..retry import async_retry_on_conflict
from .driver import AsyncSession
from .internal import AsyncInternalRepository, AsyncInternalUnitOfWork
from .repository import AsyncRedisRepository
from .unit_of_work import AsyncRedisUnitOfWork

__all__ = [
    "AsyncInternalRepository",
    "AsyncInternalUnitOfWork",
    "AsyncLazyCommand",
    "AsyncRedisRepository",
    "AsyncRedisUnitOfWork",
    "AsyncRepository",
    "AsyncSession",
    "AsyncUnitOfWork",
    "async_retry_on_conflict",
]
