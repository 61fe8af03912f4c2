"""Which indexes are known to be ready, per connection pool (so each new repository object,
as made by a per-request factory, does not ask FT.INFO again)."""

from __future__ import annotations

import weakref
from typing import Any


class PoolFacts(set[str]):
    """What is known about the server of one connection pool: ready indexes and facts (as
    strings), and per index when its indexing failures were last checked (see health.py):
    ``checks[index] = [monotonic time of the next check, failures already reported]``."""

    def __init__(self) -> None:
        super().__init__()
        self.checks: dict[str, list[float]] = {}


_ready: weakref.WeakKeyDictionary[Any, PoolFacts] = weakref.WeakKeyDictionary()


def ready_indexes(client: Any) -> PoolFacts:
    pool = getattr(client, "connection_pool", client)
    try:
        return _ready.setdefault(pool, PoolFacts())
    except TypeError:  # not weak-referenceable: no sharing
        return PoolFacts()
