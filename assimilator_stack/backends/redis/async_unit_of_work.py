"""AsyncRedisUnitOfWork: queued writes sent as one MULTI/EXEC, with optimistic concurrency,
awaited."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from ...core.unit_of_work import AsyncUnitOfWork, RepositoryTransaction
from .async_repository import AsyncRedisRepository

M = TypeVar("M", bound=BaseModel)


class AsyncRedisUnitOfWork(RepositoryTransaction, AsyncUnitOfWork[M]):
    """``async with uow:`` then write through ``uow.repository``, then
    ``await uow.commit()``; RedisUnitOfWork's meaning (all or nothing, reads WATCHed,
    ConcurrencyError when one changed, only_create / only_update for the whole commit)."""

    repository: AsyncRedisRepository[M]

    def __init__(self, repository: AsyncRedisRepository[M], autocommit: bool = False) -> None:
        super().__init__(repository=repository.for_unit_of_work(), autocommit=autocommit)
