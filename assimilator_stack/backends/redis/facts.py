"""What is known about the server, per connection pool (so each new repository object, as
made by a per-request factory, does not ask again)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ServerFacts:
    """What is known about the server of one connection pool."""

    # Indexes that exist and have scanned the keys that existed before them (index.py).
    index_ready: set[str] = field(default_factory=set)
    # Indexes a commit created (they may still be scanning: not ready for queries yet).
    index_created: set[str] = field(default_factory=set)
    # MAXAGGREGATERESULTS (None: no limit), once read (max_rows_known).
    max_aggregate_rows: int | None = None
    max_rows_known: bool = False
    # A query TIMEOUT cannot give a partial answer on this server (checked once).
    timeout_policy_checked: bool = False
    # EVAL was refused inside a commit (an ACL, scripting off): a PERSIST per key from now on.
    scripts_refused: bool = False
    # Per index, when its indexing failures were last checked and what was seen (health.py).
    health_checks: dict[str, Any] = field(default_factory=dict)
    # Per index, the monotonic time at which its use is next recorded (uses.py).
    index_uses: dict[str, float] = field(default_factory=dict)


_facts: weakref.WeakKeyDictionary[Any, ServerFacts] = weakref.WeakKeyDictionary()


def server_facts(client: Any) -> ServerFacts:
    """The facts of ``client``'s connection pool (shared by every client of the pool)."""
    pool = getattr(client, "connection_pool", client)
    try:
        return _facts.setdefault(pool, ServerFacts())
    except TypeError:  # not weak-referenceable: no sharing
        return ServerFacts()
