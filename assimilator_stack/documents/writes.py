"""What a write does to one entity's key, as backend-neutral values (pure: no I/O).

A :class:`WriteOp` is one entity's part of a commit: its steps, in order, and the condition
that must hold. The Redis backend turns each step into its command (backends/redis/commands.py);
the in-memory twin applies it to its dict (backends/memory/repository.py), with the same
meaning: a Redis key holding a RedisJSON document, with an optional TTL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..exceptions import (
    AlreadyExistsError,
    ConcurrencyError,
    RedisCommandError,
    UpdateTargetMissingError,
)


@dataclass(frozen=True)
class SetDocument:
    """Store the whole document (the key's TTL stays, as JSON.SET keeps it); under the op's
    condition when it has one."""

    document: str


@dataclass(frozen=True)
class SetPath:
    """Set the JSON value at ``path`` of the existing document (a bulk update)."""

    path: str
    value: str


@dataclass(frozen=True)
class DeletePath:
    """Delete what ``path`` selects in the document (an index companion)."""

    path: str


@dataclass(frozen=True)
class AppendPath:
    """Append the JSON value to the array at ``path`` (an index companion)."""

    path: str
    value: str


@dataclass(frozen=True)
class Expire:
    """Give the key a TTL of ``amount`` seconds (``unit="ms"``: milliseconds)."""

    amount: int
    unit: Literal["s", "ms"] = "s"


@dataclass(frozen=True)
class DeleteKey:
    """Delete the key."""


Step = SetDocument | SetPath | DeletePath | AppendPath | Expire | DeleteKey


@dataclass(frozen=True)
class WriteOp:
    """One entity's part of a commit: its steps and the condition that must hold."""

    key: str
    steps: tuple[Step, ...]
    condition: Literal["nx", "xx"] | None = None
    # A save with SET's TTL semantics: the key's old TTL must go (cleared after the steps),
    # which only matters if the key has one.
    persist: bool = False

    @property
    def sets_ttl(self) -> bool:
        return any(isinstance(step, Expire) for step in self.steps)


def condition_failure(ops: Sequence[WriteOp], exists: Sequence[Any]) -> Exception | None:
    """The error of the first only_create / only_update that ``exists`` (whether each op's
    key exists; an exception where the backend could not tell) fails."""
    for op, found in zip(ops, exists):
        if isinstance(found, Exception):
            raise RedisCommandError(str(found))
        if op.condition == "nx" and found:
            return AlreadyExistsError(op.key)
        if op.condition == "xx" and not found:
            return UpdateTargetMissingError(op.key)
    return None


def conflict() -> ConcurrencyError:
    return ConcurrencyError(
        "an entity read in this unit of work was changed by another client before commit; "
        "nothing was written. Retry the unit of work (see assimilator_stack.retry_on_conflict)"
    )
