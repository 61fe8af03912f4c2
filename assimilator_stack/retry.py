"""Retrying a unit of work that lost an optimistic-concurrency race."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .exceptions import ConcurrencyError

T = TypeVar("T")


def retry_on_conflict(
    func: Callable[..., T], *args: Any, attempts: int = 20, backoff: float = 0.002, **kwargs: Any
) -> T:
    """Call ``func(*args, **kwargs)`` again while it raises ConcurrencyError.

        new_balance = retry_on_conflict(add_to_balance, get_uow(), user_id, 10)

    ``func`` should run the whole unit of work (read, decide, write, commit), so each attempt
    reads fresh data. Sleeps a short, growing, jittered time between attempts; after
    ``attempts`` tries the last ConcurrencyError propagates.
    """
    for attempt in range(attempts):
        try:
            return func(*args, **kwargs)
        except ConcurrencyError:
            if attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0, backoff * (2 ** min(attempt, 6))))
    raise AssertionError("unreachable")
