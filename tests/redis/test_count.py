"""count(): exact, in one round trip, and never counting (nor returning) keys that expired but
are not reclaimed yet. Those keys are made deterministic with a private server whose active
expiry is switched off (DEBUG SET-ACTIVE-EXPIRE 0): they stay in the index, and RediSearch
still matches and counts them (redisearch-facts.md §4.6), until something touches them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from assimilator_stack import (
    InvalidQueryError,
    MultipleResultsError,
    RedisRepository,
    filter_,
    only,
    order,
    paginate,
)
from assimilator_stack.testing import RedisStackServer
from tests.support.cluster_support import ON_CLUSTER
from tests.support.execution_support import load, private_server, recording_client
from tests.support.query_models import Thing


def ids(entities: Any) -> list[str]:
    return [e.id for e in entities]


def things() -> list[Thing]:
    return [Thing(id=f"c{i:02d}", age=i % 4, name="even" if i % 2 == 0 else "odd",
                  rank=None if i % 3 == 0 else i, tags=["t"] if i % 5 == 0 else [])
            for i in range(40)]


CASES: list[tuple[Any, ...]] = [
    (),
    (filter_(age=1),),
    (filter_(age__gte=2) | filter_(name="even"),),
    (filter_(rank__isnull=True),),
    (~filter_(tags="t"),),
    (filter_(age=9),),
    (filter_(id="c07"),),
    (filter_(id__in=["c01", "c02", "nope"]),),
    (filter_(age=1), order("-rank"), paginate(limit=2, offset=1)),  # order/paginate ignored
    (filter_(lambda e: e.age == 3),),  # checked in Python on what Redis selects
]


def python_count(data: list[Thing], specs: tuple[Any, ...]) -> int:
    from assimilator_stack.core.specs import collect
    from assimilator_stack.fields.schema import schema_of
    from assimilator_stack.query.python import matches
    query = collect(specs)
    return sum(1 for e in data if matches(schema_of(Thing), query.filter, e))


@pytest.mark.parametrize("where", ["server", ON_CLUSTER])
@pytest.mark.parametrize("specs", CASES, ids=[repr(c)[:60] for c in CASES])
def test_count_is_exact_in_one_round_trip(where: str, request: pytest.FixtureRequest,
                                          specs: tuple[Any, ...]) -> None:
    if where == "cluster":  # exact across shards; round trips are counted on one server only
        client: Any = request.getfixturevalue("cluster_client_factory")()
        recorder = None
    else:
        request.getfixturevalue("redis_client")  # the server is flushed
        client, recorder = recording_client(request.getfixturevalue("redis_stack_url"))
    data = things()
    load(client, data)
    repo = RedisRepository(client, Thing)
    repo.count()  # the index and what the repository learns about the server, first
    if recorder is not None:
        recorder.clear()
    assert repo.count(*specs) == python_count(data, specs)
    inexact = any(callable(s) and not hasattr(s, "tree") for s in specs) or \
        "function" in repr(specs)
    if recorder is not None and not inexact:
        assert len(recorder.trips) == 1, recorder.trips
    client.close()


def test_count_with_every_client_flavour(any_client: redis.Redis) -> None:
    data = things()
    load(any_client, data)
    repo = RedisRepository(any_client, Thing)
    assert repo.count() == 40
    assert repo.count(filter_(name="odd")) == 20
    assert repo.count(filter_(age=99)) == 0


@pytest.fixture(scope="module")
def lazy_expiry_server() -> Iterator[RedisStackServer]:
    with private_server("--enable-debug-command", "local") as server:
        yield server


@pytest.fixture
def lazy(lazy_expiry_server: RedisStackServer) -> Iterator[redis.Redis]:
    client = lazy_expiry_server.client()
    client.flushall()
    client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    yield client
    client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    client.close()


def with_dead_keys(client: redis.Redis) -> tuple[RedisRepository[Thing], list[Thing]]:
    """40 entities, of which every third has expired (and is not reclaimed)."""
    repo = RedisRepository(client, Thing)
    data = things()
    for entity in data:
        dead = int(entity.id[1:]) % 3 == 1
        repo.save(entity.model_copy(update={"expire_in_px": 1}) if dead else entity)
    time.sleep(0.05)
    live = [e for e in data if int(e.id[1:]) % 3 != 1]
    return repo, live


def raw_total(client: redis.Redis, repo: RedisRepository[Thing], query: str = "*") -> int:
    reply = client.execute_command("FT.SEARCH", repo.plans.index.name, query, "LIMIT", "0", "0",
                                   "DIALECT", "2")
    return int(reply[b"total_results"] if isinstance(reply, dict) else reply[0])


def test_expired_keys_are_not_counted(lazy: redis.Redis) -> None:
    repo, live = with_dead_keys(lazy)
    assert raw_total(lazy, repo) == 40  # what RediSearch says: dead keys included
    assert lazy.dbsize() == 40  # not reclaimed
    assert repo.count() == len(live) == 27
    assert repo.count(filter_(name="odd")) == sum(1 for e in live if e.name == "odd")
    assert raw_total(lazy, repo) == 40  # counting touched nothing


def test_expired_keys_are_never_returned_nor_shift_pages(lazy: redis.Redis) -> None:
    repo, live = with_dead_keys(lazy)
    by_rank = [e.id for e in sorted(live, key=lambda e: (e.rank is None, e.rank or 0, e.id))]
    assert ids(repo.filter(order("rank"), paginate(limit=5, offset=3))) == by_rank[3:8]
    assert ids(repo.filter(paginate(limit=4, offset=2))) == [e.id for e in live][2:6]
    assert ids(repo.filter(order("rank"), only("name"), paginate(limit=3))) == by_rank[:3]
    # c00 is alive, c01 expired: get() sees one match, not two
    assert repo.get(filter_(id__in=["c00", "c01"])).id == "c00"
    assert repo.get(filter_(age=0, rank__isnull=False, rank__lte=8)).id == "c08"  # c04 expired
    with pytest.raises(MultipleResultsError):
        repo.get(filter_(age=1))
    assert ids(repo.filter(order("-id"))) == sorted((e.id for e in live), reverse=True)
    assert sorted(ids(repo.stream(batch_size=4))) == sorted(e.id for e in live)
    assert sorted(ids(repo.filter())) == sorted(e.id for e in live)


def test_bulk_writes_skip_expired_keys(lazy: redis.Redis) -> None:
    repo, live = with_dead_keys(lazy)
    assert repo.update(filter_(name="odd"), nick="x") == sum(1 for e in live if e.name == "odd")
    assert repo.delete(filter_(name="even")) == sum(1 for e in live if e.name == "even")
    assert repo.count() == sum(1 for e in live if e.name == "odd")


def test_ids_with_nul_are_refused_since_searches_cannot_read_them(redis_client: redis.Redis
                                                                  ) -> None:
    # RediSearch opens a document by its key as a C string: a key holding NUL reads as an
    # expired key (no content), in FT.SEARCH and FT.AGGREGATE alike
    redis_client.execute_command("JSON.SET", "q:thing:a\x00b", "$", '{"id":"a\\u0000b"}')
    redis_client.execute_command("JSON.SET", "q:thing:ok", "$", '{"id":"ok"}')
    repo = RedisRepository(redis_client, Thing)
    assert [e.id for e in repo.filter()] == ["ok"]  # the NUL key cannot be read
    # count() takes the search's own total when no key has a TTL (one cheap round trip); such
    # a foreign key is counted then. The library never writes one (below).
    assert repo.count() == 2
    assert raw_total(redis_client, repo) == 2  # matched and counted by RediSearch...
    reply = redis_client.execute_command("FT.SEARCH", repo.plans.index.name, "*", "DIALECT", "2")
    results = reply[b"results"] if isinstance(reply, dict) else [
        {b"id": k, b"extra_attributes": v} for k, v in zip(reply[1::2], reply[2::2])]
    unread = {r[b"id"]: r[b"extra_attributes"] is None for r in results}
    assert unread == {b"q:thing:a\x00b": True, b"q:thing:ok": False}  # ...but not read
    with pytest.raises(InvalidQueryError, match="NUL"):
        repo.save(Thing(id="x\x00y"))
    assert redis_client.exists("q:thing:x\x00y") == 0


def test_quick_count_is_used_only_while_no_key_has_a_ttl(redis_stack_url: str,
                                                        redis_client: redis.Redis) -> None:
    client, recorder = recording_client(redis_stack_url)
    data = things()
    load(client, data)
    repo = RedisRepository(client, Thing)
    expected = sum(1 for e in data if e.name == "odd")

    def commands_sent() -> list[str]:
        return [str(args[0]).upper() for trip in recorder.trips for args in trip]

    repo.count()
    recorder.clear()
    assert repo.count(filter_(name="odd")) == expected
    assert "FT.SEARCH" in commands_sent() and "FT.AGGREGATE" not in commands_sent()
    assert len(recorder.trips) == 1
    redis_client.set("elsewhere", "1", ex=100)  # any key with a TTL: dead keys are possible
    recorder.clear()
    assert repo.count(filter_(name="odd")) == expected
    assert "FT.AGGREGATE" in commands_sent()
    client.close()
