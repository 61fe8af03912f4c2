"""The query suite on a Redis Cluster: tests marked ``also_on_cluster`` run once more with
their repositories on the cluster named by REDIS_CLUSTER_URL (a Redis 8 cluster whose query
engine searches across shards), and skip, saying so, without it. The embedded cluster has no
coordinator (searches are refused there, test_cluster.py), so it is never used by default."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pytest
import redis.cluster

CLUSTER_URL_ENV = "REDIS_CLUSTER_URL"
NEEDS_CLUSTER = (
    "needs REDIS_CLUSTER_URL: a Redis 8 cluster whose query engine searches across shards "
    "(docker compose -f docker/compose.yaml --profile cluster run --rm tests-cluster, "
    "see README, Redis Cluster)")

# The cluster value of the ``deployment`` fixture: marked ``cluster`` (``-m cluster`` picks
# the cluster runs alone) and skipped unless REDIS_CLUSTER_URL is set.
ON_CLUSTER = pytest.param(
    "cluster", id="cluster",
    marks=[pytest.mark.cluster,
           pytest.mark.skipif(not os.environ.get(CLUSTER_URL_ENV), reason=NEEDS_CLUSTER)])


def is_cluster(client: Any) -> bool:
    return isinstance(client, redis.cluster.RedisCluster)


def shards_holding(client: redis.cluster.RedisCluster, keys: Iterable[str]) -> set[str]:
    """The primaries owning ``keys`` (to check a data set really spans shards)."""
    return {client.get_node_from_key(key).name for key in keys}
