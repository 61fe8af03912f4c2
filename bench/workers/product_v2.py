"""The plain pydantic v2 Product that the raw redis-py floor validates replies with."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class Product(BaseModel):
    id: str
    name: str
    category: str
    brand: str
    price: float
    stock: int
    rating: float
    tags: list[str]
    created_at: dt.datetime
    description: str
