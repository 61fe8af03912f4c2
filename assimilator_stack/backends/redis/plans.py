"""The sans-I/O core of the Redis repository: every operation as a plan (see protocol.py).

Sync and async repositories run the same plans; nothing here touches a socket.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSet, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from ...core.hits import Hit
from ...core.specs import FilterSpecification, Query, collect, exactly_one
from ...documents.codec import Codec
from ...documents.hits import make_hit
from ...documents.keys import KeyScheme, claim_prefix
from ...documents.projections import Projection, project, projection, refuse_read_only
from ...documents.storable import check_entity, unencodable_field
from ...documents.updates import apply_keywords, build_update
from ...exceptions import (
    AlreadyExistsError,
    ConcurrencyError,
    InvalidEntityError,
    InvalidQueryError,
    NotFoundError,
    PartialResultError,
    RedisCommandError,
    UnstorableValueError,
    UpdateTargetMissingError,
)
from ...fields.schema import schema_of
from ...model import WRITE_OPTIONS
from ...query.filters import And, Condition, searches
from ...query.ranking import HitOptions
from ...query.redisearch import CompiledFilter, compile_filter, filter_key
from .health import IndexHealth, IndexStatus
from .index import IndexSpec, create, ensure_index, is_missing_index_error
from .protocol import Args, Batch, Call, Exec, Plan, Watch, WatchFailed
from .replies import keys_with_ttl, search_reply, search_warnings
from .scan import CursorScan, OrderedScan
from .search import (
    Row,
    SortKey,
    aggregate,
    check_complete,
    config_value,
    count_reply,
    count_steps,
    is_timeout_error,
    keyed_documents,
    max_results,
    row_key,
    scored_reply,
    sort_keys,
)
from .watching import checked_writes, settled, watched_keys, watched_page

M = TypeVar("M", bound=BaseModel)

# A commit whose only watched keys are its own only_create / only_update checks is retried
# this many times when another client touches one of those keys between check and EXEC.
_CONDITION_RETRIES = 5
# Rows per FT.AGGREGATE when a read returns a list (stream() uses its batch_size).
_LIST_PAGE = 10000
# MAXAGGREGATERESULTS when the server does not say (FT.CONFIG refused): small and safe.
_FALLBACK_MAX_ROWS = 1000
_MAX_ROWS_FACT = "\x00MAXAGGREGATERESULTS="
_TIMEOUT_POLICY_FACT = "\x00ON_TIMEOUT checked"
# Relevance order (ranked_keys): a read of every match asks FT.SEARCH for this many first
# (most searches match fewer), then for all of them, up to the server's MAXSEARCHRESULTS.
_RANKED_FIRST = 1000
_MAX_SEARCH_RESULTS = 1_000_000
# A page of the ranking asks for this many more than it needs (ties at its last score).
_RANKED_MARGIN = 10
# A commit saving at least this many keys clears their old TTLs with one EVAL, not a PERSIST
# per key (the same meaning, inside the same MULTI, at a fraction of the cost).
_PERSIST_IN_SCRIPT = 32
_NO_SCRIPTS_FACT = "\x00EVAL refused"
_PERSIST_SCRIPT = "for i = 1, #KEYS do redis.call('PERSIST', KEYS[i]) end return #KEYS"
# Compiled filters (and sort keys) kept per repository core, oldest dropped first.
_COMPILED_CACHE = 256


@dataclass(frozen=True)
class WriteOp:
    """One entity's part of a commit: its commands and the condition that must hold."""

    key: str
    commands: tuple[Args, ...]
    condition: Literal["nx", "xx"] | None = None
    # A save with SET's TTL semantics: the key's old TTL must go (PERSIST after the commands),
    # which only matters if the key has one (see RedisCore.commit).
    persist: bool = False


