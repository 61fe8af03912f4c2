"""Drive the async API from sync test bodies, so one behavioural test checks both APIs.

:class:`SyncFacade` wraps an async repository or unit of work: every method call runs on a
private event loop and returns what the sync API would (an :class:`AsyncLazyCommand` becomes a
:class:`LazyCommand` that awaits it once, an async iterator a sync one); ``with facade:``
runs ``async with``. Nothing is re-implemented: the async object does all the work.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Iterator
from types import TracebackType
from typing import Any, TypeVar

import redis
import redis.asyncio

from assimilator_stack import LazyCommand
from assimilator_stack.aio import AsyncLazyCommand, AsyncRepository, AsyncUnitOfWork
from assimilator_stack.backends.redis.index_control import IndexControl

T = TypeVar("T")

# What a sync client's flavour is made of; the async twin gets the same.
_FLAVOUR_KWARGS = ("protocol", "decode_responses", "username", "password")


class LoopBridge:
    """One event loop for a test, and async clients twinned with the test's sync clients."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self._twins: dict[int, redis.asyncio.Redis] = {}

    def run(self, awaitable: Awaitable[T]) -> T:
        async def settle() -> T:
            return await awaitable

        return self.loop.run_until_complete(settle())

    def iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        while True:
            try:
                yield self.run(source.__anext__())
            except StopAsyncIteration:
                return

    def twin(self, client: redis.Redis) -> redis.asyncio.Redis:
        """An asyncio client to the same server with the same protocol and decoding."""
        if id(client) not in self._twins:
            given = client.connection_pool.connection_kwargs
            kwargs = {name: given[name] for name in _FLAVOUR_KWARGS if name in given}
            self._twins[id(client)] = redis.asyncio.Redis.from_url(self.url, **kwargs)
        return self._twins[id(client)]

    def close(self) -> None:
        for client in self._twins.values():
            self.run(client.aclose())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


class SyncFacade:
    """A sync view of an async repository or unit of work (tests only)."""

    def __init__(self, inner: Any, bridge: LoopBridge) -> None:
        self.inner = inner
        self._bridge = bridge
        self._repository: SyncFacade | None = None

    def _sync(self, result: Any) -> Any:
        if isinstance(result, AsyncLazyCommand):
            return LazyCommand(self._bridge.run, result)
        if isinstance(result, (AsyncRepository, AsyncUnitOfWork)):
            return SyncFacade(result, self._bridge)
        if inspect.isawaitable(result):
            return self._sync(self._bridge.run(result))
        if hasattr(result, "__anext__"):
            return self._bridge.iterate(result)
        return result

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if isinstance(value, IndexControl):  # repo.index: its methods awaited too
            return SyncFacade(value, self._bridge)
        if not inspect.ismethod(value):
            return value  # specs, model, session, plans, ...

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._sync(value(*args, **kwargs))

        call.__name__ = name
        return call

    @property
    def repository(self) -> SyncFacade:
        if self._repository is None or self._repository.inner is not self.inner.repository:
            self._repository = SyncFacade(self.inner.repository, self._bridge)
        return self._repository

    def __enter__(self) -> SyncFacade:
        self._bridge.run(self.inner.__aenter__())
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._bridge.run(self.inner.__aexit__(exc_type, exc, tb))

    def __repr__(self) -> str:
        return f"SyncFacade({self.inner!r})"


def unwrap(obj: Any) -> Any:
    """The object a facade stands for (the object itself when it is not a facade)."""
    return obj.inner if isinstance(obj, SyncFacade) else obj
