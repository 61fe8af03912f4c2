"""The abstract AsyncRepository: what async user code depends on, whatever stores the
entities. The same methods, arguments, specifications, errors and meaning as
:class:`~assimilator_stack.core.repository.Repository`, awaited."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .specs import SpecificationList

M = TypeVar("M", bound=BaseModel)


class AsyncRepository(ABC, Generic[M]):
    """``await repo.get(...)``, ``await repo.save(...)``, ...; with ``lazy=True`` a read
    returns an :class:`~assimilator_stack.core.lazy.AsyncLazyCommand` to await later.

    Implementations may return any awaitable (a coroutine, an AsyncLazyCommand) from these
    methods, so they are declared as coroutines here and typed loosely, as Repository is.
    """

    specs: type[SpecificationList] = SpecificationList

    def __init__(self, session: Any, model: type[M]) -> None:
        self.session = session
        self.model = model

    @abstractmethod
    async def get(self, *specs: Any, lazy: bool = False) -> Any: ...

    @abstractmethod
    async def filter(self, *specs: Any, lazy: bool = False) -> Any: ...

    @abstractmethod
    async def count(self, *specs: Any, lazy: bool = False) -> Any: ...

    @abstractmethod
    async def save(self, obj: Any = None, **fields: Any) -> Any: ...

    @abstractmethod
    async def update(self, obj: Any = None, *specs: Any, **values: Any) -> Any: ...

    @abstractmethod
    async def delete(self, obj: Any = None, *specs: Any) -> Any: ...

    @abstractmethod
    async def refresh(self, obj: M) -> Any: ...

    @abstractmethod
    async def is_modified(self, obj: M) -> Any: ...
