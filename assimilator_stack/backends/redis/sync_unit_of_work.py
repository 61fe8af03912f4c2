"""RedisUnitOfWork: queued writes sent as one MULTI/EXEC, with optimistic concurrency."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from ...core.unit_of_work import UnitOfWork
from .sync_repository import RedisRepository
from .transaction import RedisTransaction, Transaction

M = TypeVar("M", bound=BaseModel)


class RedisUnitOfWork(RedisTransaction, UnitOfWork[M]):
    """``with uow:`` then write through ``uow.repository``, then ``uow.commit()``.

    Entities read through ``uow.repository`` inside the block are WATCHed: if another client
    changes or deletes one before commit, the commit writes nothing and raises
    ConcurrencyError. only_create / only_update hold for the whole commit.
    """

    repository: RedisRepository[M]

    def __init__(self, repository: RedisRepository[M], autocommit: bool = False) -> None:
        self.transaction = Transaction()  # its queued writes and watched reads
        super().__init__(repository=repository.for_unit_of_work(self.transaction),
                         autocommit=autocommit)
