"""The one Redis Stack server all contenders share: the embedded one (started and stopped
here, bound to 127.0.0.1), or one the user names with ``--redis-url``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis


@dataclass(frozen=True)
class Shared:
    url: str
    pid: int | None  # of the embedded redis-server; None for a server named by URL


@contextlib.contextmanager
def shared_server(url: str | None) -> Iterator[Shared]:
    if url:
        yield Shared(url, None)
        return
    try:
        from assimilator_stack.testing import RedisStackServer
    except ImportError as exc:  # the harness's own interpreter lacks the library's deps
        raise SystemExit(
            f"cannot start the embedded server ({exc}); run from the repository root after "
            '`pip install -e ".[server,bench]"`, or pass --redis-url'
        ) from exc
    with RedisStackServer() as server:
        yield Shared(server.url, server.pid)


def split_cpus(server_pid: int | None) -> set[int] | None:
    """Pin the embedded server (every thread) to one CPU and return the others, for the
    workers: client and server then never fight for a core, which steadies the timings.
    None when there is nothing to split (one CPU, no pid, or no affinity API)."""
    if server_pid is None or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    threads = [int(t.name) for t in Path(f"/proc/{server_pid}/task").glob("*")] or [server_pid]
    for tid in threads:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(tid, {cpus[0]})
    return set(cpus[1:])


def flush(url: str) -> None:
    """Empty the server between contenders (FLUSHALL also drops the search indexes)."""
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


def describe(url: str) -> dict[str, Any]:
    """Server version and module versions, for the report."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        info = client.info("server")
        modules: dict[str, Any] = {}
        for module in client.execute_command("MODULE", "LIST"):
            entry = module if isinstance(module, dict) else dict(zip(module[0::2], module[1::2]))
            modules[str(entry.get("name"))] = entry.get("ver")
        return {"redis": info.get("redis_version"), "modules": modules}
    finally:
        client.close()
