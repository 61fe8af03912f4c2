"""Fixtures of the server tier: the four client flavours (RESP2/RESP3 x bytes/str), and ways to
see what reached Redis (INFO commandstats deltas, MONITOR, a connection class that counts round
trips)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from assimilator_stack.testing.pytest_plugin import RedisClientFactory
from tests.support.helpers import (
    CLIENT_FLAVOURS,
    FLAVOUR_IDS,
    CommandCounter,
    MonitorLog,
    RoundTrips,
)


@pytest.fixture(params=CLIENT_FLAVOURS, ids=FLAVOUR_IDS)
def any_client(request: pytest.FixtureRequest, redis_client_factory: RedisClientFactory
               ) -> redis.Redis:
    """One client per flavour: RESP2 / RESP3, decode_responses off / on."""
    protocol, decode = request.param
    made = redis_client_factory(protocol=protocol, decode_responses=decode)
    hello = made.execute_command("CLIENT", "INFO")
    info = hello.decode() if isinstance(hello, bytes) else str(hello)
    assert f"resp={protocol}" in info, info  # the flavour is really what the server sees
    return made


@pytest.fixture
def commands(client: redis.Redis) -> CommandCounter:
    return CommandCounter(client)


@pytest.fixture
def monitor(redis_stack_url: str, client: redis.Redis) -> MonitorLog:
    return MonitorLog(redis_stack_url)


@pytest.fixture
def counting_client(redis_stack_url: str, client: redis.Redis
                    ) -> Iterator[tuple[redis.Redis, RoundTrips]]:
    """A client whose connections count their round trips (a real connection subclass)."""
    trips = RoundTrips()

    class CountingConnection(redis.Connection):
        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            trips.sent += 1
            super().send_packed_command(command, check_health)

    counted = redis.Redis.from_url(redis_stack_url, connection_class=CountingConnection)
    counted.ping()  # open the connection (HELLO, CLIENT SETINFO) before anything is counted
    trips.sent = 0
    yield counted, trips
    counted.close()
