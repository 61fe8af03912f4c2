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

from ...core.specs import FilterSpecification, KnnSpecification
from ...documents.projections import project
from ...exceptions import PartialResultError
from ...fields.schema import FieldSchema
from ...fields.vectors import float32, pack
from ...query.filters import And
from ...query.nearness import by_distance
from ...query.redisearch import CompiledFilter
from .protocol import Plan
from .replies import search_reply, search_warnings, text
from .search import check_complete

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


def distance_page(core: RedisCore[Any], read: Read, ready: MutableSet[str], watch: bool
                  ) -> Plan[list[Any]]:
    """The next entities of a read in ``order(Distance(...))``: every match is read once (by
    the filter alone: in a unit of work, WATCHed as every read), ordered by its distance
    from the stored position (query/nearness.py, the twin's function), then handed out a
    page at a time. A ``within`` filter keeps that read small."""
    if read.buffer is None:
        assert read.query.distance is not None
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
        ranked = by_distance(core.schema, read.query.distance, found)
        end = None if read.limit is None else read.query.offset + read.limit
        ranked = ranked[read.query.offset:end]
        read.scores = {core.key_of_entity(e): d for e, d in ranked if d is not None}
        only = read.query.only
        read.buffer = [e if only is None else project(e, only) for e, _ in ranked]
    batch = read.buffer[read.position:read.position + read.page]
    read.position += len(batch)
    if read.position >= len(read.buffer):
        read.done = True
    return batch
