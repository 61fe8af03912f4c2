"""update(*specs, **values) and delete(*specs) on every match, inside Redis: keys found by an
FT.AGGREGATE (no document read for exact filters), values validated first, one JSON.SET per
field plus the index companions under __idx, the same atomic commit inside a unit of work."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assimilator_stack import (
    ConcurrencyError,
    InvalidEntityError,
    InvalidQueryError,
    RedisRepository,
    RedisUnitOfWork,
    UpdateTargetMissingError,
    filter_,
    order,
    paginate,
)
from assimilator_stack.backends.redis.plans import ModelPlans
from assimilator_stack.backends.redis.uses import registry_key
from tests.support.execution_support import load, recording_client
from tests.support.query_models import Address, Color, Item, Size, Thing

PREFIX = "q:thing:"


def stored(client: redis.Redis, key: str) -> Any:
    raw = client.execute_command("JSON.GET", key)
    if raw is None:
        return None
    doc = json.loads(raw)
    extras = doc.get("__idx")
    if extras is not None:  # membership is what is indexed, not the order
        extras["__nulls"] = sorted(extras.get("__nulls", []))
    return doc


def as_stored(client: redis.Redis, plans: ModelPlans[Any], entity: Thing) -> Any:
    """The document a whole save of ``entity`` gives, as Redis holds it (RedisJSON 2.8 does
    not parse every float exactly: up to 2 ulps off for ~10% of 17-digit floats, so the
    reference goes through the same parser)."""
    client.execute_command("JSON.SET", "reference", "$", plans.codec.dump(entity))
    doc = stored(client, "reference")
    client.delete("reference")
    return doc


def base_things() -> list[Thing]:
    return [Thing(id=f"b{i:02d}", age=i % 3, name=f"n{i}", title="Mixed Case", nick=None,
                  rank=i, tags=["a", "B"] if i % 2 else [], born=None,
                  address=Address(city="Oslo") if i % 4 == 0 else None)
            for i in range(12)]


# -- what is written -------------------------------------------------------------------------

_values = st.fixed_dictionaries({}, optional={
    "name": st.text(max_size=5),
    "title": st.text(max_size=5),
    "nick": st.one_of(st.none(), st.text(max_size=4)),
    "rank": st.one_of(st.none(), st.integers(-5, 5)),
    "score": st.floats(allow_nan=False, allow_infinity=False),
    "active": st.booleans(),
    "color": st.sampled_from(list(Color)),
    "size": st.one_of(st.none(), st.sampled_from(list(Size))),
    "born": st.one_of(st.none(), st.datetimes(timezones=st.sampled_from(
        [None, dt.timezone.utc, dt.timezone(dt.timedelta(hours=3))]))),
    "day": st.one_of(st.none(), st.dates()),
    "tags": st.lists(st.text(max_size=3), max_size=3),
    "nums": st.lists(st.integers(-3, 3), max_size=3),
    "address": st.one_of(st.none(), st.builds(Address, city=st.text(max_size=3),
                                              zip=st.one_of(st.none(), st.text(max_size=3)))),
    "items": st.lists(st.builds(Item, sku=st.text(max_size=3), qty=st.integers(0, 3)),
                      max_size=2),
}).filter(bool)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(values=_values, age=st.integers(0, 3))
def test_documents_end_up_as_if_saved_whole(redis_client: redis.Redis, values: dict[str, Any],
                                            age: int) -> None:
    redis_client.flushall()
    repo = RedisRepository(redis_client, Thing)
    things = base_things()
    load(redis_client, things)
    changed = repo.update(filter_(age=age), **values)
    matching = [t for t in things if t.age == age]
    assert changed == len(matching)
    for thing in things:
        want = thing.model_validate({**thing.model_dump(), **values}) \
            if thing.age == age else thing
        assert stored(redis_client, PREFIX + thing.id) == \
            as_stored(redis_client, repo.plans, want), thing.id
    # and the index sees the new values at once
    assert repo.count(filter_(age=age)) == len(matching)
    if "title" in values and "\x00" not in values["title"]:  # NUL cannot be searched for
        assert repo.count(filter_(age=age, title=values["title"])) == len(matching)
    if "nick" in values:
        assert repo.count(filter_(age=age, nick__isnull=values["nick"] is None)) == len(matching)


def test_values_are_checked_before_anything_is_sent(redis_stack_url: str,
                                                    redis_client: redis.Redis) -> None:
    client, recorder = recording_client(redis_stack_url)
    repo = RedisRepository(client, Thing)
    cases = [
        ({"age": "many"}, "not a valid value for Thing.age"),
        ({"nope": 1}, "'nope' is not a stored field of Thing; fields that can be updated: "
                      "name, title"),
        ({"id": "x"}, "id of a Thing cannot be changed"),
        ({"expire_in": 5}, "'expire_in' is a write option"),
        ({}, "needs at least one field=value"),
        ({"color": "purple"}, "Thing.color"),
    ]
    invalid_values = ("age", "color")  # values that do not fit the field: InvalidEntityError
    for values, fragment in cases:
        error = InvalidEntityError if set(values) & set(invalid_values) else InvalidQueryError
        with pytest.raises(error, match=fragment.replace("(", r"\(")):
            repo.update(filter_(age=1), **values)
    with pytest.raises(InvalidQueryError, match="has no indexed field"):
        repo.update(filter_(nope=1), age=2)
    with pytest.raises(InvalidQueryError, match="has no indexed field"):
        repo.delete(filter_(nope=1))
    assert recorder.commands == []
    client.close()


def test_exact_filters_read_no_document(redis_stack_url: str, redis_client: redis.Redis) -> None:
    client, recorder = recording_client(redis_stack_url)
    load(client, base_things())
    repo = RedisRepository(client, Thing)
    repo.count()
    recorder.clear()
    assert repo.update(filter_(age=1), nick="z") == 4
    assert repo.delete(filter_(age=2)) == 4
    names = {c[0] for c in recorder.commands}
    assert "JSON.MGET" not in names and "JSON.GET" not in names
    # WATCH and FT.SEARCH: each batch is checked again in Redis before it is written (among
    # its keys, NOCONTENT: no document read)
    assert names <= {"FT.CONFIG", "FT.AGGREGATE", "JSON.SET", "JSON.DEL", "JSON.ARRAPPEND", "DEL",
                     "MULTI", "EXEC", "WATCH", "UNWATCH", "FT.SEARCH"}
    client.close()


def test_exact_filters_read_no_document_in_a_unit_of_work(redis_stack_url: str,
                                                          redis_client: redis.Redis) -> None:
    client, recorder = recording_client(redis_stack_url)
    load(client, base_things())
    repo = RedisRepository(client, Thing)
    repo.count()
    recorder.clear()
    with RedisUnitOfWork(repo) as uow:
        assert uow.repository.update(filter_(age=1), nick="z") == 4
        assert uow.repository.delete(filter_(age=2)) == 4
        uow.commit()
    names = {c[0] for c in recorder.commands}
    assert "JSON.MGET" not in names and "JSON.GET" not in names
    searches = [c for c in recorder.commands if c[0] == "FT.AGGREGATE"]
    assert searches and all("$" not in c for c in searches)  # no LOAD of documents
    assert repo.count(filter_(age__in=[1, 2])) == 4
    client.close()


def test_python_checked_filters_change_only_the_matches(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Thing)
    load(redis_client, base_things())
    assert repo.update(filter_(lambda e: e.rank % 5 == 0), nick="five") == 3
    assert sorted(e.id for e in repo.filter(filter_(nick="five"))) == ["b00", "b05", "b10"]
    assert repo.delete(filter_(lambda e: e.rank > 9)) == 2
    assert repo.count() == 10


def test_order_and_paginate_choose_what_changes(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Thing)
    load(redis_client, base_things())
    assert repo.update(order("-rank"), paginate(limit=3), nick="top") == 3
    assert sorted(e.id for e in repo.filter(filter_(nick="top"))) == ["b09", "b10", "b11"]
    assert repo.delete(filter_(age=0), order("rank"), paginate(limit=2)) == 2
    assert {e.id for e in repo.filter(filter_(age=0))} == {"b06", "b09"}


def test_delete_without_arguments_deletes_nothing(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Thing)
    load(redis_client, base_things())
    assert repo.delete() == 0
    assert repo.count() == 12
    assert repo.delete(filter_()) == 12  # an empty filter is every entity
    # nothing left but the record of this process's use of the index (uses.py)
    assert repo.count() == 0
    assert redis_client.keys() == [registry_key(repo.plans.index.key_prefix).encode()]


def test_single_entity_forms_still_work(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Thing)
    thing = repo.save(Thing(id="one", age=1))
    thing.age = 5
    assert repo.update(thing).age == 5
    assert repo.get(filter_(id="one")).age == 5
    with pytest.raises(UpdateTargetMissingError):
        repo.update(Thing(id="ghost"))
    assert repo.delete(thing) is None
    assert repo.count() == 0


def test_bulk_writes_keep_the_ttl(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Thing)
    repo.save(Thing(id="ttl", age=1, expire_in=1000))
    assert repo.update(filter_(age=1), nick="kept") == 1
    assert 990 < redis_client.ttl(PREFIX + "ttl") <= 1000


def test_many_matches_are_written_in_batches(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Thing)
    load(redis_client, (Thing(id=f"m{i:04d}", age=i % 2) for i in range(2500)))
    assert repo.update(filter_(), title="All") == 2500
    assert repo.count(filter_(title="all")) == 2500  # case-insensitive field: lower-cased copy
    assert repo.delete(filter_(age=1)) == 1250
    assert repo.count() == 1250


# -- inside a unit of work -------------------------------------------------------------------


def test_in_a_unit_of_work_they_join_the_same_commit(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Thing)
    load(redis_client, base_things())
    uow = RedisUnitOfWork(repo)
    with uow:
        assert uow.repository.update(filter_(age=0), nick="zero") == 4
        assert uow.repository.delete(filter_(age=1)) == 4
        uow.repository.save(Thing(id="new"))
        assert repo.count(filter_(nick="zero")) == 0  # nothing written yet
        assert repo.count() == 12
        uow.commit()
    assert repo.count(filter_(nick="zero")) == 4
    assert repo.count() == 12 - 4 + 1
    with uow:
        uow.repository.delete(filter_())
        # leaving without commit writes nothing
    assert repo.count() == 9


def test_a_concurrent_change_to_a_match_aborts_the_commit(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Thing)
    load(redis_client, base_things())
    before = {t.id: stored(redis_client, PREFIX + t.id) for t in base_things()}
    uow = RedisUnitOfWork(repo)
    with uow:
        uow.repository.update(filter_(age=2), nick="mine")
        uow.repository.save(Thing(id="also-mine"))
        # another client changes one of the matched entities before the commit
        other = RedisRepository(redis_client, Thing)
        done = threading.Event()

        def change() -> None:
            other.save(other.get(filter_(id="b02")).model_copy(update={"name": "theirs"}))
            done.set()

        threading.Thread(target=change).start()
        assert done.wait(5)
        with pytest.raises(ConcurrencyError):
            uow.commit()
    assert stored(redis_client, PREFIX + "also-mine") is None
    after = {t.id: stored(redis_client, PREFIX + t.id) for t in base_things()}
    assert after["b02"]["name"] == "theirs"
    assert {k: v for k, v in after.items() if k != "b02"} == \
        {k: v for k, v in before.items() if k != "b02"}
