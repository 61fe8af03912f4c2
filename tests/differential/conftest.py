"""Fixtures of the differential tier (Redis against the in-memory twin and Python's meaning)."""

from __future__ import annotations

from typing import cast

import pytest
import redis


@pytest.fixture
def resp2(deployment: str, request: pytest.FixtureRequest) -> redis.Redis:
    """A RESP2 client that decodes replies: on the flushed test server, or (deployment
    "cluster", tests marked also_on_cluster) a RedisCluster on REDIS_CLUSTER_URL, flushed on
    every primary. Fixtures are looked up here so a cluster run needs no test server."""
    if deployment == "cluster":
        cluster = request.getfixturevalue("cluster_client_factory")(
            protocol=2, decode_responses=True)
        return cast(redis.Redis, cluster)  # the tests use commands both clients have
    factory = request.getfixturevalue("redis_client_factory")
    return cast(redis.Redis, factory(protocol=2, decode_responses=True))
