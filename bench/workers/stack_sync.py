"""assimilator_stack, sync: RedisRepository and RedisUnitOfWork as the README shows them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import redis

from assimilator_stack import (
    InvalidQueryError,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    Text,
)

from ..dataset import Row
from .base import SOCKET_TIMEOUT, Adapter, NotAvailable, main
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
    description: Annotated[str, Text()]


class StackSync(SeedApiWorkloads, Adapter):
    key = "stack"
    distributions = ("assimilator_stack", "redis", "hiredis", "pydantic")
    unavailable = (NotAvailable, NotImplementedError, InvalidQueryError)
    notes = {  # noqa: RUF012
        "insert": "one RedisUnitOfWork: save() each entity, then one commit (MULTI/EXEC)",
    }

    def connect(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT)
        self.repo: RedisRepository[Product] = RedisRepository(session=self.client,
                                                              model=Product)
        self.specs = self.repo.specs
        self.unit_of_work = RedisUnitOfWork

    def prepare(self) -> None:
        self.repo.count()  # makes the index, so the insert below is indexed as for the others

    def build(self, rows: list[Row]) -> list[Product]:
        return [Product(**row) for row in rows]

    def as_dict(self, entity: Any) -> Mapping[str, Any]:
        return entity.model_dump()  # type: ignore[no-any-return]

    def stream(self, batch_size: int) -> Iterable[Product]:
        return self.repo.stream(batch_size=batch_size)  # type: ignore[no-any-return]



if __name__ == "__main__":
    main(StackSync)
