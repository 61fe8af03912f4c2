"""InternalRepository / InternalUnitOfWork: the dict-backed twin has RedisRepository's API and
meaning. Most tests run the same scenario on both (``kind``); the clock-driven TTL tests and
the dict-specific ones run on the twin alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
import redis

from assimilator_stack import (
    AlreadyExistsError,
    AssimilatorConfig,
    ConcurrencyError,
    InternalRepository,
    InternalUnitOfWork,
    InvalidEntityError,
    InvalidQueryError,
    LazyCommand,
    MultipleResultsError,
    NotFoundError,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    Repository,
    UnitOfWork,
    UpdateTargetMissingError,
    filter_,
    only,
    order,
    paginate,
)
from assimilator_stack.testing.pytest_plugin import RedisClientFactory
from tests.support.query_models import Address, Thing


class Pet(RedisModel):
    name: str
    age: int = 0

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "q:pet"


class Env:
    """One backend: repositories and units of work over Redis or over one dict."""

    def __init__(self, kind: str, factory: RedisClientFactory | None) -> None:
        self.kind = kind
        self.factory = factory
        self.session: dict[str, Any] = {}

    def repo(self, model: type[Any] = Thing) -> Any:
        if self.kind == "redis":
            assert self.factory is not None
            return RedisRepository(session=self.factory(), model=model)
        return InternalRepository(self.session, model=model)

    def uow(self, model: type[Any] = Thing, autocommit: bool = False) -> Any:
        if self.kind == "redis":
            return RedisUnitOfWork(self.repo(model), autocommit=autocommit)
        return InternalUnitOfWork(self.repo(model), autocommit=autocommit)


@pytest.fixture(params=["internal", "redis"])
def env(request: pytest.FixtureRequest) -> Env:
    if request.param == "redis":
        return Env("redis", request.getfixturevalue("redis_client_factory"))
    return Env("internal", None)


def ids(entities: Any) -> list[Any]:
    return [e.id for e in entities]


# -- the API ----------------------------------------------------------------------------------


def test_is_a_repository_and_unit_of_work() -> None:
    repo = InternalRepository(model=Thing)
    assert isinstance(repo, Repository)
    uow = InternalUnitOfWork(repo)
    assert isinstance(uow, UnitOfWork)
    assert isinstance(uow.repository, InternalRepository)
    assert uow.repository.session is repo.session
    with pytest.raises(TypeError, match="model"):
        InternalRepository({})


def test_save_get_filter(env: Env) -> None:
    repo = env.repo()
    saved = repo.save(id="a", name="x", age=3)
    assert isinstance(saved, Thing) and saved.age == 3
    repo.save(Thing(id="b", name="y"))
    assert repo.get(filter_(id="a")) == saved
    assert repo.get(filter_(name="y")).id == "b"
    assert ids(repo.filter()) == ["a", "b"]
    assert ids(repo.filter(filter_(id__in=["b", "zz", "a"]))) == ["b", "a"]  # asked order
    assert repo.filter(filter_(id=None)) == []
    assert repo.count() == 2 and repo.count(filter_(age__gt=1)) == 1
    with pytest.raises(NotFoundError):
        repo.get(filter_(name="nobody"))
    with pytest.raises(MultipleResultsError):
        repo.get(filter_(age__gte=0))
    with pytest.raises(InvalidEntityError, match="name"):
        repo.save(id="c", name=123)


def test_entities_are_copies(env: Env) -> None:
    repo = env.repo()
    entity = Thing(id="a", name="x", tags=["t"], address=Address(city="c"))
    repo.save(entity)
    entity.name = "changed after save"
    entity.tags.append("u")
    loaded = repo.get(filter_(id="a"))
    assert loaded.name == "x" and loaded.tags == ["t"]
    loaded.address.city = "mutated"
    loaded.tags.clear()
    again = repo.get(filter_(id="a"))
    assert again.address.city == "c" and again.tags == ["t"]
    assert again is not loaded


def test_update_delete_refresh_is_modified(env: Env) -> None:
    repo = env.repo()
    entity = repo.save(id="a", name="x")
    entity.name = "y"
    assert repo.is_modified(entity)
    repo.update(entity)
    assert not repo.is_modified(entity)
    with pytest.raises(UpdateTargetMissingError):
        repo.update(Thing(id="missing", name="z"))
    assert repo.count(filter_(id="missing")) == 0
    stale = repo.get(filter_(id="a"))
    repo.save(stale.model_copy(update={"name": "fresh"}))
    repo.refresh(stale)
    assert stale.name == "fresh"
    assert repo.delete(stale) is None
    assert repo.is_modified(stale)
    with pytest.raises(NotFoundError):
        repo.refresh(stale)
    assert repo.delete(stale) is None  # deleting a missing entity is not an error


def test_bulk_update_and_delete(env: Env) -> None:
    repo = env.repo()
    for i in range(5):
        repo.save(Thing(id=f"t{i}", name="n", age=i, tags=["a"] if i % 2 else []))
    assert repo.update(filter_(age__gte=3), name="big", tags=["z"]) == 2
    assert sorted(ids(repo.filter(filter_(name="big")))) == ["t3", "t4"]
    assert repo.get(filter_(id="t3")).tags == ["z"]
    assert repo.count(filter_(tags__isnull=True)) == 2  # t0, t2 (t4 now has tags)
    assert repo.update(filter_(lambda e: e.age == 0), nick=None, address=Address(city="C")) == 1
    assert repo.get(filter_(address__city="C")).id == "t0"
    assert repo.update(filter_(), active=True) == 5
    assert repo.count(filter_(active=True)) == 5
    with pytest.raises(InvalidEntityError, match="age"):
        repo.update(filter_(), age="old")
    with pytest.raises(InvalidQueryError, match="id"):
        repo.update(filter_(), id="x")
    with pytest.raises(InvalidQueryError, match="expire_in"):
        repo.update(filter_(), expire_in=3)
    with pytest.raises(InvalidQueryError):
        repo.update(filter_(age__gt="x"), name="y")
    assert repo.delete() == 0
    assert repo.count() == 5
    assert repo.delete(filter_(age__lt=2)) == 2
    assert sorted(ids(repo.filter())) == ["t2", "t3", "t4"]
    assert repo.delete(filter_(name="nobody")) == 0


def test_lazy(env: Env) -> None:
    repo = env.repo()
    lazy = repo.filter(filter_(name="x"), lazy=True)
    counted = repo.count(lazy=True)
    got = repo.get(filter_(id="a"), lazy=True)
    assert isinstance(lazy, LazyCommand) and not lazy.executed
    repo.save(id="a", name="x")
    assert ids(lazy) == ["a"] and counted() == 1 and got.name == "x"


def test_order_paginate_only_stream(env: Env) -> None:
    repo = env.repo()
    names = ["b", "a", "c", "a", "B"]
    for i, name in enumerate(names):
        repo.save(Thing(id=f"t{i}", name=name, age=i % 2, nick=None if i == 2 else name))
    assert ids(repo.filter(order("name"))) == ["t4", "t1", "t3", "t0", "t2"]
    assert ids(repo.filter(order("-age", "name"))) == ["t1", "t3", "t4", "t0", "t2"]
    assert ids(repo.filter(order("nick"))) == ["t4", "t1", "t3", "t0", "t2"]
    assert ids(repo.filter(order("-nick"))) == ["t0", "t1", "t3", "t4", "t2"]  # missing last
    assert ids(repo.filter(order("name"), paginate(limit=2, offset=1))) == ["t1", "t3"]
    assert ids(repo.filter(order("name"), paginate(offset=4))) == ["t2"]
    assert repo.filter(paginate(limit=0)) == []
    assert ids(repo.filter()) == ["t0", "t1", "t2", "t3", "t4"]  # the order of writes
    repo.save(repo.get(filter_(id="t1")))  # a write moves an entity to the end
    assert ids(repo.filter()) == ["t0", "t2", "t3", "t4", "t1"]
    assert ids(repo.stream(batch_size=2)) == ids(repo.filter())
    assert ids(repo.stream(filter_(age=1), order("-name"))) == ["t1", "t3"]  # ties: by id
    with pytest.raises(InvalidQueryError, match="batch_size"):
        repo.stream(batch_size=0)
    before = repo.get(filter_(id="t0"))
    partial = repo.get(filter_(id="t0"), only("name"))
    assert (partial.id, partial.name) == ("t0", "b")
    assert "age" not in partial.__dict__
    assert partial.age == repo.get(filter_(id="t0")).age  # loaded on first access (sync)
    partial = repo.get(filter_(id="t0"), only("name"))
    partial.name = "renamed"
    repo.save(partial)  # reads what only() left out first: nothing is lost
    assert repo.get(filter_(id="t0")).model_dump() == {
        **before.model_dump(), "name": "renamed"}
    with pytest.raises(InvalidQueryError, match="nope"):
        repo.filter(only("nope"))
    with pytest.raises(InvalidQueryError, match="sortable fields"):
        repo.filter(order("address"))


def test_limit_zero_with_a_python_checked_filter(env: Env) -> None:
    repo = env.repo()
    for i in range(3):
        repo.save(Thing(id=f"t{i}", age=i))
    assert repo.filter(filter_(lambda e: True), paginate(limit=0)) == []
    assert ids(repo.filter(filter_(lambda e: e.age > 0), order("-age"), paginate(limit=1))) \
        == ["t2"]


def test_write_options(env: Env) -> None:
    repo = env.repo(Pet)
    repo.save(Pet(id="p", name="rex", only_create=True))
    with pytest.raises(AlreadyExistsError, match="q:pet:p"):
        repo.save(Pet(id="p", name="other", only_create=True))
    with pytest.raises(UpdateTargetMissingError, match="q:pet:nope"):
        repo.save(Pet(id="nope", name="x", only_update=True))
    assert repo.get(filter_(id="p")).name == "rex"
    repo.save(Pet(id="p", name="max", only_update=True))
    assert repo.get(filter_(id="p")).name == "max"
    loaded = repo.get(filter_(id="p"))
    assert loaded.only_update is False and loaded.expire_in is None  # options are not stored


def test_unit_of_work_commits_all_or_nothing(env: Env) -> None:
    uow = env.uow(Pet)
    outside = env.repo(Pet)
    with uow:
        uow.repository.save(Pet(id="a", name="a"))
        assert outside.count() == 0  # invisible until commit
        uow.commit()
    assert ids(outside.filter()) == ["a"]
    with uow:
        uow.repository.save(Pet(id="b", name="b"))
        uow.repository.save(Pet(id="a", name="again", only_create=True))
        with pytest.raises(AlreadyExistsError):
            uow.commit()
    assert ids(outside.filter()) == ["a"]  # b was not written either
    with uow:
        uow.repository.save(Pet(id="c", name="c"))
    assert outside.count() == 1  # no commit, no write
    with pytest.raises(RuntimeError), uow:
        uow.repository.save(Pet(id="d", name="d"))
        raise RuntimeError("boom")
    assert outside.count() == 1
    with env.uow(Pet, autocommit=True) as auto:
        auto.repository.save(Pet(id="e", name="e"))
        assert auto.repository.delete(filter_(id="a")) == 1
    assert ids(outside.filter()) == ["e"]
    with uow:
        uow.repository.save(Pet(id="f", name="f"))
        uow.commit()
        uow.repository.update(filter_(), age=7)
        uow.commit()
    assert {p.age for p in outside.filter()} == {7}


def test_unit_of_work_sees_concurrent_changes(env: Env) -> None:
    outside = env.repo(Pet)
    outside.save(Pet(id="a", name="a"))
    uow = env.uow(Pet)
    with uow:
        read = uow.repository.get(filter_(id="a"))
        outside.save(Pet(id="a", name="changed"))
        uow.repository.save(read.model_copy(update={"age": 1}))
        with pytest.raises(ConcurrencyError):
            uow.commit()
    assert outside.get(filter_(id="a")).name == "changed"
    with uow:
        with pytest.raises(NotFoundError):
            uow.repository.get(filter_(id="late"))
        outside.save(Pet(id="late", name="l"))
        uow.repository.save(Pet(id="other", name="o"))
        with pytest.raises(ConcurrencyError):
            uow.commit()
    with uow:
        assert uow.repository.update(filter_(name="l"), age=2) == 1
        outside.delete(Pet(id="late", name="l"))
        with pytest.raises(ConcurrencyError):
            uow.commit()
    with uow:  # reads that nobody touched commit fine
        read = uow.repository.get(filter_(id="a"))
        uow.repository.save(read.model_copy(update={"age": 5}))
        uow.commit()
    assert outside.get(filter_(id="a")).age == 5


def test_a_failed_condition_after_a_concurrent_change_is_a_conflict(env: Env) -> None:
    """only_update / only_create that fail because another client changed what the unit of
    work read raise ConcurrencyError (retry_on_conflict retries it); on unchanged reads they
    keep their own errors."""
    outside = env.repo(Pet)
    outside.save(Pet(id="a", name="a"))
    uow = env.uow(Pet)
    with uow:  # read, deleted by another client, then updated
        read = uow.repository.get(filter_(name="a"))
        outside.delete(read)
        uow.repository.update(read, age=1)
        with pytest.raises(ConcurrencyError):
            uow.commit()
    with uow:  # read as missing, created by another client, then created
        with pytest.raises(NotFoundError):
            uow.repository.get(filter_(id="b"))
        outside.save(Pet(id="b", name="theirs"))
        uow.repository.save(Pet(id="b", name="mine"), only_create=True)
        with pytest.raises(ConcurrencyError):
            uow.commit()
    assert outside.get(filter_(id="b")).name == "theirs"
    with uow:  # read as present and unchanged: only_create keeps its error
        uow.repository.get(filter_(id="b"))
        uow.repository.save(Pet(id="b", name="mine"), only_create=True)
        with pytest.raises(AlreadyExistsError):
            uow.commit()
    with uow:  # read as missing and still missing: so does only_update
        with pytest.raises(NotFoundError):
            uow.repository.get(filter_(id="c"))
        with pytest.raises(UpdateTargetMissingError):
            uow.repository.update(Pet(id="c", name="c"))
            uow.commit()


# -- the twin only: its dict and its clock ----------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_expiry_follows_the_clock() -> None:
    clock = FakeClock()
    repo = InternalRepository(model=Pet, clock=clock)
    repo.save(Pet(id="s", name="s", expire_in=10))
    repo.save(Pet(id="ms", name="ms", expire_in_px=1500))
    repo.save(Pet(id="keep", name="k"))
    clock.now += 1.4
    assert repo.count() == 3
    clock.now += 0.2
    assert ids(repo.filter()) == ["s", "keep"]  # expired entities vanish
    repo.save(Pet(id="s", name="s2", keep_ttl=True))  # keeps the TTL
    clock.now += 8.0
    assert ids(repo.filter()) == ["keep", "s"]
    repo.save(Pet(id="s", name="s3"))  # a save without keep_ttl clears it
    clock.now += 100.0
    assert ids(repo.filter()) == ["keep", "s"]
    repo.save(Pet(id="t", name="t", expire_in=1))
    repo.update(filter_(id="t"), age=3)  # a bulk update keeps the TTL
    clock.now += 1.0
    assert repo.count(filter_(id="t")) == 0
    with pytest.raises(NotFoundError):
        repo.get(filter_(id="t"))


def test_expiry_inside_a_unit_of_work() -> None:
    clock = FakeClock()
    repo = InternalRepository(model=Pet, clock=clock)
    with InternalUnitOfWork(repo) as uow:
        uow.repository.save(Pet(id="a", name="a", expire_in=5))
        clock.now += 10  # the TTL starts at commit, as EXPIRE inside MULTI/EXEC
        uow.commit()
    assert repo.count() == 1
    clock.now += 5
    assert repo.count() == 0


def test_one_dict_holds_several_models_like_one_database() -> None:
    session: dict[str, Any] = {}
    pets = InternalRepository(session, model=Pet)
    things = InternalRepository(session, model=Thing)
    pets.save(Pet(id="x", name="p"))
    things.save(Thing(id="x", name="t"))
    assert sorted(session) == ["q:pet:x", "q:thing:x"]
    assert pets.get(filter_(id="x")).name == "p"
    assert things.count() == 1
    assert pets.delete(filter_()) == 1
    assert things.count() == 1


def test_a_dict_filled_by_hand() -> None:
    session: dict[str, Any] = {"q:pet:1": Pet(id="1", name="a", age=3)}
    repo = InternalRepository(session, model=Pet)
    assert repo.get(filter_(age=3)).name == "a"
    session["q:pet:2"] = "not an entity"
    with pytest.raises(InvalidQueryError, match="q:pet:2"):
        repo.filter()


Scenario = Callable[[Any], Any]


def test_errors_are_the_same_types_as_redis(redis_client: redis.Redis) -> None:
    """The same wrong calls fail the same way on both."""
    redis_repo = RedisRepository(session=redis_client, model=Thing)
    twin = InternalRepository(model=Thing)
    bad: list[Scenario] = [
        lambda r: r.filter(filter_(age__startswith="1")),
        lambda r: r.filter(order("nope")),
        lambda r: r.filter(only("nope")),
        lambda r: r.get(filter_(id="none")),
        lambda r: r.update(Thing(id="none")),
        lambda r: r.update(filter_(), nope=1),
        lambda r: r.stream(batch_size=-1),
        lambda r: r.filter("not a spec"),
    ]
    for scenario in bad:
        with pytest.raises(Exception) as from_redis:
            scenario(redis_repo)
        with pytest.raises(Exception) as from_twin:
            scenario(twin)
        assert type(from_redis.value) is type(from_twin.value), (from_redis.value,
                                                                  from_twin.value)
