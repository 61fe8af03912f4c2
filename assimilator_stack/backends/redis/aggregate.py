"""``aggregate`` and ``suggest`` on Redis, as plans: the filter selects the entities (one
cursor read of their documents, complete while others write: see CursorScan), and
documents/aggregation.py computes the answer from them, as the in-memory twin does."""

from __future__ import annotations

from typing import Any, Protocol

from ...core.specs import FilterSpecification, filter_
from ...documents.aggregation import Aggregation, Suggestion
from ...query.filters import And
from .facts import ServerFacts
from .plans import ModelPlans
from .protocol import Plan
from .reads import Read

# Entities per cursor batch: memory holds one batch and the groups.
PAGE = 1000


class Feeds(Protocol):
    def add(self, entity: Any) -> None: ...


def selection(plans: ModelPlans[Any], aggregation: Aggregation) -> Read:
    """The read of every entity the aggregation's filter selects (checked now)."""
    tree = aggregation.filter if aggregation.filter is not None else And(())
    return plans.read([FilterSpecification(tree)], page=PAGE, stream=True)


def suggestion_read(plans: ModelPlans[Any], suggestion: Suggestion) -> Read:
    """The candidates: ``istartswith`` is checked in Python (exact); with
    ``plans.redis_wildcards`` Redis would expand the prefix and could silently stop at
    MAXPREFIXEXPANSIONS, so then every entity is read (and checked in Python all the same)."""
    selection = filter_() if plans.redis_wildcards else filter_(**suggestion.lookup)
    return plans.read([selection], page=PAGE, stream=True)


def feed(plans: ModelPlans[Any], read: Read, sink: Feeds, facts: ServerFacts) -> Plan[None]:
    """Every entity of ``read`` into ``sink`` (a batch at a time; the cursor is freed when
    the read stops early)."""
    try:
        while not read.done:
            for entity in (yield from plans.read_page(read, facts, watch=False)):
                sink.add(entity)
    finally:
        if not read.done:
            yield from plans.close_read(read)


def aggregate(plans: ModelPlans[Any], aggregation: Aggregation, read: Read,
              facts: ServerFacts) -> Plan[list[dict[str, Any]]]:
    yield from feed(plans, read, aggregation, facts)
    return aggregation.rows()


def suggest(plans: ModelPlans[Any], suggestion: Suggestion, read: Read,
            facts: ServerFacts) -> Plan[list[str]]:
    yield from feed(plans, read, suggestion, facts)
    return suggestion.result()
