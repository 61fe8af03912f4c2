"""Every reply the backend reads, parsed here (and only here; the commands are built in
commands.py), normalised across RESP2 / RESP3 and ``decode_responses`` on or off."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...exceptions import PartialResultError
from ...fields.vectors import float32
from .commands import (
    COUNT_FIELD,
    DISTANCE_FIELD,
    DOCUMENT_FIELD,
    KEY_FIELD,
    KNN_FIELD,
    anchor_paths,
)
from .sort_keys import Anchor, SortKey, Value


def text(value: Any) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)


def search_reply(reply: Any, content: bool = True) -> tuple[int, list[tuple[str, Any]]]:
    """FT.SEARCH -> (total, [(key, fields)]); ``fields`` is a dict of field -> raw value,
    or None when the key has no content (``content=False`` for NOCONTENT, or an expired key)."""
    if isinstance(reply, dict):  # RESP3
        total = int(_get(reply, "total_results"))
        rows: list[tuple[str, Any]] = []
        for result in _get(reply, "results") or []:
            key = text(_get(result, "id"))
            attrs = _get(result, "extra_attributes") if content else None
            rows.append((key, {text(k): v for k, v in attrs.items()} if attrs else None))
        return total, rows
    total = int(reply[0])
    items = reply[1:]
    if not content:
        return total, [(text(k), None) for k in items]
    rows = []
    for key, fields in zip(items[0::2], items[1::2]):
        if fields is None:
            rows.append((text(key), None))
        else:
            rows.append((text(key), {text(k): v for k, v in zip(fields[0::2], fields[1::2])}))
    return total, rows


def search_warnings(reply: Any) -> list[str]:
    """Warnings RESP3 reports (e.g. a timeout); RESP2 has none to show."""
    if isinstance(reply, dict):
        return [text(w) for w in (_get(reply, "warning") or [])]
    return []


def info_dict(reply: Any) -> dict[str, Any]:
    """FT.INFO (flat list in RESP2, map in RESP3) -> dict with str keys."""
    if isinstance(reply, dict):
        return {text(k): v for k, v in reply.items()}
    return {text(k): v for k, v in zip(reply[0::2], reply[1::2])}


@dataclass(frozen=True)
class IndexInfo:
    """What FT.INFO says of an index (the parts the backend reads)."""

    num_docs: int
    indexing: bool  # still scanning keys that existed before the index
    percent_indexed: str  # as the server wrote it ("?" when it did not)
    indexing_failures: int  # since the index was created (the server never lowers it)
    last_failure_key: str | None
    last_failure_error: str | None
    # For the index lifecycle (lifecycle.py): the name (an alias resolves to its index),
    # what the index covers, and its memory (total_index_memory_sz_mb, in bytes).
    name: str | None = None
    key_type: str | None = None
    prefixes: tuple[str, ...] = ()
    memory_bytes: int = 0

    @property
    def share_indexed(self) -> float:
        """percent_indexed as a number: the share of the keyspace scanned, 0 to 1."""
        try:
            return float(self.percent_indexed)
        except ValueError:
            return 0.0


def index_info(reply: Any) -> IndexInfo:
    """``FT.INFO`` -> :class:`IndexInfo`."""
    info = info_dict(reply)
    errors = _pairs(info.get("Index Errors"))
    failures = info.get("hash_indexing_failures", errors.get("indexing failures", 0))
    indexing = info.get("indexing", 0)
    percent = info.get("percent_indexed")
    definition = _pairs(info.get("index_definition"))
    try:
        memory = int(float(text(info.get("total_index_memory_sz_mb", 0))) * 1024 * 1024)
    except ValueError:
        memory = 0
    return IndexInfo(
        num_docs=int(float(text(info.get("num_docs", 0)))),
        indexing=indexing is not None and text(indexing) not in ("0", "0.0"),
        percent_indexed="?" if percent is None else text(percent),
        indexing_failures=int(float(text(failures))),
        last_failure_key=_named(errors.get("last indexing error key")),
        last_failure_error=_named(errors.get("last indexing error")),
        name=_named(info.get("index_name")),
        key_type=_named(definition.get("key_type")),
        prefixes=tuple(text(p) for p in definition.get("prefixes") or ()),
        memory_bytes=memory,
    )


def index_names(reply: Any) -> list[str]:
    """``FT._LIST`` -> the index names (aliases are not listed)."""
    return [text(name) for name in reply]


def index_uses(reply: Any) -> dict[str, float]:
    """``HGETALL`` of the use registry (uses.py) -> index name: Unix time of its last use."""
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[0::2], reply[1::2])
    out: dict[str, float] = {}
    for name, stamp in pairs:
        try:
            out[text(name)] = float(text(stamp))
        except ValueError:
            continue  # not written by the library
    return out


def _pairs(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {text(k): v for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return {text(k): v for k, v in zip(value[0::2], value[1::2])}
    return {}


def _named(value: Any) -> str | None:
    if value is None:
        return None
    out = text(value)
    return None if out == "N/A" else out


def _get(mapping: dict[Any, Any], name: str) -> Any:
    if name in mapping:
        return mapping[name]
    return mapping.get(name.encode())


# Compiled once: count runs this on every call (re.findall's cache lookup cost more).
_EXPIRES = re.compile(r"expires=(\d+)")
_EXPIRES_BYTES = re.compile(rb"expires=(\d+)")


def keys_with_ttl(info: Any) -> int:
    """``INFO keyspace`` -> how many keys of all databases have a TTL (``expires=``)."""
    if isinstance(info, dict):
        return sum(int(db.get("expires", 0)) for db in info.values() if isinstance(db, dict))
    if isinstance(info, bytes):
        return sum(map(int, _EXPIRES_BYTES.findall(info)))
    return sum(map(int, _EXPIRES.findall(text(info))))


# -- FT.AGGREGATE rows -----------------------------------------------------------------------

# One row's attributes, keyed as the reply has them: bytes (the default client) or str
# (decode_responses=True). Read with row_value / row_key / row_document, never copied.
Row = dict[Any, Any]


def row_value(row: Row, name: str) -> Any:
    """The row's value of attribute ``name`` (None when it has none)."""
    value = row.get(name.encode())
    return row.get(name) if value is None else value


