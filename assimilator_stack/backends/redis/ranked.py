"""Reads in relevance order, as plans: every match ranked by FT.SEARCH's exact scores (ties
by id), then its documents read page by page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...exceptions import PartialResultError
from ...query.redisearch import CompiledFilter
from .commands import ranked_search
from .facts import ServerFacts
from .nearness import knn_keys
from .protocol import Plan
from .replies import (
    check_complete,
    scored_reply,
    search_warnings,
)
from .watching import settled

if TYPE_CHECKING:
    from .reads import Read, ReadPlans

# Relevance order (ranked_keys): a read of every match asks FT.SEARCH for this many first
# (most searches match fewer), then for all of them, up to the server's MAXSEARCHRESULTS.
RANKED_FIRST = 1000
_MAX_SEARCH_RESULTS = 1_000_000
# A page of the ranking asks for this many more than it needs (ties at its last score).
_RANKED_MARGIN = 10


def ranked_page(plans: ReadPlans[Any], read: Read, facts: ServerFacts, watch: bool
                ) -> Plan[list[Any]]:
    """The next entities of a read in relevance order: every match is ranked with the
    first page (one snapshot of the scores, so the pages of this read are consistent),
    then documents are read by key (WATCHed first in a unit of work)."""
    compiled = read.compiled
    assert compiled is not None
    if read.ranked is None:
        # A page of an exact filter needs only the first offset+limit of the ranking.
        want = None if not compiled.exact or read.limit is None \
            else read.query.offset + read.limit
        def ranking() -> Plan[list[tuple[str, float]]]:
            spec = read.query.knn
            if spec is None:
                return (yield from ranked_keys(plans, compiled, facts, want))
            read.documents = {}
            return (yield from knn_keys(plans, compiled, spec, facts, read.documents))

        if watch:  # a unit of work: ranked again after every key was WATCHed (watching.py)
            ranked = yield from settled(plans, lambda _attempt, _before: ranking(),
                                        lambda entry: entry[0])
        else:
            ranked = yield from ranking()
        read.scores = dict(ranked)
        keys = [key for key, _ in ranked]
        if compiled.exact:
            end = None if read.limit is None else read.query.offset + read.limit
            keys = keys[read.query.offset:end]
        read.ranked = keys
    while read.position < len(read.ranked):
        batch = read.ranked[read.position:read.position + read.page]
        read.position += len(batch)
        docs = read.documents
        if docs is not None and not watch and read.projection is None and compiled.exact:
            # knn: the documents came with the ranking (after a WATCH they are read again)
            found = plans.codec.load_all((key, docs[key]) for key in batch)
            if found:
                return found
            continue
        if compiled.exact:
            found = yield from plans.fetch_keys(batch, read.projection, watch)
            if found:
                return found
            continue
        out = plans.kept(read, compiled, (yield from plans.fetch_keys(batch, None, watch)))
        if out or read.done:
            return out
    read.done = True
    return []

def ranked_keys(plans: ReadPlans[Any], compiled: CompiledFilter, facts: ServerFacts,
                want: int | None = None) -> Plan[list[tuple[str, float]]]:
    """(key, score) of every match (with ``want``: at least of the ``want`` first), most
    relevant first, ties by id: FT.SEARCH's exact scores (WITHSCORES), sorted here so
    that ties are ordered by id. The server returns the best scores first (its ties in
    internal-id order), so a reply whose last score is below the ``want``-th holds every
    match that can be among the first ``want``. Expired keys not yet reclaimed may be
    among them (reading their documents drops them)."""
    num = RANKED_FIRST if want is None else min(want + _RANKED_MARGIN, RANKED_FIRST)
    while True:
        command = ranked_search(plans.index.name, compiled.query, compiled.params_args(), num,
                         plans.query_timeout_ms)
        reply = yield from plans.run_query(facts, command)
        check_complete(search_warnings(reply), command)
        total, found = scored_reply(reply)
        if len(found) >= total:
            break
        if want is not None and len(found) > want and found[-1][1] < found[want - 1][1]:
            break
        if num >= _MAX_SEARCH_RESULTS:
            raise PartialResultError(
                f"{total} entities match the search, more than the {_MAX_SEARCH_RESULTS} "
                "that relevance order can rank; narrow the filter or give an order()"
            )
        # (each try scores every match again: grow fast, never past what matches)
        num = min(total if want is None else max(4 * num, num + 1), total,
                  _MAX_SEARCH_RESULTS)
    id_numeric = plans.schema.id_field.numeric
    id_in = plans.keys.id_in

    def by_id(key: str) -> Any:
        entity_id = id_in(key)
        return float(entity_id) if id_numeric else entity_id

    found.sort(key=lambda pair: by_id(pair[0]))
    found.sort(key=lambda pair: -pair[1])
    return found
