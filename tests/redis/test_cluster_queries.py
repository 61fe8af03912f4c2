"""Queries across shards, on a Redis 8 cluster whose query engine has the coordinator
(REDIS_CLUSTER_URL; ``docker compose -f docker/compose.yaml --profile cluster run --rm
tests-cluster``). The embedded cluster's modules have no coordinator: there these searches are
refused (test_cluster.py), so this module skips without REDIS_CLUSTER_URL. The rest of the query
suite runs there too: the tests marked also_on_cluster, and ``where="cluster"`` ones
(``-m cluster`` selects them all, see README)."""

from __future__ import annotations

import os

import pytest
import redis.cluster

from assimilator_stack import (
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    filter_,
    order,
    paginate,
)
from tests.support.cluster_support import CLUSTER_URL_ENV, NEEDS_CLUSTER

pytestmark = [pytest.mark.cluster,
              pytest.mark.skipif(not os.environ.get(CLUSTER_URL_ENV), reason=NEEDS_CLUSTER)]


class Shipment(RedisModel):
    city: str
    weight: int = 0


class Stop(RedisModel):
    route: str
    rank: int = 0

    class AssimilatorConfig:
        hash_tag = "route"


@pytest.fixture
def shipments(redis_cluster_client: redis.cluster.RedisCluster) -> RedisRepository[Shipment]:
    repo = RedisRepository(session=redis_cluster_client, model=Shipment)
    for number in range(60):
        repo.save(Shipment(id=f"s{number:02d}", city=("oslo", "rome", "lima")[number % 3],
                           weight=number))
    nodes = {redis_cluster_client.get_node_from_key(f"Shipment:s{n:02d}").name
             for n in range(60)}
    assert len(nodes) >= 2  # the documents are on several shards
    return repo


def test_filter_count_order_and_pages_see_every_shard(
        shipments: RedisRepository[Shipment]) -> None:
    oslo = shipments.filter(filter_(city="oslo"), order("-weight"))
    assert [s.weight for s in oslo] == list(range(57, -1, -3))
    assert shipments.count(filter_(city="oslo")) == 20
    assert shipments.count(filter_(weight__gte=30)) == 30
    page = shipments.filter(order("weight"), paginate(offset=10, limit=5))
    assert [s.weight for s in page] == [10, 11, 12, 13, 14]
    assert [s.weight for s in shipments.stream(order("weight"), batch_size=7)] == \
        list(range(60))


def test_bulk_writes_by_a_filter_across_shards(shipments: RedisRepository[Shipment]) -> None:
    assert shipments.update(filter_(city="rome"), weight=-1) == 20
    assert shipments.count(filter_(weight=-1)) == 20
    assert shipments.delete(filter_(city="lima")) == 20
    assert shipments.count() == 40


def test_the_index_is_made_once_through_the_coordinator(
        shipments: RedisRepository[Shipment],
        redis_cluster_client: redis.cluster.RedisCluster) -> None:
    status = shipments.index_status()
    assert status.num_docs == 60
    name = shipments.core.index.name
    for node in redis_cluster_client.get_primaries():  # every shard indexes its own keys
        assert node.redis_connection is not None
        listed = node.redis_connection.execute_command("FT._LIST")
        assert name in {n.decode() if isinstance(n, bytes) else n for n in listed}


def test_a_unit_of_work_reads_and_writes_one_tag(
        redis_cluster_client: redis.cluster.RedisCluster) -> None:
    stops = RedisRepository(session=redis_cluster_client, model=Stop)
    for rank in range(5):
        stops.save(Stop(id=f"r1-{rank}", route="r1", rank=rank))
    stops.save(Stop(id="other", route="r2"))
    assert stops.get(filter_(id="r1-3")).rank == 3  # by id: a search (the tag is a field)
    with RedisUnitOfWork(stops) as uow:
        found = uow.repository.filter(filter_(route="r1", rank__gte=3))
        for stop in found:
            stop.rank += 10
            uow.repository.save(stop)
        uow.commit()
    assert sorted(s.rank for s in stops.filter(filter_(route="r1"))) == [0, 1, 2, 13, 14]
