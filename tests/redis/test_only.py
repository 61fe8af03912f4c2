"""only(...): just those fields (and the id) come from Redis, exactly as stored (JSON.GET of
their paths, not RETURN's rounded values), as partial entities that load what they left out
when it is needed (deferred loading)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar

import pytest
import redis
from pydantic import BaseModel, ConfigDict, Field

from assimilator_stack import (
    AssimilatorConfig,
    ConcurrencyError,
    InvalidQueryError,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    filter_,
    only,
    order,
    paginate,
)
from tests.support.execution_support import recording_client
from tests.support.query_models import Address, Item, Thing

PRECISE = 1732648529.123456  # RETURN / LOAD show 1732648529.12
BIG = 2**53 - 1  # RETURN shows it through a double
MOMENT = dt.datetime(2024, 11, 26, 19, 15, 29, 123456, tzinfo=dt.timezone.utc)


class Reading(RedisModel):
    sensor: str
    value: float
    count: int
    at: dt.datetime
    extra: dict[str, Any] = Field(default_factory=dict)  # stored, not indexed
    where: Address | None = None

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:only-reading"


class Aliased(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    display: str = Field(alias="displayName")
    score: float = 0.0


@pytest.fixture
def readings(redis_client: redis.Redis) -> RedisRepository[Reading]:
    repo = RedisRepository(redis_client, Reading)
    repo.save(Reading(id="r1", sensor="a", value=PRECISE, count=BIG, at=MOMENT,
                      extra={"k": [1, 2]}, where=Address(city="Oslo", zip="0150")))
    repo.save(Reading(id="r2", sensor="b", value=0.1 + 0.2, count=-3, at=MOMENT, where=None))
    return repo


def test_only_reads_just_those_paths_exactly(redis_stack_url: str, redis_client: redis.Redis,
                                             readings: RedisRepository[Reading]) -> None:
    client, recorder = recording_client(redis_stack_url)
    repo = RedisRepository(client, Reading)
    repo.count()
    recorder.clear()
    found = repo.filter(only("value", "count", "at"), order("sensor"))
    assert [(e.id, e.value, e.count, e.at) for e in found] == [
        ("r1", PRECISE, BIG, MOMENT), ("r2", 0.1 + 0.2, -3, MOMENT)]
    reads = [c for c in recorder.commands if c[0].startswith("JSON.")]
    assert reads == [("JSON.GET", "t:only-reading:r1", "$.value", "$.count", "$.at", "$.id"),
                     ("JSON.GET", "t:only-reading:r2", "$.value", "$.count", "$.at", "$.id")]
    # what RETURN would have given: rounded
    reply = client.execute_command("FT.SEARCH", repo.plans.index.name, "@sensor:{a}", "RETURN",
                                   "1", "$.value", "DIALECT", "2")
    shown = reply[b"results"][0][b"extra_attributes"][b"$.value"] if isinstance(reply, dict) \
        else reply[2][1]
    assert float(shown) != PRECISE
    client.close()


def test_partial_entities_hold_only_what_was_loaded(readings: RedisRepository[Reading]) -> None:
    first = readings.filter(only("sensor", "where.city"), order("sensor"))
    assert isinstance(first[0], Reading)
    assert first[0].sensor == "a" and first[0].where is not None
    assert first[0].where.city == "Oslo"
    assert set(first[0].__dict__) == {"id", "sensor", "where"}  # nothing else was read
    assert set(first[0].where.__dict__) == {"city"}
    assert first[1].where is None  # no address stored
    assert "sensor='a'" in repr(first[0])
    assert [e.id for e in readings.filter(only("id"))] == ["r1", "r2"]
    whole = readings.filter(only("extra", "where"), filter_(id="r1"))[0]
    assert whole.extra == {"k": [1, 2]} and whole.where == Address(city="Oslo", zip="0150")


def test_a_field_left_out_loads_on_first_access(redis_stack_url: str,
                                                readings: RedisRepository[Reading]) -> None:
    client, recorder = recording_client(redis_stack_url)
    repo = RedisRepository(client, Reading)
    first = repo.filter(only("sensor", "where.city"), order("sensor"))[0]
    first.sensor = "mine"  # changed in memory: loading the rest keeps it
    recorder.clear()
    assert first.where.zip == "0150"  # deferred: the rest is read now, once
    assert first.value == PRECISE and first.extra == {"k": [1, 2]} and first.sensor == "mine"
    assert [c[0] for c in recorder.commands] == ["JSON.GET"]
    assert type(first) is Reading and type(first.where) is Address  # whole now
    client.close()


def test_saving_a_partial_entity_reads_what_it_left_out(
        redis_client: redis.Redis, readings: RedisRepository[Reading]) -> None:
    partial = readings.get(filter_(id="r1"), only("sensor"))
    readings.update(filter_(id="r1"), count=7)  # changed by someone else since the read
    partial.sensor = "changed"
    readings.save(partial)
    stored = readings.get(filter_(id="r1"))
    assert (stored.sensor, stored.count, stored.value, stored.extra) == \
        ("changed", 7, PRECISE, {"k": [1, 2]})
    # in a unit of work the read of the rest is watched like any read
    other = RedisRepository(redis_client, Reading)  # another connection than the uow's
    uow = RedisUnitOfWork(readings)
    with pytest.raises(ConcurrencyError), uow:
        part = uow.repository.get(filter_(id="r1"), only("sensor"))
        part.sensor = "again"
        uow.repository.update(part)
        other.update(filter_(id="r1"), count=8)  # a change before the commit
        uow.commit()
    assert readings.get(filter_(id="r1")).sensor == "changed"
    readings.delete(readings.get(filter_(id="r2"), only("id")))  # deleting needs only the id
    assert readings.count() == 1


def test_only_with_filters_pages_and_python_checks(readings: RedisRepository[Reading]) -> None:
    for i in range(10):
        readings.save(Reading(id=f"x{i}", sensor=f"s{i % 3}", value=i / 3, count=i, at=MOMENT))
    got = readings.filter(filter_(count__gte=2, count__lt=100), order("-count"),
                          paginate(limit=3, offset=1),
                          only("count"))
    assert [(e.id, e.count) for e in got] == [("x8", 8), ("x7", 7), ("x6", 6)]
    odd = readings.filter(filter_(lambda e: e.id[0] == "x" and e.count % 2 == 1),
                          order("count"), only("value"))
    assert [(e.id, e.value) for e in odd] == [(f"x{i}", i / 3) for i in (1, 3, 5, 7, 9)]
    assert "count" not in odd[0].__dict__  # only value (and the id) was read
    assert readings.get(filter_(id="x4"), only("sensor")).sensor == "s1"


@pytest.mark.parametrize("fields, fragment", [
    (("nope",), "has no stored field 'nope'"),
    (("where.nope",), "Address has no stored field 'nope'"),
    (("sensor.x",), "is neither a nested model nor a list of them"),
    (("expire_in",), "has no stored field 'expire_in'"),
])
def test_bad_fields_are_refused_before_redis(redis_stack_url: str, redis_client: redis.Redis,
                                             fields: tuple[str, ...], fragment: str) -> None:
    client, recorder = recording_client(redis_stack_url)
    repo = RedisRepository(client, Reading)
    for call in (lambda: repo.filter(only(*fields)), lambda: repo.get(only(*fields)),
                 lambda: list(repo.stream(only(*fields))), lambda: repo.explain(only(*fields))):
        with pytest.raises(InvalidQueryError, match=fragment):
            call()
    assert recorder.commands == []
    client.close()


def test_fields_inside_lists_of_models(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Thing)
    repo.save(Thing(id="t1", items=[Item(sku="a", qty=1), Item(sku="b")], tags=["x", "y"]))
    got = repo.get(only("items.sku"))
    assert [set(i.__dict__) for i in got.items] == [{"sku"}, {"sku"}]
    assert [i.sku for i in got.items] == ["a", "b"]
    got = repo.get(only("items", "tags"))
    assert got.items == [Item(sku="a", qty=1), Item(sku="b")] and got.tags == ["x", "y"]


def test_aliases_and_every_client_flavour(any_client: redis.Redis) -> None:
    repo = RedisRepository(any_client, Aliased)
    repo.save(Aliased(id="a1", display="Ann", score=PRECISE))
    raw = json.loads(any_client.execute_command("JSON.GET", "Aliased:a1"))
    assert raw["displayName"] == "Ann"
    got = repo.get(only("display", "score"))
    assert (got.id, got.display, got.score) == ("a1", "Ann", PRECISE)


def test_documents_missing_a_field_leave_it_unloaded(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Reading)
    repo.save(Reading(id="old", sensor="a", value=1.0, count=1, at=MOMENT))
    redis_client.execute_command("JSON.DEL", "t:only-reading:old", "$.extra")
    got = repo.get(only("sensor", "extra"))
    assert got.sensor == "a" and "extra" not in got.__dict__
    assert got.extra == {}  # loaded on access: the whole document, where it takes its default