def _row(raw: Any) -> Row | None:
    if raw is None:
        return None
    if type(raw) is dict:  # RESP3 result: its attributes are already a mapping
        attrs = raw.get(b"extra_attributes")
        if attrs is None:
            attrs = raw.get("extra_attributes")
        return attrs
    pairs = iter(raw)
    return dict(zip(pairs, pairs))


def aggregate_rows(reply: Any) -> tuple[list[Row], list[str]]:
    """FT.AGGREGATE (or one cursor batch) -> (rows, warnings). Rows without content (keys
    that expired but are not reclaimed yet) are dropped."""
    if isinstance(reply, dict):  # RESP3
        results = _get(reply, "results") or []
        try:  # the default client (bytes keys): each result's attributes, as they are
            rows = [r[b"extra_attributes"] for r in results]
        except (KeyError, TypeError):
            rows = [_row(r) for r in results]
        warnings = [text(w) for w in (_get(reply, "warning") or [])]
    else:
        rows = [_row(r) for r in reply[1:]]
        warnings = []
    return [r for r in rows if r], warnings


def cursor_reply(reply: Any) -> tuple[list[Row], int, list[str]]:
    """``[batch, cursor_id]`` -> (rows, cursor id (0 when done), warnings)."""
    batch, cursor = reply[0], reply[1]
    rows, warnings = aggregate_rows(batch)
    return rows, int(cursor), warnings


_KEY_BYTES = KEY_BYTES = KEY_FIELD.encode()


_DOCUMENT_BYTES = DOCUMENT_FIELD.encode()


def row_key(row: Row) -> str:
    key = row.get(_KEY_BYTES)
    if key is None:
        return text(row[KEY_FIELD])
    return key.decode()  # type: ignore[no-any-return]


def keyed_documents(rows: Sequence[Row]) -> tuple[list[str], list[Any]] | None:
    """The rows' keys and documents (``row_key`` / ``row_document`` of each), or None when a
    row carries no document. Inlined: this runs per row of every page."""
    try:  # the default client: bytes names
        keys = [row[_KEY_BYTES].decode() for row in rows]
        documents = [row[_DOCUMENT_BYTES] for row in rows]
    except KeyError:
        try:  # a client that decodes: str names
            keys = [text(row[KEY_FIELD]) for row in rows]
            documents = [row[DOCUMENT_FIELD] for row in rows]
        except KeyError:
            return None
    return None if None in documents else (keys, documents)


