"""Query behaviour (filter by field, order, paginate, count, get, stream, only, bulk writes,
lazy) through every repository: Redis sync and async, the in-memory twin sync and async.

One test body each; the async repositories run behind a SyncFacade (tests/sync_facade.py).
Expected answers are computed in Python from the data, so each implementation is checked on
its own, not only against the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
import redis

from assimilator_stack import (
    AssimilatorConfig,
    AsyncInternalRepository,
    AsyncInternalUnitOfWork,
    AsyncRedisRepository,
    AsyncRedisUnitOfWork,
    InternalRepository,
    InternalUnitOfWork,
    InvalidQueryError,
    MultipleResultsError,
    NotFoundError,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    filter_,
    only,
    order,
    paginate,
)
from tests.support.execution_support import private_server
from tests.support.sync_facade import LoopBridge, SyncFacade


class Item(RedisModel):
    name: str
    group: str
    price: float
    qty: int = 0

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:qitem"


ITEMS = [Item(id=f"i{n:02}", name=f"{'ab'[n % 2]}-item-{n:02}", group="xyz"[n % 3],
              price=float((n * 7) % 11), qty=n % 4) for n in range(25)]

IMPLEMENTATIONS = ["redis-sync", "redis-async", "twin-sync", "twin-async"]


class Store:
    """Repositories and units of work of one implementation, on one shared database."""

    def __init__(self, kind: str, client: redis.Redis, bridge: LoopBridge | None) -> None:
        self.kind = kind
        self.client = client
        self.bridge = bridge
        self.data: dict[str, Any] = {}

    def repo(self) -> Any:
        if self.kind == "redis-sync":
            return RedisRepository(self.client, Item)
        if self.kind == "twin-sync":
            return InternalRepository(self.data, Item)
        assert self.bridge is not None
        if self.kind == "redis-async":
            return SyncFacade(AsyncRedisRepository(self.bridge.twin(self.client), Item),
                              self.bridge)
        return SyncFacade(AsyncInternalRepository(self.data, Item), self.bridge)

    def uow(self) -> Any:
        repo = self.repo()
        if isinstance(repo, SyncFacade):
            inner = repo.inner
            made = (AsyncRedisUnitOfWork(repository=inner)
                    if isinstance(inner, AsyncRedisRepository)
                    else AsyncInternalUnitOfWork(repository=inner))
            return SyncFacade(made, repo._bridge)
        if isinstance(repo, RedisRepository):
            return RedisUnitOfWork(repository=repo)
        return InternalUnitOfWork(repository=repo)


@pytest.fixture(params=IMPLEMENTATIONS)
def store(request: pytest.FixtureRequest, client: redis.Redis) -> Iterator[Store]:
    bridge = request.getfixturevalue("bridge") if "async" in request.param else None
    made = Store(request.param, client, bridge)
    repo = made.repo()
    for item in ITEMS:
        repo.save(item)
    yield made


def ids(entities: Any) -> list[str]:
    return [e.id for e in entities]


def expected(keep: Callable[[Item], bool], key: Callable[[Item], Any] | None = None
             ) -> list[str]:
    found = [i for i in ITEMS if keep(i)]
    return ids(sorted(found, key=key) if key else found)


def test_filter_by_fields(store: Store) -> None:
    repo = store.repo()
    cases: list[tuple[Any, Callable[[Item], bool]]] = [
        (filter_(group="x"), lambda i: i.group == "x"),
        (filter_(price__gt=5, qty__lte=2), lambda i: i.price > 5 and i.qty <= 2),
        (filter_(group__in=["x", "z"], price__between=(2, 8)),
         lambda i: i.group in ("x", "z") and 2 <= i.price <= 8),
        (filter_(name__startswith="a-"), lambda i: i.name.startswith("a-")),
        (filter_(group="y") | filter_(qty=3), lambda i: i.group == "y" or i.qty == 3),
        (~filter_(group="y") & filter_(price__lt=4), lambda i: i.group != "y" and i.price < 4),
        (filter_(name="nobody"), lambda i: False),
    ]
    for spec, keep in cases:
        assert sorted(ids(repo.filter(spec))) == sorted(expected(keep)), spec
        assert repo.count(spec) == len(expected(keep)), spec


def test_order_and_paginate(store: Store) -> None:
    repo = store.repo()
    want = expected(lambda i: True, key=lambda i: (i.group, -i.price, i.id))
    assert ids(repo.filter(order("group", "-price"))) == want
    pages = [ids(repo.filter(order("group", "-price"), paginate(limit=7, offset=start)))
             for start in range(0, 25, 7)]
    assert [len(p) for p in pages] == [7, 7, 7, 4]
    assert [key for page in pages for key in page] == want
    assert repo.filter(order("price"), paginate(limit=5, offset=30)) == []
    assert repo.filter(order("price"), paginate(limit=0)) == []
    cheap_first = expected(lambda i: i.qty > 0, key=lambda i: (i.price, i.id))
    assert ids(repo.filter(filter_(qty__gt=0), order("price"), paginate(limit=4))) \
        == cheap_first[:4]
    assert repo.count(filter_(qty__gt=0), order("price"), paginate(limit=4)) \
        == len(cheap_first)  # count ignores order and paging
    with pytest.raises(InvalidQueryError, match="colour"):
        repo.filter(order("colour"))


def test_get(store: Store) -> None:
    repo = store.repo()
    assert repo.get(filter_(name="b-item-03")).id == "i03"
    with pytest.raises(MultipleResultsError):
        repo.get(filter_(group="x"))
    with pytest.raises(NotFoundError):
        repo.get(filter_(group="nowhere"))


def test_stream_and_lazy(store: Store) -> None:
    repo = store.repo()
    specs = (filter_(price__gte=3), order("-qty", "name"))
    want = ids(repo.filter(*specs))
    assert want == expected(lambda i: i.price >= 3, key=lambda i: (-i.qty, i.name))
    assert ids(repo.stream(*specs, batch_size=4)) == want
    assert sorted(ids(repo.stream(batch_size=6))) == sorted(ids(ITEMS))
    lazy = repo.filter(*specs, lazy=True)
    assert not lazy.executed
    assert ids(lazy) == want and lazy.executed
    assert repo.count(filter_(group="z"), lazy=True) == len(expected(lambda i: i.group == "z"))


def test_only(store: Store) -> None:
    repo = store.repo()
    found = repo.filter(filter_(group="y"), order("name"), only("name"))
    assert [e.name for e in found] == [i.name for i in sorted(
        (i for i in ITEMS if i.group == "y"), key=lambda i: i.name)]
    assert ids(found) == [i.id for i in sorted((i for i in ITEMS if i.group == "y"),
                                               key=lambda i: i.name)]
    assert set(found[0].__dict__) == {"id", "name"}  # nothing else was read
    original = {i.id: i for i in ITEMS}
    if store.kind.endswith("async"):  # attribute access cannot await: refused, saying so
        with pytest.raises(AttributeError, match=r"await repository\.refresh"):
            _ = found[0].price
    else:  # sync: what only() left out is loaded on first access
        assert found[0].price == original[found[0].id].price
    # saving a partial entity reads what it left out first: nothing is lost
    found[1].name = "renamed"
    repo.save(found[1])
    stored = repo.get(filter_(id=found[1].id))
    assert (stored.name, stored.price, stored.qty) == \
        ("renamed", original[stored.id].price, original[stored.id].qty)


def test_bulk_update_and_delete(store: Store) -> None:
    repo = store.repo()
    x_count = len(expected(lambda i: i.group == "x"))
    assert repo.update(filter_(group="x"), qty=9) == x_count
    assert repo.count(filter_(qty=9)) == x_count
    uow = store.uow()
    with uow:
        assert uow.repository.delete(filter_(qty=9)) == x_count
        assert uow.repository.update(filter_(group="y"), price=100.0) \
            == len(expected(lambda i: i.group == "y"))
        assert repo.count(filter_(qty=9)) == x_count  # not before commit
        uow.commit()
    assert repo.count(filter_(qty=9)) == 0
    assert repo.count() == 25 - x_count
    assert {e.price for e in repo.filter(filter_(group="y"))} == {100.0}
    assert repo.delete() == 0  # deletes nothing


def test_explain_is_the_same_on_both_apis(client: redis.Redis, bridge: LoopBridge) -> None:
    sync = Store("redis-sync", client, None).repo()
    facade = Store("redis-async", client, bridge).repo()
    sync.save(ITEMS[0])
    specs = (filter_(group="x"), order("price"), paginate(limit=3))
    command = sync.explain(*specs)
    assert command[0] == "FT.AGGREGATE" and "@price" in " ".join(command)
    assert facade.explain(*specs) == command
    assert facade.explain(filter_(id__in=["a", "b"])) == sync.explain(
        filter_(id__in=["a", "b"])) == ["JSON.MGET", "t:qitem:a", "t:qitem:b", "."]


def test_paging_past_the_server_limit_on_both_apis() -> None:
    """Keyset paging (ordered reads past MAXAGGREGATERESULTS) and cursors (unordered reads)
    run as many round trips as they need, awaited or not."""
    with private_server() as server:
        tiny = server.client()
        tiny.execute_command("FT.CONFIG", "SET", "MAXAGGREGATERESULTS", "7")
        bridge = LoopBridge(server.url)
        try:
            sync = RedisRepository(tiny, Item)
            facade = SyncFacade(AsyncRedisRepository(bridge.twin(tiny), Item), bridge)
            for item in ITEMS:
                sync.save(item)
            want = expected(lambda i: True, key=lambda i: (i.price, i.name, i.id))
            for repo in (sync, facade):
                assert ids(repo.filter(order("price", "name"))) == want
                assert ids(repo.filter(order("price", "name"), paginate(limit=6, offset=15))) \
                    == want[15:21]
                assert ids(repo.stream(order("price", "name"), batch_size=5)) == want
                assert sorted(ids(repo.filter())) == sorted(want)
                assert repo.count() == 25
        finally:
            bridge.close()
            tiny.close()
