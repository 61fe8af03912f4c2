"""Reads as plans: by id (JSON.GET / JSON.MGET) or through a scan of FT.AGGREGATE rows
(scan.py), inside a unit of work each key WATCHed first (watching.py); count and explain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel

from ...core.hits import Hit
from ...core.specs import FilterSpecification, Query, collect, exactly_one
from ...documents.hits import make_hit
from ...documents.keys import key_of
from ...documents.projections import Projection, project, projection
from ...exceptions import (
    NotFoundError,
    RedisCommandError,
)
from ...query.filters import And, Condition, searches
from ...query.nearness import distance_field, knn_field
from ...query.ranking import HitOptions
from ...query.redisearch import CompiledFilter
from . import commands
from .commands import (
    aggregate,
    count_steps,
    exists,
    info_keyspace,
    json_get,
    json_mget,
    ranked_search,
)
from .facts import ServerFacts
from .nearness import distance_command, distance_page, knn_command
from .protocol import Batch, Call, Plan, Watch
from .queries import LIST_PAGE, QueryPlans
from .ranked import RANKED_FIRST, ranked_keys, ranked_page
from .replies import (
    Row,
    check_complete,
    count_reply,
    existing,
    keyed_documents,
    keys_with_ttl,
    row_key,
    search_reply,
    search_warnings,
)
from .scan import CursorScan, OrderedScan
from .sort_keys import SortKey
from .watching import watched_page

M = TypeVar("M", bound=BaseModel)


@dataclass
class Read:
    """One read of a query in progress (``filter``, ``get``, ``stream``): what it asks for,
    checked before anything is sent, and where its scan stands."""

    query: Query
    keys: list[str] | None  # a plain lookup by id: these keys, nothing to search
    compiled: CompiledFilter | None
    sort: tuple[SortKey, ...] | None
    projection: Projection | None
    page: int
    scan: OrderedScan | CursorScan | None = None
    done: bool = False
    # What is left to skip / take in Python when Redis only selects candidates (inexact).
    skip: int = 0
    remaining: int | None = None
    limit: int | None = None  # at most this many (paginate's limit, or get's 2)
    # Inside a unit of work: (key, entity or None: read it by key) of every entity selected,
    # each WATCHed before the search that returned it (watching.py), and how many went out.
    watched: list[tuple[str, Any]] | None = None
    handed: int = 0
    # stream(): memory holds one batch, so a sorted read keeps no set of the keys returned
    # (others do: an entity at most once, also when its sort values change during the read),
    # and several pages are likely (the index's state is noted with the first).
    stream: bool = False
    # Most relevant first (a search, no order): every match's key, ranked (ranked_keys),
    # then read page by page from ``position``; ``scores`` by key.
    relevance: bool = False
    ranked: list[str] | None = None
    scores: dict[str, float] | None = None
    position: int = 0
    # order(Distance(...)): the window, ordered (nearness.py), handed out from ``position``.
    buffer: list[Any] | None = None
    # knn(...): the documents its search returned, by key (read with the ranking).
    documents: dict[str, Any] | None = None


class ReadPlans(QueryPlans[M]):
    """Reads of a model's entities."""

    def read(self, specs: Sequence[Any], page: int = LIST_PAGE, cap: int | None = None,
             stream: bool = False) -> Read:
        """Check ``specs`` (InvalidQueryError before anything is sent) and start a read."""
        query = collect(specs)
        near = query.knn is not None or query.distance is not None
        if query.knn is not None:
            knn_field(self.schema, query.knn)
        if query.distance is not None:
            distance_field(self.schema, query.distance)
        keys = None if near else self.id_keys(query)
        compiled = None if keys is not None else self.compiled_filter(query)
        sort = self.sort_keys(query.order) if query.order else None
        proj = projection(self.model, query.only) if query.only else None
        limit = query.limit
        if cap is not None:
            limit = cap if limit is None else min(cap, limit)
        if keys is not None:
            end = None if limit is None else query.offset + limit
            keys = keys[query.offset:end]
        exact = compiled is None or compiled.exact
        return Read(query=query, keys=keys, compiled=compiled, sort=sort, projection=proj,
                    page=page, skip=0 if exact else query.offset,
                    remaining=None if exact else limit, limit=limit,
                    done=limit == 0, stream=stream,
                    relevance=keys is None and (query.relevance or query.knn is not None))

    def read_page(self, read: Read, facts: ServerFacts,
                  watch: bool) -> Plan[list[Any]]:
        """The next entities of ``read`` (an empty list once it is done)."""
        if read.done:
            return []
        if read.keys is not None:  # by id: the keys are known
            read.done = True
            if read.projection is not None:
                return (yield from self.fetch_keys(read.keys, read.projection, watch))
            return (yield from self.load_many(read.keys, watch))
        compiled = read.compiled
        assert compiled is not None
        if compiled.matches_nothing:
            read.done = True
            return []
        if read.query.distance is not None:
            return (yield from distance_page(self, read, facts, watch))
        if read.relevance:
            return (yield from ranked_page(self, read, facts, watch))
        if watch:  # a unit of work: every entity WATCHed before the search that selects it
            return (yield from watched_page(self, read, facts))
        if read.scan is None:
            exact = compiled.exact
            read.scan = yield from self.open_scan(
                compiled, read.sort, facts, read.page,
                offset=read.query.offset if exact else 0,
                limit=read.limit if exact else None,
                documents=read.projection is None, unique=not read.stream,
                guard_first=read.stream,
            )
        run = partial(self.run_query, facts)
        while True:
            rows = yield from read.scan.next_page(run)
            if not rows:
                read.done = True
                return []
            if compiled.exact:
                found = yield from self.entities_of(rows, read.projection, watch)
                if found:
                    return found
                continue  # every key of this page vanished meanwhile: read on
            out = self.kept(read, compiled, (yield from self.entities_of(rows, None, watch)))
            if read.done:
                yield from read.scan.close()
                return out
            if out:
                return out

    @staticmethod
    def kept(read: Read, compiled: CompiledFilter, candidates: Sequence[Any]) -> list[Any]:
        """The candidates of an inexact read that pass its Python check, after what is left
        to skip, up to what is left to take (``read.done`` once that is reached)."""
        out: list[Any] = []
        for entity in candidates:
            if not compiled.residual(entity):
                continue
            if read.skip:
                read.skip -= 1
                continue
            out.append(entity if read.query.only is None else project(entity, read.query.only))
            if read.remaining is not None:
                read.remaining -= 1
                if read.remaining <= 0:
                    read.done = True
                    break
        return out

    def select(self, specs: Sequence[Any], facts: ServerFacts,
               watch: bool, cap: int | None = None) -> Plan[list[Any]]:
        """Every entity ``specs`` select (at most ``cap``), as a list."""
        return (yield from self.read_all(self.read(specs, cap=cap), facts, watch))

    def read_all(self, read: Read, facts: ServerFacts, watch: bool) -> Plan[list[Any]]:
        """Every page of ``read``, as one list (its cursor freed if the plan stops early)."""
        out: list[Any] = []
        try:
            while True:
                found = yield from self.read_page(read, facts, watch)
                if not found and read.done:
                    return out
                out += found
        finally:
            if not read.done:
                yield from self.close_read(read)

    def get(self, specs: Sequence[Any], facts: ServerFacts,
            watch: bool) -> Plan[Any]:
        key = None if watch else self.plain_id_key(specs)
        if key is not None:  # get(filter_(id=...)): the one JSON.GET select would send
            raw = yield Call(json_get(key))
            return exactly_one([] if raw is None else [self.codec.load(key, raw)],
                               self.model, specs)
        found = yield from self.select(specs, facts, watch, cap=2)
        return exactly_one(found, self.model, specs)

    def plain_id_key(self, specs: Sequence[Any]) -> str | None:
        """The key when ``specs`` is exactly ``filter_(id=<value>)`` (the commonest read),
        else None."""
        if len(specs) != 1 or type(specs[0]) is not FilterSpecification:
            return None
        node = specs[0].tree
        if type(node) is not Condition or node.field != "id" or node.lookup != "eq" \
                or node.value is None:
            return None
        if self.keys.tag is None:
            return key_of(self.schema.prefix, node.value)  # (self.key's one call less)
        return self.keys.of_id(node.value)  # None: the id alone does not give the key

    def filter(self, specs: Sequence[Any], facts: ServerFacts,
               watch: bool) -> Plan[list[Any]]:
        return (yield from self.select(specs, facts, watch))

    def fetch(self, obj: Any, watch: bool) -> Plan[M]:
        key = self.key_of_entity(obj)
        found = yield from self.load_many([key], watch)
        if not found:
            raise NotFoundError(f"{key!r} does not exist")
        return found[0]

    def load_many(self, keys: Sequence[str], watch: bool) -> Plan[list[M]]:
        if not keys:
            return []
        if watch:
            yield Watch(tuple(keys))
        if len(keys) == 1:
            raws = [(yield Call(json_get(keys[0])))]
        else:
            raws = yield Call(json_mget(keys))
        return [self.codec.load(k, raw) for k, raw in zip(keys, raws) if raw is not None]

    def fetch_keys(self, keys: Sequence[str], proj: Projection | None, watch: bool
                   ) -> Plan[list[Any]]:
        """The entities at ``keys``, in order (keys gone meanwhile are left out)."""
        if not keys:
            return []
        if watch:
            yield Watch(tuple(keys))
        found = yield from self.read_keys(keys, proj)
        return [entity for entity in found if entity is not None]

    def read_keys(self, keys: Sequence[str], proj: Projection | None) -> Plan[list[Any]]:
        """The entity (or only()'s partial one) at each of ``keys``; None where none is."""
        if proj is None:
            raws = yield Call(json_mget(keys))
            return [None if raw is None else self.codec.load(k, raw)
                    for k, raw in zip(keys, raws)]
        replies = yield Batch(tuple(json_get(key, *proj.paths) for key in keys))
        out: list[Any] = []
        for key, reply in zip(keys, replies):
            if isinstance(reply, Exception):
                raise RedisCommandError(f"JSON.GET {key!r} failed: {reply}",
                                        json_get(key, *proj.paths))
            out.append(proj.build(key, reply))
        return out

    def entities_of(self, rows: Sequence[Row], proj: Projection | None, watch: bool
                    ) -> Plan[list[Any]]:
        """The entities of a page of rows: from the documents the rows carry, or read by key
        (a projection, a unit of work's watched re-read, or rows without documents)."""
        if proj is None and not watch:
            found = keyed_documents(rows)
            if found is not None:
                return self.codec.load_all(zip(*found))
        return (yield from self.fetch_keys([row_key(r) for r in rows], proj, watch))

    def close_read(self, read: Read) -> Plan[None]:
        """Free what a read left open on the server (a cursor), when it stops early."""
        read.done = True
        if read.scan is not None:
            yield from read.scan.close()

    def hits(self, specs: Sequence[Any], options: HitOptions, facts: ServerFacts,
             watch: bool) -> Plan[list[Hit[Any]]]:
        """``filter(*specs)`` with each entity's score (when a search is among the specs) and
        highlights (documents/hits.py)."""
        read = self.read(specs)
        found = yield from self.read_all(read, facts, watch)
        node = read.query.filter
        if read.query.knn is not None or read.query.distance is not None:
            near = read.scores or {}  # the distances
            return [make_hit(self.schema, node, e, near.get(self.key_of_entity(e)), options)
                    for e in found]
        if not searches(node) or read.compiled is None:
            return [make_hit(self.schema, node, e, None, options) for e in found]
        scores = read.scores
        if scores is None:  # ordered by order(): the scores of the matches, asked apart
            scores = dict((yield from ranked_keys(self, read.compiled, facts)))
        return [make_hit(self.schema, node, e, scores.get(self.key_of_entity(e)), options)
                for e in found]

    def count(self, specs: Sequence[Any], facts: ServerFacts
              ) -> Plan[int]:
        """How many entities match (order and paginate do not apply), in one round trip
        when Redis decides the filter exactly. Expired keys not yet reclaimed are not
        counted."""
        query = collect(specs)
        if query.knn is not None:  # how many knn() returns: min(k, matches with a vector)
            return len((yield from self.select(specs, facts, watch=False)))
        if query.distance is not None:
            distance_field(self.schema, query.distance)  # refused here too
        keys = self.id_keys(query)
        if keys is not None:
            found = yield Batch(tuple(exists(k) for k in keys))
            return existing(found)
        compiled = self.compiled_filter(query)
        if query.order:
            self.sort_keys(query.order)  # a bad order is refused here too
        if compiled.matches_nothing:
            return 0
        if compiled.exact:
            quick = yield from self.quick_count(compiled, facts)
            if quick is not None:
                return quick
            command = aggregate(self.index.name, compiled.query, compiled.params_args(),
                                count_steps(), self.query_timeout_ms)
            total, warnings = count_reply((yield from self.run_query(facts, command)))
            check_complete(warnings, command)
            return total
        # Redis selects candidates; the rest of the filter is checked in Python.
        read = self.read([FilterSpecification(query.filter or And(()))], page=1000)
        total = 0
        try:
            while True:
                found = yield from self.read_page(read, facts, watch=False)
                if not found and read.done:
                    return total
                total += len(found)
        finally:
            if not read.done:
                yield from self.close_read(read)

    def quick_count(self, compiled: CompiledFilter, facts: ServerFacts) -> Plan[int | None]:
        """The search's own total, in one round trip, when it is exact: when no key of the
        server has a TTL (INFO keyspace, sent just before it), no expired-but-unreclaimed key
        can be counted. None: ask the exact (slower) way."""
        yield from self.ensure_index(facts)
        if self.query_timeout_ms:
            yield from self.check_timeout_policy(facts)
        search = commands.search(self.index.name, compiled.query, compiled.params_args(), (),
                                 0, self.query_timeout_ms)
        info, reply = yield Batch((info_keyspace(), search))
        if isinstance(info, Exception) or isinstance(reply, Exception) or keys_with_ttl(info):
            return None
        check_complete(search_warnings(reply), search)
        return search_reply(reply, content=False)[0]

    def explain(self, specs: Sequence[Any], facts: ServerFacts) -> Plan[list[str]]:
        """The command ``filter(*specs)`` sends first (an FT.AGGREGATE, or JSON.MGET for a
        lookup by id). The index is made first, so the command runs as is."""
        read = self.read(specs)
        if read.keys is not None:
            if read.projection is not None and read.keys:
                return list(json_get(read.keys[0], *read.projection.paths))
            return list(json_mget(read.keys))
        compiled = read.compiled
        assert compiled is not None
        yield from self.ensure_index(facts)
        if read.query.knn is not None:  # the k nearest with their documents (nearness.py)
            return shown(knn_command(self, compiled, read.query.knn, read.query.knn.k + 1))
        distance = read.query.distance
        if distance is not None and read.limit is not None and compiled.exact:
            return shown(distance_command(self, compiled, distance,
                                          read.query.offset + read.limit))
        if read.relevance:  # ranked first (ranked_keys), documents then read by key
            return shown(ranked_search(self.index.name, compiled.query, compiled.params_args(),
                                       RANKED_FIRST, self.query_timeout_ms))
        exact = compiled.exact
        scan = yield from self.open_scan(
            compiled, read.sort, facts, read.page,
            offset=read.query.offset if exact else 0,
            limit=read.limit if exact else None)
        return shown(scan.first_command())


def shown(command: Sequence[Any]) -> list[str]:
    """A command as ``explain`` gives it: a query vector (binary) as a placeholder."""
    return [f"<float32 blob: {len(arg)} bytes>" if isinstance(arg, bytes) else str(arg)
            for arg in command]
