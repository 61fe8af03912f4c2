"""RedisUnitOfWork: queued writes sent as one MULTI/EXEC, with optimistic concurrency."""

from __future__ import annotations

from typing import Any

from ..core.unit_of_work import RepositoryTransaction, UnitOfWork
from .repository import RedisRepository


class RedisUnitOfWork(RepositoryTransaction, UnitOfWork):
    """``with uow:`` then write through ``uow.repository``, then ``uow.commit()``.

    Entities read through ``uow.repository`` inside the block are WATCHed: if another client
    changes or deletes one before commit, the commit writes nothing and raises
    ConcurrencyError. only_create / only_update hold for the whole commit.
    """

    repository: RedisRepository[Any]

    def __init__(self, repository: RedisRepository[Any], autocommit: bool = False) -> None:
        super().__init__(repository=repository.for_unit_of_work(), autocommit=autocommit)
