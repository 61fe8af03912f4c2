"""Field kinds (assimilator_stack/fields/): the registry gives each annotation its kind, and a
new kind (with its own index attribute, argument and lookup) plugs in by registering a class,
with no other file changed. The expectations are written from the docs (docs/queries.md,
CONTRIBUTING.md "A new field kind"), not read from the code."""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel

from assimilator_stack import Indexed, InternalRepository, InvalidQueryError, filter_, order
from assimilator_stack.backends.redis.index import schema_arguments
from assimilator_stack.core.specs import collect
from assimilator_stack.documents.codec import Codec
from assimilator_stack.fields import base
from assimilator_stack.fields.base import ArgumentError, FieldKind, kind_of, register
from assimilator_stack.fields.field import FieldSchema
from assimilator_stack.fields.schema import schema_of
from assimilator_stack.query import lookups, syntax
from assimilator_stack.query.redisearch import compile_filter


class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    A = "a"
    B = 2


@pytest.mark.parametrize(("annotation", "name", "shown"), [
    (str, "str", "str"), (int, "number", "number"), (float, "number", "number"),
    (bool, "bool", "bool"), (dt.datetime, "datetime", "datetime"), (dt.date, "date", "date"),
    (uuid.UUID, "uuid", "uuid"), (Shade, "enum", "enum Shade"), (Level, "enum", "enum Level"),
])
def test_each_scalar_type_gets_its_kind(annotation: Any, name: str, shown: str) -> None:
    kind = kind_of(annotation)
    assert kind is not None
    assert (kind.name, kind.describe()) == (name, shown)


@pytest.mark.parametrize("annotation", [bytes, dict, Mixed, list[int], object])
def test_types_no_kind_claims_are_stored_but_not_indexed(annotation: Any) -> None:
    assert kind_of(annotation) is None


@pytest.mark.parametrize(("annotation", "value", "message"), [
    (int, "3", "expected a number"), (int, True, "not bool"), (int, 2**60, "2**53"),
    (float, math.nan, "NaN"), (bool, 1, "True or False"), (str, 3, "expected a str"),
    (str, "a\x00b", "NUL"), (dt.datetime, dt.date(2020, 1, 1), "expected a datetime"),
    (dt.date, dt.datetime(2020, 1, 1), "not a datetime"), (uuid.UUID, "nope", "UUID"),
    (Shade, "pink", "'light', 'dark'"), (Level, True, "1, 2"),
])
def test_each_kind_refuses_what_it_cannot_compare(annotation: Any, value: Any,
                                                  message: str) -> None:
    kind = kind_of(annotation)
    assert kind is not None
    with pytest.raises(ArgumentError, match=re.escape(message)):
        kind.check(value)


@pytest.mark.parametrize(("annotation", "value", "key"), [
    (int, 3, 3.0), (Level, Level.HIGH, 2.0), (Level, 1, 1.0), (Shade, "dark", "dark"),
    (dt.date, dt.date(1970, 1, 11), 10.0),
    (dt.datetime, dt.datetime(1970, 1, 1, 0, 0, 1, 5), 1_000_005),
    (uuid.UUID, "12345678123456781234567812345678", "12345678-1234-5678-1234-567812345678"),
])
def test_a_checked_argument_is_the_key_stored_values_compare_by(annotation: Any, value: Any,
                                                                key: Any) -> None:
    kind = kind_of(annotation)
    assert kind is not None
    assert kind.check(value) == key


# -- a new kind plugs in ---------------------------------------------------------------------


class Point(BaseModel):
    x: float
    y: float


class PointKind(FieldKind):
    """A toy geo kind: its own Python type (claimed before the model is walked into), its
    own index attribute (GEO, from a value kept under __idx), argument and lookup family."""

    name = "point"
    abilities = frozenset({"near"})
    in_extras = True
    sortable = False

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        return cls(python_type) if python_type is Point else None

    def check(self, value: Any) -> Any:
        if not isinstance(value, Point):
            raise ArgumentError("expected a Point")
        return (value.x, value.y)

    def value_key(self, value: Any) -> Any:
        return (value.x, value.y)

    def index_value(self, value: Any) -> Any:
        return f"{value.x},{value.y}"

    def index_type(self) -> tuple[str, ...]:
        return ("GEO",)


