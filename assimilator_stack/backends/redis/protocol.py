"""What a plan asks its driver to do. A plan is a generator: it yields one of these requests,
the driver performs it and sends the reply back in. Plans hold all the logic and no I/O, so the
sync and async drivers share them.

Errors from Redis are thrown into the plan as library exceptions
(:class:`~assimilator_stack.exceptions.RedisCommandError`, ``ConnectionFailedError``) or as
:class:`WatchFailed` when an EXEC was aborted because a watched key changed.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

Args = tuple[Any, ...]


@dataclass(frozen=True)
class Call:
    """One command; the reply is returned (on the unit of work's watched connection if any)."""

    args: Args


@dataclass(frozen=True)
class Batch:
    """Several commands in one round trip, not atomic; replies (or exceptions) in order."""

    commands: tuple[Args, ...]


@dataclass(frozen=True)
class Watch:
    """WATCH these keys on the pinned connection (pinning one if needed)."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class Exec:
    """MULTI, the commands, EXEC on the pinned connection (or a fresh one); releases the pin.

    The reply is the list of replies (an error reply as an exception object in its place).
    If a watched key changed, :class:`WatchFailed` is thrown into the plan instead.
    """

    commands: tuple[Args, ...]


@dataclass(frozen=True)
class Pause:
    """Wait this many seconds (time.sleep or asyncio.sleep)."""

    seconds: float


@dataclass(frozen=True)
class Release:
    """UNWATCH and give back the pinned connection."""


Request = Call | Batch | Watch | Exec | Pause | Release
Plan = Generator[Request, Any, T]


class WatchFailed(Exception):
    """EXEC was aborted: a watched key changed."""
