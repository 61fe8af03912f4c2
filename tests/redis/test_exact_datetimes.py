"""Exact values everywhere the docs say exact (issue 8, item 6): datetimes compare and sort as
exact UTC microseconds, also past ±2**53 µs (about 1685 and 2255), where the double that
RediSearch keeps can no longer tell neighbouring microseconds apart. The expected answers are
computed here from the datetimes themselves."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field

from assimilator_stack import (
    AssimilatorConfig,
    InternalRepository,
    RedisModel,
    RedisRepository,
    filter_,
    order,
)
from tests.support.helpers import RepoFactory

pytestmark = pytest.mark.both_apis

UTC = dt.timezone.utc
END = dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
BOUNDARY = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=2**53)
START = dt.datetime(1, 1, 1, tzinfo=UTC)


class Event(RedisModel):
    when: dt.datetime
    maybe: dt.datetime | None = None
    many: list[dt.datetime] = Field(default_factory=list)

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:exact-dt"


def micro(base: dt.datetime, offset: int) -> dt.datetime:
    return base + dt.timedelta(microseconds=offset)


def test_the_issue_example(make_repo: RepoFactory) -> None:
    repo = make_repo(Event)
    late = micro(END, -9)  # ...999990
    repo.save(id="a", when=END, many=[END])
    repo.save(id="b", when=late, many=[late])
    assert [e.id for e in repo.filter(filter_(when=late))] == ["b"]
    assert [e.id for e in repo.filter(filter_(when=END))] == ["a"]
    assert [e.id for e in repo.filter(filter_(when__gt=late))] == ["a"]
    assert [e.id for e in repo.filter(filter_(when__lt=END))] == ["b"]
    assert [e.id for e in repo.filter(filter_(many=late))] == ["b"]
    assert [e.id for e in repo.filter(filter_(many__gte=END))] == ["a"]
    assert [e.id for e in repo.filter(order("when"))] == ["b", "a"]
    assert [e.id for e in repo.filter(order("-when"))] == ["a", "b"]
    assert repo.count(filter_(when__ne=late)) == 1


def test_bounds_combined_with_other_conditions(make_repo: RepoFactory) -> None:
    """Bounds ANDed with other conditions, or with each other, stay exact (they were merged
    into one plain range of doubles, which lost the microseconds; found by the differential
    test)."""
    repo = make_repo(Event)
    late = micro(END, -9)  # ...999990
    repo.save(id="a", when=END)
    repo.save(id="b", when=late)
    assert [e.id for e in repo.filter(filter_(when__gte=END, id__in=["a", "b"]))] == ["a"]
    assert [e.id for e in repo.filter(filter_(when__gte=END) & filter_(maybe=None))] == ["a"]
    assert [e.id for e in repo.filter(filter_(when__gt=late, when__lte=END))] == ["a"]
    assert [e.id for e in repo.filter(filter_(when__gte=late, when__lt=END))] == ["b"]
    assert repo.count(filter_(when__between=(micro(late, 1), END), maybe=None)) == 1


def test_the_edge_of_the_exact_doubles(make_repo: RepoFactory) -> None:
    """2**53 + 1 µs rounds to the double of 2**53 µs: a list holding it does not equal 2**53."""
    repo = make_repo(Event)
    repo.save(id="a", when=micro(BOUNDARY, 1), many=[micro(BOUNDARY, 1)])
    for spec in (filter_(many=BOUNDARY), filter_(many__lte=BOUNDARY),
                 filter_(many__between=(micro(BOUNDARY, -5), BOUNDARY)),
                 filter_(when=BOUNDARY), filter_(when__lte=BOUNDARY)):
        assert repo.count(spec) == 0, spec
    for spec in (filter_(many__gt=BOUNDARY), filter_(when__gt=BOUNDARY),
                 filter_(many__in=[BOUNDARY, micro(BOUNDARY, 1)])):
        assert repo.count(spec) == 1, spec


def test_order_across_pages(make_repo: RepoFactory) -> None:
    """Keyset pages continue after the exact value (stream reads a few rows at a time)."""
    repo = make_repo(Event)
    offsets = [13, 0, 7, 1, 12, 2, 15, 3, 9, 4, 11, 5, 14, 6, 10, 8]
    for i, off in enumerate(offsets):
        repo.save(id=f"e{i:02}", when=micro(END, -off))
    got = [e.when for e in repo.stream(order("when"), batch_size=3)]
    assert got == sorted(micro(END, -o) for o in offsets)
    got = [e.when for e in repo.stream(order("-when"), batch_size=4)]
    assert got == sorted((micro(END, -o) for o in offsets), reverse=True)


def test_bulk_update_keeps_it_exact(make_repo: RepoFactory) -> None:
    repo = make_repo(Event)
    repo.save(id="a", when=BOUNDARY)
    repo.save(id="b", when=BOUNDARY)
    assert repo.update(filter_(id="b"), when=micro(BOUNDARY, 1), maybe=micro(END, -3)) == 1
    assert [e.id for e in repo.filter(filter_(when=micro(BOUNDARY, 1)))] == ["b"]
    assert [e.id for e in repo.filter(filter_(when=BOUNDARY))] == ["a"]
    assert [e.id for e in repo.filter(filter_(maybe__lt=END))] == ["b"]
    assert repo.count(filter_(maybe=micro(END, -2))) == 0


def test_documents_without_the_residual_still_match(make_repo: RepoFactory,
                                                    client: redis.Redis) -> None:
    """Documents written before the residual existed (in range) compare as before."""
    repo = make_repo(Event)
    repo.save(id="old", when=dt.datetime(2024, 1, 1, tzinfo=UTC))
    client.execute_command("JSON.DEL", "t:exact-dt:old", "$.__idx.when__r")
    moment = dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert repo.count(filter_(when=moment)) == 1
    assert repo.count(filter_(when__gte=moment)) == 1
    assert repo.count(filter_(when__lte=moment)) == 1
    assert repo.count(filter_(when__gt=moment)) == 0
    assert repo.count(filter_(when__lt=moment)) == 0


# -- the property -----------------------------------------------------------------------------

_instants = st.one_of(
    st.builds(micro, st.sampled_from([END, micro(BOUNDARY, 20)]), st.integers(-40, 0)),
    st.builds(micro, st.just(START), st.integers(0, 40)),
)
LOOKUPS = ["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in"]


def _expected(values: list[dt.datetime], lookup: str, arg: Any) -> bool:
    if lookup == "eq":
        return any(v == arg for v in values)
    if lookup == "ne":
        return not any(v == arg for v in values)
    if lookup == "gt":
        return any(v > arg for v in values)
    if lookup == "gte":
        return any(v >= arg for v in values)
    if lookup == "lt":
        return any(v < arg for v in values)
    if lookup == "lte":
        return any(v <= arg for v in values)
    if lookup == "between":
        return any(arg[0] <= v <= arg[1] for v in values)
    if lookup == "in":
        return any(v in arg for v in values)
    return not any(v in arg for v in values)  # not_in


@pytest.mark.sync_only
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=st.lists(st.tuples(_instants, st.lists(_instants, max_size=2)), min_size=1,
                       max_size=8),
       field=st.sampled_from(["when", "many"]), lookup=st.sampled_from(LOOKUPS),
       args=st.lists(_instants, min_size=2, max_size=2), data=st.data())
def test_exact_in_redis_and_in_the_twin(events: list[tuple[dt.datetime, list[dt.datetime]]],
                                        field: str, lookup: str, args: list[dt.datetime],
                                        data: st.DataObject, redis_client_factory: Any) -> None:
    client = redis_client_factory()
    for key in client.keys("t:exact-dt:*"):
        client.delete(key)
    repo = RedisRepository(client, Event)
    twin = InternalRepository(model=Event)
    for i, (when, many) in enumerate(events):
        repo.save(id=f"e{i}", when=when, many=many)
        twin.save(id=f"e{i}", when=when, many=many)
    arg: Any = args[0]
    if lookup == "between":
        arg = tuple(sorted(args))
    elif lookup in ("in", "not_in"):
        arg = args
    spec = filter_(**{f"{field}__{lookup}": arg})
    expected = sorted(f"e{i}" for i, (when, many) in enumerate(events)
                      if _expected([when] if field == "when" else many, lookup, arg))
    assert sorted(e.id for e in repo.filter(spec)) == expected
    assert sorted(e.id for e in twin.filter(spec)) == expected
    assert repo.count(spec) == len(expected)
    desc = data.draw(st.booleans())
    groups: dict[dt.datetime, list[str]] = {}
    for i, (when, _) in enumerate(events):
        groups.setdefault(when, []).append(f"e{i}")
    # by time (descending with "-when"), then by id ascending
    wanted = [key for when in sorted(groups, reverse=desc) for key in sorted(groups[when])]
    spec_order = order("-when" if desc else "when")
    assert [e.id for e in repo.filter(spec_order)] == wanted
    assert [e.id for e in twin.filter(spec_order)] == wanted
