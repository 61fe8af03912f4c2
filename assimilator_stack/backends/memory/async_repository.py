"""AsyncInternalRepository / AsyncInternalUnitOfWork: the in-memory twin, awaited.

Thin wrappers around :class:`~assimilator_stack.backends.memory.InternalRepository` (a dict has no
I/O to wait for): each method runs the sync twin's method when awaited, so async code can be
tested against the twin exactly as sync code is (pattern substitution).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from pydantic import BaseModel

from ...core.async_repository import AsyncRepository
from ...core.hits import Hit
from ...core.lazy import AsyncLazyCommand
from ...core.metrics import Metric
from ...core.repository import EntityLike, SpecOf
from ...core.unit_of_work import AsyncUnitOfWork, RepositoryTransaction
from ...documents.entities import ModelDocuments
from .repository import InternalRepository

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


async def _later(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return method(*args, **kwargs)


def _awaited(name: str, lazy: bool = False) -> Callable[..., Any]:
    """The sync twin's method ``name``, run when awaited (``lazy=True``: an
    AsyncLazyCommand, for the reads that take it)."""

    def method(self: AsyncInternalRepository[Any], *args: Any, **kwargs: Any) -> Any:
        if lazy and kwargs.pop("lazy", False):
            return AsyncLazyCommand(method, self, *args, **kwargs)
        return _later(getattr(self.sync, name), *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``await repo.{name}(...)``: InternalRepository.{name}, awaited."
    return method


class _Entities(Generic[T]):
    """An async iterator over entities the twin already found."""

    def __init__(self, found: Iterable[T]) -> None:
        self._found = iter(found)

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return next(self._found)
        except StopIteration:
            raise StopAsyncIteration from None


class AsyncInternalRepository(AsyncRepository[M]):
    """Entities of ``model`` in ``session`` (a dict; a new one when None), awaited; as
    :class:`~assimilator_stack.backends.memory.InternalRepository`, which it wraps (``.sync``)."""

    def __init__(self, session: dict[str, Any] | None = None, model: type[M] | None = None,
                 *, clock: Callable[[], float] = time.monotonic,
                 documents: ModelDocuments[M] | None = None,
                 sync: InternalRepository[M] | None = None) -> None:
        self.sync: InternalRepository[M] = sync if sync is not None else InternalRepository(
            session, model, clock=clock, documents=documents)
        self.sync.deferred_loading = False  # as AsyncRedisRepository: attribute access cannot await
        super().__init__(session=self.sync.session, model=self.sync.model)

    @property
    def documents(self) -> ModelDocuments[M]:
        return self.sync.documents

    def for_unit_of_work(self) -> AsyncInternalRepository[M]:
        return AsyncInternalRepository(sync=self.sync.for_unit_of_work())

    if TYPE_CHECKING:  # the exact types of what _awaited makes (as AsyncRepository's)
        @overload
        def get(self, *specs: SpecOf[M], lazy: Literal[False] = False
                ) -> Coroutine[Any, Any, M]: ...
        @overload
        def get(self, *specs: SpecOf[M], lazy: Literal[True]) -> AsyncLazyCommand[M]: ...
        @overload
        def get(self, *specs: SpecOf[M], lazy: bool = False
                ) -> Coroutine[Any, Any, M] | AsyncLazyCommand[M]: ...
        def get(self, *specs: SpecOf[M], lazy: bool = False
                ) -> Coroutine[Any, Any, M] | AsyncLazyCommand[M]: ...
        @overload
        def filter(self, *specs: SpecOf[M], lazy: Literal[False] = False
                   ) -> Coroutine[Any, Any, list[M]]: ...
        @overload
        def filter(self, *specs: SpecOf[M], lazy: Literal[True]
                   ) -> AsyncLazyCommand[list[M]]: ...
        @overload
        def filter(self, *specs: SpecOf[M], lazy: bool = False
                   ) -> Coroutine[Any, Any, list[M]] | AsyncLazyCommand[list[M]]: ...
        def filter(self, *specs: SpecOf[M], lazy: bool = False
                   ) -> Coroutine[Any, Any, list[M]] | AsyncLazyCommand[list[M]]: ...
        @overload
        def count(self, *specs: SpecOf[M], lazy: Literal[False] = False
                  ) -> Coroutine[Any, Any, int]: ...
        @overload
        def count(self, *specs: SpecOf[M], lazy: Literal[True]) -> AsyncLazyCommand[int]: ...
        @overload
        def count(self, *specs: SpecOf[M], lazy: bool = False
                  ) -> Coroutine[Any, Any, int] | AsyncLazyCommand[int]: ...
        def count(self, *specs: SpecOf[M], lazy: bool = False
                  ) -> Coroutine[Any, Any, int] | AsyncLazyCommand[int]: ...
        async def explain(self, *specs: SpecOf[M]) -> list[str]: ...
        async def aggregate(self, *specs: SpecOf[M], group_by: str | Sequence[str] = (),
                            **metrics: Metric) -> list[dict[str, Any]]: ...
        async def suggest(self, field: str, prefix: str, *, limit: int = 10
                          ) -> list[str]: ...
        async def save(self, obj: EntityLike[M] = None, **fields: Any) -> M: ...
        @overload
        async def update(self, obj: EntityLike[M] = None, **values: Any) -> M: ...
        @overload
        async def update(self, obj: SpecOf[M], *specs: SpecOf[M], **values: Any) -> int: ...
        async def update(self, obj: Any = None, *specs: SpecOf[M], **values: Any
                         ) -> M | int: ...
        @overload
        async def delete(self, obj: M) -> None: ...
        @overload
        async def delete(self, obj: SpecOf[M] | None = None, *specs: SpecOf[M]) -> int: ...
        async def delete(self, obj: Any = None, *specs: SpecOf[M]) -> int | None: ...
        async def refresh(self, obj: M) -> None: ...
        async def is_modified(self, obj: M) -> bool: ...
    else:
        get = _awaited("get", lazy=True)
        filter = _awaited("filter", lazy=True)
        count = _awaited("count", lazy=True)
        explain = _awaited("explain")
        aggregate = _awaited("aggregate")
        suggest = _awaited("suggest")
        save = _awaited("save")
        update = _awaited("update")
        delete = _awaited("delete")
        refresh = _awaited("refresh")
        is_modified = _awaited("is_modified")

    async def hits(self, *specs: SpecOf[M], highlight: Iterable[str] | str = (),
                   summarize: Iterable[str] | str = (), tags: tuple[str, str] = ("<b>", "</b>")
                   ) -> list[Hit[M]]:
        return self.sync.hits(*specs, highlight=highlight, summarize=summarize, tags=tags)

    def stream(self, *specs: SpecOf[M], batch_size: int = 1000) -> AsyncIterator[M]:
        """Every match, as an async iterator (the twin checks and reads them now)."""
        return _Entities(self.sync.stream(*specs, batch_size=batch_size))

    # what AsyncInternalUnitOfWork drives
    _begin = _awaited("_begin")
    _commit = _awaited("_commit")
    _rollback = _awaited("_rollback")
    _close = _awaited("_close")


class AsyncInternalUnitOfWork(RepositoryTransaction, AsyncUnitOfWork[M]):
    """``async with uow: ...; await uow.commit()`` over the in-memory twin; as
    :class:`~assimilator_stack.backends.memory.InternalUnitOfWork`."""

    repository: AsyncInternalRepository[M]

    def __init__(self, repository: AsyncInternalRepository[M], autocommit: bool = False
                 ) -> None:
        super().__init__(repository=repository.for_unit_of_work(), autocommit=autocommit)
