"""The floor: redis-py (+ hiredis) by hand. JSON.SET pipelines, JSON.GET, FT.SEARCH and
FT.AGGREGATE cursors, replies parsed with ``json.loads`` and ``Product.model_validate``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import redis

from ..dataset import Row
from .base import SOCKET_TIMEOUT, Adapter, main
from .product_v2 import Product

PREFIX = "product:"
INDEX = "product:idx"
SCHEMA = (
    "$.id", "AS", "id", "TAG",
    "$.name", "AS", "name", "TAG",
    "$.category", "AS", "category", "TAG",
    "$.brand", "AS", "brand", "TAG",
    "$.price", "AS", "price", "NUMERIC", "SORTABLE",
    "$.stock", "AS", "stock", "NUMERIC", "SORTABLE",
    "$.rating", "AS", "rating", "NUMERIC", "SORTABLE",
    "$.tags[*]", "AS", "tags", "TAG",
    "$.created_at", "AS", "created_at", "TAG",
    "$.description", "AS", "description", "TEXT",
)
_PAGE = 1000


def _get(mapping: Mapping[Any, Any], name: str) -> Any:
    return mapping[name] if name in mapping else mapping.get(name.encode())


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _search_rows(reply: Any, content: bool) -> tuple[int, list[tuple[str, Any]]]:
    """FT.SEARCH reply (RESP2 list or RESP3 map) -> total, [(key, raw JSON or None)]."""
    if isinstance(reply, dict):
        rows = []
        for result in _get(reply, "results"):
            attrs = _get(result, "extra_attributes") or {}
            rows.append((_text(_get(result, "id")), _get(attrs, "$")))
        return int(_get(reply, "total_results")), rows
    items = reply[1:]
    if not content:
        return int(reply[0]), [(_text(k), None) for k in items]
    return int(reply[0]), [(_text(k), f[1]) for k, f in zip(items[0::2], items[1::2])]


def _aggregate_docs(rows: Any) -> list[Any]:
    """One FT.AGGREGATE / FT.CURSOR page -> the raw ``$`` of each row."""
    if isinstance(rows, dict):
        return [_get(_get(r, "extra_attributes"), "$") for r in _get(rows, "results")]
    return [r[1] for r in rows[1:]]


def _load(raw: Any) -> Product:
    return Product.model_validate(json.loads(raw) if isinstance(raw, (bytes, str)) else raw)


class Raw(Adapter):
    key = "raw"
    distributions = ("redis", "hiredis", "pydantic")
    notes = {  # noqa: RUF012
        "query": "FT.SEARCH '@price:[lo hi] @category:{books}' SORTBY rating DESC "
                 "RETURN 1 $ LIMIT 0 20 (hand-written query strings, DIALECT 2)",
        "count": "FT.SEARCH '@price:[lo hi]' LIMIT 0 0: the total",
        "filter1000": "FT.SEARCH '@rating:[x +inf]' RETURN 1 $, pages of 1,000",
        "stream": "FT.AGGREGATE * LOAD 1 $ WITHCURSOR COUNT batch",
        "update": "FT.SEARCH NOCONTENT for the keys, then JSON.SET $.stock in one MULTI/EXEC",
        "delete": "FT.SEARCH NOCONTENT for the keys, then one DEL",
    }

    def connect(self, url: str) -> None:
        self.r = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT)

    def prepare(self) -> None:
        self.r.execute_command("FT.CREATE", INDEX, "ON", "JSON", "PREFIX", "1", PREFIX,
                               "SCHEMA", *SCHEMA)

    def build(self, rows: list[Row]) -> list[Product]:
        return [Product.model_validate(row) for row in rows]

    def insert(self, entities: list[Any]) -> None:
        pipe = self.r.pipeline()
        for e in entities:
            pipe.execute_command("JSON.SET", PREFIX + e.id, "$", e.model_dump_json())
        pipe.execute()

    def count_all(self) -> int:
        return self._search("*", "LIMIT", "0", "0")[0]

    def get(self, entity_id: str) -> Product:
        return _load(self.r.execute_command("JSON.GET", PREFIX + entity_id))

    def as_dict(self, entity: Any) -> Mapping[str, Any]:
        return entity.model_dump()  # type: ignore[no-any-return]

    def _search(self, query: str, *args: str) -> tuple[int, list[tuple[str, Any]]]:
        reply = self.r.execute_command("FT.SEARCH", INDEX, query, *args, "DIALECT", "2")
        return _search_rows(reply, content="NOCONTENT" not in args)

    def _search_all(self, query: str) -> list[Product]:
        found: list[Product] = []
        offset = 0
        while True:
            total, rows = self._search(query, "RETURN", "1", "$",
                                       "LIMIT", str(offset), str(_PAGE))
            found += [_load(raw) for _, raw in rows]
            offset += _PAGE
            if offset >= total or not rows:
                return found

    def _keys(self, query: str) -> list[str]:
        return [k for k, _ in self._search(query, "NOCONTENT", "LIMIT", "0", "10000")[1]]

    def query(self, price_min: float, price_max: float, category: str, limit: int
              ) -> list[Product]:
        _, rows = self._search(f"@price:[{price_min!r} {price_max!r}] @category:{{{category}}}",
                               "SORTBY", "rating", "DESC", "RETURN", "1", "$",
                               "LIMIT", "0", str(limit))
        return [_load(raw) for _, raw in rows]

    def count_price(self, price_min: float, price_max: float) -> int:
        return self._search(f"@price:[{price_min!r} {price_max!r}]", "LIMIT", "0", "0")[0]

    def rating_at_least(self, rating: float) -> list[Product]:
        return self._search_all(f"@rating:[{rating!r} +inf]")

    def stream(self, batch_size: int) -> Iterator[Product]:
        reply = self.r.execute_command("FT.AGGREGATE", INDEX, "*", "LOAD", "1", "$",
                                       "WITHCURSOR", "COUNT", str(batch_size), "DIALECT", "2")
        while True:
            rows, cursor = reply
            for raw in _aggregate_docs(rows):
                yield _load(raw)
            if not int(cursor):
                return
            reply = self.r.execute_command("FT.CURSOR", "READ", INDEX, cursor,
                                           "COUNT", str(batch_size))

    def update_stock(self, rating_max: float, stock: int) -> None:
        keys = self._keys(f"@rating:[-inf {rating_max!r}]")
        pipe = self.r.pipeline()
        for key in keys:
            pipe.execute_command("JSON.SET", key, "$.stock", str(stock))
        pipe.execute()

    def ids_with_stock_at_least(self, stock: int) -> list[str]:
        return [k[len(PREFIX):] for k in self._keys(f"@stock:[{stock} +inf]")]

    def delete_rating_at_least(self, rating: float) -> None:
        keys = self._keys(f"@rating:[{rating!r} +inf]")
        if keys:
            self.r.delete(*keys)

    def close(self) -> None:
        self.r.close()


if __name__ == "__main__":
    main(Raw)
