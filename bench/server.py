"""The one Redis Stack server all contenders share: the embedded one (started and stopped
here, bound to 127.0.0.1), or one the user names with ``--redis-url``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import redis


@contextlib.contextmanager
def shared_server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    try:
        from assimilator_stack.testing import RedisStackServer
    except ImportError as exc:  # the harness's own interpreter lacks the library's deps
        raise SystemExit(
            f"cannot start the embedded server ({exc}); run from the repository root after "
            '`pip install -e ".[server,bench]"`, or pass --redis-url'
        ) from exc
    with RedisStackServer() as server:
        yield server.url


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
