"""The workloads written once against the seed's Repository / UnitOfWork API.

py-assimilator and assimilator_stack share that API (``repo.specs.filter(...)``, ``with uow:``,
``uow.commit()``), so the same code drives both; each worker only says how to connect, build
entities, turn one into a dict and stream.
"""

from __future__ import annotations

from typing import Any


class SeedApiWorkloads:
    repo: Any
    specs: Any
    client: Any
    unit_of_work: Any  # the library's UnitOfWork class

    def insert(self, entities: list[Any]) -> None:
        uow = self.unit_of_work(repository=self.repo)
        with uow:
            for entity in entities:
                uow.repository.save(entity)
            uow.commit()

    def count_all(self) -> int:
        return int(self.repo.count())

    def get(self, entity_id: str) -> Any:
        return self.repo.get(self.specs.filter(id=entity_id))

    def query(self, price_min: float, price_max: float, category: str, limit: int
              ) -> list[Any]:
        return self.repo.filter(  # type: ignore[no-any-return]
            self.specs.filter(price__gte=price_min, price__lte=price_max, category=category),
            self.specs.order("-rating"),
            self.specs.paginate(limit=limit),
        )

    def count_price(self, price_min: float, price_max: float) -> int:
        return int(self.repo.count(self.specs.filter(price__gte=price_min,
                                                     price__lte=price_max)))

    def rating_at_least(self, rating: float) -> list[Any]:
        return self.repo.filter(self.specs.filter(rating__gte=rating))  # type: ignore[no-any-return]

    def update_stock(self, rating_max: float, stock: int) -> None:
        self.repo.update(self.specs.filter(rating__lte=rating_max), stock=stock)

    def ids_with_stock_at_least(self, stock: int) -> list[str]:
        return [e.id for e in self.repo.filter(self.specs.filter(stock__gte=stock))]

    def delete_rating_at_least(self, rating: float) -> None:
        self.repo.delete(self.specs.filter(rating__gte=rating))

    def close(self) -> None:
        self.client.close()
