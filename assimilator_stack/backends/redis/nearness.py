"""``knn(...)`` on Redis: the KNN query (built and parsed without I/O) and the plan that ranks
the k nearest, ties by id (docs/queries.md "Vectors").

The server's KNN returns its K best, ties at the K-th distance in no stated order, so the
plan asks for K = k + 1 and asks again for more when the reply ends inside a tie (the k+1-th
as far as the k-th); a filter RediSearch cannot decide exactly (a Python check left) selects
candidates, and K grows until k of them pass the check or no candidate is left. Each row
carries its document (``$``, exact JSON), so a page needs no second round trip.
"""

from __future__ import annotations

from collections.abc import Callable, MutableSet, Sequence
from typing import TYPE_CHECKING, Any

from ...core.nearness import Distance
from ...core.specs import FilterSpecification, KnnSpecification, only, order, paginate
from ...documents.projections import project
from ...exceptions import PartialResultError
from ...fields.geo import stored_form
from ...fields.schema import FieldSchema
from ...fields.vectors import float32, pack
from ...query.filters import And, Condition, and_
from ...query.nearness import by_distance, distance_field
from ...query.redisearch import CompiledFilter
from .protocol import Plan
from .replies import search_reply, search_warnings, text
from .search import (
    KEY_FIELD,
    aggregate,
    aggregate_rows,
    check_complete,
    row_key,
    row_value,
    sort_keys,
    string_literal,
)

if TYPE_CHECKING:
    from .plans import Read, RedisCore

SCORE_FIELD = "__knn"
# The reply must reach past the k-th distance to know every tie at it.
_MARGIN = 1
DOCUMENT_FIELD = "$"
# FT.SEARCH returns at most the server's MAXSEARCHRESULTS rows (10000 on Redis Stack).
_MAX_K = 10000


def knn_command(index: str, compiled: CompiledFilter, field: FieldSchema,
                spec: KnnSpecification, num: int, timeout_ms: int) -> tuple[Any, ...]:
    """``FT.SEARCH <index> "(<filter>)=>[KNN $knn_k @f $knn_vec AS __knn]" ... SORTBY __knn``
    (the query vector and every number are parameters)."""
    ef = " EF_RUNTIME $knn_ef" if spec.ef_runtime is not None else ""
    target = f"[KNN $knn_k @{field.alias} $knn_vec{ef} AS {SCORE_FIELD}]"
    where = compiled.query
    query = f"*=>{target}" if where == "*" else f"({where})=>{target}"
    params: list[Any] = []
    for name, value in compiled.params.items():
        params += [name, value]
    params += ["knn_k", str(num), "knn_vec", pack(spec.vector)]
    if spec.ef_runtime is not None:
        params += ["knn_ef", str(spec.ef_runtime)]
    return ("FT.SEARCH", index, query, "PARAMS", str(len(params)), *params,
            "SORTBY", SCORE_FIELD, "ASC", "RETURN", "2", SCORE_FIELD, DOCUMENT_FIELD,
            "LIMIT", "0", str(num),
            "TIMEOUT", str(timeout_ms), "DIALECT", "2")


def knn_reply(reply: Any, documents: dict[str, Any]) -> list[tuple[str, float]]:
    """(key, distance) of each row, the distance as the server's float32 (its reply shows
    12 digits: enough to give the float32 back exactly); each row's document goes into
    ``documents`` by key."""
    _, rows = search_reply(reply)
    found: list[tuple[str, float]] = []
    for key, fields in rows:
        if fields is None or fields.get(SCORE_FIELD) is None \
                or fields.get(DOCUMENT_FIELD) is None:
            continue  # an expired key not yet reclaimed
        found.append((key, float32(float(text(fields[SCORE_FIELD])))))
        documents[key] = fields[DOCUMENT_FIELD]
    return found


def knn_keys(core: RedisCore[Any], compiled: CompiledFilter, field: FieldSchema,
             spec: KnnSpecification, ready: MutableSet[str], by_id: Callable[[str], Any],
             documents: dict[str, Any]) -> Plan[list[tuple[str, float]]]:
    """(key, distance) of the k nearest matches, nearest first, ties by id (their documents,
    as the search read them, into ``documents``)."""
    k = spec.k
    num = min(k + _MARGIN if compiled.exact else 2 * k + _MARGIN, _MAX_K)
    while True:
        command = knn_command(core.index.name, compiled, field, spec, num,
                              core.query_timeout_ms)
        reply = yield from core.run_query(ready, command)
        check_complete(search_warnings(reply), command)
        documents.clear()
        found = knn_reply(reply, documents)
        kept = found if compiled.exact else _passing(core, compiled, found, documents)
        kept = _by_distance_then_id(kept, by_id)
        exhausted = len(found) < num
        if exhausted or (len(kept) >= k and kept[k - 1][1] < found[-1][1]):
            return kept[:k]
        if num >= _MAX_K:
            raise PartialResultError(
                f"{spec!r}: ranking it needs more than {_MAX_K} candidates (the filter is "
                "checked in Python, or too many share the k-th distance); narrow the filter"
            )
        num = min(4 * num, _MAX_K)


