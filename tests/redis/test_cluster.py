"""The repositories and units of work on Redis Cluster: an embedded cluster of three masters
(RediSearch 2.10, no coordinator) and one of a single master, or REDIS_CLUSTER_URL's.

What needs no search works on any number of shards (CRUD by id, id__in across slots, TTLs,
lazy commands, streams, bulk writes by id); a unit of work commits over one hash slot (hash
tags) and refuses keys of two slots before sending anything; a search on a cluster without a
coordinator is refused (README, "Redis Cluster")."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio.cluster
import redis.cluster

from assimilator_stack import (
    AlreadyExistsError,
    ClusterSearchError,
    ConcurrencyError,
    CrossSlotError,
    DataLayerError,
    NotFoundError,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    UpdateTargetMissingError,
    filter_,
    only,
    retry_on_conflict,
)
from assimilator_stack.aio import AsyncRedisRepository, AsyncRedisUnitOfWork
from assimilator_stack.backends.redis.slots import slot_of
from tests.support.concurrency_support import run_processes

pytestmark = pytest.mark.cluster  # -m cluster: the compose profile's run

coordinator = pytest.mark.skipif(
    bool(os.environ.get("REDIS_CLUSTER_URL")),
    reason="REDIS_CLUSTER_URL's cluster has a coordinator: its searches are tested in "
    "test_cluster_queries.py")


class Parcel(RedisModel):
    name: str
    weight: int = 0


class Customer(RedisModel):
    name: str

    class AssimilatorConfig:
        hash_tag = "id"


class Order(RedisModel):
    customer_id: str
    total: int = 0

    class AssimilatorConfig:
        hash_tag = "customer_id"


@pytest.fixture
def cluster(redis_cluster_client: redis.cluster.RedisCluster) -> redis.cluster.RedisCluster:
    return redis_cluster_client


@pytest.fixture
def one_master(redis_single_master_cluster_url: str) -> Iterator[redis.cluster.RedisCluster]:
    client = redis.cluster.RedisCluster.from_url(redis_single_master_cluster_url)
    client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    yield client
    client.close()


def node_of(client: redis.cluster.RedisCluster, key: str) -> str:
    return str(client.get_node_from_key(key).name)


def spread_ids(client: redis.cluster.RedisCluster, count: int) -> list[str]:
    """``count`` ids whose Parcel keys live on at least two nodes (and so in several slots)."""
    ids = [f"p{i}" for i in range(count)]
    assert len({node_of(client, f"Parcel:{i}") for i in ids}) >= 2
    return ids


# -- what needs no search, on three masters -----------------------------------------------

def test_crud_by_id_on_every_node(cluster: redis.cluster.RedisCluster) -> None:
    repo = RedisRepository(session=cluster, model=Parcel)
    ids = spread_ids(cluster, 12)
    for number, entity_id in enumerate(ids):
        repo.save(Parcel(id=entity_id, name=f"n{number}", weight=number))
    assert repo.get(filter_(id="p7")) == Parcel(id="p7", name="n7", weight=7)
    stored = repo.get(filter_(id="p3"))
    stored.weight = 30
    repo.update(stored)
    other = Parcel(id="p3", name="?")
    repo.refresh(other)
    assert other.weight == 30
    repo.delete(repo.get(filter_(id="p4")))
    with pytest.raises(NotFoundError):
        repo.get(filter_(id="p4"))
    # each key is on the node owning its slot (read there without the cluster client)
    for entity_id in ("p0", "p1", "p2"):
        key = f"Parcel:{entity_id}"
        node = cluster.get_node_from_key(key)
        assert node.redis_connection is not None
        assert node.redis_connection.exists(key) == 1


def test_id_in_across_slots_keeps_the_order_asked(cluster: redis.cluster.RedisCluster) -> None:
    repo = RedisRepository(session=cluster, model=Parcel)
    ids = spread_ids(cluster, 20)
    for entity_id in ids:
        repo.save(Parcel(id=entity_id, name=entity_id))
    asked = [*reversed(ids), "missing"]
    found = repo.filter(filter_(id__in=asked))
    assert [p.id for p in found] == list(reversed(ids))
    assert repo.count(filter_(id__in=asked)) == 20
    assert [p.id for p in repo.stream(filter_(id__in=ids), batch_size=3)] == ids
    lazy = repo.filter(filter_(id__in=ids[:5]), lazy=True)
    assert [p.id for p in lazy] == ids[:5]
    partial = repo.filter(filter_(id__in=ids), only("name"))  # a JSON.GET per key
    assert [(p.id, p.name) for p in partial] == [(i, i) for i in ids]


def test_ttl_options(cluster: redis.cluster.RedisCluster) -> None:
    repo = RedisRepository(session=cluster, model=Parcel)
    repo.save(Parcel(id="t1", name="a", expire_in=100))
    repo.save(Parcel(id="t2", name="b", expire_in_px=50_000))
    assert 90 <= cluster.ttl("Parcel:t1") <= 100
    assert 40_000 <= cluster.pttl("Parcel:t2") <= 50_000
    repo.save(Parcel(id="t1", name="c", keep_ttl=True))
    assert cluster.ttl("Parcel:t1") > 0
    repo.save(Parcel(id="t1", name="d"))  # as SET: the old TTL goes
    assert cluster.ttl("Parcel:t1") == -1


def test_bulk_writes_by_id_across_slots(cluster: redis.cluster.RedisCluster) -> None:
    repo = RedisRepository(session=cluster, model=Parcel)
    ids = spread_ids(cluster, 30)
    for entity_id in ids:
        repo.save(Parcel(id=entity_id, name=entity_id))
    assert repo.update(filter_(id__in=ids[:20]), weight=5) == 20
    assert sorted(p.weight for p in repo.filter(filter_(id__in=ids))) == [0] * 10 + [5] * 20
    assert repo.delete(filter_(id__in=[*ids[10:], "gone"])) == 20
    assert sum(cluster.exists(f"Parcel:{i}") for i in ids) == 10


# -- units of work --------------------------------------------------------------------------

def test_hash_tags_put_a_customer_and_its_orders_in_one_slot(
        cluster: redis.cluster.RedisCluster) -> None:
    customers = RedisRepository(session=cluster, model=Customer)
    orders = RedisRepository(session=cluster, model=Order)
    customer = customers.save(Customer(id="customer-42", name="Ada"))
    order = orders.save(Order(id="o17", customer_id="customer-42", total=3))
    assert cluster.exists("Customer:{customer-42}", "Order:{customer-42}:o17") == 2
    assert slot_of("Customer:{customer-42}") == slot_of("Order:{customer-42}:o17")
    # read back by entity (its tag gives the key) and by the customer's id
    assert customers.get(filter_(id="customer-42")) == customer
    copy = Order(id="o17", customer_id="customer-42")
    orders.refresh(copy)
    assert copy == order
    with RedisUnitOfWork(orders) as uow:
        uow.repository.save(Order(id="o18", customer_id="customer-42", total=5))
        stored = Order(id="o17", customer_id="customer-42", total=4)
        uow.repository.save(stored)
        uow.commit()
    assert cluster.json().get("Order:{customer-42}:o17")["total"] == 4  # type: ignore[index]
    assert cluster.exists("Order:{customer-42}:o18") == 1


def test_a_unit_of_work_over_two_slots_is_refused_before_anything_is_sent(
        cluster: redis.cluster.RedisCluster) -> None:
    repo = RedisRepository(session=cluster, model=Parcel)
    first, second = "a", "b"
    assert slot_of(f"Parcel:{first}") != slot_of(f"Parcel:{second}")
    uow = RedisUnitOfWork(repo)
    with pytest.raises(CrossSlotError) as caught, uow:
        uow.repository.save(Parcel(id=first, name="x", only_create=True))
        uow.repository.save(Parcel(id=second, name="y"))
        uow.commit()
    assert isinstance(caught.value, DataLayerError)
    assert caught.value.keys == ("Parcel:a", "Parcel:b")
    assert "Parcel:a" in str(caught.value) and "Parcel:b" in str(caught.value)
    assert cluster.exists("Parcel:a", "Parcel:b") == 0


def test_a_read_of_another_slot_in_a_unit_of_work_is_refused(
        cluster: redis.cluster.RedisCluster) -> None:
    repo = RedisRepository(session=cluster, model=Parcel)
    repo.save(Parcel(id="a", name="x"))
    repo.save(Parcel(id="b", name="y"))
    with RedisUnitOfWork(repo) as uow:
        uow.repository.get(filter_(id="a"))
        with pytest.raises(CrossSlotError):
            uow.repository.get(filter_(id="b"))
        with pytest.raises(CrossSlotError):
            uow.repository.save(Parcel(id="b", name="z"))
            uow.commit()
    assert repo.get(filter_(id="b")).name == "y"


def test_conditions_keep_their_meaning(cluster: redis.cluster.RedisCluster) -> None:
    repo = RedisRepository(session=cluster, model=Customer)
    repo.save(Customer(id="c1", name="first"))
    with pytest.raises(AlreadyExistsError):
        repo.save(Customer(id="c1", name="again", only_create=True))
    with pytest.raises(UpdateTargetMissingError):
        repo.save(Customer(id="c2", name="nobody", only_update=True))
    orders = RedisRepository(session=cluster, model=Order)
    with pytest.raises(AlreadyExistsError), RedisUnitOfWork(orders) as uow:
        uow.repository.save(Order(id="n1", customer_id="c1"))
        uow.repository.save(Order(id="n2", customer_id="c1"))
        uow.commit()
        uow.repository.save(Order(id="n3", customer_id="c1", total=1))
        uow.repository.save(Order(id="n1", customer_id="c1", only_create=True))
        uow.commit()
    assert cluster.exists("Order:{c1}:n3") == 0  # nothing of the failed commit
    assert repo.get(filter_(id="c1")).name == "first"


def test_a_watched_read_changed_by_another_client_is_a_conflict(
        cluster: redis.cluster.RedisCluster) -> None:
    repo = RedisRepository(session=cluster, model=Customer)
    repo.save(Customer(id="w", name="before"))
    other = RedisRepository(session=cluster, model=Customer)
    with pytest.raises(ConcurrencyError), RedisUnitOfWork(repo) as uow:
        entity = uow.repository.get(filter_(id="w"))
        other.save(Customer(id="w", name="meanwhile"))
        entity.name = "mine"
        uow.repository.save(entity)
        uow.commit()
    assert repo.get(filter_(id="w")).name == "meanwhile"


def _increments(url: str, times: int) -> int:
    client = redis.cluster.RedisCluster.from_url(url)
    repo = RedisRepository(session=client, model=Order)
    uow = RedisUnitOfWork(repo)

    def once() -> None:
        with uow:
            first = Order(id="o1", customer_id="k")
            uow.repository.refresh(first)
            second = Order(id="o2", customer_id="k")
            uow.repository.refresh(second)
            first.total += 1
            second.total -= 1
            uow.repository.save(first)
            uow.repository.save(second)
            uow.commit()

    for _ in range(times):
        retry_on_conflict(once, attempts=200)
    client.close()
    return times


@pytest.mark.slow
def test_concurrent_writers_lose_no_update(redis_cluster_url: str,
                                           cluster: redis.cluster.RedisCluster) -> None:
    """Processes each moving one unit from o2 to o1 in a unit of work: every move lands once
    and the two always sum to zero (each commit is one MULTI/EXEC, WATCHed, on one slot)."""
    repo = RedisRepository(session=cluster, model=Order)
    repo.save(Order(id="o1", customer_id="k"))
    repo.save(Order(id="o2", customer_id="k"))
    done = run_processes(_increments, [(redis_cluster_url, 25)] * 4)
    first = Order(id="o1", customer_id="k")
    second = Order(id="o2", customer_id="k")
    repo.refresh(first)
    repo.refresh(second)
    assert (first.total, second.total) == (sum(done), -sum(done)) == (100, -100)


# -- searches without a coordinator ----------------------------------------------------------

@coordinator
def test_search_is_refused_without_a_coordinator(cluster: redis.cluster.RedisCluster) -> None:
    repo = RedisRepository(session=cluster, model=Parcel)
    for entity_id in spread_ids(cluster, 6):
        repo.save(Parcel(id=entity_id, name="same"))
    for query in (lambda: repo.filter(filter_(name="same")),
                  lambda: repo.count(filter_(name="same")),
                  lambda: repo.update(filter_(name="same"), weight=1),
                  repo.index_status):
        with pytest.raises(ClusterSearchError, match=r"3 shards .* no coordinator"):
            query()
    # no index was made on any node (one per shard would answer for one shard only)
    for node in cluster.get_primaries():
        assert node.redis_connection is not None
        assert node.redis_connection.execute_command("FT._LIST") in ([], set())
    assert all(p.weight == 0 for p in repo.filter(filter_(id__in=spread_ids(cluster, 6))))


# -- one master (cluster mode, every slot on one node) --------------------------------------

def test_one_master_cluster(one_master: redis.cluster.RedisCluster) -> None:
    repo = RedisRepository(session=one_master, model=Parcel)
    for number in range(10):
        repo.save(Parcel(id=f"p{number}", name="x", weight=number))
    assert repo.get(filter_(id="p3")).weight == 3
    with RedisUnitOfWork(RedisRepository(session=one_master, model=Order)) as uow:
        uow.repository.save(Order(id="a", customer_id="k1", total=1))
        uow.repository.save(Order(id="b", customer_id="k1", total=2))
        uow.commit()
    assert one_master.exists("Order:{k1}:a", "Order:{k1}:b") == 2
    with pytest.raises(CrossSlotError), RedisUnitOfWork(repo) as uow2:
        uow2.repository.save(Parcel(id="a", name="x"))
        uow2.repository.save(Parcel(id="b", name="x"))
        uow2.commit()
    ids = [f"p{number}" for number in range(10)]
    assert repo.update(filter_(id__in=ids), weight=7) == 10
    assert {p.weight for p in repo.filter(filter_(id__in=ids))} == {7}
    assert repo.delete(filter_(id__in=ids[:4])) == 4
    with pytest.raises(ClusterSearchError, match="returns no document contents"):
        repo.filter(filter_(weight=7))


# -- the asyncio API --------------------------------------------------------------------------

def test_async_cluster(redis_cluster_url: str, cluster: redis.cluster.RedisCluster) -> None:
    async def main() -> None:
        client = redis.asyncio.cluster.RedisCluster.from_url(redis_cluster_url)
        try:
            repo = AsyncRedisRepository(session=client, model=Parcel)
            ids = spread_ids(cluster, 10)
            for entity_id in ids:
                await repo.save(Parcel(id=entity_id, name=entity_id))
            assert [p.id for p in await repo.filter(filter_(id__in=ids))] == ids
            orders = AsyncRedisRepository(session=client, model=Order)
            await orders.save(Order(id="x", customer_id="c", total=1))
            async with AsyncRedisUnitOfWork(orders) as uow:
                stored = Order(id="x", customer_id="c")
                await uow.repository.refresh(stored)
                stored.total += 1
                await uow.repository.save(stored)
                await uow.repository.save(Order(id="y", customer_id="c"))
                await uow.commit()
            with pytest.raises(ConcurrencyError):
                async with AsyncRedisUnitOfWork(orders) as uow:
                    stored = Order(id="x", customer_id="c")
                    await uow.repository.refresh(stored)
                    await orders.save(Order(id="x", customer_id="c", total=10))
                    await uow.repository.save(stored)
                    await uow.commit()
            with pytest.raises(CrossSlotError):
                async with AsyncRedisUnitOfWork(repo) as uow2:
                    await uow2.repository.save(Parcel(id="a", name="x"))
                    await uow2.repository.save(Parcel(id="b", name="x"))
                    await uow2.commit()
            if not os.environ.get("REDIS_CLUSTER_URL"):
                with pytest.raises(ClusterSearchError):
                    await repo.count(filter_(name="p1"))
        finally:
            await client.aclose()

    asyncio.run(main())
    assert cluster.json().get("Order:{c}:x")["total"] == 10  # type: ignore[index]
    assert cluster.exists("Order:{c}:y", "Parcel:a", "Parcel:b") == 1


@pytest.mark.slow
def test_the_cluster_bench_runs() -> None:
    """``python -m bench.cluster`` at a tiny size: it checks its answers before timing."""
    from assimilator_stack.testing import ServerNotAvailableError
    from bench.cluster import run

    try:
        best = run(entities=30, rounds=1)
    except ServerNotAvailableError:
        pytest.skip("needs the embedded server binaries (the server extra): it starts a "
                    "local Redis Cluster")
    assert set(best) == {"get by id", "save", "unit of work (2 saves, one slot)"}
    assert all(ours > 0 and raw > 0 for ours, raw in best.values())
