"""How every query reaches the server, as plans: the index made and healthy first, the
server's limits and timeout policy known (facts.py), filters compiled once, the scan chosen."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from ...core.specs import Query
from ...documents.entities import ModelDocuments
from ...exceptions import (
    InvalidQueryError,
    PartialResultError,
    RedisCommandError,
)
from ...query.redisearch import CompiledFilter, compile_filter, filter_key
from .commands import ft_config_get, is_search
from .facts import ServerFacts
from .health import IndexHealth, IndexStatus
from .index import IndexSpec, create, ensure_index, is_missing_index_error
from .protocol import Args, Batch, Call, Plan
from .replies import (
    config_value,
    is_timeout_error,
    max_results,
)
from .scan import CursorScan, OrderedScan
from .sort_keys import SortKey, sort_keys

M = TypeVar("M", bound=BaseModel)
# Rows per FT.AGGREGATE when a read returns a list (stream() uses its batch_size).
LIST_PAGE = 10000
# MAXAGGREGATERESULTS when the server does not say (FT.CONFIG refused): small and safe.
_FALLBACK_MAX_ROWS = 1000
# Compiled filters (and sort keys) kept per ModelPlans (per repository), oldest dropped first.
_COMPILED_CACHE = 256


class QueryPlans(ModelDocuments[M]):
    """The settings of a model's queries on Redis and what every query needs first."""

    def __init__(self, model: type[M], index_timeout: float = 60.0,
                 query_timeout_ms: int = 0, unindexed: str = "raise",
                 index_check_interval: float = 1.0, redis_wildcards: bool = False) -> None:
        super().__init__(model)
        # Let RediSearch expand prefix/suffix/infix patterns (startswith, contains, like, search
        # prefixes) instead of checking them in Python; exact only when the server's
        # MAXPREFIXEXPANSIONS exceeds the distinct values of the field (see query/redisearch.py).
        self.redis_wildcards = redis_wildcards
        self.index = IndexSpec(self.schema)
        self.index_timeout = index_timeout
        if isinstance(query_timeout_ms, bool) or not isinstance(query_timeout_ms, int) \
                or query_timeout_ms < 0:
            raise InvalidQueryError(
                f"query_timeout_ms must be an int >= 0 (0: no limit), got {query_timeout_ms!r}"
            )
        # TIMEOUT sent with every query; 0 = none. A query that hits it is refused
        # (PartialResultError), never returned partially (RESP3 shows the warning; with RESP2
        # set the server's ON_TIMEOUT to FAIL).
        self.query_timeout_ms = query_timeout_ms
        # Documents the index could not take: raise or warn before queries (health.py).
        self.health = IndexHealth(self.schema, self.index.name, self.index.key_prefix,
                                  unindexed, index_check_interval)
        self._compiled: dict[Any, CompiledFilter] = {}
        self._sorts: dict[tuple[tuple[str, bool], ...], tuple[SortKey, ...]] = {}
        # Redis Cluster: each MULTI/EXEC of a bulk write holds keys of one hash slot
        self.per_slot = False

    def compiled_filter(self, query: Query) -> CompiledFilter:
        """``query.filter`` compiled (validated first: InvalidQueryError before any I/O).
        A filter seen recently (same fields, lookups and values of the same types) is
        compiled once: compiling costs more than the rest of a small query."""
        try:
            key = (self.redis_wildcards, filter_key(query.filter))
        except TypeError:  # a Python predicate, or a value that cannot be a dict key
            return compile_filter(self.schema, query.filter,
                                  redis_wildcards=self.redis_wildcards)
        cache = self._compiled
        found = cache.get(key)
        if found is None:
            found = compile_filter(self.schema, query.filter,
                                   redis_wildcards=self.redis_wildcards)
            if len(cache) >= _COMPILED_CACHE:
                del cache[next(iter(cache))]  # the oldest
            cache[key] = found
        return found

    def sort_keys(self, order: tuple[tuple[str, bool], ...]) -> tuple[SortKey, ...]:
        """``sort_keys`` of ``order``, kept per order (InvalidQueryError when refused)."""
        found = self._sorts.get(order)
        if found is None:
            found = sort_keys(self.schema, order)
            if len(self._sorts) >= _COMPILED_CACHE:
                self._sorts.clear()
            self._sorts[order] = found
        return found

    def run_query(self, facts: ServerFacts, args: Args, before: tuple[Args, ...] = ()
                  ) -> Plan[Any]:
        """One query command; FT.AGGREGATE creates the index first if needed (again when it
        was dropped behind our back, e.g. FLUSHALL). A timeout is never a partial answer.
        ``before``: commands sent first in the same round trip; the value is then (their
        replies, errors as exceptions; the query's reply)."""
        searching = is_search(args)
        if searching:
            yield from self.ensure_index(facts)
            if self.query_timeout_ms:
                yield from self.check_timeout_policy(facts)
        try:
            try:
                return (yield from self._send(args, before))
            except RedisCommandError as exc:
                if not (searching and is_missing_index_error(exc)):
                    raise
                facts.index_ready.discard(self.index.name)
                yield from self.ensure_index(facts)
                return (yield from self._send(args, before))
        except RedisCommandError as exc:
            if is_timeout_error(exc):
                raise PartialResultError(
                    f"{args[0]} reached the query timeout ({self.query_timeout_ms} ms); no "
                    "partial answer was used. Raise query_timeout_ms (0 = no limit)"
                ) from exc
            raise

    @staticmethod
    def _send(args: Args, before: tuple[Args, ...]) -> Plan[Any]:
        if not before:
            return (yield Call(args))
        *replies, reply = yield Batch((*before, args))
        if isinstance(reply, Exception):
            raise RedisCommandError(str(reply), args) from reply
        return replies, reply

    def check_timeout_policy(self, facts: ServerFacts) -> Plan[None]:
        """A query TIMEOUT must never give a partial answer: RESP3 replies carry a warning and
        the server's ``ON_TIMEOUT FAIL`` makes it an error; RESP2 with ``ON_TIMEOUT RETURN``
        (the default) would hide it, so that combination is refused (once per pool)."""
        if facts.timeout_policy_checked:
            return
        try:
            policy, resp3 = config_value((yield Call(ft_config_get("ON_TIMEOUT"))))
        except RedisCommandError:
            policy, resp3 = None, False
        if not resp3 and (policy or "").lower() != "fail":
            raise InvalidQueryError(
                f"query_timeout_ms={self.query_timeout_ms} with a RESP2 client needs the "
                f"server's ON_TIMEOUT set to FAIL (it is {policy or 'unknown'}): a RESP2 reply "
                "cut short by the timeout looks complete. Use a RESP3 client (protocol=3), or "
                "FT.CONFIG SET ON_TIMEOUT FAIL, or query_timeout_ms=0 (no limit)"
            )
        facts.timeout_policy_checked = True

    def ensure_index(self, facts: ServerFacts) -> Plan[None]:
        """Before a query: the index exists and has scanned, and no document under the
        prefix is silently missing from it (checked at a bounded rate, see health.py)."""
        yield from ensure_index(self.index, facts, self.index_timeout)
        yield from self.health.check(facts)

    def index_status(self, facts: ServerFacts) -> Plan[IndexStatus]:
        yield from ensure_index(self.index, facts, self.index_timeout)
        return (yield from self.health.status())

    def create_index(self, facts: ServerFacts) -> Plan[None]:
        """Make sure the index exists (without waiting for it to scan existing keys)."""
        name = self.index.name
        if name in facts.index_ready or name in facts.index_created:
            return
        yield from create(self.index)
        facts.index_created.add(name)

    def max_rows(self, facts: ServerFacts) -> Plan[int | None]:
        """The server's MAXAGGREGATERESULTS (None: no limit), read once per connection pool
        and kept in ``facts`` (what is known about the server of the pool)."""
        if facts.max_rows_known:
            return facts.max_aggregate_rows
        try:
            found = max_results((yield Call(ft_config_get("MAXAGGREGATERESULTS"))))
        except (RedisCommandError, ValueError):
            found = _FALLBACK_MAX_ROWS
        facts.max_aggregate_rows, facts.max_rows_known = found, True
        return found

    def open_scan(self, compiled: CompiledFilter, sort: tuple[SortKey, ...] | None,
                  facts: ServerFacts, page: int, offset: int, limit: int | None,
                  documents: bool = False, unique: bool = True, guard_first: bool = False
                  ) -> Plan[OrderedScan | CursorScan]:
        """How to read the rows: sorted (keyset pages), one unsorted window, or a cursor
        (complete while others write, see CursorScan). ``documents``: rows carry their
        documents where that is cheap. ``unique``: a sorted scan drops an entity it reads again
        (its sort values changed meanwhile). ``guard_first``: a cursor notes the index's state
        with its first page (several pages are likely)."""
        max_rows = yield from self.max_rows(facts)
        where, params = compiled.query, compiled.params_args()
        if sort is not None:
            return OrderedScan(self.index.name, where, params, sort,
                               timeout_ms=self.query_timeout_ms, max_rows=max_rows, page=page,
                               offset=offset, limit=limit, documents=documents, unique=unique)
        if limit is not None and (max_rows is None or offset + limit <= max_rows):
            # Unsorted (index order) and within what one query may skip: one window.
            return OrderedScan(self.index.name, where, params, None,
                               timeout_ms=self.query_timeout_ms, max_rows=max_rows,
                               page=max(limit, 1), offset=offset, limit=limit,
                               documents=documents)
        # If the cursor may have missed something: every match again, keys only, in id order.
        repair = OrderedScan(self.index.name, where, params, sort_keys(self.schema, ()),
                             timeout_ms=self.query_timeout_ms, max_rows=max_rows,
                             page=LIST_PAGE)
        return CursorScan(self.index.name, where, params, timeout_ms=self.query_timeout_ms,
                          batch=min(page, max_rows or page), offset=offset, limit=limit,
                          documents=documents, repair=repair, guard_first=guard_first)
