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


class StackSync(Adapter):
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

    def prepare(self) -> None:
        self.repo.count()  # makes the index, so the insert below is indexed as for the others

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
        return entity.model_dump()  # type: ignore[no-any-return]

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
        stream = getattr(self.repo, "stream", None)
        if stream is None:
            raise NotAvailable("RedisRepository.stream() does not exist yet")
        return stream(batch_size=batch_size)  # type: ignore[no-any-return]

    def update_stock(self, rating_max: float, stock: int) -> None:
        self.repo.update(self.specs.filter(rating__lte=rating_max), stock=stock)

    def ids_with_stock_at_least(self, stock: int) -> list[str]:
        return [e.id for e in self.repo.filter(self.specs.filter(stock__gte=stock))]

    def delete_rating_at_least(self, rating: float) -> None:
        self.repo.delete(self.specs.filter(rating__gte=rating))

    def close(self) -> None:
        self.client.close()


if __name__ == "__main__":
    main(StackSync)