def _passing(core: RedisCore[Any], compiled: CompiledFilter,
             found: Sequence[tuple[str, float]], documents: dict[str, Any]
             ) -> list[tuple[str, float]]:
    """The candidates whose entities pass the filter's Python check."""
    return [(key, score) for key, score in found
            if compiled.residual(core.codec.load(key, documents[key]))]


def _by_distance_then_id(pairs: Sequence[tuple[str, float]], by_id: Callable[[str], Any]
                         ) -> list[tuple[str, float]]:
    out = sorted(pairs, key=lambda pair: by_id(pair[0]))
    out.sort(key=lambda pair: pair[1])
    return out


DISTANCE_FIELD = "__dist"
_BEYOND_EARTH = 100_000_000  # metres: more than any distance on Earth


def distance_steps(field: FieldSchema, spec: Distance, id_attribute: str, want: int
                   ) -> tuple[str, ...]:
    """The FT.AGGREGATE pipeline of the ``want`` matches with a position, nearest (farthest)
    first, ties by id: ``geodistance()`` of each row's stored ``"lon,lat"`` (a JSON null
    gives NaN, which ``exists()`` keeps and ``<`` drops: RediSearch 2.10's ``>=``, ``<=`` and
    ``==`` keep it). Keys and positions are loaded for every
    match (dead keys dropped first, so a page is never short because of them)."""
    centre = string_literal(stored_form(spec.lon, spec.lat))
    alias = f"@{field.alias}"
    return ("LOAD", "2", f"@{KEY_FIELD}", alias,
            "FILTER", f"exists(@{KEY_FIELD}) && exists({alias})",
            "APPLY", f"geodistance({alias},{centre})", "AS", DISTANCE_FIELD,
            "FILTER", f"@{DISTANCE_FIELD} < {_BEYOND_EARTH}",
            "SORTBY", "4", f"@{DISTANCE_FIELD}", "DESC" if spec.descending else "ASC",
            f"@{id_attribute}", "ASC", "MAX", str(want))


def distance_page(core: RedisCore[Any], read: Read, ready: MutableSet[str], watch: bool
                  ) -> Plan[list[Any]]:
    """The next entities of a read in ``order(Distance(...))``, nearest first, ties by id,
    those without a position last. A window (``paginate``, ``get``) of an exact filter
    outside a unit of work is sorted by the server (``geodistance``, the same rounding as
    query/nearness.py); otherwise every match is read once and ordered in Python (the
    twin's function), then handed out a page at a time."""
    if read.buffer is None:
        spec = read.query.distance
        compiled = read.compiled
        assert spec is not None and compiled is not None
        want = None if read.limit is None else read.query.offset + read.limit
        max_rows = yield from core.max_rows(ready)
        if want is not None and compiled.exact and not watch \
                and (max_rows is None or want <= max_rows):
            ranked = yield from _sorted_by_server(core, read, spec, want, ready)
        else:
            ranked = yield from _sorted_here(core, read, spec, ready, watch)
        read.scores = {core.key_of_entity(e): d for e, d in ranked if d is not None}
        read.buffer = [e for e, _ in ranked[read.query.offset:]]
    batch = read.buffer[read.position:read.position + read.page]
    read.position += len(batch)
    if read.position >= len(read.buffer):
        read.done = True
    return batch


def _sorted_by_server(core: RedisCore[Any], read: Read, spec: Distance, want: int,
                      ready: MutableSet[str]) -> Plan[list[tuple[Any, float | None]]]:
    compiled = read.compiled
    assert compiled is not None
    field = distance_field(core.schema, spec)
    id_attribute = sort_keys(core.schema, ())[0].attribute
    command = aggregate(core.index.name, compiled.query, compiled.params_args(),
                        distance_steps(field, spec, id_attribute, want), core.query_timeout_ms)
    rows, warnings = aggregate_rows((yield from core.run_query(ready, command)))
    check_complete(warnings, command)
    scores = {row_key(r): float(text(row_value(r, DISTANCE_FIELD))) for r in rows}
    found = yield from core.fetch_keys(list(scores), read.projection, False)
    ranked: list[tuple[Any, float | None]] = [(e, scores[core.key_of_entity(e)]) for e in found]
    if len(rows) < want and field.optional:  # then those without a position, by id
        nothing_there = and_(*( [read.query.filter] if read.query.filter else []),
                             Condition(field.name, "isnull", True))
        specs: list[Any] = [FilterSpecification(nothing_there), order("id"),
                            paginate(limit=want - len(rows))]
        if read.query.only is not None:
            specs.append(only(*read.query.only))
        ranked += [(e, None) for e in (yield from core.select(specs, ready, False))]
    return ranked


def _sorted_here(core: RedisCore[Any], read: Read, spec: Distance, ready: MutableSet[str],
                 watch: bool) -> Plan[list[tuple[Any, float | None]]]:
    inner = core.read([FilterSpecification(read.query.filter or And(()))])
    found: list[Any] = []
    try:
        while True:
            page = yield from core.read_page(inner, ready, watch)
            if not page and inner.done:
                break
            found += page
    finally:
        if not inner.done:
            yield from core.close_read(inner)
    ranked = by_distance(core.schema, spec, found)
    end = None if read.limit is None else read.query.offset + read.limit
    only_fields = read.query.only
    return [(e if only_fields is None else project(e, only_fields), d) for e, d in ranked[:end]]
