"""lazy=True: a LazyCommand that runs on first use (call, iteration, bool, len, attribute),
once, and keeps its result. Commands are counted by the server (INFO commandstats)."""

from __future__ import annotations

import pytest
import redis

from assimilator_stack import LazyCommand, NotFoundError, RedisRepository
from tests.support.helpers import CommandCounter, RepoFactory, UowFactory
from tests.support.models import Account

pytestmark = pytest.mark.both_apis  # each test also runs on the async classes


@pytest.fixture
def accounts(make_repo: RepoFactory) -> RedisRepository[Account]:
    return make_repo(Account)


def test_lazy_get_runs_once_on_attribute_access(accounts: RedisRepository[Account],
                                                commands: CommandCounter) -> None:
    saved = accounts.save(username="lazy", balance=5)
    with commands.count() as calls:
        lazy = accounts.get(accounts.specs.filter(id=saved.id), lazy=True)
    assert isinstance(lazy, LazyCommand)
    assert not calls and not lazy.executed
    with commands.count() as calls:
        assert lazy.username == "lazy"
    assert dict(calls) == {"json.get": 1}
    with commands.count() as calls:
        assert lazy.balance == 5
        assert lazy() == saved
        assert lazy == saved
        assert bool(lazy)
    assert not calls


def test_lazy_get_by_call(accounts: RedisRepository[Account],
                          commands: CommandCounter) -> None:
    saved = accounts.save(username="x")
    lazy = accounts.get(accounts.specs.filter(id=saved.id), lazy=True)
    with commands.count() as calls:
        first = lazy()
        second = lazy()
    assert first is second and first == saved
    assert dict(calls) == {"json.get": 1}


def test_lazy_result_is_cached_not_reread(accounts: RedisRepository[Account],
                                          client: redis.Redis) -> None:
    saved = accounts.save(username="before")
    lazy = accounts.get(accounts.specs.filter(id=saved.id), lazy=True)
    client.execute_command("JSON.SET", f"t:account:{saved.id}", "$.username", '"during"')
    assert lazy.username == "during"  # read at first use, not at creation
    client.execute_command("JSON.SET", f"t:account:{saved.id}", "$.username", '"after"')
    assert lazy.username == "during"  # and kept


def test_lazy_get_raises_at_first_use(accounts: RedisRepository[Account],
                                      commands: CommandCounter) -> None:
    with commands.count() as calls:
        lazy = accounts.get(accounts.specs.filter(id="missing"), lazy=True)
    assert not calls
    with pytest.raises(NotFoundError):
        lazy()


def test_lazy_filter_by_iteration(accounts: RedisRepository[Account],
                                  commands: CommandCounter) -> None:
    saved = [accounts.save(username=f"u{i}") for i in range(3)]
    ids = [e.id for e in saved]
    with commands.count() as calls:
        lazy = accounts.filter(accounts.specs.filter(id__in=ids), lazy=True)
    assert not calls
    with commands.count() as calls:
        assert [e.username for e in lazy] == ["u0", "u1", "u2"]
        assert [e.id for e in lazy] == ids
        assert len(lazy) == 3
        assert bool(lazy)
    assert dict(calls) == {"json.mget": 1}


def test_lazy_filter_by_len_and_empty_bool(accounts: RedisRepository[Account],
                                           commands: CommandCounter) -> None:
    saved = accounts.save(username="x")
    lazy = accounts.filter(accounts.specs.filter(id__in=[saved.id]), lazy=True)
    with commands.count() as calls:
        assert len(lazy) == 1
        assert list(lazy) == [saved]
    assert dict(calls) == {"json.get": 1}
    empty = accounts.filter(accounts.specs.filter(id__in=["a", "b"]), lazy=True)
    with commands.count() as calls:
        assert not empty
        assert not empty
        assert list(empty) == []
    assert dict(calls) == {"json.mget": 1}


def test_lazy_count(accounts: RedisRepository[Account], commands: CommandCounter) -> None:
    for i in range(4):
        accounts.save(username=f"u{i}")
    assert accounts.count() == 4  # the index exists from here on
    with commands.count() as calls:
        lazy = accounts.count(lazy=True)
    assert not calls
    with commands.count() as calls:
        assert bool(lazy)
        assert lazy() == 4
        assert lazy == 4
    assert sum(calls.values()) == 1 and set(calls) <= {"ft.search", "ft.aggregate"}


def test_lazy_count_of_nothing_is_falsy(accounts: RedisRepository[Account],
                                        commands: CommandCounter) -> None:
    assert accounts.count() == 0
    lazy = accounts.count(lazy=True)
    with commands.count() as calls:
        assert not lazy
        assert lazy() == 0
    assert sum(calls.values()) == 1 and set(calls) <= {"ft.search", "ft.aggregate"}


def test_lazy_in_a_unit_of_work(make_uow: UowFactory,
                                accounts: RedisRepository[Account]) -> None:
    saved = accounts.save(username="x", balance=1)
    uow = make_uow(Account)
    with uow:
        repo = uow.repository
        lazy = repo.get(repo.specs.filter(id=saved.id), lazy=True)
        entity = lazy()
        entity.balance = 2
        repo.save(entity)
        uow.commit()
    assert accounts.get(accounts.specs.filter(id=saved.id)).balance == 2
