"""The floor: the leanest correct redis-py (+ hiredis) by hand: JSON.SET in one MULTI/EXEC
pipeline, JSON.GET, FT.SEARCH (RETURN 1 $) and FT.AGGREGATE cursors, each document validated
straight from its JSON text with ``Product.model_validate_json``.

The client is ``redis.Redis.from_url(url)`` without ``decode_responses``: replies are RESP3 maps
with bytes keys under redis-py 8 (its default protocol), RESP2 lists before; both are read
directly (one ``isinstance`` per reply)."""

from __future__ import annotations

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
_load = Product.model_validate_json


def _documents(reply: Any) -> list[Product]:
    """FT.SEARCH ... RETURN 1 $ -> the entities; a key that expired between match and load
    has no fields and is left out."""
    if type(reply) is dict:  # RESP3
        return [_load(attrs[b"$"]) for row in reply[b"results"]
                if (attrs := row[b"extra_attributes"])]
    return [_load(fields[1]) for fields in reply[2::2] if fields]  # RESP2: key, [b"$", doc]


def _total(reply: Any) -> int:
    return int(reply[b"total_results"] if type(reply) is dict else reply[0])


def _keys(reply: Any) -> list[str]:
    """FT.SEARCH ... NOCONTENT -> the keys."""
    if type(reply) is dict:
        return [row[b"id"].decode() for row in reply[b"results"]]
    return [k.decode() for k in reply[1:]]


def _rows(batch: Any) -> list[Any]:
    """One FT.AGGREGATE / FT.CURSOR batch with LOAD 1 $ -> the raw documents."""
    if type(batch) is dict:
        return [attrs[b"$"] for row in batch[b"results"] if (attrs := row[b"extra_attributes"])]
    return [row[1] for row in batch[1:] if row]


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
        return _total(self.r.execute_command("FT.SEARCH", INDEX, "*", "LIMIT", "0", "0"))

    def get(self, entity_id: str) -> Product:
        raw = self.r.execute_command("JSON.GET", PREFIX + entity_id)
        if raw is None:
            raise KeyError(entity_id)
        return _load(raw)

    def as_dict(self, entity: Any) -> Mapping[str, Any]:
        return entity.model_dump()  # type: ignore[no-any-return]

    def _keys(self, query: str) -> list[str]:
        return _keys(self.r.execute_command("FT.SEARCH", INDEX, query, "NOCONTENT",
                                            "LIMIT", "0", "10000", "DIALECT", "2"))

    def query(self, price_min: float, price_max: float, category: str, limit: int
              ) -> list[Product]:
        return _documents(self.r.execute_command(
            "FT.SEARCH", INDEX, f"@price:[{price_min!r} {price_max!r}] @category:{{{category}}}",
            "SORTBY", "rating", "DESC", "RETURN", "1", "$", "LIMIT", "0", str(limit),
            "DIALECT", "2"))

    def count_price(self, price_min: float, price_max: float) -> int:
        return _total(self.r.execute_command("FT.SEARCH", INDEX,
                                             f"@price:[{price_min!r} {price_max!r}]",
                                             "LIMIT", "0", "0", "DIALECT", "2"))

    def rating_at_least(self, rating: float) -> list[Product]:
        query = f"@rating:[{rating!r} +inf]"
        found: list[Product] = []
        offset = 0
        while True:
            reply = self.r.execute_command("FT.SEARCH", INDEX, query, "RETURN", "1", "$",
                                           "LIMIT", str(offset), str(_PAGE), "DIALECT", "2")
            page = _documents(reply)
            found += page
            offset += _PAGE
            if offset >= _total(reply) or not page:
                return found

    def stream(self, batch_size: int) -> Iterator[Product]:
        reply = self.r.execute_command("FT.AGGREGATE", INDEX, "*", "LOAD", "1", "$",
                                       "WITHCURSOR", "COUNT", str(batch_size), "DIALECT", "2")
        while True:
            batch, cursor = reply
            for raw in _rows(batch):
                yield _load(raw)
            if not cursor:
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
