"""Replies normalised across RESP2 / RESP3 and ``decode_responses`` on or off."""

from __future__ import annotations

import re
from typing import Any


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
