"""Fixtures both server tiers use (tests/redis, tests/differential): the default client, and
repositories and units of work on the real server, sync or async (the both_apis marker).

Every fixture here needs the server (the plugin's ``redis_stack_url``); tests/unit/conftest.py
fails a unit test that asks for one. Fixtures of one tier live in that tier's conftest.py;
plain helpers in tests/support/."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import redis
import redis.cluster
from pydantic import BaseModel

from assimilator_stack import RedisRepository, RedisUnitOfWork
from assimilator_stack.aio import AsyncRedisRepository, AsyncRedisUnitOfWork
from tests.support.cluster_support import CLUSTER_URL_ENV, NEEDS_CLUSTER, ON_CLUSTER
from tests.support.helpers import RepoFactory, UowFactory
from tests.support.sync_facade import LoopBridge, SyncFacade

M = TypeVar("M", bound=BaseModel)


@pytest.fixture
def client(redis_client: redis.Redis) -> redis.Redis:
    """The default client (redis-py's defaults: RESP3, bytes); the server was flushed."""
    return redis_client


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_apis: run each test with the sync classes and with the async ones "
        "(the api fixture: make_repo / make_uow give async objects behind a SyncFacade)")
    config.addinivalue_line(
        "markers", "sync_only: in a both_apis module, this test checks the sync API only")
    config.addinivalue_line(
        "markers", "also_on_cluster: run the test on the test server and once more on the "
        "Redis Cluster of REDIS_CLUSTER_URL (the deployment fixture; skipped without it)")
    config.addinivalue_line(
        "markers", "cluster: runs on a Redis Cluster (REDIS_CLUSTER_URL's, or for test_cluster.py "
        "the embedded one); -m cluster is the compose profile's run")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    node = metafunc.definition
    if ("api" in metafunc.fixturenames and node.get_closest_marker("both_apis")
            and not node.get_closest_marker("sync_only")):
        metafunc.parametrize("api", ["sync", "async"])
    if "deployment" in metafunc.fixturenames and node.get_closest_marker("also_on_cluster"):
        metafunc.parametrize("deployment", ["server", ON_CLUSTER])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without REDIS_CLUSTER_URL the cluster runs of the query suite are deselected, not
    skipped one by one (hundreds of skips would hide the few that matter); the header says
    how to run them."""
    if os.environ.get(CLUSTER_URL_ENV):
        return
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_cluster = params.get("deployment") == "cluster" or params.get("where") == "cluster"
        (dropped if on_cluster else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    if os.environ.get(CLUSTER_URL_ENV):
        return f"query suite also on the Redis Cluster of {CLUSTER_URL_ENV}"
    return f"query suite on one server only (the cluster runs are deselected: {NEEDS_CLUSTER})"


@pytest.fixture
def api() -> str:
    """The API make_repo / make_uow build: "sync", or "async" in modules marked both_apis."""
    return "sync"


@pytest.fixture
def deployment() -> str:
    """Where the test's data lives: "server" (the test server), or "cluster" (the Redis
    Cluster of REDIS_CLUSTER_URL) in tests marked also_on_cluster."""
    return "server"


@pytest.fixture
def cluster_client_factory(redis_cluster_url: str
                           ) -> Iterator[Callable[..., redis.cluster.RedisCluster]]:
    """``factory(**kwargs)`` -> a RedisCluster on ``redis_cluster_url``; the first call runs
    FLUSHALL on every primary (a single-node client would flush one shard only)."""
    made: list[redis.cluster.RedisCluster] = []

    def factory(**kwargs: Any) -> redis.cluster.RedisCluster:
        client = redis.cluster.RedisCluster.from_url(redis_cluster_url, **kwargs)
        if not made:
            client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


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