def row_document(row: Row) -> Any:
    """The row's document (raw JSON) when the scan loaded it, else None."""
    document = row.get(_DOCUMENT_BYTES)
    return row.get(DOCUMENT_FIELD) if document is None else document


def count_reply(reply: Any) -> tuple[int, list[str]]:
    """``GROUPBY 0 REDUCE COUNT`` -> (count, warnings). A reply without the count row although
    documents matched is a count cut short by a timeout (RESP2 shows no warning for it)."""
    rows, warnings = aggregate_rows(reply)
    if not rows:
        matched = int(_get(reply, "total_results")) if isinstance(reply, dict) else int(reply[0])
        if matched and not warnings:
            warnings = ["the count row is missing (a timeout cut the query short)"]
        return 0, warnings
    return int(text(row_value(rows[0], COUNT_FIELD))), warnings


def check_complete(warnings: Sequence[str], command: Sequence[Any]) -> None:
    """A reply that carries a warning (RESP3: a timeout) is partial: refuse it."""
    if warnings:
        raise PartialResultError(
            f"Redis answered {command[0]} with a partial result ({'; '.join(warnings)}); it "
            "was not used. Raise the repository's query_timeout_ms (0 = no limit)"
        )


def index_generation(reply: Any) -> int | None:
    """``FT.INFO`` -> ``max_doc_id``, the last internal id the index gave a document; every
    (re)indexed document takes the next one, deleting renumbers nothing. None: no answer (an
    error reply, e.g. no permission, or a reply without it)."""
    if reply is None or isinstance(reply, Exception):
        return None
    try:
        value = info_dict(reply).get("max_doc_id")
        return None if value is None else int(text(value))
    except (TypeError, ValueError):
        return None


def config_value(reply: Any) -> tuple[str | None, bool]:
    """``FT.CONFIG GET <name>`` -> (its value or None, whether the reply was RESP3)."""
    if isinstance(reply, dict):
        value = next(iter(reply.values()), None)
        return (None if value is None else text(value)), True
    if reply and isinstance(reply[0], (list, tuple)) and len(reply[0]) > 1:
        return (None if reply[0][1] is None else text(reply[0][1])), False
    return None, False


def existing(replies: Sequence[Any]) -> int:
    """``EXISTS`` replies (one per key) -> how many of the keys exist."""
    return sum(1 for found in replies if found is True or found == 1)


# -- error replies -------------------------------------------------------------------------------


def is_permission_error(exc: Exception) -> bool:
    message = str(exc).lower()
    return "noperm" in message or "no permissions" in message


def is_unknown_index(exc: Exception) -> bool:
    message = str(exc).lower()
    return "unknown index" in message or "no such index" in message


_SEARCH_LIMIT = re.compile(r"LIMIT exceeds maximum of (\d+)")


def search_limit(exc: Exception) -> int | None:
    """The server's MAXSEARCHRESULTS when an FT.SEARCH asked for more (else None)."""
    found = _SEARCH_LIMIT.search(str(exc))
    return None if found is None else int(found.group(1))


def is_timeout_error(exc: Exception) -> bool:
    """The server's ``ON_TIMEOUT FAIL`` error."""
    return "timeout limit was reached" in str(exc).lower()


def max_results(reply: Any) -> int | None:
    """``FT.CONFIG GET MAXAGGREGATERESULTS`` -> the limit (None: unlimited); ValueError when
    the reply does not say."""
    value, _ = config_value(reply)
    if value is None:
        raise ValueError(f"no MAXAGGREGATERESULTS in {reply!r}")
    raw = value.strip().lower()
    if raw == "unlimited":
        return None
    number = int(raw)
    return None if number >= 2**62 else number


def anchor_from_json(keys: Sequence[SortKey], reply: Any) -> Anchor | None:
    """``JSON.GET key <anchor_paths>`` -> the exact sort values (None: the key is gone)."""
    if reply is None:
        return None
    data = json.loads(reply)
    paths = anchor_paths(keys)
    by_path: dict[str, Any] = data if len(paths) > 1 else {paths[0]: data}
    values: list[Value] = []
    for key in keys:
        found = by_path.get(key.path) or []
        value = found[0] if found else None
        if value is None:
            values.append(None)
        elif isinstance(value, bool):
            values.append("true" if value else "false")
        elif key.numeric:
            if not isinstance(value, (int, float)):
                return None
            values.append(float(value))
        else:
            # The index keeps a string up to its first NUL (it sorts by that part).
            values.append(str(value).split("\x00", 1)[0])
    return tuple(values)


