"""Reads ranked by nearness, as plans (docs/queries.md "Geo", "Vectors"):

- ``knn(...)``: the server's KNN returns its K best, ties at the K-th distance in no stated
  order, so the plan asks for K = k + 1 and asks again for more when the reply ends inside a
  tie (the k+1-th as far as the k-th); a filter RediSearch cannot decide exactly (a Python
  check left) selects candidates, and K grows until k of them pass the check or no candidate
  is left. Each row carries its document, so a page needs no second round trip.
- ``order(Distance(...))``: a window of an exact filter is sorted by the server
  (``geodistance``, then the id); other reads order every match in Python with the twin's
  function (query/nearness.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...core.nearness import Distance
from ...core.specs import FilterSpecification, KnnSpecification, only, order, paginate
from ...documents.keys import id_of
from ...documents.projections import project
from ...exceptions import PartialResultError
from ...fields.geo import stored_form
from ...fields.vectors import pack
from ...query.filters import And, Condition, and_
from ...query.nearness import by_distance, distance_field, knn_field
from ...query.redisearch import CompiledFilter
from .commands import aggregate, distance_steps, knn_search
from .facts import ServerFacts
from .keyset import string_literal
from .protocol import Plan
from .replies import check_complete, distance_rows, knn_reply, search_warnings
from .sort_keys import sort_keys

if TYPE_CHECKING:
    from .reads import Read, ReadPlans

# The reply must reach past the k-th distance to know every tie at it.
_MARGIN = 1
# FT.SEARCH returns at most the server's MAXSEARCHRESULTS rows (10000 on Redis Stack).
_MAX_K = 10000


def knn_command(plans: ReadPlans[Any], compiled: CompiledFilter, spec: KnnSpecification,
                num: int) -> tuple[Any, ...]:
    field = knn_field(plans.schema, spec)
    return knn_search(plans.index.name, compiled.query, compiled.params, field.alias,
                      pack(spec.vector), num, spec.ef_runtime, plans.query_timeout_ms)


def knn_keys(plans: ReadPlans[Any], compiled: CompiledFilter, spec: KnnSpecification,
             facts: ServerFacts, documents: dict[str, Any]) -> Plan[list[tuple[str, float]]]:
    """(key, distance) of the k nearest matches, nearest first, ties by id (their documents,
    as the search read them, into ``documents``)."""
    k = spec.k
    num = min(k + _MARGIN if compiled.exact else 2 * k + _MARGIN, _MAX_K)
    while True:
        command = knn_command(plans, compiled, spec, num)
        reply = yield from plans.run_query(facts, command)
        check_complete(search_warnings(reply), command)
        documents.clear()
        found = knn_reply(reply, documents)
        kept = found if compiled.exact else [
            (key, score) for key, score in found
            if compiled.residual(plans.codec.load(key, documents[key]))]
        kept = _nearest_then_id(plans, kept)
        exhausted = len(found) < num
        if exhausted or (len(kept) >= k and kept[k - 1][1] < found[-1][1]):
            return kept[:k]
        if num >= _MAX_K:
            raise PartialResultError(
                f"{spec!r}: ranking it needs more than {_MAX_K} candidates (the filter is "
                "checked in Python, or too many share the k-th distance); narrow the filter"
            )
        num = min(4 * num, _MAX_K)


def _nearest_then_id(plans: ReadPlans[Any], pairs: Sequence[tuple[str, float]]
                     ) -> list[tuple[str, float]]:
    numeric, prefix = plans.schema.id_field.numeric, plans.schema.prefix

    def by_id(key: str) -> Any:
        entity_id = id_of(prefix, key)
        return float(entity_id) if numeric else entity_id

    out = sorted(pairs, key=lambda pair: by_id(pair[0]))
    out.sort(key=lambda pair: pair[1])
    return out


def distance_command(plans: ReadPlans[Any], compiled: CompiledFilter, spec: Distance,
                     want: int) -> tuple[Any, ...]:
    field = distance_field(plans.schema, spec)
    steps = distance_steps(field.alias, string_literal(stored_form(spec.lon, spec.lat)),
                           spec.descending, sort_keys(plans.schema, ())[0].attribute, want)
    return aggregate(plans.index.name, compiled.query, compiled.params_args(), steps,
                     plans.query_timeout_ms)


def distance_page(plans: ReadPlans[Any], read: Read, facts: ServerFacts, watch: bool
                  ) -> Plan[list[Any]]:
    """The next entities of a read in ``order(Distance(...))``, nearest first, ties by id,
    those without a position last. A window (``paginate``, ``get``) of an exact filter
    outside a unit of work is sorted by the server; otherwise every match is read once and
    ordered in Python, then handed out a page at a time."""
    if read.buffer is None:
        spec = read.query.distance
        compiled = read.compiled
        assert spec is not None and compiled is not None
        want = None if read.limit is None else read.query.offset + read.limit
        max_rows = yield from plans.max_rows(facts)
        if want is not None and compiled.exact and not watch \
                and (max_rows is None or want <= max_rows):
            ranked = yield from _sorted_by_server(plans, read, spec, want, facts)
        else:
            ranked = yield from _sorted_here(plans, read, spec, facts, watch)
        read.scores = {plans.key_of_entity(e): d for e, d in ranked if d is not None}
        read.buffer = [e for e, _ in ranked[read.query.offset:]]
    batch = read.buffer[read.position:read.position + read.page]
    read.position += len(batch)
    if read.position >= len(read.buffer):
        read.done = True
    return batch


def _sorted_by_server(plans: ReadPlans[Any], read: Read, spec: Distance, want: int,
                      facts: ServerFacts) -> Plan[list[tuple[Any, float | None]]]:
    compiled = read.compiled
    assert compiled is not None
    command = distance_command(plans, compiled, spec, want)
    scores, warnings = distance_rows((yield from plans.run_query(facts, command)))
    check_complete(warnings, command)
    found = yield from plans.fetch_keys(list(scores), read.projection, False)
    ranked: list[tuple[Any, float | None]] = [
        (e, scores[plans.key_of_entity(e)]) for e in found]
    field = distance_field(plans.schema, spec)
    if len(scores) < want and field.optional:  # then those without a position, by id
        nowhere = and_(*([read.query.filter] if read.query.filter else []),
                       Condition(field.name, "isnull", True))
        specs: list[Any] = [FilterSpecification(nowhere), order("id"),
                            paginate(limit=want - len(scores))]
        if read.query.only is not None:
            specs.append(only(*read.query.only))
        ranked += [(e, None) for e in (yield from plans.select(specs, facts, False))]
    return ranked


def _sorted_here(plans: ReadPlans[Any], read: Read, spec: Distance, facts: ServerFacts,
                 watch: bool) -> Plan[list[tuple[Any, float | None]]]:
    inner = plans.read([FilterSpecification(read.query.filter or And(()))])
    found = yield from plans.read_all(inner, facts, watch)
    ranked = by_distance(plans.schema, spec, found)
    end = None if read.limit is None else read.query.offset + read.limit
    only_fields = read.query.only
    return [(e if only_fields is None else project(e, only_fields), d) for e, d in ranked[:end]]
