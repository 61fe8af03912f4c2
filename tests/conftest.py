"""Fixtures for the foundation tests: repositories and units of work on the real server, the
four client flavours (RESP2/RESP3 x bytes/str), and ways to see what reached Redis
(INFO commandstats deltas, MONITOR, a connection class that counts round trips)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import redis
from pydantic import BaseModel

from assimilator_stack import RedisRepository, RedisUnitOfWork
from assimilator_stack.testing.pytest_plugin import RedisClientFactory
from tests.helpers import CommandCounter, MonitorLog

M = TypeVar("M", bound=BaseModel)

# (protocol, decode_responses): every combination a user's client may have.
CLIENT_FLAVOURS = [(2, False), (2, True), (3, False), (3, True)]
FLAVOUR_IDS = [f"resp{p}-{'str' if d else 'bytes'}" for p, d in CLIENT_FLAVOURS]


@pytest.fixture
def client(redis_client: redis.Redis) -> redis.Redis:
    """The default client (redis-py's defaults: RESP3, bytes); the server was flushed."""
    return redis_client


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


RepoFactory = Callable[..., RedisRepository[Any]]
UowFactory = Callable[..., RedisUnitOfWork]


@pytest.fixture
def make_repo(client: redis.Redis) -> RepoFactory:
    """``make_repo(Model, client=None)`` -> RedisRepository on the test server."""

    def factory(model: type[M], session: redis.Redis | None = None) -> RedisRepository[M]:
        return RedisRepository(session=session if session is not None else client, model=model)

    return factory


@pytest.fixture
def make_uow(make_repo: RepoFactory) -> UowFactory:
    """``make_uow(Model, client=None, autocommit=False)`` -> RedisUnitOfWork."""

    def factory(model: type[BaseModel], session: redis.Redis | None = None,
                autocommit: bool = False) -> RedisUnitOfWork:
        return RedisUnitOfWork(repository=make_repo(model, session), autocommit=autocommit)

    return factory


@pytest.fixture
def commands(client: redis.Redis) -> CommandCounter:
    return CommandCounter(client)


@pytest.fixture
def monitor(redis_stack_url: str, client: redis.Redis) -> MonitorLog:
    return MonitorLog(redis_stack_url)


class RoundTrips:
    """Counts writes to the socket (one per command, one per pipeline) of one client."""

    def __init__(self) -> None:
        self.sent = 0


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