class Near(lookups.Lookup):
    name = "near"
    allowed = "point fields"
    needs = "near"

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        point, radius = value
        return (*field.kind_obj.check(point), float(radius))

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        x, y, radius = arg
        return any(math.dist((x, y), k) <= radius for k in keys)

    def compile(self, field: FieldSchema, arg: Any,
                ctx: lookups.CompileContext) -> lookups.Compiled:
        x, y, radius = (ctx.params.add(repr(v)) for v in arg)
        return lookups.exact(syntax.Frag(f"@{field.alias}:[{x} {y} {radius} km]", "atom"))


@pytest.fixture
def point_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(base, "KINDS", list(base.KINDS))
    register(PointKind)
    monkeypatch.setitem(lookups.LOOKUPS, "near", Near())
    yield


def test_a_registered_kind_brings_its_index_attribute_argument_and_lookups(
        point_kind: None) -> None:
    class Shop(BaseModel):
        id: str
        where: Point
        tags: Annotated[list[str], "not a marker"]
        size: Literal["s", "m"]

    schema = schema_of(Shop)
    field = schema.fields["where"]  # the point, not its x and y
    assert set(schema.fields) == {"id", "where", "tags", "size"}
    assert field.kind == "point" and not field.multi
    args = schema_arguments(schema)
    at = args.index("where")
    assert args[at - 2:at + 3] == ["$.__idx.where", "AS", "where", "GEO", "$.tags[*]"]
    assert not field.sortable  # and not SORTABLE in the index (above)
    assert Codec(schema).extras(Shop(id="a", where=Point(x=1, y=2), tags=[], size="s"))[
        "where"] == "1.0,2.0"

    query = compile_filter(schema, collect([filter_(where__near=(Point(x=1, y=2), 5))]).filter)
    assert query.query == "@where:[$p0 $p1 $p2 km]"
    assert query.params == {"p0": "1.0", "p1": "2.0", "p2": "5.0"}

    repo = InternalRepository(model=Shop)
    repo.save(Shop(id="in", where=Point(x=3, y=4), tags=[], size="s"))
    repo.save(Shop(id="out", where=Point(x=30, y=4), tags=[], size="m"))
    found = repo.filter(filter_(where__near=(Point(x=0, y=0), 5)))
    assert [s.id for s in found] == ["in"]

    # The built-in lookups that need another family are refused, naming what is allowed.
    with pytest.raises(InvalidQueryError, match=r"Shop\.where__eq.*lookups allowed on where: "
                                                r"isnull, near"):
        repo.filter(filter_(where=Point(x=0, y=0)))
    with pytest.raises(InvalidQueryError, match=r"where__near.*expected a Point"):
        repo.filter(filter_(where__near=("here", 5)))
    # ... and the new lookup is refused on the other kinds.
    with pytest.raises(InvalidQueryError, match=r"'near' applies to point fields"):
        repo.filter(filter_(size__near=(Point(x=0, y=0), 5)))
    with pytest.raises(InvalidQueryError, match=r"order\('where'\): Shop\.where is a point "
                                                r"field, which has no order; sortable fields: "
                                                r"id, size$"):
        repo.filter(order("where"))


def test_a_kind_without_order_refuses_a_declared_sort(point_kind: None) -> None:
    class Spot(BaseModel):
        id: str
        where: Annotated[Point, Indexed(sortable=True)]

    with pytest.raises(TypeError, match=r"Spot\.where: point fields cannot be sorted"):
        schema_of(Spot)


def test_a_lookup_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="'eq' is already registered"):
        lookups.register(lookups.comparisons.Eq())
    assert lookups.LOOKUPS["eq"] is lookups.EQ
