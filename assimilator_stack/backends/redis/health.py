"""Documents RediSearch could not index, and the index's state (``repository.index_status()``).

A document under the model's prefix whose value has the wrong JSON type for its attribute
(``"price": "12"`` where the index holds a NUMERIC) leaves the index *whole*: ``get(id)`` reads
it, every query silently misses it. The server says so only in FT.INFO: a cumulative count of
indexing failures and the key of the last one (RediSearch 2.10; the per-field statistics count
only some kinds of failure). So the repository reads FT.INFO once per connection pool and then
at most once per ``index_check_interval`` seconds before a query; when the count grew, it reads
the last failing document and finds, in Python, the field whose value the index cannot take
(the same type rules as the server: the facts in tests/redis/test_index_health.py).

Cost (measured on the embedded server, 5,000 documents): FT.INFO takes 0.13 ms of server time,
an FT.SEARCH count 0.04 ms, a round trip 0.03 ms. Sent with every query it would cost more than
the query; at most once a second per pool it costs nothing measurable.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from ... import logs
from ...exceptions import InvalidQueryError, RedisCommandError, UnindexedDocumentError
from ...fields.schema import INDEX_EXTRAS_KEY, NULLS_ATTRIBUTE, FieldSchema, ModelSchema
from .commands import ft_info, json_get
from .facts import ServerFacts
from .protocol import Call, Plan
from .replies import IndexInfo, index_info

logger = logs.index  # WARNING: documents the index cannot take


@dataclass(frozen=True)
class UnindexedDocument:
    """A document under the model's prefix that the index does not hold: ``filter``,
    ``count``, ``stream`` and bulk writes do not see it (``get`` by id does)."""

    key: str
    field: str | None  # the model's field (dotted) whose value the index cannot take
    reason: str


@dataclass(frozen=True)
class IndexStatus:
    """The model's RediSearch index as the server reports it (FT.INFO), with the documents
    known to be missing from it."""

    name: str
    num_docs: int
    indexing: bool  # still scanning keys that existed before the index
    percent_indexed: float
    indexing_failures: int  # since the index was created (the server never lowers it)
    last_failure_key: str | None
    last_failure_error: str | None
    # The last failing document, when it is still there and still cannot be indexed. The
    # server names only the last failure; earlier ones cannot be listed.
    unindexed: tuple[UnindexedDocument, ...] = ()


def status_of(name: str, info: IndexInfo, unindexed: tuple[UnindexedDocument, ...]
              ) -> IndexStatus:
    return IndexStatus(
        name=name,
        num_docs=info.num_docs,
        indexing=info.indexing,
        percent_indexed=float(info.percent_indexed) if info.percent_indexed != "?" else 1.0,
        indexing_failures=info.indexing_failures,
        last_failure_key=info.last_failure_key,
        last_failure_error=info.last_failure_error,
        unindexed=unindexed,
    )


# -- which field the index cannot take -----------------------------------------------------


def _matches(doc: Any, parts: tuple[str, ...], lists: frozenset[int]) -> list[Any]:
    """What the JSONPath of an attribute selects: ``[*]`` (after the parts in ``lists``)
    selects the elements of an array or the values of an object, and nothing of a scalar."""
    current = [doc]
    for i, part in enumerate(parts):
        found: list[Any] = []
        for item in current:
            if not isinstance(item, dict) or part not in item:
                continue
            value = item[part]
            if i not in lists:
                found.append(value)
            elif isinstance(value, list):
                found += value
            elif isinstance(value, dict):
                found += value.values()
        current = found
    return current


def _describe(value: Any) -> str:
    kind = {bool: "a boolean", str: "a string", dict: "an object", list: "an array",
            type(None): "null"}.get(type(value), "a number")
    shown = json.dumps(value)
    return f"{kind} {shown[:40]}{'...' if len(shown) > 40 else ''}"


def _element_ok(value: Any, kind: str) -> bool:
    """One of several values: null, or a number (NUMERIC) / a string (TAG, TEXT). (``kind``
    is an index attribute type, not a field kind.)"""
    if value is None:
        return True
    if kind == "NUMERIC":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def _refused(found: list[Any], kind: str, sortable: bool) -> Any:
    """The value RediSearch cannot index in an attribute of ``kind`` (a NotImplemented
    sentinel when it can). Measured on RediSearch 2.10 (tests/redis/test_index_health.py): one
    value may be a scalar of the attribute's type (a boolean is a TAG too) or an array of
    such values (not empty when SORTABLE; no booleans, arrays or objects inside); several
    values must each be null or of the type."""
    if len(found) == 1:
        value = found[0]
        if value is None:
            return NotImplemented
        if isinstance(value, list):
            if not value:
                return value if sortable else NotImplemented
            return value if not all(_element_ok(v, kind) for v in value) else NotImplemented
        if isinstance(value, dict):
            return value
        if isinstance(value, bool) and kind == "TAG":
            return NotImplemented
        return NotImplemented if _element_ok(value, kind) else value
    for value in found:
        if not _element_ok(value, kind):
            return value
    return NotImplemented


def _attributes(field: FieldSchema
                ) -> list[tuple[tuple[str, ...], frozenset[int], str, bool]]:
    """(JSON path parts, ``[*]`` positions, attribute type, SORTABLE) of each attribute of
    ``field`` (as index.py declares them)."""
    out: list[tuple[tuple[str, ...], frozenset[int], str, bool]] = []
    sortable = field.sort_vector  # never on lists: they sort by __min / __max (index.py)
    extra_lists = frozenset({1}) if field.multi else frozenset()
    if not field.tag_indexed:
        pass  # a Text() field: TEXT only
    elif field.stored_as_extra:
        out.append(((INDEX_EXTRAS_KEY, field.alias), extra_lists,
                    field.kind_obj.index_type()[0], sortable))
    else:
        out.append((field.json_parts, field.list_after,
                    field.kind_obj.index_type()[0], sortable))
    if field.lower_copy:
        out.append(((INDEX_EXTRAS_KEY, field.lower_alias), extra_lists, "TAG", sortable))
    if field.text is not None:
        out.append((field.json_parts, field.list_after, "TEXT",
                    sortable and not field.tag_indexed))
    return out


def problems(schema: ModelSchema, key: str, raw: Any) -> list[UnindexedDocument] | None:
    """Why the document ``raw`` (its JSON text) cannot be indexed; [] when it can; None when
    it is not a JSON object at all."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    found: list[UnindexedDocument] = []
    holds = {"NUMERIC": "numbers", "TAG": "strings", "TEXT": "strings"}
    for field in schema.fields.values():
        for parts, lists, kind, sortable in _attributes(field):
            bad = _refused(_matches(doc, parts, lists), kind, sortable)
            if bad is not NotImplemented:
                path = "$" + "".join(
                    f".{p}" + ("[*]" if i in lists else "") for i, p in enumerate(parts))
                found.append(UnindexedDocument(
                    key=key, field=field.name,
                    reason=f"the index holds {holds[kind]} at {path}, the document has "
                           f"{_describe(bad)}"))
                break
    nulls = _matches(doc, (INDEX_EXTRAS_KEY, NULLS_ATTRIBUTE), frozenset({1}))
    if _refused(nulls, "TAG", False) is not NotImplemented:
        found.append(UnindexedDocument(key=key, field=None, reason=f"{INDEX_EXTRAS_KEY}."
                                       f"{NULLS_ATTRIBUTE} holds something other than names"))
    return found


