"""Issue 13, "done when": a rolling deploy over 100,000 entities.

A "v1" process answers queries the whole time; "v2" (one more indexed field) runs
``migrate`` beside it: no v1 query fails or returns a partial answer, v2's first query after
``migrate`` does not wait, ``prune`` keeps v1's index while v1 runs and drops it after, and
Redis memory returns to one index's worth.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis

from assimilator_stack import RedisRepository, filter_
from assimilator_stack.backends.redis.plans import ModelPlans
from assimilator_stack.settings import settings
from tests.support.deploy_models import ProductV1, ProductV2, load
from tests.support.helpers import text

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
COUNT = 100_000
USE_INTERVAL = 0.5  # seconds between the records of an index's use (60 in production)

# v1: build its index on the first query, say so, then query until told to stop; every
# answer is checked against what the data holds (20,000 books; 1,000 products at 42.0).
V1_PROCESS = textwrap.dedent("""
    import json, sys, threading, time
    import redis
    from assimilator_stack import RedisRepository, filter_
    from tests.support.deploy_models import ProductV1
    repo = RedisRepository(redis.Redis.from_url(sys.argv[1]), ProductV1)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    assert repo.count() == %(count)d
    print("ready", flush=True)
    times, failures = [], []
    while not stop.is_set():
        try:
            books = repo.count(filter_(category="books"))
            found = repo.filter(filter_(price=42.0))
            if books != %(count)d // 5 or len(found) != %(count)d // 100 \\
                    or any(p.price != 42.0 for p in found):
                failures.append(f"partial: {books} books, {len(found)} at 42")
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        times.append(time.time())
    print(json.dumps({"times": times, "failures": failures}), flush=True)
""") % {"count": COUNT}


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def settled_memory(client: redis.Redis, below: int | None = None) -> int:
    """used_memory once it stops moving (an index is freed in the background)."""
    last = used_memory(client)
    for _ in range(50):
        time.sleep(0.2)
        now = used_memory(client)
        if abs(now - last) < 64 * 1024 and (below is None or now < below):
            return now
        last = now
    return last


def test_a_rolling_deploy(redis_stack_url: str, redis_client: redis.Redis,
                          caplog: pytest.LogCaptureFixture,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "index_use_interval", USE_INTERVAL)
    client = redis_client
    started = time.monotonic()
    load(client, COUNT)
    no_index = settled_memory(client)
    v1_index, v2_index = ModelPlans(ProductV1).index.name, ModelPlans(ProductV2).index.name

    env = {**os.environ, "ASSIMILATOR_STACK_INDEX_USE_INTERVAL": str(USE_INTERVAL)}
    v1 = subprocess.Popen([sys.executable, "-c", V1_PROCESS, redis_stack_url], cwd=ROOT,
                          env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        assert v1.stdout is not None and v1.stdout.readline().strip() == "ready"
        one_index = settled_memory(client)

        # v2 deploys: migrate first, while v1 goes on answering
        v2 = RedisRepository(redis.Redis.from_url(redis_stack_url), ProductV2)
        calls: list[tuple[int, int]] = []
        migrating = time.time()
        state = v2.index.migrate(lambda done, total: calls.append((done, total)))
        migrated = time.time()
        assert calls[-1] == (COUNT, COUNT) and len(calls) > 2
        assert (state.num_docs, state.aliased, [s.name for s in state.stale]) == \
            (COUNT, True, [v1_index])
        two_indexes = settled_memory(client)

        # v2 starts: its first query finds the index built (no wait, no waiting log line)
        fresh = RedisRepository(redis.Redis.from_url(redis_stack_url), ProductV2)
        with caplog.at_level(logging.INFO, logger="assimilator_stack.index"):
            asked = time.monotonic()
            assert fresh.count(filter_(color="none")) == 0
            first_query = time.monotonic() - asked
        assert not [r for r in caplog.records if "waits for index" in r.getMessage()]
        assert first_query < 1.0, first_query

        # while v1 runs, prune keeps its index, also with a short idle time
        assert list(v2.index.prune().kept) == [v1_index]
        time.sleep(3 * USE_INTERVAL)
        assert v2.index.prune(idle=4 * USE_INTERVAL).dropped == ()
    finally:
        out, err = v1.communicate(input="stop", timeout=60)
    assert v1.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["failures"] == []
    during = [t for t in report["times"] if migrating <= t <= migrated]
    assert len(during) >= 3, (len(report["times"]), migrated - migrating)

    # v1 is gone: once idle for longer than ``idle``, its index is dropped, not the data
    time.sleep(5 * USE_INTERVAL)
    assert v2.index.prune(idle=4 * USE_INTERVAL).dropped == (v1_index,)
    assert sorted(text(n) for n in client.execute_command("FT._LIST")) == [v2_index]
    assert v2.count() == COUNT
    after = settled_memory(client, below=two_indexes)
    first, both, last = one_index - no_index, two_indexes - no_index, after - no_index
    print(f"\nrolling deploy: memory of the indexes (MB) one {first / 2**20:.1f}, two "
          f"{both / 2**20:.1f}, after prune {last / 2**20:.1f}; migrate "
          f"{migrated - migrating:.2f} s with {len(during)} v1 queries meanwhile; v2's first "
          f"query {first_query * 1000:.1f} ms; total {time.monotonic() - started:.1f} s")
    assert both > 1.6 * first
    assert last < 1.25 * first
