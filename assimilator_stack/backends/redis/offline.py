"""What RedisRepository would send for a read, worked out without a server: the in-memory
twin's ``explain()`` (handed in by backends/__init__.py, as the twin imports no backend)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from ...exceptions import RedisCommandError
from .facts import ServerFacts
from .plans import ModelPlans

# MAXAGGREGATERESULTS of the Redis Stack images (the server explain() assumes).
REDIS_STACK_MAX_ROWS = 10000


def explain_offline(model: type[BaseModel], specs: Sequence[Any]) -> list[str]:
    """The command ``filter(*specs)`` would send first to a Redis Stack server with its
    default settings, its index made. Refuses what ``filter`` refuses."""
    plans = ModelPlans(model)  # (a fraction of a millisecond: not worth keeping)
    facts = ServerFacts(index_ready={plans.index.name}, max_aggregate_rows=REDIS_STACK_MAX_ROWS,
                        max_rows_known=True)
    plan = plans.explain(specs, facts)
    try:
        next(plan)
        while True:  # only the index health check asks the server (FT.INFO): skip it
            plan.throw(RedisCommandError("no server: the command is worked out offline"))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
