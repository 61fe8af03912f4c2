"""Plain helpers for the server tiers (fixtures live in the conftest.py files): what reached
Redis (INFO commandstats deltas, MONITOR), raw documents, the client flavours, the factory
types of the make_repo / make_uow fixtures."""

from __future__ import annotations

import collections
import contextlib
import json
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import redis

from assimilator_stack import RedisRepository, RedisUnitOfWork

# (protocol, decode_responses): every combination a user's client may have.
CLIENT_FLAVOURS = [(2, False), (2, True), (3, False), (3, True)]
FLAVOUR_IDS = [f"resp{p}-{'str' if d else 'bytes'}" for p, d in CLIENT_FLAVOURS]

# What the make_repo / make_uow fixtures (tests/conftest.py) are.
RepoFactory = Callable[..., RedisRepository[Any]]
UowFactory = Callable[..., RedisUnitOfWork]

# Commands a fresh connection sends for itself, and the probe's own INFO.
_NOT_COUNTED = {"info", "hello", "client|setinfo", "ping"}


def raw_json(client: redis.Redis, key: str) -> Any:
    """The stored document exactly as Redis holds it (JSON.GET, parsed), or None."""
    raw = client.execute_command("JSON.GET", key)
    return None if raw is None else json.loads(raw)


class CommandCounter:
    """What the server executed, from ``INFO commandstats`` before and after (a real count
    by the server, for every client)."""

    def __init__(self, admin: redis.Redis) -> None:
        self.admin = admin

    def snapshot(self) -> collections.Counter[str]:
        stats = self.admin.info("commandstats")
        return collections.Counter(
            {name.removeprefix("cmdstat_").lower(): int(v["calls"]) for name, v in stats.items()}
        )

    @contextlib.contextmanager
    def count(self) -> Iterator[collections.Counter[str]]:
        """``with counter.count() as calls: ...``; ``calls`` holds the delta afterwards
        (connection set-up commands and the probe's INFO left out)."""
        delta: collections.Counter[str] = collections.Counter()
        before = self.snapshot()
        yield delta
        after = self.snapshot()
        for name, n in (after - before).items():
            if name not in _NOT_COUNTED:
                delta[name] = n


class MonitorLog:
    """MONITOR on its own connection: the exact commands, in order, with their client port."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextlib.contextmanager
    def record(self) -> Iterator[list[dict[str, Any]]]:
        seen: list[dict[str, Any]] = []
        admin = redis.Redis.from_url(self.url)
        token = f"end-of-monitor-{uuid.uuid4().hex}"
        try:
            with admin.monitor() as monitor:
                yield seen
                admin.execute_command("ECHO", token)  # on another connection of the pool
                while True:
                    entry = monitor.next_command()
                    if token in entry["command"]:
                        break
                    if entry["command"].split(" ", 1)[0].upper() in (
                        "HELLO", "CLIENT", "INFO", "PING"
                    ):
                        continue
                    seen.append(entry)
        finally:
            admin.close()


def names(log: list[dict[str, Any]]) -> list[str]:
    """Command names (upper case) of a MONITOR log."""
    return [entry["command"].split(" ", 1)[0].upper() for entry in log]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def text(value: Any) -> str:
    """A reply value as str, whatever the client's decode_responses."""
    return value.decode() if isinstance(value, bytes) else str(value)


class RoundTrips:
    """Counts writes to the socket (one per command, one per pipeline) of one client (the
    counting_client fixture, tests/redis/conftest.py)."""

    def __init__(self) -> None:
        self.sent = 0