# -- the check before queries ---------------------------------------------------------------


@dataclass
class _Check:
    """Per connection pool and index: when to ask FT.INFO next, how many failures were seen,
    and the document known to be missing (asked again at every query while there is one)."""

    next_at: float = 0.0
    seen: int = 0
    seen_key: str | None = None  # with ``seen``: a recreated index (FLUSHALL) counts anew
    bad: UnindexedDocument | None = None


class IndexHealth:
    """The check of unindexed documents for one model (see the module docstring)."""

    def __init__(self, schema: ModelSchema, index_name: str, key_prefix: str,
                 unindexed: str, interval: float) -> None:
        if unindexed not in ("raise", "warn"):
            raise InvalidQueryError(
                f"unindexed must be 'raise' or 'warn', got {unindexed!r}")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) \
                or not interval >= 0:
            raise InvalidQueryError(
                f"index_check_interval must be a number of seconds >= 0, got {interval!r}")
        self.schema = schema
        self.index_name = index_name
        self.key_prefix = key_prefix
        self.mode: Literal["raise", "warn"] = "raise" if unindexed == "raise" else "warn"
        self.interval = float(interval)

    def _state(self, facts: ServerFacts) -> _Check:
        checks = facts.health_checks
        found = checks.get(self.index_name)
        if not isinstance(found, _Check):
            found = checks[self.index_name] = _Check()
        return found

    def check(self, facts: ServerFacts) -> Plan[None]:
        """Before a query: FT.INFO when due; UnindexedDocumentError (or a warning) when a
        document under the prefix is missing from the index."""
        state = self._state(facts)
        now = time.monotonic()
        if now >= state.next_at or (state.bad is not None and self.mode == "raise"):
            state.next_at = now + self.interval
            try:
                reply = yield Call(ft_info(self.index_name))
            except RedisCommandError:
                return  # the query that follows reports what is wrong with the index
            failures = index_info(reply)
            news = (failures.indexing_failures, failures.last_failure_key) != \
                (state.seen, state.seen_key)
            if news or state.bad is not None:
                bad = yield from self.diagnose(failures)
                if bad is None and news and failures.indexing_failures:
                    logger.warning(
                        "index %r reports %d indexing failure(s) (the server never lowers "
                        "this count); the last one, %r, is resolved now and the server names "
                        "no other. Documents that failed earlier may still be missing from "
                        "queries until they are written again", self.index_name,
                        failures.indexing_failures, failures.last_failure_key)
                elif bad is not None and (news or bad != state.bad):  # once, in both modes
                    logger.warning("%s", UnindexedDocumentError(bad.key, bad.field, bad.reason))
                state.seen, state.seen_key = failures.indexing_failures, failures.last_failure_key
                state.bad = bad
        if state.bad is not None and self.mode == "raise":
            raise UnindexedDocumentError(state.bad.key, state.bad.field, state.bad.reason)

    def diagnose(self, info: IndexInfo) -> Plan[UnindexedDocument | None]:
        """The last failing document, when it is still there and still cannot be indexed."""
        key = info.last_failure_key
        if key is None or not key.startswith(self.key_prefix):
            return None
        try:
            raw = yield Call(json_get(key))
        except RedisCommandError:
            return None  # not a JSON key (the index ignores it)
        if raw is None:
            return None
        found = problems(self.schema, key, raw)
        return found[0] if found else None

    def status(self) -> Plan[IndexStatus]:
        info = index_info((yield Call(ft_info(self.index_name))))
        bad = yield from self.diagnose(info)
        return status_of(self.index_name, info, (bad,) if bad is not None else ())
