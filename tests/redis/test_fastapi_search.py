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


# A second catalogue for facets and autocomplete: expected values are computed from it here.
MORE = [
    {"name": "Red lamp", "category": "home", "price": 40, "tags": ["red", "light"]},
    {"name": "red lamp", "category": "home", "price": 45, "tags": ["red"]},
    {"name": "Red lamp", "category": "home", "price": 50, "tags": ["light", "light"]},
    {"name": "Reading lamp", "category": "home", "price": 60, "tags": []},
    {"name": "Red mug", "category": "kitchen", "price": 9, "tags": ["red"]},
    {"name": "Blue mug", "category": "kitchen", "price": 8, "tags": ["blue"]},
]


def _facets(items: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    counts: dict[Any, int] = {}
    for item in items:
        values = set(item.get(field) or [None]) if field == "tags" else {item[field]}
        for value in values:
            counts[value] = counts.get(value, 0) + 1
    # most frequent first, ties by value, the group None last among equals
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
    return [{"value": v, "count": n} for v, n in ranked]


def test_search_facets_count_every_match(app: Any) -> None:
    async def scenario(http: Any) -> None:
        for item in MORE:
            assert (await http.post("/products", json=item)).status_code == 201
        everything = ITEMS + MORE
        for q, category in [("red", None), ("lamp", None), ("red", "home"), ("mug", None)]:
            params = {"q": q, "limit": 1, **({"category": category} if category else {})}
            page = (await http.get("/search", params=params)).json()
            words = q.lower()
            matches = [i for i in everything if words in i["name"].lower().replace(",", "")
                       .split() and (category is None or i["category"] == category)]
            assert page["total"] == len(matches), (q, category)
            assert len(page["hits"]) == 1  # the page is cut, the facets are not
            assert page["facets"]["category"] == _facets(matches, "category"), (q, category)
            assert page["facets"]["tags"] == _facets(matches, "tags"), (q, category)

    run(app, scenario)


def test_autocomplete_most_frequent_first(app: Any) -> None:
    async def scenario(http: Any) -> None:
        for item in MORE:
            assert (await http.post("/products", json=item)).status_code == 201
        names = [i["name"] for i in ITEMS + MORE]
        for prefix, limit in [("re", 5), ("RED L", 5), ("red", 2), ("b", 5), ("zz", 5)]:
            got = (await http.get("/autocomplete", params={"prefix": prefix, "limit": limit}))
            assert got.status_code == 200
            found = [n for n in names if n.lower().startswith(prefix.lower())]
            want = sorted(set(found), key=lambda n: (-found.count(n), n))[:limit]
            assert got.json() == want, prefix
        assert (await http.get("/autocomplete", params={"prefix": ""})).status_code == 422

    run(app, scenario)
