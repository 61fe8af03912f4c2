"""Which indexes are known to be ready, per connection pool (so each new repository object,
as made by a per-request factory, does not ask FT.INFO again)."""

from __future__ import annotations

import weakref
from typing import Any

_ready: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def ready_indexes(client: Any) -> set[str]:
    pool = getattr(client, "connection_pool", client)
    try:
        return _ready.setdefault(pool, set())
    except TypeError:  # not weak-referenceable: no sharing
        return set()
