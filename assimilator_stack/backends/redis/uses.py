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

from ... import logs
from ...exceptions import RedisCommandError
from ...settings import settings
from .commands import record_use
from .facts import ServerFacts
from .protocol import Call, Plan


def registry_key(key_prefix: str) -> str:
    """The registry of the model whose keys start with ``key_prefix`` (``"Product:"``)."""
    return f"{key_prefix.removesuffix(':')}\x00index-uses"


def due(facts: ServerFacts, index: str) -> bool:
    """Whether this pool's use of ``index`` should be recorded now."""
    return time.monotonic() >= facts.index_uses.get(index, 0.0)


def record(facts: ServerFacts, key_prefix: str, index: str) -> Plan[None]:
    """One HSET; refused (a read-only user, a replica) it is only logged: queries go on."""
    facts.index_uses[index] = time.monotonic() + settings.index_use_interval
    try:
        yield Call(record_use(registry_key(key_prefix), index, time.time()))
    except RedisCommandError as exc:
        logs.index.debug("could not record the use of index %r: %s", index, exc)
