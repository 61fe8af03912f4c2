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
from assimilator_stack.aio import AsyncRedisRepository, AsyncRedisUnitOfWork
from assimilator_stack.testing.pytest_plugin import RedisClientFactory
from tests.helpers import CommandCounter, MonitorLog
from tests.sync_facade import LoopBridge, SyncFacade

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_apis: run each test with the sync classes and with the async ones "
        "(the api fixture: make_repo / make_uow give async objects behind a SyncFacade)")
    config.addinivalue_line(
        "markers", "sync_only: in a both_apis module, this test checks the sync API only")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    node = metafunc.definition
    if ("api" in metafunc.fixturenames and node.get_closest_marker("both_apis")
            and not node.get_closest_marker("sync_only")):
        metafunc.parametrize("api", ["sync", "async"])


@pytest.fixture
def api() -> str:
    """The API make_repo / make_uow build: "sync", or "async" in modules marked both_apis."""
    return "sync"


@pytest.fixture
def bridge(redis_stack_url: str) -> Iterator[LoopBridge]:
    """An event loop for this test and asyncio twins of its sync clients."""
    made = LoopBridge(redis_stack_url)
    yield made
    made.close()


@pytest.fixture
def make_repo(client: redis.Redis, api: str, request: pytest.FixtureRequest) -> RepoFactory:
    """``make_repo(Model, client=None)`` -> RedisRepository on the test server (with
    api="async": an AsyncRedisRepository on an asyncio twin of the client, behind a
    SyncFacade)."""

    def factory(model: type[M], session: redis.Redis | None = None) -> RedisRepository[M]:
        session = session if session is not None else client
        if api == "async":
            loop: LoopBridge = request.getfixturevalue("bridge")
            inner = AsyncRedisRepository(session=loop.twin(session), model=model)
            return SyncFacade(inner, loop)  # type: ignore[return-value]
        return RedisRepository(session=session, model=model)

    return factory


@pytest.fixture
def make_uow(make_repo: RepoFactory) -> UowFactory:
    """``make_uow(Model, client=None, autocommit=False)`` -> RedisUnitOfWork (or an
    AsyncRedisUnitOfWork behind a SyncFacade, see make_repo)."""

    def factory(model: type[BaseModel], session: redis.Redis | None = None,
                autocommit: bool = False) -> RedisUnitOfWork:
        repo = make_repo(model, session)
        if isinstance(repo, SyncFacade):
            inner = AsyncRedisUnitOfWork(repository=repo.inner, autocommit=autocommit)
            return SyncFacade(inner, repo._bridge)  # type: ignore[return-value]
        return RedisUnitOfWork(repository=repo, autocommit=autocommit)

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
