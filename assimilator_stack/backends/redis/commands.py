"""Every Redis command the backend sends, built here (and only here) as an argument tuple.

Plans yield these tuples (protocol.py); their replies are parsed in replies.py. Values are
always separate arguments (or query PARAMS), never spliced into a command's shape.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...documents.writes import (
    AppendPath,
    DeleteKey,
    DeletePath,
    Expire,
    SetDocument,
    SetPath,
    Step,
    WriteOp,
)
from .protocol import Args

# -- keys and documents -----------------------------------------------------------------------


def json_get(key: str, *paths: str) -> Args:
    return ("JSON.GET", key, *paths)


def json_mget(keys: Sequence[str]) -> Args:
    return ("JSON.MGET", *keys, ".")


def exists(key: str) -> Args:
    return ("EXISTS", key)


def delete(*keys: str) -> Args:
    return ("DEL", *keys)


def persist(key: str) -> Args:
    return ("PERSIST", key)


# Clears the TTL of every key given (one EVAL instead of a PERSIST per key, see writes.py).
PERSIST_SCRIPT = "for i = 1, #KEYS do redis.call('PERSIST', KEYS[i]) end return #KEYS"


def persist_all(keys: Sequence[str]) -> Args:
    return ("EVAL", PERSIST_SCRIPT, len(keys), *keys)


def step_command(key: str, step: Step, condition: str | None = None) -> Args:
    """The command of one write step on ``key`` (``condition``: NX / XX of a whole save)."""
    if isinstance(step, SetDocument):
        return ("JSON.SET", key, "$", step.document) + ((condition.upper(),) if condition else ())
    if isinstance(step, SetPath):
        return ("JSON.SET", key, step.path, step.value)
    if isinstance(step, DeletePath):
        return ("JSON.DEL", key, step.path)
    if isinstance(step, AppendPath):
        return ("JSON.ARRAPPEND", key, step.path, step.value)
    if isinstance(step, Expire):
        return ("PEXPIRE" if step.unit == "ms" else "EXPIRE", key, step.amount)
    assert isinstance(step, DeleteKey)
    return delete(key)


def write_commands(op: WriteOp) -> tuple[Args, ...]:
    """The commands of ``op``'s steps (without the PERSIST a save may need: writes.py)."""
    return tuple(step_command(op.key, step, op.condition) for step in op.steps)
