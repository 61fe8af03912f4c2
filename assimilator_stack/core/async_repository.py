"""The abstract AsyncRepository: what async user code depends on, whatever stores the
entities. The same methods, arguments, specifications, errors and meaning as
:class:`~assimilator_stack.core.repository.Repository`, awaited."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Coroutine, Iterable, Sequence
from typing import Any, Generic, Literal, TypeVar, overload

from pydantic import BaseModel

from .hits import Hit
from .lazy import AsyncLazyCommand
from .metrics import Metric
from .repository import EntityLike, SpecOf
from .specs import SpecificationList

M = TypeVar("M", bound=BaseModel)


class AsyncRepository(ABC, Generic[M]):
    """``await repo.get(...)``, ``await repo.save(...)``, ...; with ``lazy=True`` a read
    returns an :class:`~assimilator_stack.core.lazy.AsyncLazyCommand` to await later, and
    ``stream()`` an async iterator.

    The methods return coroutines (so ``asyncio.create_task(repo.get(...))`` works), typed
    exactly as Repository's: ``await repo.get(...)`` is an ``M``.
    """

    specs: type[SpecificationList] = SpecificationList

    def __init__(self, session: Any, model: type[M]) -> None:
        self.session = session
        self.model = model

    @overload
    def get(self, *specs: SpecOf[M], lazy: Literal[False] = False
            ) -> Coroutine[Any, Any, M]: ...
    @overload
    def get(self, *specs: SpecOf[M], lazy: Literal[True]) -> AsyncLazyCommand[M]: ...
    @overload
    def get(self, *specs: SpecOf[M], lazy: bool = False
            ) -> Coroutine[Any, Any, M] | AsyncLazyCommand[M]: ...
    @abstractmethod
    def get(self, *specs: SpecOf[M], lazy: bool = False
            ) -> Coroutine[Any, Any, M] | AsyncLazyCommand[M]:
        """The one entity ``specs`` select (NotFoundError / MultipleResultsError)."""

    @overload
    def filter(self, *specs: SpecOf[M], lazy: Literal[False] = False
               ) -> Coroutine[Any, Any, list[M]]: ...
    @overload
    def filter(self, *specs: SpecOf[M], lazy: Literal[True]) -> AsyncLazyCommand[list[M]]: ...
    @overload
    def filter(self, *specs: SpecOf[M], lazy: bool = False
               ) -> Coroutine[Any, Any, list[M]] | AsyncLazyCommand[list[M]]: ...
    @abstractmethod
    def filter(self, *specs: SpecOf[M], lazy: bool = False
               ) -> Coroutine[Any, Any, list[M]] | AsyncLazyCommand[list[M]]:
        """Every entity ``specs`` select, in their order and page."""

    @overload
    def count(self, *specs: SpecOf[M], lazy: Literal[False] = False
              ) -> Coroutine[Any, Any, int]: ...
    @overload
    def count(self, *specs: SpecOf[M], lazy: Literal[True]) -> AsyncLazyCommand[int]: ...
    @overload
    def count(self, *specs: SpecOf[M], lazy: bool = False
              ) -> Coroutine[Any, Any, int] | AsyncLazyCommand[int]: ...
    @abstractmethod
    def count(self, *specs: SpecOf[M], lazy: bool = False
              ) -> Coroutine[Any, Any, int] | AsyncLazyCommand[int]:
        """How many entities the filters of ``specs`` select."""

    @abstractmethod
    async def hits(self, *specs: SpecOf[M], highlight: Iterable[str] | str = (),
                   summarize: Iterable[str] | str = (), tags: tuple[str, str] = ("<b>", "</b>")
                   ) -> list[Hit[M]]:
        """Like ``filter``, each entity as a :class:`Hit`: its relevance when a ``search`` is
        among ``specs`` (else None) and, for the named ``Text()`` fields, its text with the
        matched words wrapped in ``tags`` (``summarize``: fragments around the matches)."""

    @abstractmethod
    def stream(self, *specs: SpecOf[M], batch_size: int = 1000) -> AsyncIterator[M]:
        """Every match, in the order ``filter`` gives (``async for``), read ``batch_size``
        at a time."""

    @abstractmethod
    async def aggregate(self, *specs: SpecOf[M], group_by: str | Sequence[str] = (),
                        **metrics: Metric) -> list[dict[str, Any]]:
        """One row per group of the entities ``specs`` select (see Repository.aggregate)."""

    @abstractmethod
    async def suggest(self, field: str, prefix: str, *, limit: int = 10) -> list[str]:
        """Distinct values of a str field starting with ``prefix`` (see
        Repository.suggest)."""

    @abstractmethod
    async def explain(self, *specs: SpecOf[M]) -> list[str]:
        """The command ``filter(*specs)`` sends first, as a list of arguments."""

    @abstractmethod
    async def save(self, obj: EntityLike[M] = None, **fields: Any) -> M:
        """Store an entity (made from ``obj`` and/or ``fields``); returns it."""

    @overload
    async def update(self, obj: EntityLike[M] = None, **values: Any) -> M: ...
    @overload
    async def update(self, obj: SpecOf[M], *specs: SpecOf[M], **values: Any) -> int: ...
    @abstractmethod
    async def update(self, obj: Any = None, *specs: SpecOf[M], **values: Any) -> M | int:
        """``update(entity)``: store a changed entity that exists (returns it).
        ``update(*specs, **values)``: set ``values`` on every match (returns how many)."""

    @overload
    async def delete(self, obj: M) -> None: ...
    @overload
    async def delete(self, obj: SpecOf[M] | None = None, *specs: SpecOf[M]) -> int: ...
    @abstractmethod
    async def delete(self, obj: Any = None, *specs: SpecOf[M]) -> int | None:
        """``delete(entity)``: delete it (None). ``delete(*specs)``: delete every match
        (returns how many); ``delete()`` deletes none (0)."""

    @abstractmethod
    async def refresh(self, obj: M) -> None:
        """Load ``obj`` again from the store, in place."""

    @abstractmethod
    async def is_modified(self, obj: M) -> bool:
        """``obj`` differs from what is stored (or is not stored)."""
