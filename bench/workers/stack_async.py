"""assimilator_stack, async: AsyncRedisRepository and AsyncRedisUnitOfWork over
redis.asyncio, each call awaited on one long-lived event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import redis.asyncio

from assimilator_stack import AsyncRedisRepository, AsyncRedisUnitOfWork, InvalidQueryError

from ..dataset import Row
from .base import SOCKET_TIMEOUT, AsyncAdapter, NotAvailable, main
from .stack_sync import Product


class StackAsync(AsyncAdapter):
    key = "stack_async"
    distributions = ("assimilator_stack", "redis", "hiredis", "pydantic")
    unavailable = (NotAvailable, NotImplementedError, InvalidQueryError)
    notes = {  # noqa: RUF012
        "insert": "one AsyncRedisUnitOfWork: await save() each entity, then await commit()",
    }

    def connect(self, url: str) -> None:
        self.client = redis.asyncio.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT)
        self.repo: AsyncRedisRepository[Product] = AsyncRedisRepository(session=self.client,
                                                                        model=Product)
        self.specs = self.repo.specs

    def prepare(self) -> None:
        self.run(self.repo.count())

    def build(self, rows: list[Row]) -> list[Product]:
        return [Product(**row) for row in rows]

    def insert(self, entities: list[Any]) -> None:
        async def insert() -> None:
            async with AsyncRedisUnitOfWork(repository=self.repo) as uow:
                for entity in entities:
                    await uow.repository.save(entity)
                await uow.commit()

        self.run(insert())

    def count_all(self) -> int:
        return int(self.run(self.repo.count()))

    def get(self, entity_id: str) -> Product:
        return self.run(self.repo.get(self.specs.filter(id=entity_id)))  # type: ignore[no-any-return]

    def as_dict(self, entity: Any) -> Mapping[str, Any]:
        return entity.model_dump()  # type: ignore[no-any-return]

    def query(self, price_min: float, price_max: float, category: str, limit: int
              ) -> list[Product]:
        return self.run(self.repo.filter(  # type: ignore[no-any-return]
            self.specs.filter(price__gte=price_min, price__lte=price_max, category=category),
            self.specs.order("-rating"),
            self.specs.paginate(limit=limit),
        ))

    def count_price(self, price_min: float, price_max: float) -> int:
        return int(self.run(self.repo.count(self.specs.filter(price__gte=price_min,
                                                              price__lte=price_max))))

    def rating_at_least(self, rating: float) -> list[Product]:
        return self.run(self.repo.filter(self.specs.filter(rating__gte=rating)))  # type: ignore[no-any-return]

    def stream(self, batch_size: int) -> Iterator[Product]:
        source: AsyncIterator[Product] = self.repo.stream(batch_size=batch_size)
        while True:
            try:
                yield self.run(source.__anext__())
            except StopAsyncIteration:
                return

    def update_stock(self, rating_max: float, stock: int) -> None:
        self.run(self.repo.update(self.specs.filter(rating__lte=rating_max), stock=stock))

    def ids_with_stock_at_least(self, stock: int) -> list[str]:
        found = self.run(self.repo.filter(self.specs.filter(stock__gte=stock)))
        return [e.id for e in found]

    def delete_rating_at_least(self, rating: float) -> None:
        self.run(self.repo.delete(self.specs.filter(rating__gte=rating)))

    def close(self) -> None:
        self.run(self.client.aclose())
        super().close()


if __name__ == "__main__":
    main(StackAsync)
