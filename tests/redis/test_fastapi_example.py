"""examples/fastapi_app over httpx (ASGI transport, no network): on the embedded Redis Stack
server, and on the in-memory twin swapped in through FastAPI's dependency overrides (the
endpoints only know AsyncRepository / AsyncUnitOfWork)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from assimilator_stack import (
    AsyncInternalRepository,
    AsyncInternalUnitOfWork,
    InternalRepository,
    RedisRepository,
    Repository,
)

fastapi = pytest.importorskip("fastapi", reason="needs the examples extra (fastapi)")
httpx = pytest.importorskip("httpx", reason="needs the examples extra (httpx)")

from examples.fastapi_app.app import create_app  # noqa: E402
from examples.fastapi_app.dependencies import get_repository, get_uow  # noqa: E402
from examples.fastapi_app.models import Product  # noqa: E402

Scenario = Callable[[Any], Awaitable[None]]


@dataclass
class Backend:
    app: Any  # FastAPI
    stored: Repository[Product]  # a sync view of the same data, to check what was written

    def run(self, scenario: Scenario) -> None:
        async def main() -> None:
            async with self.app.router.lifespan_context(self.app):
                transport = httpx.ASGITransport(app=self.app)
                async with httpx.AsyncClient(transport=transport,
                                             base_url="http://catalogue") as http:
                    await asyncio.wait_for(scenario(http), timeout=60)

        asyncio.run(main())


@pytest.fixture(params=["redis", "twin"])
def backend(request: pytest.FixtureRequest, redis_stack_url: str) -> Backend:
    if request.param == "redis":
        client: redis.Redis = request.getfixturevalue("redis_client")  # flushed
        return Backend(create_app(redis_stack_url), RedisRepository(client, Product))
    store: dict[str, Any] = {}
    app = create_app()  # no Redis at all: pattern substitution
    app.dependency_overrides[get_repository] = lambda: AsyncInternalRepository(store, Product)
    app.dependency_overrides[get_uow] = lambda: AsyncInternalUnitOfWork(
        repository=AsyncInternalRepository(store, Product))
    return Backend(app, InternalRepository(store, Product))


CATALOGUE = [
    {"name": "Red running shoe", "category": "shoes", "price": 80, "stock": 3,
     "tags": ["sport", "red"]},
    {"name": "Blue running shoe", "category": "shoes", "price": 95, "stock": 0,
     "tags": ["sport"]},
    {"name": "Leather boot", "category": "shoes", "price": 140, "stock": 2, "tags": []},
    {"name": "Red scarf", "category": "accessories", "price": 25, "stock": 10,
     "tags": ["red", "winter"]},
    {"name": "Wool hat", "category": "accessories", "price": 30, "stock": 0,
     "tags": ["winter"]},
    {"name": "Trail running jacket", "category": "clothing", "price": 120, "stock": 4,
     "tags": ["sport"]},
]


async def add_catalogue(http: Any) -> dict[str, str]:
    ids = {}
    for item in CATALOGUE:
        answer = await http.post("/products", json=item)
        assert answer.status_code == 201, answer.text
        ids[item["name"]] = answer.json()["id"]
    return ids


def names(page: Any) -> list[str]:
    return [item["name"] for item in page["items"]]


def test_create_and_get(backend: Backend) -> None:
    async def scenario(http: Any) -> None:
        created = await http.post("/products", json={"name": "Mug", "category": "kitchen",
                                                     "price": 7.5, "tags": ["gift"]})
        assert created.status_code == 201
        body = created.json()
        assert set(body) == {"id", "name", "category", "price", "stock", "tags"}
        assert (body["name"], body["price"], body["stock"]) == ("Mug", 7.5, 0)
        fetched = await http.get(f"/products/{body['id']}")
        assert fetched.status_code == 200 and fetched.json() == body
        refused = await http.post("/products", json={"name": "x", "category": "y",
                                                     "price": -1})
        assert refused.status_code == 422

    backend.run(scenario)
    stored = backend.stored.get(backend.stored.specs.filter(name="Mug"))
    assert stored.tags == ["gift"] and backend.stored.count() == 1


def test_get_missing_is_404(backend: Backend) -> None:
    async def scenario(http: Any) -> None:
        answer = await http.get("/products/nope")
        assert answer.status_code == 404
        assert "Product" in answer.json()["detail"]

    backend.run(scenario)


def test_search_with_filters_sort_and_paging(backend: Backend) -> None:
    async def scenario(http: Any) -> None:
        await add_catalogue(http)
        everything = (await http.get("/products", params={"limit": 100})).json()
        assert everything["total"] == 6
        assert names(everything) == sorted(item["name"] for item in CATALOGUE)

        shoes = (await http.get("/products", params={"category": "shoes",
                                                     "sort": "-price"})).json()
        assert names(shoes) == ["Leather boot", "Blue running shoe", "Red running shoe"]

        cheap_in_stock = (await http.get("/products", params={
            "max_price": 100, "in_stock": True, "sort": "price"})).json()
        assert names(cheap_in_stock) == ["Red scarf", "Red running shoe"]
        sold_out = (await http.get("/products", params={"in_stock": False})).json()
        assert names(sold_out) == ["Blue running shoe", "Wool hat"]

        running = (await http.get("/products", params={"q": "running", "tag": "sport",
                                                       "min_price": 90})).json()
        assert names(running) == ["Blue running shoe", "Trail running jacket"]

        by_category = {"sort": ["category", "-price"], "limit": 2}
        first = (await http.get("/products", params={**by_category, "offset": 0})).json()
        second = (await http.get("/products", params={**by_category, "offset": 2})).json()
        assert first["total"] == second["total"] == 6
        assert names(first) == ["Wool hat", "Red scarf"]
        assert names(second) == ["Trail running jacket", "Leather boot"]

        bad_sort = await http.get("/products", params={"sort": "colour"})
        assert bad_sort.status_code == 422 and "price" in bad_sort.json()["detail"]
        too_many = await http.get("/products", params={"limit": 1000})
        assert too_many.status_code == 422

    backend.run(scenario)


def test_update(backend: Backend) -> None:
    async def scenario(http: Any) -> None:
        ids = await add_catalogue(http)
        boot = ids["Leather boot"]
        changed = await http.patch(f"/products/{boot}", json={"price": 99.5, "tags": ["sale"]})
        assert changed.status_code == 200
        assert (changed.json()["price"], changed.json()["tags"], changed.json()["stock"]) == (
            99.5, ["sale"], 2)
        assert (await http.get(f"/products/{boot}")).json() == changed.json()
        assert (await http.patch("/products/nope", json={"price": 1})).status_code == 404
        assert (await http.patch(f"/products/{boot}", json={"stock": -3})).status_code == 422

    backend.run(scenario)
    boot = backend.stored.get(backend.stored.specs.filter(name="Leather boot"))
    assert (boot.price, boot.tags) == (99.5, ["sale"])


def test_concurrent_updates_of_one_product_all_land(backend: Backend) -> None:
    changes = [{"name": "Renamed boot"}, {"category": "footwear"}, {"price": 150},
               {"stock": 7}, {"tags": ["new"]}]

    async def scenario(http: Any) -> None:
        ids = await add_catalogue(http)
        boot = ids["Leather boot"]
        answers = await asyncio.gather(*(http.patch(f"/products/{boot}", json=change)
                                         for change in changes))
        assert [a.status_code for a in answers] == [200] * len(changes)

    backend.run(scenario)
    boot = backend.stored.get(backend.stored.specs.filter(name="Renamed boot"))
    assert (boot.category, boot.price, boot.stock, boot.tags) == ("footwear", 150, 7, ["new"])


def test_delete(backend: Backend) -> None:
    async def scenario(http: Any) -> None:
        ids = await add_catalogue(http)
        hat = ids["Wool hat"]
        assert (await http.delete(f"/products/{hat}")).status_code == 204
        assert (await http.get(f"/products/{hat}")).status_code == 404
        assert (await http.delete(f"/products/{hat}")).status_code == 404
        assert (await http.get("/products")).json()["total"] == 5

    backend.run(scenario)
    assert backend.stored.count() == 5
