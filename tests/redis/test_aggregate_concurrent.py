"""aggregate() and suggest() while other programs write: every entity that matches for the
whole read counts exactly once (docs/queries.md, "While others write"). Other processes
(their own clients) rewrite a field the aggregation does not use on random entities at full
speed, which re-indexes them under new internal ids (a RediSearch cursor would pass them twice
or not at all); MAXAGGREGATERESULTS is lowered to 1000 (restored after), so 3,000 entities
make a read of several pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
import redis

from assimilator_stack import (
    AssimilatorConfig,
    Count,
    CountDistinct,
    RedisModel,
    RedisRepository,
    Sum,
    filter_,
)
from tests.support.concurrency_support import Job, Writers, keys_of, max_doc_id
from tests.support.execution_support import load
from tests.support.helpers import RepoFactory

pytestmark = pytest.mark.both_apis

N = 3000
PREFIX = "t:agg-conc"


class Row(RedisModel):
    n: int
    g: str
    word: str
    touched: int = 0

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = PREFIX


IDS = [f"r{i:05d}" for i in range(N)]


@pytest.fixture
def rows(client: redis.Redis) -> Iterator[redis.Redis]:
    reply = client.execute_command("FT.CONFIG", "GET", "MAXAGGREGATERESULTS")
    pairs = reply if isinstance(reply, dict) else dict(reply)
    before = pairs.get(b"MAXAGGREGATERESULTS", pairs.get("MAXAGGREGATERESULTS"))
    client.execute_command("FT.CONFIG", "SET", "MAXAGGREGATERESULTS", "1000")
    try:
        load(client, [Row(id=i, n=k, g=f"g{k % 3}", word=f"w{k % 7}")
                      for k, i in enumerate(IDS)])
        RedisRepository(client, Row).count()  # the index, built before the writers start
        yield client
    finally:
        client.execute_command("FT.CONFIG", "SET", "MAXAGGREGATERESULTS", before)


def test_aggregate_counts_every_entity_once_while_others_write(
        rows: redis.Redis, make_repo: RepoFactory, redis_stack_url: str) -> None:
    repo = make_repo(Row)
    index = RedisRepository(rows, Row).plans.index.name
    writers = Writers(redis_stack_url, *[Job(keys_of(PREFIX, IDS), "$.touched")] * 2)
    with writers:
        before = max_doc_id(rows, index)
        found = repo.aggregate(filter_(n__gte=0), group_by="g", n=Count(), total=Sum("n"),
                               words=CountDistinct("word"))
        words = repo.suggest("word", "W", limit=3)
        moved = max_doc_id(rows, index) - before
    assert moved >= 20, f"only {moved} documents were re-indexed during the read"
    assert found == [
        {"g": f"g{r}", "n": N // 3, "total": sum(k for k in range(N) if k % 3 == r),
         "words": 7}
        for r in range(3)
    ]
    # w0..w6: 3000 = 7 * 428 + 4, so w0..w3 are held by 429 entities, w4..w6 by 428
    assert words == ["w0", "w1", "w2"]
