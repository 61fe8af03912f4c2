"""The async API: the same patterns over redis.asyncio (and the in-memory twin), awaited.

Every class here runs the plans of :mod:`assimilator_stack.backends.redis.plans` through
the methods of :class:`~assimilator_stack.backends.redis.operations.RedisRepositoryBase` (or
wraps the sync in-memory twin); nothing about Redis is written twice. Everything is also
importable from ``assimilator_stack``.
"""

from ..backends.memory.async_repository import AsyncInternalRepository as AsyncInternalRepository
from ..backends.memory.async_repository import AsyncInternalUnitOfWork as AsyncInternalUnitOfWork
from ..backends.redis.async_driver import AsyncSession as AsyncSession
from ..backends.redis.async_repository import AsyncRedisRepository as AsyncRedisRepository
from ..backends.redis.async_unit_of_work import AsyncRedisUnitOfWork as AsyncRedisUnitOfWork
from ..core.async_repository import AsyncRepository as AsyncRepository
from ..core.lazy import AsyncLazyCommand as AsyncLazyCommand
from ..core.retry import async_retry_on_conflict as async_retry_on_conflict
from ..core.unit_of_work import AsyncUnitOfWork as AsyncUnitOfWork
