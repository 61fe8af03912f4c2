"""The index: created on first use (a query or a write), safely when several threads or
processes start at once, waited for (bounded, IndexNotReadyError) while it scans keys that
existed before it, and made again when it was dropped behind the repository's back."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from assimilator_stack import IndexNotReadyError, RedisRepository, filter_, order
from tests.support.execution_support import load, recording_client
from tests.support.helpers import text
from tests.support.query_models import Thing

ROOT = Path(__file__).resolve().parents[2]


def indexes(client: redis.Redis) -> list[str]:
    return sorted(text(name) for name in client.execute_command("FT._LIST"))


def info(client: redis.Redis, name: str) -> dict[str, Any]:
    reply = client.execute_command("FT.INFO", name)
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[0::2], reply[1::2])
    return {text(k): v for k, v in pairs}


def test_a_query_creates_the_index(redis_client: redis.Redis) -> None:
    assert indexes(redis_client) == []
    repo = RedisRepository(redis_client, Thing)
    assert repo.count() == 0
    assert indexes(redis_client) == [repo.plans.index.name]


def test_a_write_creates_the_index_so_entities_are_indexed_in_write_order(
        redis_stack_url: str, redis_client: redis.Redis) -> None:
    client, recorder = recording_client(redis_stack_url)
    repo = RedisRepository(client, Thing)
    for i in range(5):
        repo.save(Thing(id=f"w{4 - i}"))
    assert indexes(client) == [repo.plans.index.name]
    assert [c[0] for c in recorder.commands].count("FT.CREATE") == 1  # once per pool
    assert [e.id for e in repo.filter()] == ["w4", "w3", "w2", "w1", "w0"]
    client.close()


def test_a_dropped_index_is_made_again(redis_client: redis.Redis) -> None:
    repo = RedisRepository(redis_client, Thing)
    repo.save(Thing(id="x", age=3))
    assert repo.count(filter_(age=3)) == 1
    redis_client.execute_command("FT.DROPINDEX", repo.plans.index.name)
    assert repo.count(filter_(age=3)) == 1  # recreated; the existing key scanned again
    assert [e.id for e in repo.filter(order("age"))] == ["x"]


def test_threads_racing_to_create_it(redis_stack_url: str, redis_client: redis.Redis) -> None:
    load(redis_client, [Thing(id=f"r{i}", age=i) for i in range(200)])
    start = threading.Barrier(8)
    results: list[Any] = []

    def first_use() -> None:
        client = redis.Redis.from_url(redis_stack_url)  # each its own pool: no shared cache
        try:
            start.wait()
            results.append(RedisRepository(client, Thing).count())
        except Exception as exc:  # reported below
            results.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [200] * 8
    assert len(indexes(redis_client)) == 1


@pytest.mark.slow
def test_processes_racing_to_create_it(redis_stack_url: str, redis_client: redis.Redis,
                                       tmp_path: Path) -> None:
    load(redis_client, [Thing(id=f"p{i}", age=i % 7) for i in range(500)])
    go = tmp_path / "go"
    script = textwrap.dedent(f"""
        import os, sys, time, redis
        from assimilator_stack import RedisRepository, filter_
        from tests.support.query_models import Thing
        client = redis.Redis.from_url({redis_stack_url!r})
        client.ping()
        while not os.path.exists({str(go)!r}):
            time.sleep(0.001)
        repo = RedisRepository(client, Thing)
        print(repo.count(), repo.count(filter_(age=3)))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    time.sleep(0.5)  # let them import and connect, then start them together
    go.touch()
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outputs]
    assert [out.split() for out, _ in outputs] == [["500", str(sum(
        1 for i in range(500) if i % 7 == 3))]] * 4
    assert len(indexes(redis_client)) == 1


@pytest.mark.slow
def test_a_query_waits_for_the_scan_of_existing_keys_bounded(redis_client: redis.Redis) -> None:
    n = 60_000
    hasty = RedisRepository(redis_client, Thing, index_timeout=0.001)
    # the documents exactly as the repository writes them (one template per age)
    templates = [hasty.plans.codec.dump(Thing(id="k@", age=age)) for age in range(10)]
    pipe = redis_client.pipeline(transaction=False)
    for i in range(n):
        key_id = f"k{i:05d}"
        pipe.execute_command("JSON.SET", hasty.plans.key(key_id), "$",
                             templates[i % 10].replace("k@", key_id))
        if i % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()
    third = templates[3].replace("k@", "k00003")
    assert hasty.plans.codec.load(hasty.plans.key("k00003"), third) == Thing(id="k00003", age=3)
    with pytest.raises(IndexNotReadyError, match=r"still indexing existing keys.*done"):
        hasty.count()
    name = hasty.plans.index.name
    scanning = info(redis_client, name)
    assert text(scanning["indexing"]) != "0"  # the error told the truth
    # what a query would have seen then: part of the data, without a word
    partial = redis_client.execute_command("FT.SEARCH", name, "*", "LIMIT", "0", "0",
                                           "DIALECT", "2")
    seen = int(partial[b"total_results"] if isinstance(partial, dict) else partial[0])
    assert seen < n
    # writes do not wait for the scan
    hasty.save(Thing(id="during", age=99))
    patient = RedisRepository(redis_client, Thing, index_timeout=60)
    assert patient.count() == n + 1  # waited: the whole answer
    assert patient.count(filter_(age=99)) == 1
    assert text(info(redis_client, name)["indexing"]) == "0"
