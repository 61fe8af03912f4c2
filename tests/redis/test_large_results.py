"""Every match, however many: 25,000 entities on a server with MAXSEARCHRESULTS and
MAXAGGREGATERESULTS 10000 (as the official Redis Stack images set them), built once for the
module with pipelined JSON.SET."""

from __future__ import annotations

import gc
import random
import tracemalloc
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import redis

from assimilator_stack import (
    AssimilatorConfig,
    InvalidQueryError,
    PartialResultError,
    RedisModel,
    RedisRepository,
    filter_,
    order,
    paginate,
)
from assimilator_stack.testing import RedisStackServer
from tests.support.execution_support import load, private_server, recording_client

# 25,000 entities on a server of its own, loaded once for the module: seconds of work.
pytestmark = pytest.mark.slow

N = 25_000
LIMIT = 10_000  # the server's MAXSEARCHRESULTS / MAXAGGREGATERESULTS


class Row(RedisModel):
    n: int
    g: str
    score: float

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:big-row"


def make_rows() -> list[Row]:
    rng = random.Random(2024)
    return [Row(id=f"r{i:05d}", n=i % 100, g=f"g{i % 5}", score=rng.random()) for i in range(N)]


ROWS = make_rows()


@pytest.fixture(scope="module")
def big_server() -> Iterator[RedisStackServer]:
    with private_server() as server:
        client = server.client()
        assert client.execute_command("FT.CONFIG", "GET", "MAXAGGREGATERESULTS") in (
            [[b"MAXAGGREGATERESULTS", str(LIMIT).encode()]],
            {b"MAXAGGREGATERESULTS": str(LIMIT).encode()})
        load(client, ROWS)
        RedisRepository(client, Row).count()  # index built (scans the keys) before the tests
        client.close()
        yield server


@pytest.fixture
def client(big_server: RedisStackServer) -> Iterator[redis.Redis]:
    made = big_server.client()
    yield made
    made.close()


@pytest.fixture
def repo(client: redis.Redis) -> RedisRepository[Row]:
    return RedisRepository(client, Row)


def ids(entities: Any) -> list[str]:
    return [e.id for e in entities]


def test_the_server_cuts_results_off_silently(client: redis.Redis, repo: RedisRepository[Row]
                                              ) -> None:
    """Why the repository never pages with LIMIT offsets alone (and what it relies on)."""
    index = repo.plans.index.name
    # FT.SEARCH: an offset at the limit gives an empty page, across it a short page; no error
    page = client.execute_command("FT.SEARCH", index, "*", "NOCONTENT", "LIMIT", str(LIMIT),
                                  "10", "DIALECT", "2")
    total = page[b"total_results"] if isinstance(page, dict) else page[0]
    results = page[b"results"] if isinstance(page, dict) else page[1:]
    assert total == N and len(results) == 0
    page = client.execute_command("FT.SEARCH", index, "*", "NOCONTENT", "LIMIT",
                                  str(LIMIT - 5), "10", "DIALECT", "2")
    assert len(page[b"results"] if isinstance(page, dict) else page[1:]) == 5
    # FT.AGGREGATE with SORTBY: a window across the limit is cut short, a cursor stops at it
    reply = client.execute_command("FT.AGGREGATE", index, "*", "DIALECT", "2", "SORTBY", "2",
                                   "@n", "ASC", "LIMIT", str(LIMIT - 5), "20")
    assert len(reply[b"results"] if isinstance(reply, dict) else reply[1:]) == 5
    reply = client.execute_command("FT.AGGREGATE", index, "*", "DIALECT", "2", "SORTBY", "2",
                                   "@n", "ASC", "MAX", str(N), "WITHCURSOR", "COUNT", "10000")
    seen, cursor = 0, reply[1]
    seen += len(reply[0][b"results"] if isinstance(reply[0], dict) else reply[0][1:])
    while cursor:
        reply = client.execute_command("FT.CURSOR", "READ", index, cursor)
        seen += len(reply[0][b"results"] if isinstance(reply[0], dict) else reply[0][1:])
        cursor = reply[1]
    assert seen == LIMIT
    # without SORTBY and without a cursor, 10000 rows and no word about the rest
    reply = client.execute_command("FT.AGGREGATE", index, "*", "DIALECT", "2", "LOAD", "1",
                                   "@__key")
    assert len(reply[b"results"] if isinstance(reply, dict) else reply[1:]) == LIMIT


def test_filter_returns_every_match(repo: RedisRepository[Row]) -> None:
    found = ids(repo.filter())
    assert len(found) == N and set(found) == {r.id for r in ROWS}
    subset = ids(repo.filter(filter_(g__in=["g0", "g1", "g2"])))
    assert len(subset) == 15_000 and len(set(subset)) == 15_000
    assert set(subset) == {r.id for r in ROWS if r.g in ("g0", "g1", "g2")}


def test_ordered_filter_past_the_limit(repo: RedisRepository[Row]) -> None:
    want = [r.id for r in sorted(ROWS, key=lambda r: (r.n, -r.score, r.id))]
    assert ids(repo.filter(order("n", "-score"))) == want
    odd = [r.id for r in sorted((r for r in ROWS if r.n % 2), key=lambda r: (-r.n, r.id))]
    assert ids(repo.filter(filter_(n__in=list(range(1, 100, 2))), order("-n"))) == odd


