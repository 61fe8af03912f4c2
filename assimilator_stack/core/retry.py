"""Retrying a unit of work that lost an optimistic-concurrency race (sync and async)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from ..exceptions import ConcurrencyError

T = TypeVar("T")


def _pauses(attempts: int, backoff: float) -> Iterator[float | None]:
    """Before each attempt, how long to wait after it fails: a short, growing, jittered time;
    None for the last attempt (its ConcurrencyError propagates)."""
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts!r}")
    for attempt in range(attempts - 1):
        yield random.uniform(0, backoff * (2 ** min(attempt, 6)))
    yield None


def retry_on_conflict(
    func: Callable[..., T], *args: Any, attempts: int = 20, backoff: float = 0.002, **kwargs: Any
) -> T:
    """Call ``func(*args, **kwargs)`` again while it raises ConcurrencyError.

        new_balance = retry_on_conflict(add_to_balance, get_uow(), user_id, 10)

    ``func`` should run the whole unit of work (read, decide, write, commit), so each attempt
    reads fresh data. Sleeps a short, growing, jittered time between attempts; after
    ``attempts`` tries the last ConcurrencyError propagates.
    """
    for pause in _pauses(attempts, backoff):
        try:
            return func(*args, **kwargs)
        except ConcurrencyError:
            if pause is None:
                raise
            time.sleep(pause)
    raise AssertionError("unreachable")


async def async_retry_on_conflict(
    func: Callable[..., Awaitable[T]], *args: Any, attempts: int = 20, backoff: float = 0.002,
    **kwargs: Any,
) -> T:
    """``await func(*args, **kwargs)`` again while it raises ConcurrencyError; as
    :func:`retry_on_conflict`, with ``asyncio.sleep`` between attempts.

        new_balance = await async_retry_on_conflict(add_to_balance, get_uow(), user_id, 10)
    """
    for pause in _pauses(attempts, backoff):
        try:
            return await func(*args, **kwargs)
        except ConcurrencyError:
            if pause is None:
                raise
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")
