"""AsyncRedisUnitOfWork: queued writes sent as one MULTI/EXEC, with optimistic concurrency,
awaited."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from ...core.unit_of_work import AsyncUnitOfWork
from .async_repository import AsyncRedisRepository
from .transaction import RedisTransaction, Transaction

M = TypeVar("M", bound=BaseModel)


class AsyncRedisUnitOfWork(RedisTransaction, AsyncUnitOfWork[M]):
    """``async with uow:`` then write through ``uow.repository``, then
    ``await uow.commit()``; RedisUnitOfWork's meaning (all or nothing, reads WATCHed,
    ConcurrencyError when one changed, only_create / only_update for the whole commit)."""

    repository: AsyncRedisRepository[M]

    def __init__(self, repository: AsyncRedisRepository[M], autocommit: bool = False) -> None:
        self.transaction = Transaction()  # its queued writes and watched reads
        super().__init__(repository=repository.for_unit_of_work(self.transaction),
                         autocommit=autocommit)