def _with_persist(ops: Sequence[WriteOp], script: bool = True
                  ) -> tuple[tuple[Args, ...], tuple[str, ...]]:
    """The commands of ``ops`` with their PERSISTs (a save clears the key's old TTL, as SET
    does), and the keys one EVAL at the end clears (empty: PERSIST after each save).

    At the end, a key's PERSIST must not undo a TTL a later op sets (EXPIRE / PEXPIRE): such
    keys are left to that op; any other later op (a partial update, a keep_ttl save, a
    delete) keeps or drops the key's TTL as it stands, so a PERSIST after it means the same."""
    persisting = sum(1 for op in ops if op.persist)
    if not script or persisting < _PERSIST_IN_SCRIPT:
        return tuple(args for op in ops
                     for args in (op.commands + ((("PERSIST", op.key),) if op.persist else ()))
                     ), ()
    decided: set[str] = set()
    keys: list[str] = []
    for op in reversed(ops):
        if op.key in decided:
            continue
        if any(args[0] in ("EXPIRE", "PEXPIRE") for args in op.commands):
            decided.add(op.key)
        elif op.persist:
            decided.add(op.key)
            keys.append(op.key)
    commands = tuple(args for op in ops for args in op.commands)
    if not keys:
        return commands, ()
    keys.reverse()
    return (*commands, ("EVAL", _PERSIST_SCRIPT, len(keys), *keys)), tuple(keys)


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


