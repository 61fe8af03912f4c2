"""The catalogue's HTTP API: create, get, search (filters, sort, paging), ranked search with
highlights and facet counts, autocomplete, update, delete."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import redis.asyncio
from fastapi import FastAPI, Query, Request, Response, status
from fastapi.responses import JSONResponse

from assimilator_stack import (
    AsyncUnitOfWork,
    ConcurrencyError,
    Count,
    InvalidQueryError,
    NotFoundError,
    async_retry_on_conflict,
    filter_,
    order,
    paginate,
    search,
)

from .dependencies import Products, Transaction
from .models import (
    Facet,
    NewProduct,
    Page,
    Product,
    ProductChanges,
    SearchHit,
    SearchPage,
)

SORTABLE = ("name", "price", "stock", "category")


def create_app(redis_url: str | None = None) -> FastAPI:
    """The app; with ``redis_url`` it opens one redis.asyncio client for its lifetime (tests
    that override the dependencies need none)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if redis_url is None:
            yield
            return
        app.state.redis = redis.asyncio.Redis.from_url(redis_url)
        try:
            yield
        finally:
            await app.state.redis.aclose()

    app = FastAPI(title="Product catalogue", lifespan=lifespan)
    _errors(app)
    _routes(app)
    return app


def _errors(app: FastAPI) -> None:
    def answer(code: int) -> Any:
        async def handler(request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse(status_code=code, content={"detail": str(exc)})
        return handler

    app.add_exception_handler(NotFoundError, answer(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(InvalidQueryError, answer(status.HTTP_422_UNPROCESSABLE_CONTENT))
    app.add_exception_handler(ConcurrencyError, answer(status.HTTP_409_CONFLICT))


async def _change(uow: AsyncUnitOfWork[Product], product_id: str, changes: dict[str, Any]
                  ) -> Product:
    """Read, change, commit: one attempt of an update (retried on a lost race)."""
    async with uow:
        products = uow.repository
        product = await products.get(products.specs.filter(id=product_id))
        updated = await products.update(product, **changes)
        await uow.commit()
    return updated


def _routes(app: FastAPI) -> None:
    @app.post("/products", status_code=status.HTTP_201_CREATED)
    async def create_product(new: NewProduct, uow: Transaction) -> Product:
        async with uow:
            product: Product = await uow.repository.save(**new.model_dump(), only_create=True)
            await uow.commit()
        return product

    @app.get("/products/{product_id}")
    async def get_product(product_id: str, products: Products) -> Product:
        found: Product = await products.get(products.specs.filter(id=product_id))
        return found

    @app.get("/products")
    async def search_products(
        products: Products,
        q: str | None = None,
        category: str | None = None,
        tag: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_stock: bool | None = None,
        sort: Annotated[list[str], Query()] = ["name"],  # noqa: B006 (FastAPI reads it)
        limit: Annotated[int, Query(ge=0, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Page:
        lookups: dict[str, Any] = {
            "name__search": q, "category": category, "tags": tag,
            "price__gte": min_price, "price__lte": max_price,
        }
        if in_stock is not None:
            lookups["stock__gt" if in_stock else "stock"] = 0
        where = filter_(**{k: v for k, v in lookups.items() if v is not None})
        if any(key.lstrip("-") not in SORTABLE for key in sort):
            raise InvalidQueryError(f"sort by one of {', '.join(SORTABLE)} (-field: descending)")
        # Two queries at once on one connection pool: the page and the number of matches.
        total, items = await asyncio.gather(
            products.count(where),
            products.filter(where, order(*sort), paginate(limit=limit, offset=offset)),
        )
        return Page(total=total, items=items)

    @app.get("/search")
    async def ranked_search(
        products: Products,
        q: str,
        category: str | None = None,
        limit: Annotated[int, Query(ge=0, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> SearchPage:
        """Most relevant first, each name highlighted, with facet counts (per category and per
        tag) of every match (an empty q is a 422)."""
        where = search(q) & filter_(**({"category": category} if category else {}))
        # One round of four reads at once: total, the page, and the facets of the same matches.
        total, hits, categories, tags = await asyncio.gather(
            products.count(where),
            products.hits(where, paginate(limit=limit, offset=offset), highlight=["name"]),
            products.aggregate(where, order("-n"), group_by="category", n=Count()),
            products.aggregate(where, order("-n"), paginate(limit=10), group_by="tags",
                               n=Count()),
        )
        return SearchPage(
            total=total,
            hits=[SearchHit(product=h.entity, score=h.score, name=h.highlights["name"])
                  for h in hits],
            facets={"category": [Facet(value=r["category"], count=r["n"]) for r in categories],
                    "tags": [Facet(value=r["tags"], count=r["n"]) for r in tags]},
        )

    @app.get("/autocomplete")
    async def autocomplete(
        products: Products,
        prefix: Annotated[str, Query(min_length=1)],
        limit: Annotated[int, Query(ge=1, le=20)] = 5,
    ) -> list[str]:
        """Product names starting with ``prefix`` (any case), most frequent first."""
        return await products.suggest("name", prefix, limit=limit)

    @app.patch("/products/{product_id}")
    async def update_product(product_id: str, changes: ProductChanges,
                             uow: Transaction) -> Product:
        sent = changes.model_dump(exclude_unset=True)
        return await async_retry_on_conflict(_change, uow, product_id, sent)

    @app.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_product(product_id: str, uow: Transaction) -> Response:
        async with uow:
            products = uow.repository
            product = await products.get(products.specs.filter(id=product_id))
            await products.delete(product)
            await uow.commit()
        return Response(status_code=status.HTTP_204_NO_CONTENT)


app = create_app(os.environ.get("REDIS_URL", "redis://localhost:6379"))
