"""Models for the query-engine tests (lookups, escaping, invalid queries, the twin, the
differential test): every kind of field the schema knows, nested and in lists."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated, ClassVar, Optional

from pydantic import BaseModel, Field

from assimilator_stack import AssimilatorConfig, Indexed, RedisModel, Text


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"
    DARK_BLUE = "dark-blue"  # punctuation in a TAG value
    SHOUT = "RED"  # differs from RED only by case


class Size(enum.IntEnum):
    S = 1
    M = 2
    L = 3


class Address(BaseModel):
    city: str
    zip: Optional[str] = None  # noqa: UP045 (the Optional spelling is part of what is tested)


class Item(BaseModel):
    sku: Annotated[str, Indexed(sortable=True)]  # a list of models' str field, sortable
    qty: int = 0


class Thing(RedisModel):
    """Every kind of field: scalars, Optional, enums, dates, uuid, lists, nested models."""

    name: str = ""
    title: Annotated[str, Indexed(case_sensitive=False)] = ""
    body: Annotated[str, Text(nostem=True)] = ""
    blurb: Annotated[str, Text()] = ""
    age: int = 0
    score: float = 0.0
    active: bool = False
    nick: Optional[str] = None  # noqa: UP045
    rank: int | None = None
    color: Color = Color.RED
    size: Optional[Size] = None  # noqa: UP045
    born: dt.datetime | None = None
    day: dt.date | None = None
    ref: uuid.UUID | None = None
    tags: Annotated[list[str], Indexed(sortable=True)] = Field(default_factory=list)
    nums: list[float] = Field(default_factory=list)
    address: Address | None = None
    items: list[Item] = Field(default_factory=list)

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "q:thing"


class IntKeyed(BaseModel):
    """A plain pydantic model with an int id (a NUMERIC id attribute)."""

    id: int
    label: str = ""
