"""The async driver: the same plans as the sync driver, performed on redis.asyncio and awaited.

Requests are performed by the shared
:class:`~assimilator_stack.backends.redis.sync_driver.Session` (a
Pause becomes ``asyncio.sleep``; WATCH / EXEC run on a pinned redis.asyncio pipeline) and
errors are mapped by the same ``map_error``. A task cancelled mid-request gives its pinned
connection back (UNWATCHed, or dropped by redis-py when a reply was pending) and its next EXEC
fails as a lost optimistic-concurrency race: a commit is one MULTI ... EXEC packet, so the
server applies all of it or none of it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import redis.asyncio

from .protocol import Plan, Release, Request, Watch
from .sync_driver import Session

T = TypeVar("T")


class AsyncSession(Session):
    """The async driver, over :class:`redis.asyncio.Redis`: ``await session.run(plan)``."""

    client_type = redis.asyncio.Redis
    _sleep = staticmethod(asyncio.sleep)

    def __init__(self, client: redis.asyncio.Redis, owner: str = "AsyncRedisRepository"
                 ) -> None:
        super().__init__(client, owner)

    def _own_state(self) -> None:
        super()._own_state()
        # Tasks may share a unit of work's repository (asyncio.gather of its reads): the
        # pinned connection then serves one command at a time. Other commands go to the
        # pool, concurrently.
        self._pinned_lock = asyncio.Lock()

    async def run(self, plan: Plan[T], operation: str | None = None) -> T:
        return await self.drive(plan, operation)

    def perform(self, request: Request) -> Any:
        if self._pinned is None and not isinstance(request, (Watch, Release)):
            return super().perform(request)  # decided now: the pool, not the pinned line
        return self._one_at_a_time(super().perform, request)

    def abandon(self) -> Any:
        return self._one_at_a_time(super().abandon)

    async def _one_at_a_time(self, action: Callable[..., Any], *args: Any) -> Any:
        async with self._pinned_lock:
            reply = action(*args)
            return await reply if inspect.isawaitable(reply) else reply

    def iterate(self, source: AsyncIterator[T]) -> AsyncIterator[T]:
        return source
