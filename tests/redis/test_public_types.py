"""The exact types of the public API, on both faces.

``mypy --strict`` checks this module (pyproject.toml [tool.mypy] ``files``; CI runs mypy):
every ``assert_type`` fails if the type of that expression changes or becomes ``Any``, and
each ``# type: ignore[attr-defined]`` on a misspelt attribute fails as unused
(``warn_unused_ignores``) if mypy stops seeing the entity's type. pytest runs the same
functions against Redis and the in-memory twin, so the declared types are the types that come
back (checked with ``isinstance`` / ``type``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, ClassVar

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from typing_extensions import assert_type

from assimilator_stack import (
    AssimilatorConfig,
    AsyncInternalRepository,
    AsyncInternalUnitOfWork,
    AsyncLazyCommand,
    AsyncRedisRepository,
    AsyncRedisUnitOfWork,
    AsyncRepository,
    AsyncUnitOfWork,
    Count,
    Distance,
    GeoPoint,
    GeoPolygon,
    GeoRadius,
    Hit,
    IndexState,
    IndexStatus,
    InternalRepository,
    InternalUnitOfWork,
    KnnSpecification,
    LazyCommand,
    PruneResult,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    Repository,
    Sum,
    UnitOfWork,
    Vector,
    filter_,
    knn,
    order,
)


class Customer(RedisModel):
    name: str
    balance: int = 0

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "typing:customer"


# -- sync: the abstract face, then each concrete class (its own declarations) -----------------

def abstract_face(repo: Repository[Customer], uow: UnitOfWork[Customer]) -> None:
    saved = assert_type(repo.save(name="Ann", balance=5), Customer)
    assert type(saved) is Customer
    assert_type(repo.save(saved), Customer)
    got = assert_type(repo.get(filter_(name="Ann")), Customer)
    assert got == saved
    with pytest.raises(AttributeError):  # a typo: mypy says so, too
        _ = got.nmae  # type: ignore[attr-defined]
    assert_type(repo.filter(filter_(balance__gt=1), order("name")), list[Customer])
    assert_type(repo.filter(lambda c: c.balance > 1), list[Customer])
    assert_type(repo.count(), int)
    lazy = assert_type(repo.get(filter_(name="Ann"), lazy=True), LazyCommand[Customer])
    assert assert_type(lazy(), Customer) == saved
    assert assert_type(repo.filter(lazy=True), LazyCommand[list[Customer]])() == [saved]
    assert assert_type(repo.count(lazy=True), LazyCommand[int])() == 1
    maybe = assert_type(repo.count(lazy=bool(saved.balance)), int | LazyCommand[int])
    assert isinstance(maybe, LazyCommand)
    stream = assert_type(repo.stream(batch_size=10), Iterator[Customer])
    assert [type(c) for c in stream] == [Customer]
    explained = assert_type(repo.explain(filter_(balance__gt=1)), list[str])
    rows = assert_type(repo.aggregate(group_by="name", n=Count(), total=Sum("balance")),
                       list[dict[str, Any]])
    assert rows == [{"name": "Ann", "n": 1, "total": 5}]
    assert assert_type(repo.suggest("name", "a"), list[str]) == ["Ann"]
    hits = assert_type(repo.hits(filter_(name="Ann")), list[Hit[Customer]])
    assert [type(assert_type(h.entity, Customer)) for h in hits] == [Customer]
    assert_type(hits[0].score, float | None)
    assert_type(hits[0].highlights, dict[str, str])
    assert all(isinstance(arg, str) for arg in explained)
    saved.balance = 7
    assert_type(repo.is_modified(saved), bool)
    assert_type(repo.update(saved), Customer)
    assert assert_type(repo.update(filter_(name="Ann"), balance=8), int) == 1
    assert_type(repo.refresh(saved), None)
    assert saved.balance == 8
    with uow:
        in_uow = assert_type(uow.repository, Repository[Customer])
        assert_type(in_uow.get(filter_(id=saved.id)), Customer)
        assert_type(in_uow.save(name="Bob"), Customer)
        uow.commit()
    assert assert_type(repo.delete(filter_(name="Bob")), int) == 1
    assert_type(repo.delete(saved), None)
    assert assert_type(repo.delete(), int) == 0


def redis_face(client: redis.Redis) -> None:
    repo = assert_type(RedisRepository(client, Customer), RedisRepository[Customer])
    saved = assert_type(repo.save(name="Ann", balance=5), Customer)
    assert type(saved) is Customer
    got = assert_type(repo.get(filter_(name="Ann")), Customer)
    with pytest.raises(AttributeError):  # a typo: mypy says so, too
        _ = got.nmae  # type: ignore[attr-defined]
    assert_type(repo.filter(filter_(balance__gt=1)), list[Customer])
    assert_type(repo.count(filter_(balance__gt=1)), int)
    assert assert_type(repo.get(lazy=True), LazyCommand[Customer])() == saved
    assert assert_type(repo.filter(lazy=True), LazyCommand[list[Customer]])() == [saved]
    assert assert_type(repo.count(lazy=True), LazyCommand[int])() == 1
    assert [type(c) for c in assert_type(repo.stream(), Iterator[Customer])] == [Customer]
    assert assert_type(repo.explain(), list[str])[0] == "FT.AGGREGATE"
    rows = assert_type(repo.aggregate(group_by="name", n=Count(), total=Sum("balance")),
                       list[dict[str, Any]])
    assert rows == [{"name": "Ann", "n": 1, "total": 5}]
    assert assert_type(repo.suggest("name", "a"), list[str]) == ["Ann"]
    hits = assert_type(repo.hits(filter_(name="Ann")), list[Hit[Customer]])
    assert [type(assert_type(h.entity, Customer)) for h in hits] == [Customer]
    assert_type(hits[0].score, float | None)
    assert_type(hits[0].highlights, dict[str, str])
    assert isinstance(assert_type(repo.index_status(), IndexStatus), IndexStatus)
    assert assert_type(repo.index.status(), IndexState).exists
    assert assert_type(repo.index.migrate(lambda done, total: None), IndexState).aliased
    assert assert_type(repo.index.prune(idle=60, force=False), PruneResult).dropped == ()
    assert_type(repo.is_modified(saved), bool)
    assert type(assert_type(repo.update(saved, balance=6), Customer)) is Customer
    assert assert_type(repo.update(filter_(name="Ann"), balance=8), int) == 1
    assert_type(repo.refresh(saved), None)
    uow = assert_type(RedisUnitOfWork(repository=repo), RedisUnitOfWork[Customer])
    with uow as same:
        assert_type(same, RedisUnitOfWork[Customer])
        in_uow = assert_type(same.repository, RedisRepository[Customer])
        assert_type(in_uow.save(name="Bob"), Customer)
        same.commit()
    assert assert_type(repo.delete(filter_(name="Bob")), int) == 1
    assert assert_type(repo.delete(saved), None) is None


def cluster_face(client: redis.cluster.RedisCluster) -> None:
    """A cluster client gives the same types (what needs no search: by id)."""
    repo = assert_type(RedisRepository(client, Customer), RedisRepository[Customer])
    saved = assert_type(repo.save(id="c1", name="Ann"), Customer)
    assert assert_type(repo.get(filter_(id="c1")), Customer) == saved
    assert assert_type(repo.filter(filter_(id__in=["c1"])), list[Customer]) == [saved]
    uow = assert_type(RedisUnitOfWork(repository=repo), RedisUnitOfWork[Customer])
    with uow:
        assert_type(uow.repository.save(id="c1", name="Bob"), Customer)
        uow.commit()
    assert assert_type(repo.delete(saved), None) is None


async def async_cluster_face(client: redis.asyncio.cluster.RedisCluster) -> None:
    repo = assert_type(AsyncRedisRepository(client, Customer), AsyncRedisRepository[Customer])
    saved = assert_type(await repo.save(id="c2", name="Ann"), Customer)
    assert assert_type(await repo.get(filter_(id="c2")), Customer) == saved
    assert assert_type(await repo.delete(saved), None) is None


def twin_face() -> None:
    repo = assert_type(InternalRepository(model=Customer), InternalRepository[Customer])
    saved = assert_type(repo.save(name="Ann", balance=5), Customer)
    assert type(saved) is Customer
    got = assert_type(repo.get(filter_(name="Ann")), Customer)
    with pytest.raises(AttributeError):  # a typo: mypy says so, too
        _ = got.nmae  # type: ignore[attr-defined]
    assert_type(repo.filter(filter_(balance__gt=1)), list[Customer])
    assert_type(repo.count(filter_(balance__gt=1)), int)
    assert assert_type(repo.get(lazy=True), LazyCommand[Customer])() == saved
    assert assert_type(repo.filter(lazy=True), LazyCommand[list[Customer]])() == [saved]
    assert assert_type(repo.count(lazy=True), LazyCommand[int])() == 1
    assert [type(c) for c in assert_type(repo.stream(), Iterator[Customer])] == [Customer]
    assert assert_type(repo.explain(), list[str])[0] == "FT.AGGREGATE"
    rows = assert_type(repo.aggregate(group_by="name", n=Count(), total=Sum("balance")),
                       list[dict[str, Any]])
    assert rows == [{"name": "Ann", "n": 1, "total": 5}]
    assert assert_type(repo.suggest("name", "a"), list[str]) == ["Ann"]
    hits = assert_type(repo.hits(filter_(name="Ann")), list[Hit[Customer]])
    assert [type(assert_type(h.entity, Customer)) for h in hits] == [Customer]
    assert_type(hits[0].score, float | None)
    assert_type(hits[0].highlights, dict[str, str])
    assert_type(repo.is_modified(saved), bool)
    assert type(assert_type(repo.update(saved, balance=6), Customer)) is Customer
    assert assert_type(repo.update(filter_(name="Ann"), balance=8), int) == 1
    assert_type(repo.refresh(saved), None)
    uow = assert_type(InternalUnitOfWork(repository=repo), InternalUnitOfWork[Customer])
    with uow:
        in_uow = assert_type(uow.repository, InternalRepository[Customer])
        assert_type(in_uow.save(name="Bob"), Customer)
        uow.commit()
    assert assert_type(repo.delete(filter_(name="Bob")), int) == 1
    assert assert_type(repo.delete(saved), None) is None


# -- async ----------------------------------------------------------------------------------

async def async_abstract_face(repo: AsyncRepository[Customer],
                              uow: AsyncUnitOfWork[Customer]) -> None:
    saved = assert_type(await repo.save(name="Ann", balance=5), Customer)
    assert type(saved) is Customer
    got = assert_type(await repo.get(filter_(name="Ann")), Customer)
    assert got == saved
    with pytest.raises(AttributeError):  # a typo: mypy says so, too
        _ = got.nmae  # type: ignore[attr-defined]
    assert_type(await repo.filter(filter_(balance__gt=1)), list[Customer])
    assert_type(await repo.filter(lambda c: c.balance > 1), list[Customer])
    assert_type(await repo.count(), int)
    lazy = assert_type(repo.get(filter_(name="Ann"), lazy=True), AsyncLazyCommand[Customer])
    assert assert_type(await lazy, Customer) == saved
    assert assert_type(await repo.filter(lazy=True), list[Customer]) == [saved]
    assert await assert_type(repo.count(lazy=True), AsyncLazyCommand[int]) == 1
    stream = assert_type(repo.stream(batch_size=10), AsyncIterator[Customer])
    assert [type(c) async for c in stream] == [Customer]
    assert_type(await repo.explain(filter_(balance__gt=1)), list[str])
    rows = assert_type(await repo.aggregate(group_by="name", n=Count(), total=Sum("balance")),
                       list[dict[str, Any]])
    assert rows == [{"name": "Ann", "n": 1, "total": 5}]
    assert assert_type(await repo.suggest("name", "a"), list[str]) == ["Ann"]
    hits = assert_type(await repo.hits(filter_(name="Ann")), list[Hit[Customer]])
    assert [type(assert_type(h.entity, Customer)) for h in hits] == [Customer]
    saved.balance = 7
    assert_type(await repo.is_modified(saved), bool)
    assert_type(await repo.update(saved), Customer)
    assert assert_type(await repo.update(filter_(name="Ann"), balance=8), int) == 1
    assert_type(await repo.refresh(saved), None)
    assert saved.balance == 8
    async with uow:
        in_uow = assert_type(uow.repository, AsyncRepository[Customer])
        assert_type(await in_uow.get(filter_(id=saved.id)), Customer)
        assert_type(await in_uow.save(name="Bob"), Customer)
        await uow.commit()
    assert assert_type(await repo.delete(filter_(name="Bob")), int) == 1
    assert_type(await repo.delete(saved), None)
    assert assert_type(await repo.delete(), int) == 0


async def async_redis_face(client: redis.asyncio.Redis) -> None:
    repo = assert_type(AsyncRedisRepository(client, Customer), AsyncRedisRepository[Customer])
    saved = assert_type(await repo.save(name="Ann", balance=5), Customer)
    assert type(saved) is Customer
    got = assert_type(await repo.get(filter_(name="Ann")), Customer)
    with pytest.raises(AttributeError):  # a typo: mypy says so, too
        _ = got.nmae  # type: ignore[attr-defined]
    task = asyncio.ensure_future(repo.get(filter_(name="Ann")))  # a coroutine
    assert assert_type(await task, Customer) == saved
    assert_type(await repo.filter(filter_(balance__gt=1)), list[Customer])
    assert_type(await repo.count(filter_(balance__gt=1)), int)
    assert await assert_type(repo.get(lazy=True), AsyncLazyCommand[Customer]) == saved
    assert await assert_type(repo.filter(lazy=True), AsyncLazyCommand[list[Customer]]) == [saved]
    assert await assert_type(repo.count(lazy=True), AsyncLazyCommand[int]) == 1
    stream = assert_type(repo.stream(), AsyncIterator[Customer])
    assert [type(c) async for c in stream] == [Customer]
    assert assert_type(await repo.explain(), list[str])[0] == "FT.AGGREGATE"
    rows = assert_type(await repo.aggregate(group_by="name", n=Count(), total=Sum("balance")),
                       list[dict[str, Any]])
    assert rows == [{"name": "Ann", "n": 1, "total": 5}]
    assert assert_type(await repo.suggest("name", "a"), list[str]) == ["Ann"]
    hits = assert_type(await repo.hits(filter_(name="Ann")), list[Hit[Customer]])
    assert [type(assert_type(h.entity, Customer)) for h in hits] == [Customer]
    assert isinstance(assert_type(await repo.index_status(), IndexStatus), IndexStatus)
    assert assert_type(await repo.index.status(), IndexState).exists
    assert assert_type(await repo.index.migrate(lambda done, total: None), IndexState).aliased
    assert assert_type(await repo.index.prune(idle=60, force=False), PruneResult).dropped == ()
    assert_type(await repo.is_modified(saved), bool)
    assert type(assert_type(await repo.update(saved, balance=6), Customer)) is Customer
    assert assert_type(await repo.update(filter_(name="Ann"), balance=8), int) == 1
    assert_type(await repo.refresh(saved), None)
    uow = assert_type(AsyncRedisUnitOfWork(repository=repo), AsyncRedisUnitOfWork[Customer])
    async with uow as same:
        assert_type(same, AsyncRedisUnitOfWork[Customer])
        in_uow = assert_type(same.repository, AsyncRedisRepository[Customer])
        assert_type(await in_uow.save(name="Bob"), Customer)
        await same.commit()
    assert assert_type(await repo.delete(filter_(name="Bob")), int) == 1
    assert assert_type(await repo.delete(saved), None) is None


async def async_twin_face() -> None:
    repo = assert_type(AsyncInternalRepository(model=Customer),
                       AsyncInternalRepository[Customer])
    saved = assert_type(await repo.save(name="Ann", balance=5), Customer)
    assert type(saved) is Customer
    got = assert_type(await repo.get(filter_(name="Ann")), Customer)
    with pytest.raises(AttributeError):  # a typo: mypy says so, too
        _ = got.nmae  # type: ignore[attr-defined]
    assert_type(await repo.filter(filter_(balance__gt=1)), list[Customer])
    assert_type(await repo.count(filter_(balance__gt=1)), int)
    assert await assert_type(repo.get(lazy=True), AsyncLazyCommand[Customer]) == saved
    assert await assert_type(repo.filter(lazy=True), AsyncLazyCommand[list[Customer]]) == [saved]
    assert await assert_type(repo.count(lazy=True), AsyncLazyCommand[int]) == 1
    stream = assert_type(repo.stream(), AsyncIterator[Customer])
    assert [type(c) async for c in stream] == [Customer]
    assert assert_type(await repo.explain(), list[str])[0] == "FT.AGGREGATE"
    rows = assert_type(await repo.aggregate(group_by="name", n=Count(), total=Sum("balance")),
                       list[dict[str, Any]])
    assert rows == [{"name": "Ann", "n": 1, "total": 5}]
    assert assert_type(await repo.suggest("name", "a"), list[str]) == ["Ann"]
    hits = assert_type(await repo.hits(filter_(name="Ann")), list[Hit[Customer]])
    assert [type(assert_type(h.entity, Customer)) for h in hits] == [Customer]
    assert_type(await repo.is_modified(saved), bool)
    assert type(assert_type(await repo.update(saved, balance=6), Customer)) is Customer
    assert assert_type(await repo.update(filter_(name="Ann"), balance=8), int) == 1
    assert_type(await repo.refresh(saved), None)
    uow = assert_type(AsyncInternalUnitOfWork(repository=repo),
                      AsyncInternalUnitOfWork[Customer])
    async with uow:
        in_uow = assert_type(uow.repository, AsyncInternalRepository[Customer])
        assert_type(await in_uow.save(name="Bob"), Customer)
        await uow.commit()
    assert assert_type(await repo.delete(filter_(name="Bob")), int) == 1
    assert assert_type(await repo.delete(saved), None) is None


# -- the same code, run ---------------------------------------------------------------------

def test_sync_faces_run_as_typed(redis_client: redis.Redis) -> None:
    redis_face(redis_client)
    twin_face()
    repo = RedisRepository(redis_client, Customer)
    abstract_face(repo, RedisUnitOfWork(repository=repo))
    twin = InternalRepository(model=Customer)
    abstract_face(twin, InternalUnitOfWork(repository=twin))


def test_async_faces_run_as_typed(redis_client: redis.Redis, redis_stack_url: str) -> None:
    async def main() -> None:
        client = redis.asyncio.Redis.from_url(redis_stack_url)
        try:
            await async_redis_face(client)
            await async_twin_face()
            repo = AsyncRedisRepository(client, Customer)
            await async_abstract_face(repo, AsyncRedisUnitOfWork(repository=repo))
        finally:
            await client.aclose()
        twin = AsyncInternalRepository(model=Customer)
        await async_abstract_face(twin, AsyncInternalUnitOfWork(repository=twin))

    asyncio.run(main())


def test_cluster_faces_run_as_typed(redis_cluster_client: redis.cluster.RedisCluster,
                                    redis_cluster_url: str) -> None:
    cluster_face(redis_cluster_client)

    async def main() -> None:
        client = redis.asyncio.cluster.RedisCluster.from_url(redis_cluster_url)
        try:
            await async_cluster_face(client)
        finally:
            await client.aclose()

    asyncio.run(main())


# -- geo and vectors (issue 12): the specifications' types, and what reads with them return ----


class Place(RedisModel):
    name: str
    location: GeoPoint | None = None
    embedding: Annotated[list[float], Vector(dim=2, distance="l2")] | None = None

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "typing:place"


def geo_vector_face(repo: Repository[Place]) -> None:
    point = assert_type(GeoPoint(lon=2.35, lat=48.85), GeoPoint)
    assert_type(point.lon, float)
    repo.save(Place(name="a", location=point, embedding=[1.0, 2.0]))
    near = assert_type(GeoRadius(2.35, 48.85, 1, "km"), GeoRadius)
    shape = assert_type(GeoPolygon([(2.3, 48.8), (2.4, 48.8), (2.4, 48.9)]), GeoPolygon)
    by = assert_type(-Distance("location", 2.35, 48.85), Distance)
    nearest = assert_type(knn("embedding", [1.0, 2.0], k=3), KnnSpecification)
    found = assert_type(repo.filter(filter_(location__within=near), order(by)), list[Place])
    assert [type(p) for p in found] == [Place]
    assert_type(repo.filter(filter_(location__within=shape), nearest), list[Place])
    hits = assert_type(repo.hits(nearest), list[Hit[Place]])
    assert isinstance(assert_type(hits[0].score, float | None), float)
    assert_type(repo.count(nearest), int)


def test_geo_vector_faces_run_as_typed(redis_client: redis.Redis) -> None:
    geo_vector_face(RedisRepository(redis_client, Place))
    geo_vector_face(InternalRepository(model=Place))
