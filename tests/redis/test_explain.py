"""repo.explain(*specs): the command filter(*specs) sends first, as a list of arguments that
runs as is."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis

from assimilator_stack import (
    AsyncInternalRepository,
    InternalRepository,
    InvalidQueryError,
    RedisRepository,
    filter_,
    only,
    order,
    paginate,
)
from tests.support.execution_support import load, recording_client
from tests.support.helpers import text
from tests.support.query_models import Thing


@pytest.fixture
def repo(redis_client: redis.Redis) -> RedisRepository[Thing]:
    load(redis_client, [Thing(id=f"e{i:02d}", age=i % 4, name=f"n{i % 3}", rank=i)
                        for i in range(20)])
    return RedisRepository(redis_client, Thing)


def keys_of(reply: Any) -> list[str]:
    if isinstance(reply, dict):
        rows = [r[b"extra_attributes"] for r in reply[b"results"]]
        return [text(r[b"__key"]) for r in rows]
    rows = reply[1:]
    return [text(dict(zip(r[0::2], r[1::2]))[b"__key"]) for r in rows]


def test_explain_gives_the_aggregate_that_runs(redis_client: redis.Redis,
                                               repo: RedisRepository[Thing]) -> None:
    specs = (filter_(age__in=[1, 2]), order("name", "-rank"), paginate(limit=5, offset=2))
    command = repo.explain(*specs)
    assert command[0] == "FT.AGGREGATE" and command[1] == repo.plans.index.name
    assert all(isinstance(arg, str) for arg in command)
    assert command[command.index("DIALECT") + 1] == "2"
    assert command[command.index("TIMEOUT") + 1] == "0"
    assert command[command.index("SORTBY"):command.index("SORTBY") + 8] == [
        "SORTBY", "6", "@name", "ASC", "@rank", "DESC", "@id", "ASC"]
    assert command[-3:] == ["LIMIT", "2", "5"]
    assert "PARAMS" in command  # values travel as parameters
    ran = keys_of(redis_client.execute_command(*command))
    assert ran == [repo.plans.key(e.id) for e in repo.filter(*specs)]


def test_explain_of_the_other_shapes(redis_client: redis.Redis,
                                     repo: RedisRepository[Thing]) -> None:
    # every match in index order: a cursor
    command = repo.explain(filter_(age=1))
    assert command[0] == "FT.AGGREGATE" and "WITHCURSOR" in command
    reply = redis_client.execute_command(*command)
    assert sorted(keys_of(reply[0])) == sorted(repo.plans.key(e.id)
                                               for e in repo.filter(filter_(age=1)))
    # a lookup by id reads the keys
    assert repo.explain(filter_(id__in=["e01", "e02"])) == \
        ["JSON.MGET", "q:thing:e01", "q:thing:e02", "."]
    # only(...) does not change the search (the fields are read from the documents after)
    assert repo.explain(only("name"), order("rank"), paginate(limit=2)) == \
        repo.explain(order("rank"), paginate(limit=2))
    # a Python check: the command selects the candidates
    command = repo.explain(filter_(lambda e: e.rank > 3), order("-rank"))
    assert command[2] == "*" and "SORTBY" in command
    timed = RedisRepository(redis_client, Thing, query_timeout_ms=250)
    command = timed.explain(order("rank"), paginate(limit=1))
    assert command[command.index("TIMEOUT") + 1] == "250"


def test_explain_refuses_what_filter_refuses_before_redis(redis_stack_url: str,
                                                          redis_client: redis.Redis) -> None:
    client, recorder = recording_client(redis_stack_url)
    repo = RedisRepository(client, Thing)
    for specs in [(filter_(age__like="x"),), (filter_(nope=1),), (order("nope"),),
                  (only("nope"),)]:
        with pytest.raises(InvalidQueryError):
            repo.explain(*specs)
    assert recorder.commands == []
    client.close()


TWIN_SPECS: list[tuple[Any, ...]] = [
    (),
    (filter_(age__in=[1, 2]), order("name", "-rank"), paginate(limit=5, offset=2)),
    (filter_(age=1),),
    (filter_(age=1), paginate(limit=3)),
    (filter_(id__in=["e01", "e02"]),),
    (only("name"), order("rank"), paginate(limit=2)),
    (filter_(lambda e: e.rank > 3), order("-rank")),
    (filter_(name__startswith="n"), paginate(limit=20_000)),
]


def test_the_twin_explains_what_redis_would_send(redis_client: redis.Redis,
                                                 repo: RedisRepository[Thing]) -> None:
    # The twin sends nothing: it gives the command RedisRepository sends first to a Redis
    # Stack server with its default settings (MAXAGGREGATERESULTS 10000, as here).
    setting = redis_client.execute_command("FT.CONFIG", "GET", "MAXAGGREGATERESULTS")
    value = next(iter(setting.values())) if isinstance(setting, dict) else setting[0][1]
    if text(value) != "10000":
        pytest.skip(f"this server's MAXAGGREGATERESULTS is {setting!r}, not Redis Stack's")
    twin = InternalRepository(model=Thing)
    async_twin = AsyncInternalRepository(model=Thing)
    for specs in TWIN_SPECS:
        sent = repo.explain(*specs)
        assert twin.explain(*specs) == sent, specs
        assert asyncio.run(async_twin.explain(*specs)) == sent, specs
    for specs in [(filter_(age__like="x"),), (filter_(nope=1),), (order("nope"),),
                  (only("nope"),)]:
        with pytest.raises(InvalidQueryError):
            twin.explain(*specs)


def test_redis_wildcards_is_a_constructor_argument(redis_client: redis.Redis) -> None:
    """``redis_wildcards=True`` lets the server expand a prefix (a TAG prefix query); by
    default the prefix is checked in Python on the candidates (here: every entity). Both
    answer alike on this small index."""
    load(redis_client, [Thing(id=f"w{i}", name=name) for i, name in
                        enumerate(["abc", "abd", "xab", "ab"])])
    plain = RedisRepository(redis_client, Thing)
    expanding = RedisRepository(redis_client, Thing, redis_wildcards=True)
    spec = filter_(name__startswith="ab")
    assert "ab" not in plain.explain(spec)[2]
    assert expanding.explain(spec)[2].endswith("*}") and "ab" in expanding.explain(spec)
    assert sorted(e.id for e in plain.filter(spec)) == ["w0", "w1", "w3"]
    assert sorted(e.id for e in expanding.filter(spec)) == ["w0", "w1", "w3"]
