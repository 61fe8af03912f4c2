"""ANDed bounds on one numeric field run as one range; the answers stay Python's."""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import redis
from pydantic import Field

from assimilator_stack import AssimilatorConfig, RedisModel, RedisRepository, filter_


class Priced(RedisModel):
    price: float
    sizes: list[int] = Field(default_factory=list)

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:priced"


BOUNDS: list[dict[str, Any]] = [
    {"price__gt": 2}, {"price__gte": 2}, {"price__lt": 4}, {"price__lte": 4},
    {"price__gt": 4}, {"price__between": (1, 3)}, {"price__lte": 2},
]
OPS = {"gt": lambda v, a: v > a, "gte": lambda v, a: v >= a, "lt": lambda v, a: v < a,
       "lte": lambda v, a: v <= a, "between": lambda v, a: a[0] <= v <= a[1]}


def python_ids(data: list[Priced], bounds: dict[str, Any]) -> set[str]:
    def ok(entity: Priced) -> bool:
        return all(OPS[key.split("__")[1]](entity.price, arg) for key, arg in bounds.items())
    return {e.id for e in data if ok(e)}


def test_combined_bounds_are_one_range_and_exact(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Priced)
    data = [repo.save(id=str(i), price=p) for i, p in enumerate([1, 2, 2.5, 3, 4, 5])]
    for first, second in itertools.combinations(BOUNDS, 2):
        bounds = {**first, **second}
        spec = filter_(**bounds)
        assert {e.id for e in repo.filter(spec)} == python_ids(data, bounds), bounds
        assert repo.count(spec) == len(python_ids(data, bounds)), bounds
    query = repo.explain(filter_(price__gte=2, price__lt=4))[2]
    assert query.count("@price:[") == 1, query


def test_bounds_on_a_list_field_stay_separate(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Priced)
    repo.save(id="spread", price=0, sizes=[1, 10])  # one element > 5, another < 3
    repo.save(id="middle", price=0, sizes=[4])
    found = {e.id for e in repo.filter(filter_(sizes__gt=5, sizes__lt=3))}
    assert found == {"spread"}  # some element > 5 and some element < 3
