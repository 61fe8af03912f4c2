"""LazyCommand and AsyncLazyCommand: a query built now and run on first use, once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_UNSET: Any = object()


class _Deferred(Generic[T]):
    """A command with its arguments, and its result once it ran."""

    def __init__(self, command: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._command = command
        self._args = args
        self._kwargs = kwargs
        self._result: Any = _UNSET

    @property
    def executed(self) -> bool:
        return self._result is not _UNSET

    def __repr__(self) -> str:
        state = repr(self._result) if self.executed else "not run"
        name = getattr(self._command, "__name__", self._command)
        return f"{type(self).__name__}({name}: {state})"


class LazyCommand(_Deferred[T]):
    """Runs ``command(*args, **kwargs)`` the first time its result is needed and caches it.

    Use it by calling it, iterating it, testing its truth, taking its length, comparing it,
    or reading an attribute of the result.
    """

    def __init__(self, command: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        super().__init__(command, *args, **kwargs)

    def __call__(self) -> T:
        if self._result is _UNSET:
            self._result = self._command(*self._args, **self._kwargs)
        return self._result  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Any]:
        return iter(self())  # type: ignore[call-overload,no-any-return]

    def __bool__(self) -> bool:
        return bool(self())

    def __len__(self) -> int:
        return len(self())  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        return bool(self() == other)

    def __hash__(self) -> int:
        return id(self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self(), name)


class AsyncLazyCommand(_Deferred[T]):
    """What an async repository returns for ``lazy=True``: ``await cmd`` (or
    ``await cmd()``) runs ``command(*args, **kwargs)`` the first time and caches the result;
    tasks awaiting it together share one run. A failed run is not cached (as LazyCommand).
    """

    def __init__(self, command: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
                 ) -> None:
        super().__init__(command, *args, **kwargs)
        self._lock = asyncio.Lock()

    async def __call__(self) -> T:
        if self._result is _UNSET:
            async with self._lock:
                if self._result is _UNSET:
                    self._result = await self._command(*self._args, **self._kwargs)
        return self._result  # type: ignore[no-any-return]

    def __await__(self) -> Generator[Any, None, T]:
        return self().__await__()