def scored_reply(reply: Any) -> tuple[int, list[tuple[str, float]]]:
    """``FT.SEARCH … WITHSCORES NOCONTENT`` -> (total, [(key, score)]). The scores are exact:
    FT.SEARCH prints them in full (FT.AGGREGATE's ADDSCORES rounds them to 12 digits)."""
    if isinstance(reply, dict):  # RESP3: the score is a double
        found = [(text(_get(r, "id")), float(text(_get(r, "score"))))
                 for r in (_get(reply, "results") or [])]
        return int(_get(reply, "total_results")), found
    items = reply[1:]
    return int(reply[0]), [(text(k), float(text(s))) for k, s in zip(items[0::2], items[1::2])]


def knn_reply(reply: Any, documents: dict[str, Any]) -> list[tuple[str, float]]:
    """``FT.SEARCH … =>[KNN …] RETURN 2 __knn $`` -> (key, distance) of each row, the distance
    as the server's float32 (its reply shows 12 digits: enough to give the float32 back
    exactly); each row's document goes into ``documents`` by key. Rows of expired keys not yet
    reclaimed (no content) are left out."""
    _, rows = search_reply(reply)
    found: list[tuple[str, float]] = []
    for key, fields in rows:
        if fields is None or fields.get(KNN_FIELD) is None \
                or fields.get(DOCUMENT_FIELD) is None:
            continue
        found.append((key, float32(float(text(fields[KNN_FIELD])))))
        documents[key] = fields[DOCUMENT_FIELD]
    return found


def distance_rows(reply: Any) -> tuple[dict[str, float], list[str]]:
    """The rows of ``distance_steps`` -> ({key: distance in metres}, in order; warnings)."""
    rows, warnings = aggregate_rows(reply)
    return {row_key(r): float(text(row_value(r, DISTANCE_FIELD))) for r in rows}, warnings


# -- Redis Cluster (cluster_driver.py) -------------------------------------------------------

# Redis 8's query engine (search module 8.x) holds the coordinator and registers its
# shard-level _FT.* commands as internal, hidden from COMMAND for user connections
# (RediSearch src/module.c, CreateCommandWithAcl): there its version tells.
_COORDINATOR_VERSION = 80000


def search_coordinator(listed: Any, modules: Any) -> tuple[bool, int | None]:
    """(has a coordinator, search module version) from the raw replies of
    commands.COORDINATOR_PROBES: ``COMMAND LIST FILTERBY PATTERN _FT.*`` (a coordinator that
    shows its shard commands) and ``MODULE LIST`` (an exception: the user may not run it)."""
    version = None
    for entry in () if isinstance(modules, Exception) else modules or ():
        fields = entry if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2]))
        named = {text(k): v for k, v in fields.items()}
        if text(named.get("name", "")).lower() in ("search", "ft"):
            version = int(named.get("ver", 0))
    shows_shard_commands = not isinstance(listed, Exception) and bool(listed)
    return shows_shard_commands or (version or 0) >= _COORDINATOR_VERSION, version


def joined(args: Sequence[Any], parts: Sequence[Sequence[Any]], replies: Sequence[Any]) -> Any:
    """The reply ``args`` would have had, from the replies of its per-slot ``parts``
    (commands.per_slot): JSON.MGET's documents in the order asked, else a count."""
    if text(args[0]).upper() != "JSON.MGET":
        return sum(int(r) for r in replies)
    by_key: dict[Any, Any] = {}
    for part, reply in zip(parts, replies):
        by_key.update(zip(part[1:-1], reply))
    return [by_key[key] for key in args[1:-1]]


def merged_info(replies: dict[Any, Any]) -> Any:
    """INFO of every primary as one reply (keys_with_ttl reads it): each node's sections
    under its name."""
    if all(isinstance(reply, dict) for reply in replies.values()):
        return {f"{node}/{name}": section for node, reply in replies.items()
                for name, section in reply.items()}
    return b"\r\n".join(r if isinstance(r, bytes) else text(r).encode()
                        for r in replies.values())
