"""Two versions of one model, as two releases of an application would define it: version 2
indexes one more field. Both are named ``Product`` in this module, so one process may hold
both (the key prefix belongs to ``tests.support.deploy_models.Product``)."""

from __future__ import annotations

import json
from typing import ClassVar

from assimilator_stack import AssimilatorConfig, RedisModel

PREFIX = "t:deploy-product"
CATEGORIES = ("books", "games", "tools", "toys", "food")


def product(version: int) -> type[RedisModel]:
    if version == 1:
        class Product(RedisModel):
            name: str
            category: str
            price: float

            class AssimilatorConfig(AssimilatorConfig):
                key_prefix: ClassVar[str | None] = PREFIX
    else:
        class Product(RedisModel):  # type: ignore[no-redef]
            name: str
            category: str
            price: float
            color: str = "none"  # version 2: one more indexed field

            class AssimilatorConfig(AssimilatorConfig):
                key_prefix: ClassVar[str | None] = PREFIX
    return Product


ProductV1 = product(1)
ProductV2 = product(2)


def document(i: int) -> str:
    """The JSON the library stores for version 1's product ``i`` (checked against the codec
    in test_index_operations.py)."""
    return json.dumps({"id": f"p{i}", "name": f"product {i}",
                       "category": CATEGORIES[i % len(CATEGORIES)], "price": float(i % 100)},
                      separators=(",", ":"))


def load(client: object, count: int, batch: int = 5000) -> None:
    """``count`` version-1 products written with pipelines, before any index exists."""
    for start in range(0, count, batch):
        pipe = client.pipeline(transaction=False)  # type: ignore[attr-defined]
        for i in range(start, min(count, start + batch)):
            pipe.execute_command("JSON.SET", f"{PREFIX}:p{i}", "$", document(i))
        pipe.execute()
