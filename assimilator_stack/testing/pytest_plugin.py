"""pytest plugin: Redis Stack fixtures for testing code built on assimilator_stack.

Registered automatically through the ``pytest11`` entry point when ``assimilator_stack`` is
installed. Fixtures:

* ``redis_stack_url`` (session): ``$REDIS_URL`` if set, otherwise the URL of one embedded
  :class:`~assimilator_stack.testing.RedisStackServer` started for the session (needs
  ``pip install "assimilator_stack[server]"``) and stopped when the session ends.
* ``redis_client`` (function): a :class:`redis.Redis` on that server, after ``FLUSHALL``.
* ``redis_client_factory`` (function): ``factory(**kwargs) -> redis.Redis`` (e.g.
  ``protocol=2``, ``decode_responses=True``); runs ``FLUSHALL`` once before the test.
* ``async_redis_client_factory`` (function): the same, returning ``redis.asyncio.Redis``.

* ``redis_cluster_url`` (session): ``$REDIS_CLUSTER_URL`` if set (a Redis 8 cluster, whose
  query engine searches across shards), otherwise a startup node of an embedded cluster of
  three masters (:class:`~assimilator_stack.testing.cluster.RedisStackCluster`).
* ``redis_single_master_cluster_url`` (session): an embedded cluster of one master (cluster
  mode, all slots on one node).
* ``redis_cluster_client`` (function): a :class:`redis.cluster.RedisCluster` on
  ``redis_cluster_url``, after ``FLUSHALL`` on every master.

A cluster fixture skips the test, saying why, when the embedded server binaries are missing.
Every created client is closed after the test.

WARNING: these fixtures run ``FLUSHALL`` (all databases, all RediSearch indexes) on the server
named by ``REDIS_URL``. Only ever point ``REDIS_URL`` at a throwaway server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from typing import Any, Protocol

import pytest
import redis
import redis.asyncio
import redis.cluster

from assimilator_stack.testing.binaries import ServerNotAvailableError
from assimilator_stack.testing.cluster import RedisStackCluster
from assimilator_stack.testing.server import RedisStackServer

__all__ = [
    "REDIS_CLUSTER_URL_ENV",
    "REDIS_URL_ENV",
    "AsyncRedisClientFactory",
    "RedisClientFactory",
    "async_redis_client_factory",
    "redis_client",
    "redis_client_factory",
    "redis_cluster_client",
    "redis_cluster_url",
    "redis_single_master_cluster_url",
    "redis_stack_url",
]

#: Environment variable naming an existing server to use instead of the embedded one.
REDIS_URL_ENV = "REDIS_URL"
#: Environment variable naming a node of an existing Redis Cluster (with the coordinator).
REDIS_CLUSTER_URL_ENV = "REDIS_CLUSTER_URL"


class RedisClientFactory(Protocol):
    """Builds :class:`redis.Redis` clients to the test server; kwargs go to ``from_url``."""

    def __call__(self, **kwargs: Any) -> redis.Redis: ...


class AsyncRedisClientFactory(Protocol):
    """Builds :class:`redis.asyncio.Redis` clients to the test server."""

    def __call__(self, **kwargs: Any) -> redis.asyncio.Redis: ...


def _flushall(url: str) -> None:
    with redis.Redis.from_url(url) as client:
        client.flushall()


@pytest.fixture(scope="session")
def redis_stack_url() -> Iterator[str]:
    """URL of the Redis Stack server for this test session.

    ``$REDIS_URL`` when set (the server's data is wiped by ``FLUSHALL`` before each test that
    uses ``redis_client`` or a factory), else an embedded server started for the session.
    """
    url = os.environ.get(REDIS_URL_ENV)
    if url:
        yield url
        return
    with RedisStackServer() as server:
        yield server.url


@pytest.fixture
def redis_client(redis_stack_url: str) -> Iterator[redis.Redis]:
    """A :class:`redis.Redis` to the test server; ``FLUSHALL`` runs first, closed after."""
    client = redis.Redis.from_url(redis_stack_url)
    try:
        client.flushall()
        yield client
    finally:
        client.close()


@pytest.fixture
def redis_client_factory(redis_stack_url: str) -> Iterator[RedisClientFactory]:
    """``factory(**kwargs) -> redis.Redis``; ``FLUSHALL`` runs once before the test."""
    _flushall(redis_stack_url)
    clients: list[redis.Redis] = []

    def factory(**kwargs: Any) -> redis.Redis:
        client = redis.Redis.from_url(redis_stack_url, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        with contextlib.suppress(Exception):
            client.close()


@pytest.fixture
def async_redis_client_factory(redis_stack_url: str) -> Iterator[AsyncRedisClientFactory]:
    """``factory(**kwargs) -> redis.asyncio.Redis``; ``FLUSHALL`` runs once before the test.

    Needs no async pytest plugin: clients are only built here, and the test uses them inside
    its own event loop (e.g. ``asyncio.run``). Close them in that loop when you can; at
    teardown each client still open is closed with ``asyncio.run(client.aclose())``, best
    effort (connections bound to an already closed loop are dropped).
    """
    _flushall(redis_stack_url)
    clients: list[redis.asyncio.Redis] = []

    def factory(**kwargs: Any) -> redis.asyncio.Redis:
        client = redis.asyncio.Redis.from_url(redis_stack_url, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        with contextlib.suppress(Exception):
            asyncio.run(client.aclose())


def _embedded_cluster(masters: int) -> Iterator[str]:
    try:
        cluster = RedisStackCluster(masters=masters).start()
    except ServerNotAvailableError as exc:
        pytest.skip("needs the embedded server binaries (the server extra): it starts a "
                    f"local Redis Cluster ({str(exc).splitlines()[0]})")
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A node of the Redis Cluster for this session: ``$REDIS_CLUSTER_URL`` when set (its
    data is flushed by ``redis_cluster_client``), else an embedded cluster of three masters."""
    url = os.environ.get(REDIS_CLUSTER_URL_ENV)
    if url:
        yield url
        return
    yield from _embedded_cluster(3)


@pytest.fixture(scope="session")
def redis_single_master_cluster_url() -> Iterator[str]:
    """A node of an embedded cluster of one master (cluster mode, every slot on it)."""
    yield from _embedded_cluster(1)


@pytest.fixture
def redis_cluster_client(redis_cluster_url: str) -> Iterator[redis.cluster.RedisCluster]:
    """A :class:`redis.cluster.RedisCluster` on ``redis_cluster_url``; ``FLUSHALL`` runs on
    every master first; closed after the test."""
    client = redis.cluster.RedisCluster.from_url(redis_cluster_url)
    try:
        client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
        yield client
    finally:
        client.close()
