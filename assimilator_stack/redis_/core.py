"""The sans-I/O core of the Redis repository: every operation as a plan (see protocol.py).

Sync and async repositories run the same plans; nothing here touches a socket.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSet, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from ..codec import Codec
from ..core.filters import Condition
from ..core.specs import Query, collect
from ..exceptions import (
    AlreadyExistsError,
    ConcurrencyError,
    InvalidQueryError,
    MultipleResultsError,
    NotFoundError,
    RedisCommandError,
    UpdateTargetMissingError,
)
from ..keys import claim_prefix, key_of
from ..model import WRITE_OPTIONS
from ..schema import schema_of
from .index import IndexSpec, ensure_index, is_missing_index_error
from .protocol import Args, Batch, Call, Exec, Plan, Watch, WatchFailed
from .query import CompiledFilter, compile_filter
from .replies import search_reply

M = TypeVar("M", bound=BaseModel)

# A commit whose only watched keys are its own only_create / only_update checks is retried
# this many times when another client touches one of those keys between check and EXEC.
_CONDITION_RETRIES = 5
_PAGE = 1000


@dataclass(frozen=True)
class WriteOp:
    """One entity's part of a commit: its commands and the condition that must hold."""

    key: str
    commands: tuple[Args, ...]
    condition: Literal["nx", "xx"] | None = None


