"""The abstract UnitOfWork and AsyncUnitOfWork: a transaction boundary around a repository's
writes (``with uow: ...`` / ``async with uow: ...``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .async_repository import AsyncRepository
from .repository import Repository

M = TypeVar("M", bound=BaseModel)
U = TypeVar("U", bound="UnitOfWork[Any]")

# What a unit of work's repository says when it is used outside the block (UnitOfWorkError).
OUTSIDE_COMMIT = (
    "commit() outside `with uow:` has nothing to send: writes through uow.repository are "
    "queued only inside the block, and commit() must be called there"
)
OUTSIDE_WRITE = (
    "a write through uow.repository outside `with uow:` would not be part of any commit; "
    "write inside the block (then uow.commit()), or through the repository itself to "
    "write at once"
)
NESTED_BEGIN = "`with uow:` inside a block of the same unit of work; use one block"
A = TypeVar("A", bound="AsyncUnitOfWork[Any]")


class _Boundary:
    """What both faces share: the repository, autocommit, and how a block ends."""

    repository: Any

    def __init__(self, repository: Any, autocommit: bool = False) -> None:
        self.repository = repository
        self.autocommit = autocommit

    def _commits_on_exit(self, exc_type: type[BaseException] | None) -> bool:
        """Leaving the block commits only with autocommit and no exception."""
        return exc_type is None and self.autocommit


class UnitOfWork(_Boundary, ABC, Generic[M]):
    """``with uow: ...; uow.commit()``. Leaving the block without commit writes nothing
    (unless ``autocommit``); an exception inside rolls back and propagates.

    Generic over the model of its repository: ``UnitOfWork[User]`` has a
    ``Repository[User]`` (``RedisUnitOfWork[User]`` a ``RedisRepository[User]``)."""

    repository: Repository[M]

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    def close(self) -> None:
        """Release what the unit of work holds; called when the block ends."""

    def __enter__(self: U) -> U:
        self.begin()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._commits_on_exit(exc_type):
                self.commit()
            else:
                self.rollback()
        finally:
            self.close()


class AsyncUnitOfWork(_Boundary, ABC, Generic[M]):
    """The async face of :class:`UnitOfWork`: ``async with uow: ...; await uow.commit()``,
    with the same meaning. Async code depends on this type as sync code does on UnitOfWork
    (``AsyncUnitOfWork[User]`` has an ``AsyncRepository[User]``)."""

    repository: AsyncRepository[M]

    @abstractmethod
    async def begin(self) -> None: ...

    @abstractmethod
    async def commit(self) -> None: ...

    @abstractmethod
    async def rollback(self) -> None: ...

    async def close(self) -> None:
        """Release what the unit of work holds; awaited when the block ends."""

    async def __aenter__(self: A) -> A:
        await self.begin()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if self._commits_on_exit(exc_type):
                await self.commit()
            else:
                await self.rollback()
        finally:
            await self.close()


class RepositoryTransaction:
    """begin / commit / rollback / close handed to the repository's ``_begin``, ``_commit``,
    ``_rollback``, ``_close`` (which hold the unit-of-work state); what those return, None
    or an awaitable, is returned. Mixed into the concrete units of work, sync and async."""

    repository: Any

    def begin(self) -> Any:
        return self.repository._begin()

    def commit(self) -> Any:
        return self.repository._commit()

    def rollback(self) -> Any:
        return self.repository._rollback()

    def close(self) -> Any:
        return self.repository._close()
