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
from .seed_api import SeedApiWorkloads


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


class PyAssimilator(SeedApiWorkloads, Adapter):
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
        self.unit_of_work = RedisUnitOfWork

    def build(self, rows: list[Row]) -> list[Product]:
        return [Product(**row) for row in rows]

    def as_dict(self, entity: Any) -> Mapping[str, Any]:
        return entity.dict()  # type: ignore[no-any-return]

    def stream(self, batch_size: int) -> Iterable[Product]:
        return self.repo.filter()  # type: ignore[no-any-return]



if __name__ == "__main__":
    main(PyAssimilator)