class RedisCore(Generic[M]):
    """Everything a Redis repository does, for one model, as plans."""

    def __init__(self, model: type[M], index_timeout: float = 60.0) -> None:
        self.model = model
        self.schema = schema_of(model)
        claim_prefix(self.schema.prefix, model)
        self.codec: Codec[M] = Codec(self.schema)
        self.index = IndexSpec(self.schema)
        self.index_timeout = index_timeout

    # -- keys and entities ------------------------------------------------------------------

    def key(self, entity_id: Any) -> str:
        return key_of(self.schema.prefix, entity_id)

    def key_of_entity(self, obj: Any) -> str:
        entity_id = obj.get("id") if isinstance(obj, dict) else getattr(obj, "id", None)
        if entity_id is None:
            raise InvalidQueryError(f"{self.model.__name__}: the entity has no id")
        return self.key(entity_id)

    def build(self, obj: Any = None, fields: dict[str, Any] | None = None
              ) -> tuple[M, dict[str, Any]]:
        """Validate ``obj`` and/or ``fields`` into an entity; return it with its write options."""
        fields = dict(fields or {})
        options = {name: fields.pop(name) for name in WRITE_OPTIONS
                   if name in fields and name not in self.model.model_fields}
        try:
            if obj is None:
                entity = self.model(**fields)
            elif isinstance(obj, self.model) and not fields:
                # A plain BaseModel does not validate assignment: it may hold a wrong value
                # set since it was made, so it is validated again before it is stored.
                validated = obj.model_config.get("validate_assignment")
                entity = obj if validated else self.model.model_validate(dict(obj))
            else:
                data = dict(obj) if isinstance(obj, (BaseModel, dict)) else obj
                if fields:
                    data = {**data, **fields}
                entity = self.model.model_validate(data)
        except ValidationError as exc:
            raise InvalidQueryError(f"{self.model.__name__} is not valid: {exc}") from exc
        for name in WRITE_OPTIONS:
            if name not in options and name in self.model.model_fields:
                options[name] = getattr(entity, name)
        return entity, options

    # -- writes -----------------------------------------------------------------------------

    def save_op(self, entity: M, options: dict[str, Any], force_update: bool = False) -> WriteOp:
        key = self.key_of_entity(entity)
        condition: Literal["nx", "xx"] | None = None
        if force_update or options.get("only_update"):
            condition = "xx"
        elif options.get("only_create"):
            condition = "nx"
        set_args: Args = ("JSON.SET", key, "$", self.codec.dump(entity))
        commands: list[Args] = [set_args + ((condition.upper(),) if condition else ())]
        # TTL as with Redis SET: a new TTL, or keep the old one, or clear it (JSON.SET keeps it).
        if options.get("expire_in") is not None:
            commands.append(("EXPIRE", key, int(options["expire_in"])))
        elif options.get("expire_in_px") is not None:
            commands.append(("PEXPIRE", key, int(options["expire_in_px"])))
        elif not options.get("keep_ttl") and condition != "nx":
            commands.append(("PERSIST", key))
        return WriteOp(key=key, commands=tuple(commands), condition=condition)

    def delete_op(self, obj: Any) -> WriteOp:
        key = obj if isinstance(obj, str) and obj.startswith(self.index.key_prefix) \
            else self.key_of_entity(obj)
        return WriteOp(key=key, commands=(("DEL", key),))

    def commit(self, ops: Sequence[WriteOp], reads_watched: bool) -> Plan[None]:
        """MULTI/EXEC of every op, all or nothing.

        only_create / only_update keys are WATCHed and checked first, so a failed condition
        writes nothing. If a key the unit of work read changed, nothing is written and
        ConcurrencyError is raised.
        """
        if not ops:
            return
        conditional = [op for op in ops if op.condition is not None]
        commands = tuple(args for op in ops for args in op.commands)
        for attempt in range(_CONDITION_RETRIES):
            if conditional:
                keys = tuple(op.key for op in conditional)
                yield Watch(keys)
                exists = yield Batch(tuple(("EXISTS", key) for key in keys))
                for op, found in zip(conditional, exists):
                    if isinstance(found, Exception):
                        raise RedisCommandError(str(found))
                    if op.condition == "nx" and found:
                        raise AlreadyExistsError(op.key)
                    if op.condition == "xx" and not found:
                        raise UpdateTargetMissingError(op.key)
            try:
                replies = yield Exec(commands)
            except WatchFailed as exc:
                if reads_watched or attempt == _CONDITION_RETRIES - 1:
                    raise ConcurrencyError(
                        "an entity read in this unit of work was changed by another client "
                        "before commit; nothing was written. Retry the unit of work "
                        "(see assimilator_stack.retry_on_conflict)"
                    ) from exc
                continue
            failures = [(args, r) for args, r in zip(commands, replies) if isinstance(r, Exception)]
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
        if not isinstance(node, Condition) or node.field != "id" or query.order or query.only:
            return None
        # None is "no value" (docs/queries.md), and every entity has an id: it matches nothing
        # (it must not become the key "prefix:None").
        if node.lookup == "eq":
            return [] if node.value is None else [self.key(node.value)]
        if node.lookup == "in":
            values = node.value
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise InvalidQueryError(f"id__in takes a collection of ids, got {values!r}")
            return list(dict.fromkeys(self.key(v) for v in values if v is not None))
        return None

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

    def get(self, specs: Sequence[Any], ready: MutableSet[str], watch: bool) -> Plan[M]:
        query = collect(specs)
        found = yield from self.select(query, ready, watch, limit_hint=2)
        if not found:
            raise NotFoundError(f"no {self.model.__name__} matches {list(specs)!r}")
        if len(found) > 1:
            raise MultipleResultsError(
                f"more than one {self.model.__name__} matches {list(specs)!r}"
            )
        return found[0]

    def filter(self, specs: Sequence[Any], ready: MutableSet[str], watch: bool) -> Plan[list[M]]:
        return (yield from self.select(collect(specs), ready, watch))

    def select(self, query: Query, ready: MutableSet[str], watch: bool,
               limit_hint: int | None = None) -> Plan[list[M]]:
        keys = self.id_keys(query)
        if keys is not None:
            end = None if query.limit is None else query.offset + query.limit
            keys = keys[query.offset:end]
            return (yield from self.load_many(keys, watch))
        rows = yield from self.search(query, ready, limit_hint)
        if watch and rows:
            # Re-read after WATCH so what the unit of work sees is what it watches.
            return (yield from self.load_many([k for k, _ in rows], watch=True))
        return [self.codec.load(key, raw) for key, raw in rows]

    def count(self, specs: Sequence[Any], ready: MutableSet[str]) -> Plan[int]:
        query = collect(specs)
        keys = self.id_keys(query)
        if keys is not None:
            found = yield Batch(tuple(("EXISTS", k) for k in keys))
            return sum(1 for f in found if f is True or f == 1)
        where, params = self.compile_filter(query)
        reply = yield from self.run_search(ready, where, "LIMIT", "0", "0", *params)
        return search_reply(reply, content=False)[0]

    # Let RediSearch expand prefix/suffix/infix patterns (startswith, contains, like, search
    # prefixes) instead of checking them in Python; exact only when the server's
    # MAXPREFIXEXPANSIONS exceeds the distinct values of the field (see redis_/query.py).
    redis_wildcards: bool = False

    def compiled_filter(self, query: Query) -> CompiledFilter:
        """``query.filter`` compiled (validated first: InvalidQueryError before any I/O)."""
        return compile_filter(self.schema, query.filter, redis_wildcards=self.redis_wildcards)

    def compile_filter(self, query: Query) -> tuple[str, tuple[str, ...]]:
        """The RediSearch query string and its PARAMS arguments for ``query.filter``."""
        compiled = self.compiled_filter(query)
        return compiled.query, compiled.params_args()

    def filter_is_exact(self, query: Query) -> bool:
        """False when the query selects a superset of the matches: then
        ``compiled_filter(query).residual(entity)`` must hold for each candidate."""
        return self.compiled_filter(query).exact

    def search(self, query: Query, ready: MutableSet[str], limit_hint: int | None
               ) -> Plan[list[tuple[str, Any]]]:
        where, params = self.compile_filter(query)
        wanted = query.limit if limit_hint is None else limit_hint
        rows: list[tuple[str, Any]] = []
        offset = query.offset
        while wanted is None or len(rows) < wanted:
            page = _PAGE if wanted is None else min(_PAGE, wanted - len(rows))
            reply = yield from self.run_search(
                ready, where, "RETURN", "1", "$", "LIMIT", str(offset), str(page), *params
            )
            total, found = search_reply(reply)
            rows += [(key, fields["$"]) for key, fields in found if fields is not None]
            offset += page
            if offset >= total or not found:
                break
        return rows

    def run_search(self, ready: MutableSet[str], *args: str) -> Plan[Any]:
        """FT.SEARCH on the model's index, creating the index first if needed."""
        yield from ensure_index(self.index, ready, self.index_timeout)
        command = ("FT.SEARCH", self.index.name, *args, "DIALECT", "2")
        try:
            return (yield Call(command))
        except RedisCommandError as exc:
            if not is_missing_index_error(exc):
                raise
            ready.discard(self.index.name)  # dropped behind our back (FLUSHALL): make it again
            yield from ensure_index(self.index, ready, self.index_timeout)
            return (yield Call(command))

    # -- single entities --------------------------------------------------------------------

    def fetch(self, obj: Any, watch: bool) -> Plan[M]:
        key = self.key_of_entity(obj)
        found = yield from self.load_many([key], watch)
        if not found:
            raise NotFoundError(f"{key!r} does not exist")
        return found[0]

    def same(self, a: M, b: M) -> bool:
        return a.model_dump(by_alias=True) == b.model_dump(by_alias=True)
