"""The abstract UnitOfWork: a transaction boundary around a repository's writes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any


class UnitOfWork(ABC):
    """``with uow: ...; uow.commit()``. Leaving the block without commit writes nothing
    (unless ``autocommit``); an exception inside rolls back and propagates."""

    repository: Any

    def __init__(self, repository: Any, autocommit: bool = False) -> None:
        self.repository = repository
        self.autocommit = autocommit

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    def close(self) -> None:
        """Release what the unit of work holds; called when the block ends."""

    def __enter__(self) -> UnitOfWork:
        self.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is not None:
                self.rollback()
            elif self.autocommit:
                self.commit()
            else:
                self.rollback()
        finally:
            self.close()