def test_deep_pages(repo: RedisRepository[Row]) -> None:
    want = [r.id for r in sorted(ROWS, key=lambda r: (-r.score, r.id))]
    unordered = ids(repo.filter())  # index order
    for offset, limit in [(LIMIT - 3, 6), (15_000, 25), (N - 2, 10), (N, 5), (3, 12_000)]:
        got = ids(repo.filter(order("-score"), paginate(limit=limit, offset=offset)))
        assert got == want[offset:offset + limit]
        assert ids(repo.filter(paginate(limit=limit, offset=offset))) == \
            unordered[offset:offset + limit]


def test_stream_sees_every_entity_once_with_memory_bounded_by_the_batch(
        big_server: RedisStackServer) -> None:
    client, recorder = recording_client(big_server.url)
    repo = RedisRepository(client, Row)
    repo.count()
    recorder.clear()
    gc.collect()
    tracemalloc.start()
    try:
        seen = bytearray(N)  # one byte per entity: the check itself holds little
        for entity in repo.stream(batch_size=1000):
            seen[int(entity.id[1:])] += 1
        _, stream_peak = tracemalloc.get_traced_memory()
        # documents come with the cursor's batches (LOAD $): each asks for at most a batch
        fetched = [c for c in recorder.commands if c[0] in ("FT.AGGREGATE", "FT.CURSOR")]
        tracemalloc.reset_peak()
        everything = repo.filter()
        _, list_peak = tracemalloc.get_traced_memory()
        del everything
    finally:
        tracemalloc.stop()
    assert seen == bytearray([1]) * N  # every entity, exactly once
    # the documents are fetched a batch at a time...
    assert len(fetched) >= N // 1000
    assert all(int(c[list(c).index("COUNT") + 1]) <= 1000 for c in fetched)
    # ...and the stream never holds much more than one batch (the list holds all 25,000;
    # since rows are read without copies, the list's peak is mostly its entities)
    assert stream_peak * 4 < list_peak, (stream_peak, list_peak)
    client.close()


def test_ordered_stream(repo: RedisRepository[Row]) -> None:
    want = [r.id for r in sorted(ROWS, key=lambda r: (-r.n, r.id))]
    got = ids(repo.stream(order("-n"), batch_size=3000))
    assert got == want


def test_stopping_a_stream_frees_its_cursor(client: redis.Redis, repo: RedisRepository[Row]
                                            ) -> None:
    def open_cursors() -> int:
        info = client.execute_command("FT.INFO", repo.plans.index.name)
        pairs = info if isinstance(info, dict) else dict(zip(info[0::2], info[1::2]))
        stats = pairs[b"cursor_stats"]
        stats = stats if isinstance(stats, dict) else dict(zip(stats[0::2], stats[1::2]))
        return int(stats[b"index_total"])

    assert open_cursors() == 0
    stream = repo.stream(batch_size=100)
    first = [next(stream) for _ in range(150)]
    assert len({e.id for e in first}) == 150
    assert open_cursors() == 1
    stream.close()
    assert open_cursors() == 0
    # a limit reached before the end frees it too
    assert len(repo.filter(paginate(limit=12_000, offset=5))) == 12_000
    assert open_cursors() == 0


def test_count_is_exact_in_one_round_trip(big_server: RedisStackServer) -> None:
    client, recorder = recording_client(big_server.url)
    repo = RedisRepository(client, Row)
    repo.count()
    recorder.clear()
    assert repo.count() == N
    assert repo.count(filter_(g="g3"), order("n"), paginate(limit=3)) == N // 5
    assert [c[0] for c in recorder.commands] == ["INFO", "FT.SEARCH", "INFO", "FT.SEARCH"]
    assert len(recorder.trips) == 2
    client.close()


def test_a_timeout_is_never_a_partial_answer(big_server: RedisStackServer) -> None:
    heavy = (filter_(n__in=list(range(100))), order("-score"))
    resp3 = big_server.client(protocol=3)
    resp2 = big_server.client(protocol=2)
    try:
        for client in (resp3, resp2):
            repo = RedisRepository(client, Row, query_timeout_ms=0)
            assert len(repo.filter(*heavy)) == N  # no limit: complete
        quick = RedisRepository(resp3, Row, query_timeout_ms=1)
        # A key with a TTL makes count() take its exact (slow) aggregate path; without one the
        # search total answers well within 1 ms.
        resp3.set("some-ttl-key", "1", ex=600)
        with pytest.raises(PartialResultError, match=r"partial|timeout"):
            quick.filter(*heavy)
        with pytest.raises(PartialResultError):
            quick.count(filter_(n__in=list(range(100))))
        # RESP2 hides the warning: refused unless the server fails on timeouts
        with pytest.raises(InvalidQueryError, match="ON_TIMEOUT"):
            RedisRepository(resp2, Row, query_timeout_ms=1).filter(*heavy)
        resp2.execute_command("FT.CONFIG", "SET", "ON_TIMEOUT", "FAIL")
        try:
            strict = RedisRepository(big_server.client(protocol=2), Row, query_timeout_ms=1)
            with pytest.raises(PartialResultError, match="timeout"):
                strict.filter(*heavy)
            with pytest.raises(PartialResultError):
                strict.count(filter_(n__in=list(range(100))))
        finally:
            resp2.execute_command("FT.CONFIG", "SET", "ON_TIMEOUT", "RETURN")
    finally:
        resp3.delete("some-ttl-key")
        resp3.close()
        resp2.close()
