"""examples/fastapi_app's ranked search endpoint (``GET /search``): relevance order, names
highlighted, paging and a category filter, on Redis and on the in-memory twin."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from assimilator_stack import AsyncInternalRepository, AsyncInternalUnitOfWork

fastapi = pytest.importorskip("fastapi", reason="needs the examples extra (fastapi)")
httpx = pytest.importorskip("httpx", reason="needs the examples extra (httpx)")

from examples.fastapi_app.app import create_app  # noqa: E402
from examples.fastapi_app.dependencies import get_repository, get_uow  # noqa: E402
from examples.fastapi_app.models import Product  # noqa: E402

ITEMS = [
    {"name": "Red running shoe", "category": "shoes", "price": 80},
    {"name": "Red scarf", "category": "accessories", "price": 25},
    {"name": "Trail running jacket with a red zip, red", "category": "clothing", "price": 120},
    {"name": "Wool hat", "category": "accessories", "price": 30},
]


@pytest.fixture(params=["redis", "twin"])
def app(request: pytest.FixtureRequest, redis_stack_url: str) -> Any:
    if request.param == "redis":
        request.getfixturevalue("redis_client")  # a flushed server
        return create_app(redis_stack_url)
    store: dict[str, Any] = {}
    made = create_app()
    made.dependency_overrides[get_repository] = lambda: AsyncInternalRepository(store, Product)
    made.dependency_overrides[get_uow] = lambda: AsyncInternalUnitOfWork(
        repository=AsyncInternalRepository(store, Product))
    return made


def run(app: Any, scenario: Any) -> None:
    async def main() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://c") as http:
                for item in ITEMS:
                    assert (await http.post("/products", json=item)).status_code == 201
                await asyncio.wait_for(scenario(http), timeout=60)

    asyncio.run(main())


def test_ranked_search_with_highlights(app: Any) -> None:
    async def scenario(http: Any) -> None:
        page = (await http.get("/search", params={"q": "red"})).json()
        assert page["total"] == 3
        hits = page["hits"]
        assert {h["product"]["name"] for h in hits} == {i["name"] for i in ITEMS[:3]}
        scores = [h["score"] for h in hits]
        assert scores == sorted(scores, reverse=True)
        assert {h["name"] for h in hits} == {
            "<b>Red</b> running shoe", "<b>Red</b> scarf",
            "Trail running jacket with a <b>red</b> zip, <b>red</b>"}
        second = (await http.get("/search", params={"q": "red", "limit": 2, "offset": 2}))
        assert [h["product"]["id"] for h in second.json()["hits"]] == [
            hits[2]["product"]["id"]]
        only_shoes = (await http.get("/search", params={"q": "run*", "category": "shoes"}))
        assert [h["name"] for h in only_shoes.json()["hits"]] == ["Red <b>running</b> shoe"]
        empty = await http.get("/search", params={"q": "  "})
        assert empty.status_code == 422 and "at least one word" in empty.json()["detail"]

    run(app, scenario)
