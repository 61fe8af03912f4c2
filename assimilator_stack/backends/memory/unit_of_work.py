"""InternalUnitOfWork: the in-memory twin of RedisUnitOfWork."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from ...core.unit_of_work import RepositoryTransaction, UnitOfWork
from .repository import InternalRepository

M = TypeVar("M", bound=BaseModel)


class InternalUnitOfWork(RepositoryTransaction, UnitOfWork[M]):
    """``with uow:`` then write through ``uow.repository``, then ``uow.commit()``.

    As RedisUnitOfWork: writes are queued and applied together at commit (all or nothing:
    only_create / only_update are checked for the whole commit first); entities read through
    ``uow.repository`` are watched, and if another repository on the same dict changed or
    deleted one before the commit, nothing is written and ConcurrencyError is raised.
    """

    repository: InternalRepository[M]

    def __init__(self, repository: InternalRepository[M], autocommit: bool = False) -> None:
        super().__init__(repository=repository.for_unit_of_work(), autocommit=autocommit)