class RedisCore(Generic[M]):
    """Everything a Redis repository does, for one model, as plans."""

    def __init__(self, model: type[M], index_timeout: float = 60.0,
                 query_timeout_ms: int = 0, unindexed: str = "raise",
                 index_check_interval: float = 1.0, redis_wildcards: bool = False) -> None:
        self.model = model
        # Let RediSearch expand prefix/suffix/infix patterns (startswith, contains, like, search
        # prefixes) instead of checking them in Python; exact only when the server's
        # MAXPREFIXEXPANSIONS exceeds the distinct values of the field (see redis_/query.py).
        self.redis_wildcards = redis_wildcards
        self.schema = schema_of(model)
        claim_prefix(self.schema.prefix, model)
        self.keys = KeyScheme(model, self.schema.prefix)
        self.codec: Codec[M] = Codec(self.schema)
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
        self._option_fields = tuple(n for n in WRITE_OPTIONS if n in model.model_fields)
        self._validates_assignment = bool(model.model_config.get("validate_assignment"))
        self._sorts: dict[tuple[tuple[str, bool], ...], tuple[SortKey, ...]] = {}
        # Redis Cluster: each MULTI/EXEC of a bulk write holds keys of one hash slot
        self.per_slot = False

    # -- keys and entities ------------------------------------------------------------------

    def key(self, entity_id: Any) -> str | None:
        """The key of the entity with this id; None when its key needs more (a hash tag
        from another field, documents/keys.py)."""
        return self.keys.of_id(entity_id)

    def key_of_entity(self, obj: Any) -> str:
        return self.keys.of_entity(obj)

    def build(self, obj: Any = None, fields: dict[str, Any] | None = None
              ) -> tuple[M, dict[str, Any]]:
        """Validate ``obj`` and/or ``fields`` into an entity; return it with its write options."""
        refuse_read_only(obj, "save")
        if not fields and type(obj) is self.model and self._validates_assignment:
            # The common save(entity): valid as it stands (assignments were validated).
            return obj, {name: getattr(obj, name) for name in self._option_fields}
        fields = dict(fields or {})
        options = {name: fields.pop(name) for name in WRITE_OPTIONS
                   if name in fields and name not in self.model.model_fields}
        try:
            if obj is None:
                entity = self.model.model_validate(apply_keywords(self.model, {}, fields))
            elif isinstance(obj, self.model) and not fields:
                # A plain BaseModel does not validate assignment: it may hold a wrong value
                # set since it was made, so it is validated again before it is stored.
                validated = obj.model_config.get("validate_assignment")
                entity = obj if validated else self.model.model_validate(dict(obj))
            else:
                data = dict(obj) if isinstance(obj, (BaseModel, dict)) else obj
                if fields:
                    data = apply_keywords(self.model, data, fields)
                entity = self.model.model_validate(data)
        except ValidationError as exc:
            raise InvalidEntityError(f"{self.model.__name__} is not valid: {exc}") from exc
        for name in WRITE_OPTIONS:
            if name not in options and name in self.model.model_fields:
                options[name] = getattr(entity, name)
        return entity, options

    # -- writes -----------------------------------------------------------------------------

    def save_op(self, entity: M, options: dict[str, Any], force_update: bool = False) -> WriteOp:
        key = self.key_of_entity(entity)
        if "\x00" in key:
            # RediSearch reads a document by its key as a C string: it cannot load such a key
            # and treats it as expired, so the entity would be missing from every query.
            raise InvalidQueryError(
                f"{self.model.__name__}: the id {key[len(self.index.key_prefix):]!r} holds a "
                "NUL character; RediSearch cannot read such a key, so the entity would be "
                "missing from filter, count and stream. Use an id without NUL"
            )
        condition: Literal["nx", "xx"] | None = None
        if force_update or options.get("only_update"):
            condition = "xx"
        elif options.get("only_create"):
            condition = "nx"
        # Whatever RedisJSON would refuse inside EXEC is refused here, before anything is sent
        # (Redis does not roll back the rest of a commit).
        check_entity(entity, key)
        try:
            body = self.codec.dump(entity)
        except InvalidEntityError as exc:  # pydantic could not serialise it (codec.dump)
            cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
            raise UnstorableValueError(key, unencodable_field(entity), str(cause)) from cause
        set_args: Args = ("JSON.SET", key, "$", body)
        commands: list[Args] = [set_args + ((condition.upper(),) if condition else ())]
        # TTL as with Redis SET: a new TTL, or keep the old one, or clear it (JSON.SET keeps it).
        if options.get("expire_in") is not None:
            commands.append(("EXPIRE", key, int(options["expire_in"])))
        elif options.get("expire_in_px") is not None:
            commands.append(("PEXPIRE", key, int(options["expire_in_px"])))
        elif not options.get("keep_ttl") and condition != "nx":
            return WriteOp(key=key, commands=tuple(commands), condition=condition, persist=True)
        return WriteOp(key=key, commands=tuple(commands), condition=condition)

    def delete_op(self, obj: Any) -> WriteOp:
        key = obj if isinstance(obj, str) and obj.startswith(self.index.key_prefix) \
            else self.key_of_entity(obj)
        return WriteOp(key=key, commands=(("DEL", key),))

    def commit(self, ops: Sequence[WriteOp], reads_watched: bool,
               ready: MutableSet[str] | None = None) -> Plan[None]:
        """MULTI/EXEC of every op, all or nothing.

        only_create / only_update keys are WATCHed and checked first, so a failed condition
        writes nothing. If a key the unit of work read changed, nothing is written and
        ConcurrencyError is raised. With ``ready``, the index is created first if it does not
        exist yet, so entities are indexed as they are written (in write order).
        """
        if not ops:
            return
        if ready is not None:
            yield from self.create_index(ready)
        conditional = [op for op in ops if op.condition is not None]
        commands, persist_all = _with_persist(ops, script=_NO_SCRIPTS_FACT not in (ready or ()))
        for attempt in range(_CONDITION_RETRIES):
            if conditional:
                keys = tuple(op.key for op in conditional)
                yield Watch(keys)
                exists = yield Batch(tuple(("EXISTS", key) for key in keys))
                failed = condition_failure(conditional, exists)
                if failed is not None:
                    if reads_watched:
                        # A key this unit of work read may have changed since (read, then
                        # deleted by another client): then the failure is a conflict to retry,
                        # not the caller's mistake. An empty MULTI/EXEC tells.
                        try:
                            yield Exec(())
                        except WatchFailed as exc:
                            raise conflict() from exc
                    raise failed
            try:
                replies = yield Exec(commands)
            except WatchFailed as exc:
                if reads_watched or attempt == _CONDITION_RETRIES - 1:
                    raise conflict() from exc
                continue
            except RedisCommandError:
                if not persist_all:
                    raise
                # EVAL refused when queued (an ACL, scripting turned off): nothing was
                # written; again with a PERSIST per key (and so from now on, for this pool)
                if ready is not None:
                    ready.add(_NO_SCRIPTS_FACT)
                commands, persist_all = _with_persist(ops, script=False)
                continue
            failures = [(args, r) for args, r in zip(commands, replies) if isinstance(r, Exception)]
            if persist_all and len(failures) == 1 and failures[0][0] is commands[-1]:
                # The script failed when run: the saves are in; clear the old TTLs one key
                # at a time (no longer in the same MULTI as the saves).
                yield Exec(tuple(("PERSIST", key) for key in persist_all))
                return
            if failures:
                args, reply = failures[0]
                raise RedisCommandError(
                    f"Redis rejected {args[0]} {args[1]!r} inside the commit: {reply}", args
                )
            return

    # -- reads by id ------------------------------------------------------------------------

    def id_keys(self, query: Query) -> list[str] | None:
        """Keys when the query is a plain lookup by id (served by JSON.GET / JSON.MGET)."""
        node = query.filter
        # (with only(): JSON.GET of the selected paths per key)
        if not self.keys.by_id or not isinstance(node, Condition) or node.field != "id" \
                or query.order:
            return None
        # None is "no value" (docs/queries.md), and every entity has an id: it matches nothing
        # (it must not become the key "prefix:None").
        if node.lookup == "eq":
            return [] if node.value is None else [self.key_of_id(node.value)]
        if node.lookup == "in":
            values = node.value
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise InvalidQueryError(f"id__in takes a collection of ids, got {values!r}")
            return list(dict.fromkeys(self.key_of_id(v) for v in values if v is not None))
        return None

    def key_of_id(self, entity_id: Any) -> str:
        key = self.keys.of_id(entity_id)
        assert key is not None  # only asked when the scheme is by id
        return key

    def load_many(self, keys: Sequence[str], watch: bool) -> Plan[list[M]]:
        if not keys:
            return []
        if watch:
            yield Watch(tuple(keys))
        if len(keys) == 1:
            raws = [(yield Call(("JSON.GET", keys[0])))]
        else:
            raws = yield Call(("JSON.MGET", *keys, "."))
        return [self.codec.load(k, raw) for k, raw in zip(keys, raws) if raw is not None]

    # -- queries ----------------------------------------------------------------------------
    # Every read is an FT.AGGREGATE (see search.py); entities are then read whole from the
    # documents (JSON.MGET), or only(...)'s paths (JSON.GET key path...), never from RETURN.

    def read(self, specs: Sequence[Any], page: int = _LIST_PAGE, cap: int | None = None,
             stream: bool = False) -> Read:
        """Check ``specs`` (InvalidQueryError before anything is sent) and start a read."""
        query = collect(specs)
        keys = self.id_keys(query)
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
                    relevance=keys is None and query.relevance)

    def read_page(self, read: Read, ready: MutableSet[str],
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
        if read.relevance:
            return (yield from self.ranked_page(read, ready, watch))
        if watch:  # a unit of work: every entity WATCHed before the search that selects it
            return (yield from watched_page(self, read, ready))
        if read.scan is None:
            exact = compiled.exact
            read.scan = yield from self.open_scan(
                compiled, read.sort, ready, read.page,
                offset=read.query.offset if exact else 0,
                limit=read.limit if exact else None,
                documents=read.projection is None, unique=not read.stream,
                guard_first=read.stream,
            )
        run = partial(self.run_query, ready)
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

    def ranked_page(self, read: Read, ready: MutableSet[str], watch: bool
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
            if watch:  # a unit of work: ranked again after every key was WATCHed (watching.py)
                ranked = yield from settled(
                    self, lambda _attempt, _before: self.ranked_keys(compiled, ready, want),
                    lambda entry: entry[0])
            else:
                ranked = yield from self.ranked_keys(compiled, ready, want)
            read.scores = dict(ranked)
            keys = [key for key, _ in ranked]
            if compiled.exact:
                end = None if read.limit is None else read.query.offset + read.limit
                keys = keys[read.query.offset:end]
            read.ranked = keys
        while read.position < len(read.ranked):
            batch = read.ranked[read.position:read.position + read.page]
            read.position += len(batch)
            if compiled.exact:
                found = yield from self.fetch_keys(batch, read.projection, watch)
                if found:
                    return found
                continue
            out = self.kept(read, compiled, (yield from self.fetch_keys(batch, None, watch)))
            if out or read.done:
                return out
        read.done = True
        return []

    def ranked_keys(self, compiled: CompiledFilter, ready: MutableSet[str],
                    want: int | None = None) -> Plan[list[tuple[str, float]]]:
        """(key, score) of every match (with ``want``: at least of the ``want`` first), most
        relevant first, ties by id: FT.SEARCH's exact scores (WITHSCORES), sorted here so
        that ties are ordered by id. The server returns the best scores first (its ties in
        internal-id order), so a reply whose last score is below the ``want``-th holds every
        match that can be among the first ``want``. Expired keys not yet reclaimed may be
        among them (reading their documents drops them)."""
        base = ("FT.SEARCH", self.index.name, compiled.query, *compiled.params_args(),
                "WITHSCORES", "NOCONTENT")
        tail = ("TIMEOUT", str(self.query_timeout_ms), "DIALECT", "2")
        num = _RANKED_FIRST if want is None else min(want + _RANKED_MARGIN, _RANKED_FIRST)
        while True:
            command = (*base, "LIMIT", "0", str(num), *tail)
            reply = yield from self.run_query(ready, command)
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
        id_numeric = self.schema.id_field.numeric
        id_in = self.keys.id_in

        def by_id(key: str) -> Any:
            entity_id = id_in(key)
            return float(entity_id) if id_numeric else entity_id

        found.sort(key=lambda pair: by_id(pair[0]))
        found.sort(key=lambda pair: -pair[1])
        return found

    def hits(self, specs: Sequence[Any], options: HitOptions, ready: MutableSet[str],
             watch: bool) -> Plan[list[Hit[Any]]]:
        """``filter(*specs)`` with each entity's score (when a search is among the specs) and
        highlights (documents/hits.py)."""
        read = self.read(specs)
        found: list[Any] = []
        try:
            while True:
                page = yield from self.read_page(read, ready, watch)
                if not page and read.done:
                    break
                found += page
        finally:
            if not read.done:
                yield from self.close_read(read)
        node = read.query.filter
        if not searches(node) or read.compiled is None:
            return [make_hit(self.schema, node, e, None, options) for e in found]
        scores = read.scores
        if scores is None:  # ordered by order(): the scores of the matches, asked apart
            scores = dict((yield from self.ranked_keys(read.compiled, ready)))
        return [make_hit(self.schema, node, e, scores.get(self.key_of_entity(e)), options)
                for e in found]

    def close_read(self, read: Read) -> Plan[None]:
        """Free what a read left open on the server (a cursor), when it stops early."""
        read.done = True
        if read.scan is not None:
            yield from read.scan.close()

    def entities_of(self, rows: Sequence[Row], proj: Projection | None, watch: bool
                    ) -> Plan[list[Any]]:
        """The entities of a page of rows: from the documents the rows carry, or read by key
        (a projection, a unit of work's watched re-read, or rows without documents)."""
        if proj is None and not watch:
            found = keyed_documents(rows)
            if found is not None:
                return self.codec.load_all(zip(*found))
        return (yield from self.fetch_keys([row_key(r) for r in rows], proj, watch))

    def open_scan(self, compiled: CompiledFilter, sort: tuple[SortKey, ...] | None,
                  ready: MutableSet[str], page: int, offset: int, limit: int | None,
                  documents: bool = False, unique: bool = True, guard_first: bool = False
                  ) -> Plan[OrderedScan | CursorScan]:
        """How to read the rows: sorted (keyset pages), one unsorted window, or a cursor
        (complete while others write, see CursorScan). ``documents``: rows carry their
        documents where that is cheap. ``unique``: a sorted scan drops an entity it reads again
        (its sort values changed meanwhile). ``guard_first``: a cursor notes the index's state
        with its first page (several pages are likely)."""
        max_rows = yield from self.max_rows(ready)
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
                             page=_LIST_PAGE)
        return CursorScan(self.index.name, where, params, timeout_ms=self.query_timeout_ms,
                          batch=min(page, max_rows or page), offset=offset, limit=limit,
                          documents=documents, repair=repair, guard_first=guard_first)

    def max_rows(self, ready: MutableSet[str]) -> Plan[int | None]:
        """The server's MAXAGGREGATERESULTS (None: no limit), read once per connection pool
        and kept in ``ready`` (the per-pool set of what is known about the server)."""
        for fact in ready:
            if fact.startswith(_MAX_ROWS_FACT):
                value = fact[len(_MAX_ROWS_FACT):]
                return int(value) if value else None
        try:
            found = max_results((yield Call(("FT.CONFIG", "GET", "MAXAGGREGATERESULTS"))))
        except (RedisCommandError, ValueError):
            found = _FALLBACK_MAX_ROWS
        ready.add(f"{_MAX_ROWS_FACT}{'' if found is None else found}")
        return found

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
            raws = yield Call(("JSON.MGET", *keys, "."))
            return [None if raw is None else self.codec.load(k, raw)
                    for k, raw in zip(keys, raws)]
        replies = yield Batch(tuple(proj.command(key) for key in keys))
        out: list[Any] = []
        for key, reply in zip(keys, replies):
            if isinstance(reply, Exception):
                raise RedisCommandError(f"JSON.GET {key!r} failed: {reply}", proj.command(key))
            out.append(proj.build(key, reply))
        return out

    def run_query(self, ready: MutableSet[str], args: Args, before: tuple[Args, ...] = ()
                  ) -> Plan[Any]:
        """One query command; FT.AGGREGATE creates the index first if needed (again when it
        was dropped behind our back, e.g. FLUSHALL). A timeout is never a partial answer.
        ``before``: commands sent first in the same round trip; the value is then (their
        replies, errors as exceptions; the query's reply)."""
        searching = args[0] in ("FT.AGGREGATE", "FT.SEARCH")
        if searching:
            yield from self.ensure_index(ready)
            if self.query_timeout_ms:
                yield from self.check_timeout_policy(ready)
        try:
            try:
                return (yield from self._send(args, before))
            except RedisCommandError as exc:
                if not (searching and is_missing_index_error(exc)):
                    raise
                ready.discard(self.index.name)
                yield from self.ensure_index(ready)
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

    def check_timeout_policy(self, ready: MutableSet[str]) -> Plan[None]:
        """A query TIMEOUT must never give a partial answer: RESP3 replies carry a warning and
        the server's ``ON_TIMEOUT FAIL`` makes it an error; RESP2 with ``ON_TIMEOUT RETURN``
        (the default) would hide it, so that combination is refused (once per pool)."""
        if _TIMEOUT_POLICY_FACT in ready:
            return
        try:
            policy, resp3 = config_value((yield Call(("FT.CONFIG", "GET", "ON_TIMEOUT"))))
        except RedisCommandError:
            policy, resp3 = None, False
        if not resp3 and (policy or "").lower() != "fail":
            raise InvalidQueryError(
                f"query_timeout_ms={self.query_timeout_ms} with a RESP2 client needs the "
                f"server's ON_TIMEOUT set to FAIL (it is {policy or 'unknown'}): a RESP2 reply "
                "cut short by the timeout looks complete. Use a RESP3 client (protocol=3), or "
                "FT.CONFIG SET ON_TIMEOUT FAIL, or query_timeout_ms=0 (no limit)"
            )
        ready.add(_TIMEOUT_POLICY_FACT)

    def ensure_index(self, ready: MutableSet[str]) -> Plan[None]:
        """Before a query: the index exists and has scanned, and no document under the
        prefix is silently missing from it (checked at a bounded rate, see health.py)."""
        yield from ensure_index(self.index, ready, self.index_timeout)
        yield from self.health.check(ready)

    def index_status(self, ready: MutableSet[str]) -> Plan[IndexStatus]:
        yield from ensure_index(self.index, ready, self.index_timeout)
        return (yield from self.health.status())

    def create_index(self, ready: MutableSet[str]) -> Plan[None]:
        """Make sure the index exists (without waiting for it to scan existing keys)."""
        marker = f"{self.index.name}\x00created"
        if self.index.name in ready or marker in ready:
            return
        yield from create(self.index)
        ready.add(marker)

    def select(self, specs: Sequence[Any], ready: MutableSet[str],
               watch: bool, cap: int | None = None) -> Plan[list[Any]]:
        """Every entity ``specs`` select (at most ``cap``), as a list."""
        read = self.read(specs, cap=cap)
        out: list[Any] = []
        try:
            while True:
                found = yield from self.read_page(read, ready, watch)
                if not found and read.done:
                    return out
                out += found
        finally:
            if not read.done:
                yield from self.close_read(read)

    def get(self, specs: Sequence[Any], ready: MutableSet[str],
            watch: bool) -> Plan[Any]:
        key = None if watch else self.plain_id_key(specs)
        if key is not None:  # get(filter_(id=...)): the one JSON.GET select would send
            raw = yield Call(("JSON.GET", key))
            return exactly_one([] if raw is None else [self.codec.load(key, raw)],
                               self.model, specs)
        found = yield from self.select(specs, ready, watch, cap=2)
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
        return self.key(node.value)  # None: the id alone does not give the key

    def filter(self, specs: Sequence[Any], ready: MutableSet[str],
               watch: bool) -> Plan[list[Any]]:
        return (yield from self.select(specs, ready, watch))

    def count(self, specs: Sequence[Any], ready: MutableSet[str]
              ) -> Plan[int]:
        """How many entities match (order and paginate do not apply), in one round trip
        when Redis decides the filter exactly. Expired keys not yet reclaimed are not
        counted."""
        query = collect(specs)
        keys = self.id_keys(query)
        if keys is not None:
            found = yield Batch(tuple(("EXISTS", k) for k in keys))
            return sum(1 for f in found if f is True or f == 1)
        compiled = self.compiled_filter(query)
        if query.order:
            self.sort_keys(query.order)  # a bad order is refused here too
        if compiled.matches_nothing:
            return 0
        if compiled.exact:
            quick = yield from self.quick_count(compiled, ready)
            if quick is not None:
                return quick
            command = aggregate(self.index.name, compiled.query, compiled.params_args(),
                                count_steps(), self.query_timeout_ms)
            total, warnings = count_reply((yield from self.run_query(ready, command)))
            check_complete(warnings, command)
            return total
        # Redis selects candidates; the rest of the filter is checked in Python.
        read = self.read([FilterSpecification(query.filter or And(()))], page=1000)
        total = 0
        try:
            while True:
                found = yield from self.read_page(read, ready, watch=False)
                if not found and read.done:
                    return total
                total += len(found)
        finally:
            if not read.done:
                yield from self.close_read(read)

    def quick_count(self, compiled: CompiledFilter, ready: MutableSet[str]) -> Plan[int | None]:
        """The search's own total, in one round trip, when it is exact: when no key of the
        server has a TTL (INFO keyspace, sent just before it), no expired-but-unreclaimed key
        can be counted. None: ask the exact (slower) way."""
        yield from self.ensure_index(ready)
        if self.query_timeout_ms:
            yield from self.check_timeout_policy(ready)
        search = ("FT.SEARCH", self.index.name, compiled.query, *compiled.params_args(),
                  "LIMIT", "0", "0", "TIMEOUT", str(self.query_timeout_ms), "DIALECT", "2")
        info, reply = yield Batch((("INFO", "keyspace"), search))
        if isinstance(info, Exception) or isinstance(reply, Exception) or keys_with_ttl(info):
            return None
        check_complete(search_warnings(reply), search)
        return search_reply(reply, content=False)[0]

    def explain(self, specs: Sequence[Any], ready: MutableSet[str]) -> Plan[list[str]]:
        """The command ``filter(*specs)`` sends first (an FT.AGGREGATE, or JSON.MGET for a
        lookup by id). The index is made first, so the command runs as is."""
        read = self.read(specs)
        if read.keys is not None:
            if read.projection is not None and read.keys:
                return list(read.projection.command(read.keys[0]))
            return ["JSON.MGET", *read.keys, "."]
        compiled = read.compiled
        assert compiled is not None
        yield from self.ensure_index(ready)
        if read.relevance:  # ranked first (ranked_keys), documents then read by key
            return ["FT.SEARCH", self.index.name, compiled.query, *compiled.params_args(),
                    "WITHSCORES", "NOCONTENT", "LIMIT", "0", str(_RANKED_FIRST), "TIMEOUT",
                    str(self.query_timeout_ms), "DIALECT", "2"]
        exact = compiled.exact
        scan = yield from self.open_scan(
            compiled, read.sort, ready, read.page,
            offset=read.query.offset if exact else 0,
            limit=read.limit if exact else None)
        return [str(arg) for arg in scan.first_command()]

    # -- bulk update / delete ---------------------------------------------------------------

    def matching_keys(self, specs: Sequence[Any], ready: MutableSet[str], watch: bool
                      ) -> Plan[list[str]]:
        """The keys of every entity ``specs`` select. Exact filters read no document. With
        ``watch`` (a unit of work) each key is WATCHed before the search that returns it
        (watching.py), as for every read of a unit of work."""
        read = self.read(specs, page=_LIST_PAGE)
        if watch and read.keys is None:
            return (yield from watched_keys(self, read, ready))
        return (yield from self._matching_keys(specs, ready, watch))

    def _matching_keys(self, specs: Sequence[Any], ready: MutableSet[str], watch: bool
                       ) -> Plan[list[str]]:
        read = self.read(specs, page=_LIST_PAGE)
        if not read.query.offset and read.limit is None:
            # Which entities match does not depend on the order: read them unsorted, which is
            # complete also for entities whose sort values change meanwhile.
            read.sort = None
        compiled = read.compiled
        if read.keys is not None or (compiled is not None and not compiled.exact):
            found: list[Any] = []
            try:
                while (page := (yield from self.read_page(read, ready, watch))) or \
                        not read.done:
                    found += page
            finally:
                if not read.done:
                    yield from self.close_read(read)
            return [self.key_of_entity(e) for e in found]
        assert compiled is not None
        if compiled.matches_nothing:
            return []
        scan = yield from self.open_scan(compiled, read.sort, ready, read.page,
                                         offset=read.query.offset, limit=read.limit)
        run = partial(self.run_query, ready)
        keys: list[str] = []
        try:
            while rows := (yield from scan.next_page(run)):
                keys += [row_key(row) for row in rows]
        finally:
            yield from scan.close()
        return list(dict.fromkeys(keys))

    def update_matches(self, specs: Sequence[Any], values: dict[str, Any],
                       ready: MutableSet[str], queue: bool
                       ) -> Plan[tuple[int, list[WriteOp]]]:
        """Set ``values`` on every match. ``queue`` (a unit of work): return the write ops
        for its commit; otherwise write now, in MULTI/EXEC batches. Returns (how many, ops)."""
        if not specs:
            raise InvalidQueryError(
                f"update(**values) of {self.model.__name__} needs a specification of what to "
                "update (filter_() for every entity)"
            )
        update = build_update(self.schema, values)
        read = self.read(specs)  # check the specifications before anything is sent
        keys = yield from self.matching_keys(specs, ready, watch=queue)
        if queue:
            return len(keys), [WriteOp(key=key, commands=update.commands(key)) for key in keys]
        per_key = len(update.steps)

        def written(batch: Sequence[str], replies: Sequence[Any]) -> int:
            firsts = (replies[i * per_key] for i in range(len(batch)))
            return sum(1 for r in firsts if r is not None and not isinstance(r, Exception))

        done = yield from checked_writes(
            self, read, keys, ready,
            lambda batch: tuple(args for key in batch for args in update.commands(key)),
            written)
        return done, []

    def delete_matches(self, specs: Sequence[Any], ready: MutableSet[str], queue: bool
                       ) -> Plan[tuple[int, list[WriteOp]]]:
        """Delete every match (none without a specification); see update_matches."""
        if not specs:
            return 0, []
        read = self.read(specs)
        keys = yield from self.matching_keys(specs, ready, watch=queue)
        if queue:
            return len(keys), [self.delete_op(key) for key in keys]
        done = yield from checked_writes(self, read, keys, ready,
                                         lambda batch: (("DEL", *batch),),
                                         lambda batch, replies: int(replies[0]))
        return done, []


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

    # -- single entities --------------------------------------------------------------------

    def fetch(self, obj: Any, watch: bool) -> Plan[M]:
        key = self.key_of_entity(obj)
        found = yield from self.load_many([key], watch)
        if not found:
            raise NotFoundError(f"{key!r} does not exist")
        return found[0]

    def same(self, a: M, b: M) -> bool:
        return a.model_dump(by_alias=True) == b.model_dump(by_alias=True)


def condition_failure(ops: Sequence[WriteOp], exists: Sequence[Any]) -> Exception | None:
    """The error of the first only_create / only_update that ``EXISTS`` replies fail."""
    for op, found in zip(ops, exists):
        if isinstance(found, Exception):
            raise RedisCommandError(str(found))
        if op.condition == "nx" and found:
            return AlreadyExistsError(op.key)
        if op.condition == "xx" and not found:
            return UpdateTargetMissingError(op.key)
    return None


def conflict() -> ConcurrencyError:
    return ConcurrencyError(
        "an entity read in this unit of work was changed by another client before commit; "
        "nothing was written. Retry the unit of work (see assimilator_stack.retry_on_conflict)"
    )
