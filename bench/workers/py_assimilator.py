"""py-assimilator 1.3.1 (pydantic v1): its RedisRepository and RedisUnitOfWork as its
documentation shows. It keeps each entity as a plain string under its id and has no
server-side filter: every filter reads every key (KEYS * then MGET) and filters in Python."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from assimilator.redis_.database import RedisModel, RedisRepository, RedisUnitOfWork
from redis import Redis

from ..dataset import Row
from .base import SOCKET_TIMEOUT, Adapter, main


class Product(RedisModel):
    name: str
    category: str
    brand: str
    price: float
    stock: int
    rating: float
    tags: list[str]
    created_at: dt.datetime
    description: str


class PyAssimilator(Adapter):
    key = "py_assimilator"
    distributions = ("py-assimilator", "redis", "hiredis", "pydantic")
    notes = {  # noqa: RUF012
        "get": "filter(id=...) becomes KEYS <id> (a scan of every key) then MGET",
        "query": "KEYS * + MGET of every entity, filtered, sorted and sliced in Python",
        "count": "count(filter) runs KEYS with the filter's text part, which is empty here",
        "filter1000": "KEYS * + MGET of every entity, filtered in Python",
        "stream": "no streaming path: filter() loads every entity into one list",
        "update": "filter() in Python, then one MSET",
        "delete": "filter() in Python, then one DEL",
    }

    def connect(self, url: str) -> None:
        self.client = Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT)
        self.repo = RedisRepository(session=self.client, model=Product)
        self.specs = self.repo.specs

    def build(self, rows: list[Row]) -> list[Product]:
        return [Product(**row) for row in rows]

    def insert(self, entities: list[Any]) -> None:
        uow = RedisUnitOfWork(repository=self.repo)
        with uow:
            for entity in entities:
                uow.repository.save(entity)
            uow.commit()

    def count_all(self) -> int:
        return int(self.repo.count())

    def get(self, entity_id: str) -> Product:
        return self.repo.get(self.specs.filter(id=entity_id))  # type: ignore[no-any-return]

    def as_dict(self, entity: Any) -> Mapping[str, Any]:
        return entity.dict()  # type: ignore[no-any-return]

    def query(self, price_min: float, price_max: float, category: str, limit: int
              ) -> list[Product]:
        return self.repo.filter(  # type: ignore[no-any-return]
            self.specs.filter(price__gte=price_min, price__lte=price_max, category=category),
            self.specs.order("-rating"),
            self.specs.paginate(limit=limit),
        )

    def count_price(self, price_min: float, price_max: float) -> int:
        return int(self.repo.count(self.specs.filter(price__gte=price_min,
                                                     price__lte=price_max)))

    def rating_at_least(self, rating: float) -> list[Product]:
        return self.repo.filter(self.specs.filter(rating__gte=rating))  # type: ignore[no-any-return]

    def stream(self, batch_size: int) -> Iterable[Product]:
        return self.repo.filter()  # type: ignore[no-any-return]

    def update_stock(self, rating_max: float, stock: int) -> None:
        self.repo.update(self.specs.filter(rating__lte=rating_max), stock=stock)

    def ids_with_stock_at_least(self, stock: int) -> list[str]:
        return [e.id for e in self.repo.filter(self.specs.filter(stock__gte=stock))]

    def delete_rating_at_least(self, rating: float) -> None:
        self.repo.delete(self.specs.filter(rating__gte=rating))

    def close(self) -> None:
        self.client.close()


if __name__ == "__main__":
    main(PyAssimilator)
