"""The entity of the catalogue, and what clients send."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, Field

from assimilator_stack import RedisModel, Text


class Product(RedisModel):
    name: Annotated[str, Text()]  # full-text search on the name, exact match too
    category: str
    price: float = Field(ge=0)
    stock: int = Field(default=0, ge=0)
    tags: list[str] = Field(default_factory=list)

    class AssimilatorConfig:  # as the seed writes it: only what it sets is overridden
        key_prefix: ClassVar[str | None] = "catalogue:product"


class NewProduct(BaseModel):
    name: str
    category: str
    price: float = Field(ge=0)
    stock: int = Field(default=0, ge=0)
    tags: list[str] = Field(default_factory=list)


class ProductChanges(BaseModel):
    """A partial update: only the fields sent are changed."""

    name: str | None = None
    category: str | None = None
    price: float | None = Field(default=None, ge=0)
    stock: int | None = Field(default=None, ge=0)
    tags: list[str] | None = None


class Page(BaseModel):
    total: int  # every match, whatever the page
    items: list[Product]


class SearchHit(BaseModel):
    product: Product
    score: float | None  # relevance (the server's; the in-memory twin's own)
    name: str  # the name with the matched words in <b>...</b>


class Facet(BaseModel):
    value: str | None  # None: the matches without a value (no tags)
    count: int


class SearchPage(BaseModel):
    total: int
    hits: list[SearchHit]  # most relevant first
    facets: dict[str, list[Facet]]  # per field: the matches' values, most frequent first
