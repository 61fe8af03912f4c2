"""Bad specifications raise InvalidQueryError naming the field, the lookup and what is allowed,
before anything reaches Redis (proved with the server's own INFO commandstats), and the
in-memory twin refuses the same specifications."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest
import redis

from assimilator_stack import (
    InternalRepository,
    InvalidQueryError,
    RedisRepository,
    filter_,
    order,
)
from assimilator_stack.core.specs import FilterSpecification
from assimilator_stack.query.filters import Condition
from tests.support.helpers import CommandCounter
from tests.support.query_models import Thing

NUMERIC_KINDS = "number, datetime, date and numeric enum fields"

# (specification, substrings the message must hold)
CASES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("unknown field", filter_(nope=1), ("Thing has no indexed field 'nope'", "name", "tags")),
    ("unknown nested field", filter_(address__street="x"),
     ("no indexed field 'address.street'", "address.city")),
    ("unknown lookup", FilterSpecification(Condition("name", "near", 1)),
     ("Thing.name__near", "unknown lookup 'near'", "startswith")),
    ("gt on str", filter_(name__gt="a"),
     ("Thing.name__gt", NUMERIC_KINDS, "name is a str field", "lookups allowed on name: eq")),
    ("between on bool", filter_(active__between=(0, 1)),
     ("Thing.active__between", NUMERIC_KINDS, "active is a bool field")),
    ("search on a non-Text field", filter_(name__search="x"),
     ("Thing.name__search", "'search' applies to Text() fields", "name is a str field")),
    ("startswith on a number", filter_(age__startswith="1"),
     ("Thing.age__startswith", "applies to str fields", "age is a number field",
      "lookups allowed on age:", "gt")),
    ("like on an enum", filter_(color__like="r%"),
     ("Thing.color__like", "str fields", "enum Color")),
    ("regex on a list of numbers", filter_(nums__regex="1"),
     ("Thing.nums__regex", "list of number")),
    ("str for a number", filter_(age="30"),
     ("Thing.age__eq='30'", "expected a number (int or float; not bool)")),
    ("bool for a number", filter_(age=True), ("Thing.age__eq=True", "not bool")),
    ("int for a bool", filter_(active=1), ("Thing.active__eq=1", "expected True or False")),
    ("NaN", filter_(score=math.nan), ("Thing.score__eq=nan", "NaN is not allowed")),
    ("NaN in a comparison", filter_(score__gt=math.nan), ("Thing.score__gt", "NaN")),
    ("int past 2**53", filter_(age=2**53 + 1),
     ("Thing.age__eq=9007199254740993", "beyond ±2**53")),
    ("negative int past 2**53", filter_(age__lt=-(2**53) - 1), ("Thing.age__lt", "2**53")),
    ("enum non-member", filter_(color="purple"),
     ("Thing.color__eq='purple'", "member of Color", "'dark-blue'")),
    ("enum of another type", filter_(size="M"), ("Thing.size__eq='M'", "member of Size")),
    ("str for a datetime", filter_(born="2024-01-01"),
     ("Thing.born__eq='2024-01-01'", "expected a datetime")),
    ("datetime for a date", filter_(day=dt.datetime(2024, 1, 1)),
     ("Thing.day__eq", "expected a date (not a datetime)")),
    ("bad uuid", filter_(ref="not-a-uuid"), ("Thing.ref__eq='not-a-uuid'", "UUID")),
    ("in without a collection", filter_(name__in="abc"),
     ("Thing.name__in='abc'", "expected a collection")),
    ("in with a bad element", filter_(age__in=[1, "2"]), ("Thing.age__in", "expected a number")),
    ("not_in with NaN", filter_(score__not_in=[math.nan]), ("Thing.score__not_in", "NaN")),
    ("between one value", filter_(age__between=(1,)),
     ("Thing.age__between=(1,)", "expected a pair (low, high)")),
    ("between a set", filter_(age__between={1, 2}), ("Thing.age__between", "pair")),
    ("isnull not a bool", filter_(nick__isnull="yes"),
     ("Thing.nick__isnull='yes'", "expected True (no value) or False (has a value)")),
    ("is with a number", filter_(active__is=1), ("Thing.active__is=1", "True, False or None")),
    ("is True on a str", filter_(name__is=True), ("Thing.name__is", "applies to bool fields")),
    ("all with None", filter_(tags__all=[None]), ("Thing.tags__all", "isnull")),
    ("eq with a list", filter_(tags=["a"]), ("Thing.tags__eq", "__in", "__all")),
    ("bad regex", filter_(name__regex="("),
     ("Thing.name__regex='('", "not a valid regular expression")),
    ("search with no word", filter_(body__search=" ,. "),
     ("Thing.body__search", "at least one word")),
    ("search prefix too short", filter_(body__search="a*"),
     ("Thing.body__search", "'a*' is too short", "2 characters")),
    ("NUL in a value", filter_(name="a\x00b"), ("Thing.name__eq", "NUL")),
    ("NUL in a pattern", filter_(name__startswith="\x00"), ("Thing.name__startswith", "NUL")),
    ("bad part deep inside", ~(filter_(name="a") | (filter_(age=1) & filter_(age__gt="x"))),
     ("Thing.age__gt='x'", "expected a number")),
    ("bad part beside a predicate", filter_(lambda e: True, nope__x=1),
     ("no indexed field 'nope.x'",)),
]

ORDER_CASES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("order by unknown", order("nope"), ("order('nope')", "no indexed field", "sortable fields")),
    ("order by a nested model", order("address"),
     ("order('address')", "no indexed field", "sortable fields")),
]

Read = Callable[..., Any]


def reads(repo: Any) -> list[tuple[str, Read]]:
    return [("filter", repo.filter), ("count", repo.count), ("get", repo.get)]


@pytest.mark.parametrize(("spec", "expected"), [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_refused_before_anything_is_sent(spec: Any, expected: tuple[str, ...],
                                         client: redis.Redis, commands: CommandCounter) -> None:
    repo = RedisRepository(session=client, model=Thing)
    twin = InternalRepository(model=Thing)
    for name, read in reads(repo):
        with commands.count() as sent, pytest.raises(InvalidQueryError) as caught:
            read(spec)
        assert dict(sent) == {}, (name, sent)
        for part in expected:
            assert part in str(caught.value), (name, part, str(caught.value))
    for name, read in reads(twin):
        with pytest.raises(InvalidQueryError) as caught:
            read(spec)
        for part in expected:
            assert part in str(caught.value), ("twin", name, part, str(caught.value))


@pytest.mark.parametrize(("spec", "expected"), [(c[1], c[2]) for c in ORDER_CASES],
                         ids=[c[0] for c in ORDER_CASES])
def test_bad_order_is_refused(spec: Any, expected: tuple[str, ...], client: redis.Redis,
                              commands: CommandCounter) -> None:
    repo = RedisRepository(session=client, model=Thing)
    twin = InternalRepository(model=Thing)
    with commands.count() as sent, pytest.raises(InvalidQueryError) as caught:
        repo.filter(spec)
    assert dict(sent) == {}
    for part in expected:
        assert part in str(caught.value)
    with pytest.raises(InvalidQueryError) as caught:
        twin.filter(spec)
    for part in expected:
        assert part in str(caught.value)


def test_long_values_are_shortened_in_messages() -> None:
    twin = InternalRepository(model=Thing)
    with pytest.raises(InvalidQueryError) as caught:
        twin.filter(filter_(age="x" * 10_000))
    assert len(str(caught.value)) < 400
    assert "10002 characters" in str(caught.value)


def test_the_same_value_is_fine_where_it_fits(client: redis.Redis) -> None:
    """The refusals are about the field: the values themselves are fine elsewhere."""
    repo = RedisRepository(session=client, model=Thing)
    repo.save(Thing(id="a", name="purple", nick="a*", title="("))
    assert [e.id for e in repo.filter(filter_(name="purple", nick="a*", title="("))] == ["a"]
