"""aggregate(...) and suggest(...): RedisRepository and InternalRepository must agree.

Hypothesis generates a dataset of the rich model (tests/query_models.Thing: strings with
punctuation and unicode, ints up to 2**53, floats down to -1e300, bools, Optional fields,
enums, datetimes, dates, uuids, lists, nested models) and a batch of aggregations: every
metric on fitting fields, group_by of zero, one or two fields (list fields, fields without a
value), filters Redis decides and filters checked in Python, order by a metric or a group
field, paginate; and suggestions on every str field. Rows must be equal, value for value
(numbers exactly: Sum/Avg do not depend on the order the entities come in).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assimilator_stack import (
    Avg,
    Count,
    CountDistinct,
    InternalRepository,
    Max,
    Min,
    RedisRepository,
    Sum,
    filter_,
    order,
    paginate,
)
from assimilator_stack.testing.pytest_plugin import RedisClientFactory
from tests.support.query_models import Address, Color, Item, Size, Thing

EXAMPLES = int(os.environ.get("DIFFERENTIAL_EXAMPLES", "60"))
UTC = dt.timezone.utc

STRINGS = ["", " ", "a", "A", "ab", "Abc", "a b", "a-b", "a|b", "é", "É", "Ärger", "ärger",
           "日本", "😀", "{x}", "\\", "$p0"]
INTS = [-2**53, -7, -1, 0, 1, 2, 3, 2**31, 2**53, 2**53 + 1]
FLOATS = [-1e300, -2.5, -0.0, 0.0, 1e-9, 0.1, 0.5, 2.5, 1e16, 1e300, 1732648529.123456]
INSTANTS = [
    dt.datetime(1970, 1, 1, tzinfo=UTC),
    dt.datetime(2024, 1, 1, tzinfo=UTC),
    dt.datetime(2024, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),  # = 2024-01-01 UTC
    dt.datetime(2024, 6, 30, 12, 30),  # naive: UTC
    dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=2**53 + 1),
]
DAYS = [dt.date(1969, 12, 31), dt.date(2024, 2, 29)]
UUIDS = [uuid.UUID(int=0), uuid.UUID(int=1)]

strings = st.sampled_from(STRINGS)
ints = st.sampled_from(INTS)
floats = st.sampled_from(FLOATS)

things = st.builds(
    Thing,
    id=st.text("abc0123-:", min_size=1, max_size=4),
    name=strings,
    title=strings,
    age=ints,
    score=floats,
    active=st.booleans(),
    nick=st.one_of(st.none(), strings),
    rank=st.one_of(st.none(), ints),
    color=st.sampled_from(list(Color)),
    size=st.one_of(st.none(), st.sampled_from(list(Size))),
    born=st.one_of(st.none(), st.sampled_from(INSTANTS)),
    day=st.one_of(st.none(), st.sampled_from(DAYS)),
    ref=st.one_of(st.none(), st.sampled_from(UUIDS)),
    tags=st.lists(strings, max_size=3),
    nums=st.lists(floats, max_size=3),
    address=st.one_of(st.none(), st.builds(Address, city=strings, zip=st.none() | strings)),
    items=st.lists(st.builds(Item, sku=strings, qty=st.sampled_from([0, 1, 2, 5])),
                   max_size=3),
)

GROUPABLE = ["name", "title", "active", "nick", "rank", "color", "size", "born", "day", "ref",
             "tags", "nums", "address.city", "address.zip", "items.sku", "items.qty", "score"]
NUMBERS = ["age", "score", "rank", "nums", "items.qty"]
ORDERED = [*NUMBERS, "born", "day"]
STR_FIELDS = ["name", "title", "nick", "tags", "address.city", "address.zip", "items.sku"]

FILTERS = [
    filter_(),
    filter_(active=True),
    filter_(age__gte=0),
    filter_(rank__isnull=True),
    ~filter_(tags__contains="a"),  # checked in Python
    filter_(name__regex="^[aA]"),  # checked in Python
    filter_(lambda t: len(t.items) != 1),  # a Python predicate
    filter_(color__in=[Color.RED, Color.SHOUT]) | filter_(score__lt=0),
]


@st.composite
def metrics(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["count", "distinct", "sum", "avg", "min", "max"]))
        if kind == "count":
            out[f"m{i}"] = Count()
        elif kind == "distinct":
            out[f"m{i}"] = CountDistinct(draw(st.sampled_from(GROUPABLE)))
        elif kind in ("sum", "avg"):
            out[f"m{i}"] = (Sum if kind == "sum" else Avg)(draw(st.sampled_from(NUMBERS)))
        else:
            out[f"m{i}"] = (Min if kind == "min" else Max)(draw(st.sampled_from(ORDERED)))
    return out


@st.composite
def aggregations(draw: st.DrawFn) -> tuple[list[Any], dict[str, Any]]:
    group_by = draw(st.lists(st.sampled_from(GROUPABLE), max_size=2, unique=True))
    measured = draw(metrics())
    if not group_by and not measured:
        measured = {"n": Count()}
    specs: list[Any] = [draw(st.sampled_from(FILTERS))]
    names = [*group_by, *measured]
    if draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        specs.append(order(*[("-" if draw(st.booleans()) else "") + k for k in keys]))
    if draw(st.integers(0, 2)) == 0:
        specs.append(paginate(limit=draw(st.one_of(st.none(), st.integers(0, 4))),
                              offset=draw(st.integers(0, 3))))
    kwargs: dict[str, Any] = {**measured}
    if group_by or draw(st.booleans()):
        kwargs["group_by"] = group_by[0] if len(group_by) == 1 and draw(st.booleans()) \
            else tuple(group_by)
    return specs, kwargs


suggestions = st.tuples(st.sampled_from(STR_FIELDS),
                        st.sampled_from(["", "a", "A", "é", "ä", "a ", "日", "{", "\\", "zz"]),
                        st.integers(1, 5))


@pytest.fixture
def resp2(redis_client_factory: RedisClientFactory) -> redis.Redis:
    return redis_client_factory(protocol=2, decode_responses=True)


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.lists(things, max_size=12, unique_by=lambda t: t.id),
       batch=st.lists(aggregations(), min_size=8, max_size=8),
       asks=st.lists(suggestions, min_size=4, max_size=4))
def test_redis_and_the_twin_aggregate_alike(data: list[Thing],
                                            batch: list[tuple[list[Any], dict[str, Any]]],
                                            asks: list[tuple[str, str, int]],
                                            resp2: redis.Redis) -> None:
    stale = list(resp2.scan_iter(match="q:thing:*"))  # the previous dataset (set-up only)
    if stale:
        resp2.delete(*stale)
    repo = RedisRepository(session=resp2, model=Thing)
    twin = InternalRepository(model=Thing)
    for entity in data:
        repo.save(entity)
        twin.save(entity)
    for specs, kwargs in batch:
        expected = twin.aggregate(*specs, **kwargs)
        got = repo.aggregate(*specs, **kwargs)
        assert got == expected, (specs, kwargs)
        assert [_types(r) for r in got] == [_types(r) for r in expected]
    for field, prefix, limit in asks:
        assert repo.suggest(field, prefix, limit=limit) == \
            twin.suggest(field, prefix, limit=limit), (field, prefix, limit)


def _types(row: dict[str, Any]) -> dict[str, type]:
    return {name: type(value) for name, value in row.items()}

