"""Which processes still use which index: a HASH named after the model's prefix,
``{prefix}\\x00index-uses`` (``"Product\\x00index-uses"``), field = index name, value = Unix
time of the last use.

A process that queries records its index at most once per ``settings.index_use_interval``
seconds (one HSET), so ``repo.index.prune(idle=...)`` drops only indexes no process used for
``idle`` seconds. The key is not under ``{prefix}:`` (the entities' keys): ``SCAN MATCH
Product:*`` and the index see entities only, and the NUL keeps it apart from any other
model's prefix.
"""

from __future__ import annotations

import time
from collections.abc import MutableSet

from ... import logs
from ...exceptions import RedisCommandError
from ...settings import settings
from .protocol import Call, Plan

_local: dict[str, float] = {}  # when ``ready`` keeps no attributes (a plain set)


def registry_key(key_prefix: str) -> str:
    """The registry of the model whose keys start with ``key_prefix`` (``"Product:"``)."""
    return f"{key_prefix.removesuffix(':')}\x00index-uses"


def _next_records(ready: MutableSet[str]) -> dict[str, float]:
    found: dict[str, float] | None = getattr(ready, "index_uses", None)
    if found is None:
        found = {}
        try:
            setattr(ready, "index_uses", found)  # noqa: B010 (ready's type has no such field)
        except AttributeError:
            return _local
    return found


def due(ready: MutableSet[str], index: str) -> bool:
    """Whether this pool's use of ``index`` should be recorded now."""
    return time.monotonic() >= _next_records(ready).get(index, 0.0)


def record(ready: MutableSet[str], key_prefix: str, index: str) -> Plan[None]:
    """One HSET; refused (a read-only user, a replica) it is only logged: queries go on."""
    _next_records(ready)[index] = time.monotonic() + settings.index_use_interval
    try:
        yield Call(("HSET", registry_key(key_prefix), index, f"{time.time():.3f}"))
    except RedisCommandError as exc:
        logs.index.debug("could not record the use of index %r: %s", index, exc)
