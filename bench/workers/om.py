"""redis-om (latest): a JsonModel with the same fields indexed, ``find()`` expressions,
``Model.add`` (its pipeline) for the bulk save."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import redis
from redis_om import Field, JsonModel, Migrator

from ..dataset import Row
from .base import SOCKET_TIMEOUT, Adapter, main

_client: redis.Redis | None = None


class Product(JsonModel, index=True):  # type: ignore[call-arg]
    id: str = Field(primary_key=True)
    name: str = Field(index=True)
    category: str = Field(index=True)
    brand: str = Field(index=True)
    price: float = Field(index=True, sortable=True)
    stock: int = Field(index=True, sortable=True)
    rating: float = Field(index=True, sortable=True)
    tags: list[str] = Field(index=True)
    created_at: dt.datetime = Field(index=True, sortable=True)
    description: str = Field(index=True, full_text_search=True)


class RedisOM(Adapter):
    key = "redis_om"
    distributions = ("redis-om", "redis", "hiredis", "pydantic")
    notes = {  # noqa: RUF012
        "insert": "Product.add(entities): one non-transactional pipeline",
        "stream": "find().all(batch_size=...): pages with LIMIT offset, returns a list",
    }

    def connect(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT)
        Product.Meta.database = self.client  # type: ignore[attr-defined]
        Product._meta.database = self.client  # type: ignore[attr-defined]

    def prepare(self) -> None:
        Migrator().run()

    def build(self, rows: list[Row]) -> list[Product]:
        return [Product(**row) for row in rows]

    def insert(self, entities: list[Any]) -> None:
        Product.add(entities)

    def count_all(self) -> int:
        return int(Product.find().count())

    def get(self, entity_id: str) -> Product:
        return Product.get(entity_id)

    def as_dict(self, entity: Any) -> Mapping[str, Any]:
        return entity.model_dump()  # type: ignore[no-any-return]

    def query(self, price_min: float, price_max: float, category: str, limit: int
              ) -> list[Product]:
        found = Product.find(
            (Product.price >= price_min) & (Product.price <= price_max)
            & (Product.category == category)
        ).sort_by("-rating")
        return found.page(0, limit)  # type: ignore[no-any-return]

    def count_price(self, price_min: float, price_max: float) -> int:
        return int(Product.find((Product.price >= price_min)
                                & (Product.price <= price_max)).count())

    def rating_at_least(self, rating: float) -> list[Product]:
        return Product.find(Product.rating >= rating).all()  # type: ignore[no-any-return]

    def stream(self, batch_size: int) -> Iterable[Product]:
        return Product.find().all(batch_size=batch_size)  # type: ignore[no-any-return]

    def update_stock(self, rating_max: float, stock: int) -> None:
        Product.find(Product.rating <= rating_max).update(stock=stock)

    def ids_with_stock_at_least(self, stock: int) -> list[str]:
        return [p.id for p in Product.find(Product.stock >= stock).all()]

    def delete_rating_at_least(self, rating: float) -> None:
        Product.find(Product.rating >= rating).delete()

    def close(self) -> None:
        self.client.close()


if __name__ == "__main__":
    main(RedisOM)
