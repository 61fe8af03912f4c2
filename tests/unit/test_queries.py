"""Specifications without a server: compiled to RediSearch query strings (a value never changes
a query's shape, patterns run in Python unless redis_wildcards), lookups' argument checks
(InvalidQueryError naming the field and the lookup, before any I/O), their Python meaning
(docs/queries.md's table, cases worked out by hand), and codec round trips."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assimilator_stack import InvalidQueryError, filter_
from assimilator_stack.core.specs import collect
from assimilator_stack.documents.codec import Codec
from assimilator_stack.fields.schema import schema_of
from assimilator_stack.query.python import matches
from assimilator_stack.query.redisearch import CompiledFilter, compile_filter
from tests.support.query_models import Address, Color, Item, Size, Thing
from tests.support.strategies import STRINGS, strings, things

SCHEMA = schema_of(Thing)


def compiled(*specs: Any, redis_wildcards: bool = False) -> CompiledFilter:
    return compile_filter(SCHEMA, collect(specs).filter, redis_wildcards=redis_wildcards)


# -- compiled queries -----------------------------------------------------------------------------

# Lookups whose argument is one value of the field's kind: str fields, then numbers.
STR_LOOKUPS = [("name", "eq"), ("name", "ne"), ("title", "eq"), ("tags", "eq"),
               ("address__city", "eq"), ("items__sku", "ne")]
NUMBER_LOOKUPS = [("age", "eq"), ("age", "gt"), ("score", "lte"), ("nums", "gte"),
                  ("items__qty", "lt")]
values_of_str = st.one_of(st.sampled_from(STRINGS), st.text(min_size=1, max_size=12)).filter(
    lambda v: "\x00" not in v)
values_of_number = st.one_of(st.integers(-2**53, 2**53),
                             st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=60, deadline=None)
@given(field_lookup=st.sampled_from(STR_LOOKUPS), a=values_of_str, b=values_of_str)
def test_a_str_value_never_changes_the_query_shape(field_lookup: tuple[str, str], a: str,
                                                   b: str) -> None:
    field, lookup = field_lookup
    first = compiled(filter_(**{f"{field}__{lookup}": a}))
    second = compiled(filter_(**{f"{field}__{lookup}": b}))
    assert first.query == second.query
    assert first.exact and second.exact  # equality on a tag is decided by Redis
    assert first.params_args()[0] == "PARAMS"  # the value travels as a PARAMS argument


@settings(max_examples=60, deadline=None)
@given(field_lookup=st.sampled_from(NUMBER_LOOKUPS), a=values_of_number, b=values_of_number)
def test_a_number_never_changes_the_query_shape(field_lookup: tuple[str, str], a: float,
                                                b: float) -> None:
    field, lookup = field_lookup
    first = compiled(filter_(**{f"{field}__{lookup}": a}))
    second = compiled(filter_(**{f"{field}__{lookup}": b}))
    assert first.query == second.query
    assert first.params_args()[0] == "PARAMS"


@settings(max_examples=40, deadline=None)
@given(a=st.lists(values_of_str, min_size=1, max_size=4, unique=True))
def test_an_in_collection_shapes_the_query_by_its_size_only(a: list[str]) -> None:
    b = [f"other{i}" for i in range(len(a))]
    assert compiled(filter_(name__in=a)).query == compiled(filter_(name__in=b)).query


@pytest.mark.parametrize("spec", [filter_(name__startswith="abc"),
                                  filter_(name__endswith="abc"), filter_(name__like="abc%")],
                         ids=str)
def test_patterns_run_in_python_by_default_and_in_redis_when_allowed(spec: Any) -> None:
    """docs/queries.md: RediSearch may drop expansions past MAXPREFIXEXPANSIONS, so patterns
    select candidates and are checked in Python unless redis_wildcards."""
    assert not compiled(spec).exact
    assert compiled(spec, redis_wildcards=True).exact


@pytest.mark.parametrize("spec", [filter_(name__startswith="a"), filter_(name__endswith="b")],
                         ids=str)
def test_patterns_shorter_than_minprefix_stay_in_python(spec: Any) -> None:
    """RediSearch matches nothing for a prefix shorter than MINPREFIX (2 bytes)."""
    assert not compiled(spec, redis_wildcards=True).exact


@pytest.mark.parametrize("spec", [filter_(name__contains="b"), filter_(name__regex="^a"),
                                  filter_(lambda thing: True)], ids=str)
def test_infixes_regexes_and_predicates_always_run_in_python(spec: Any) -> None:
    assert not compiled(spec).exact
    assert not compiled(spec, redis_wildcards=True).exact


def test_an_empty_in_matches_nothing_without_asking_redis() -> None:
    assert compiled(filter_(name__in=[])).matches_nothing


# -- argument checks ------------------------------------------------------------------------------

@pytest.mark.parametrize(("lookups", "named"), [
    ({"age__startswith": "x"}, ["age", "startswith"]),
    ({"name__gt": 3}, ["name", "gt"]),
    ({"age__in": 5}, ["age", "in"]),
    ({"age": "abc"}, ["age"]),
    ({"active": 1}, ["active"]),
    ({"color": "blue"}, ["color"]),
    ({"age__between": (1,)}, ["age", "between"]),
    ({"name__bogus": 1}, ["name", "bogus"]),
    ({"nope": 1}, ["nope"]),
    ({"name": "a\x00b"}, ["name"]),
    ({"score": float("nan")}, ["score"]),
    ({"age": 2**53 + 1}, ["age"]),
    ({"day": dt.datetime(2024, 1, 1)}, ["day"]),
], ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_a_bad_argument_is_refused_naming_field_and_lookup(lookups: dict[str, Any],
                                                           named: list[str]) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        compiled(filter_(**lookups))
    for word in named:
        assert word in str(raised.value)


# -- the Python meaning (docs/queries.md, worked out by hand) -------------------------------------

ANN = Thing(id="ann", name="abc", title="Hello", age=5, score=2.5, active=True, nick=None,
            color=Color.GREEN, size=Size.M, day=dt.date(2024, 2, 29),
            born=dt.datetime(2024, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            ref=uuid.UUID(int=1), tags=["a", "b"], nums=[1.0, 3.0],
            address=Address(city="Paris"), items=[Item(sku="x", qty=1), Item(sku="y", qty=4)])

MEANING = [
    ({"name": "abc"}, True), ({"name": "ABC"}, False),
    ({"name__ne": "abc"}, False), ({"nick__ne": "x"}, True),  # no value: ne matches
    ({"nick": None}, True), ({"nick__isnull": True}, True), ({"name__isnull": False}, True),
    ({"title": "hello"}, True),  # title is case-insensitive (Indexed(case_sensitive=False))
    ({"age__gt": 4}, True), ({"age__gt": 5}, False), ({"age__gte": 5}, True),
    ({"age__between": (5, 6)}, True), ({"age__between": (6, 5)}, False),
    ({"age__in": []}, False), ({"age__not_in": []}, True), ({"nick__in": [None]}, True),
    ({"name__startswith": "ab"}, True), ({"name__startswith": "b"}, False),
    ({"name__endswith": "bc"}, True), ({"name__contains": "b"}, True),
    ({"name__istartswith": "AB"}, True), ({"name__startswith": ""}, True),
    ({"name__like": "a_c"}, True), ({"name__like": "a_"}, False), ({"name__like": "%c"}, True),
    ({"name__ilike": "A%"}, True), ({"name__regex": "^a.c$"}, True),
    ({"tags": "b"}, True), ({"tags__all": ["a", "b"]}, True), ({"tags__all": ["a", "c"]}, False),
    ({"tags__all": []}, True), ({"tags__in": ["c", "b"]}, True),
    ({"nums__gt": 2.0}, True), ({"nums__lt": 1.0}, False),
    ({"items__sku": "y"}, True), ({"items__qty__gte": 4}, True), ({"items__qty__gt": 4}, False),
    ({"address__city": "Paris"}, True), ({"address__zip": None}, True),
    ({"active": True}, True), ({"active__is": False}, False),
    ({"color": "green"}, True), ({"color": Color.RED}, False), ({"size__gt": 1}, True),
    ({"day": dt.date(2024, 2, 29)}, True),
    ({"born": dt.datetime(2024, 1, 1)}, True),  # naive is UTC; ANN was born at 00:00 UTC
    ({"born__lt": dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=dt.timezone.utc)}, True),
    ({"ref": "00000000-0000-0000-0000-000000000001"}, True),
]


@pytest.mark.parametrize(("lookups", "expected"), MEANING, ids=lambda v: str(v))
def test_python_meaning(lookups: dict[str, Any], expected: bool) -> None:
    assert matches(SCHEMA, collect([filter_(**lookups)]).filter, ANN) is expected


def test_and_or_not_combine_as_the_table_says() -> None:
    node = collect([(filter_(age__gt=10) | filter_(name="abc")) & ~filter_(tags="z")]).filter
    assert matches(SCHEMA, node, ANN)
    assert not matches(SCHEMA, collect([~filter_(tags="a")]).filter, ANN)


# -- codec round trips ----------------------------------------------------------------------------

CODEC: Codec[Thing] = Codec(SCHEMA)


@settings(max_examples=80, deadline=None)
@given(thing=things)
def test_the_codec_round_trips_every_entity(thing: Thing) -> None:
    raw = CODEC.dump(thing)
    assert CODEC.load(f"q:thing:{thing.id}", raw) == thing
    assert CODEC.load(f"q:thing:{thing.id}", raw.encode()) == thing  # bytes, as RESP gives
    stored = json.loads(raw)  # valid JSON, holding the fields as JSON values
    assert stored["name"] == thing.name and stored["age"] == thing.age
    assert stored["tags"] == thing.tags


@settings(max_examples=40, deadline=None)
@given(name=strings)
def test_a_document_without_its_id_takes_the_keys(name: str) -> None:
    """README: the key is the identity (documents written by other programs)."""
    raw = json.dumps({"name": name})
    loaded = CODEC.load("q:thing:k1", raw)
    assert (loaded.id, loaded.name) == ("k1", name)
