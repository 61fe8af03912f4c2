"""No query reads all keys: every query path runs while MONITOR (its own connection, on the
real server) records what reaches Redis, and no KEYS nor SCAN (of any kind) is among it.

Run on the shared server and on a private one whose MAXAGGREGATERESULTS is 7, so that keyset
paging, jumps over offsets and cursors are all on the record too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from assimilator_stack import (
    RedisRepository,
    RedisUnitOfWork,
    filter_,
    only,
    order,
    paginate,
)
from assimilator_stack.testing import RedisStackServer
from tests.support.execution_support import private_server
from tests.support.helpers import MonitorLog, names
from tests.support.query_models import Thing

SCANS = {"KEYS", "SCAN", "HSCAN", "SSCAN", "ZSCAN"}


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[RedisStackServer]:
    with private_server() as server:
        with server.client() as admin:
            admin.execute_command("FT.CONFIG", "SET", "MAXAGGREGATERESULTS", "7")
        yield server


def every_query(repo: RedisRepository[Thing]) -> list[Callable[[], Any]]:
    def in_unit_of_work() -> None:
        uow = RedisUnitOfWork(repo)
        with uow:
            uow.repository.filter(filter_(age=1), order("rank"))
            uow.repository.get(filter_(id="s01"))
            uow.repository.update(filter_(age=2), nick="uow")
            uow.repository.delete(filter_(age=3), paginate(limit=1))
            uow.commit()

    return [
        lambda: repo.filter(),
        lambda: repo.filter(filter_(age=1)),
        lambda: repo.filter(order("-rank", "name")),
        lambda: repo.filter(order("name"), paginate(limit=3, offset=20)),
        lambda: repo.filter(paginate(limit=5, offset=12)),
        lambda: repo.filter(paginate(offset=3)),
        lambda: repo.filter(only("name"), order("rank"), paginate(limit=9)),
        lambda: repo.filter(filter_(lambda e: e.rank % 2 == 0), order("rank")),
        lambda: repo.filter(filter_(name__regex="^n[12]")),
        lambda: repo.filter(filter_(id__in=["s01", "s02"])),
        lambda: repo.get(filter_(id="s03")),
        lambda: repo.get(filter_(rank=4)),
        lambda: repo.count(),
        lambda: repo.count(filter_(age=0)),
        lambda: repo.count(filter_(lambda e: e.age == 0)),
        lambda: repo.count(filter_(id__in=["s01", "nope"])),
        lambda: list(repo.stream(batch_size=4)),
        lambda: list(repo.stream(order("-name"), batch_size=4)),
        lambda: list(repo.stream(filter_(lambda e: e.age == 1), batch_size=4)),
        lambda: repo.explain(order("rank")),
        lambda: repo.update(filter_(age=0), title="t"),
        lambda: repo.update(filter_(lambda e: e.rank > 25), title="late"),
        in_unit_of_work,
        lambda: repo.delete(filter_(name="n0")),
        lambda: repo.delete(filter_(lambda e: e.rank == 5)),
    ]


@pytest.mark.parametrize("where", ["shared", "tiny"])
def test_no_query_path_reads_all_keys(where: str, redis_stack_url: str,
                                      redis_client: redis.Redis,
                                      tiny_server: RedisStackServer) -> None:
    url = redis_stack_url if where == "shared" else tiny_server.url
    client = redis.Redis.from_url(url)
    client.flushall()
    repo = RedisRepository(client, Thing)
    for i in range(30):
        repo.save(Thing(id=f"s{i:02d}", age=i % 4, rank=i, name=f"n{i % 3}"))
    log: list[dict[str, Any]]
    with MonitorLog(url).record() as log:
        for query in every_query(repo):
            query()
    sent = names(log)
    assert not SCANS & set(sent), [e["command"] for e in log if names([e])[0] in SCANS]
    # the record is real: the queries are in it
    assert {"FT.AGGREGATE", "FT.CURSOR", "JSON.MGET", "JSON.GET", "JSON.SET", "DEL",
            "EXEC", "WATCH"} <= set(sent)
    if where == "tiny":
        assert any("FILTER" in e["command"] and "exists(@" in e["command"]
                   and "||" in e["command"] for e in log)  # keyset pages
    client.close()


def test_monitor_would_see_a_scan(redis_stack_url: str, redis_client: redis.Redis) -> None:
    # the check above can fail: a KEYS or SCAN sent by anyone shows up in the record
    with MonitorLog(redis_stack_url).record() as log:
        redis_client.keys("q:thing:*")
        list(redis_client.scan_iter("q:thing:*"))
    assert {"KEYS", "SCAN"} <= set(names(log))
