"""The async API: the same patterns over redis.asyncio (and the in-memory twin), awaited.

Every class here runs the plans of :mod:`assimilator_stack.redis_.core` through the methods
of :class:`~assimilator_stack.redis_.base.RedisRepositoryBase` (or wraps the sync in-memory
twin); nothing about Redis is written twice. Everything is also importable from
``assimilator_stack``.
"""

from ..core.async_repository import AsyncRepository as AsyncRepository
from ..core.lazy import AsyncLazyCommand as AsyncLazyCommand
from ..core.unit_of_work import AsyncUnitOfWork as AsyncUnitOfWork
from ..retry import async_retry_on_conflict as async_retry_on_conflict
from .driver import AsyncSession as AsyncSession
from .internal import AsyncInternalRepository as AsyncInternalRepository
from .internal import AsyncInternalUnitOfWork as AsyncInternalUnitOfWork
from .repository import AsyncRedisRepository as AsyncRedisRepository
from .unit_of_work import AsyncRedisUnitOfWork as AsyncRedisUnitOfWork
