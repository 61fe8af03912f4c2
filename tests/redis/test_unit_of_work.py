"""RedisUnitOfWork: one MULTI/EXEC per commit, all or nothing, optimistic concurrency, TTL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis

from assimilator_stack import (
    AlreadyExistsError,
    AsyncRedisRepository,
    AsyncUnitOfWork,
    ConcurrencyError,
    NotFoundError,
    RedisRepository,
    RedisUnitOfWork,
    UnitOfWork,
    UpdateTargetMissingError,
    retry_on_conflict,
)
from tests.support.helpers import MonitorLog, RepoFactory, UowFactory, names, raw_json
from tests.support.models import ACCOUNT_PREFIX, COUNTER_PREFIX, Account, Counter, Note
from tests.support.sync_facade import unwrap

pytestmark = pytest.mark.both_apis  # each test also runs on the async classes


def key(entity: Account) -> str:
    return f"{ACCOUNT_PREFIX}:{entity.id}"


@pytest.fixture
def uow(any_client: redis.Redis, make_uow: UowFactory) -> RedisUnitOfWork:
    return make_uow(Account, any_client)


@pytest.fixture
def accounts(any_client: redis.Redis, make_repo: RepoFactory) -> RedisRepository[Account]:
    """A repository outside any unit of work (another client's view)."""
    return make_repo(Account, any_client)


def test_is_a_unit_of_work(uow: RedisUnitOfWork, api: str) -> None:
    if api == "sync":
        assert isinstance(uow, UnitOfWork)
        assert isinstance(uow.repository, RedisRepository)
    else:
        assert isinstance(unwrap(uow), AsyncUnitOfWork)
        assert isinstance(unwrap(uow.repository), AsyncRedisRepository)


def test_writes_are_invisible_until_commit(uow: RedisUnitOfWork, client: redis.Redis) -> None:
    with uow:
        a = uow.repository.save(username="a")
        b = uow.repository.save(username="b", expire_in=100)
        assert client.exists(key(a), key(b)) == 0  # seen from a second client
        assert client.dbsize() == 0
        uow.commit()
        assert client.exists(key(a), key(b)) == 2
    assert raw_json(client, key(a))["username"] == "a"
    assert 0 < client.ttl(key(b)) <= 100


def test_commit_is_one_multi_exec(any_client: redis.Redis, make_uow: UowFactory,
                                  make_repo: RepoFactory, monitor: MonitorLog) -> None:
    existing = make_repo(Account, any_client).save(username="old")
    uow = make_uow(Account, any_client)
    with monitor.record() as log, uow:
        repo = uow.repository
        repo.save(username="a", expire_in=100)
        repo.save(username="b")
        repo.delete(existing)
        assert log == [] or "MULTI" not in names(log)
        uow.commit()
    commands = names(log)
    assert commands.count("MULTI") == 1 and commands.count("EXEC") == 1
    inside = commands[commands.index("MULTI") + 1: commands.index("EXEC")]
    assert inside.count("JSON.SET") == 2 and "EXPIRE" in inside and "DEL" in inside
    assert [c for c in commands if c in ("JSON.SET", "EXPIRE", "DEL", "PERSIST")] == [
        c for c in inside if c in ("JSON.SET", "EXPIRE", "DEL", "PERSIST")]  # none outside
    ports = {entry["client_port"] for entry in log[commands.index("MULTI"):]}
    assert len(ports) == 1  # MULTI ... EXEC on one connection


def test_leaving_without_commit_writes_nothing(uow: RedisUnitOfWork,
                                               accounts: RedisRepository[Account],
                                               client: redis.Redis) -> None:
    existing = accounts.save(username="keep")
    with uow:
        uow.repository.save(username="a")
        uow.repository.delete(existing)
    assert client.dbsize() == 1
    assert accounts.get(accounts.specs.filter(id=existing.id)) == existing
    # and nothing leaks into the next block
    with uow:
        uow.repository.save(username="b")
        uow.commit()
    assert client.dbsize() == 2


def test_autocommit_commits_on_exit(any_client: redis.Redis, make_uow: UowFactory,
                                    client: redis.Redis) -> None:
    uow = make_uow(Account, any_client, autocommit=True)
    with uow:
        a = uow.repository.save(username="a")
        assert client.exists(key(a)) == 0
    assert client.exists(key(a)) == 1


def test_exception_rolls_back_and_propagates(uow: RedisUnitOfWork, client: redis.Redis,
                                             make_uow: UowFactory,
                                             any_client: redis.Redis) -> None:
    with pytest.raises(RuntimeError, match="boom"), uow:
        uow.repository.save(username="a")
        raise RuntimeError("boom")
    assert client.dbsize() == 0
    auto = make_uow(Account, any_client, autocommit=True)
    with pytest.raises(KeyError), auto:
        auto.repository.save(username="a")
        raise KeyError("x")
    assert client.dbsize() == 0


def test_several_commits_in_one_block(uow: RedisUnitOfWork, client: redis.Redis) -> None:
    with uow:
        a = uow.repository.save(username="a")
        uow.commit()
        assert client.exists(key(a)) == 1
        b = uow.repository.save(username="b")
        assert client.exists(key(b)) == 0
        uow.commit()
        assert client.exists(key(b)) == 1
        c = uow.repository.save(username="c")  # not committed
        found = uow.repository.get(uow.repository.specs.filter(id=a.id))
        found.balance = 5
        uow.repository.save(found)
        uow.commit()
        d = uow.repository.save(username="d")  # left out
    assert client.exists(key(a), key(b), key(c), key(d)) == 3
    assert raw_json(client, key(a))["balance"] == 5


def test_commit_with_nothing_queued_is_fine(uow: RedisUnitOfWork, client: redis.Redis) -> None:
    with uow:
        uow.commit()
    assert client.dbsize() == 0


def test_unit_of_work_reads_see_stored_entities(uow: RedisUnitOfWork,
                                                accounts: RedisRepository[Account]) -> None:
    a = accounts.save(username="a", balance=1)
    with uow:
        repo = uow.repository
        assert repo.get(repo.specs.filter(id=a.id)) == a
        assert repo.filter(repo.specs.filter(id__in=[a.id])) == [a]
        assert repo.count() == 1
        with pytest.raises(NotFoundError):
            repo.get(repo.specs.filter(id="missing"))


# -- optimistic concurrency -------------------------------------------------------------------

def test_entity_changed_by_another_client_aborts_the_commit(
        uow: RedisUnitOfWork, accounts: RedisRepository[Account], client: redis.Redis) -> None:
    a = accounts.save(username="a", balance=1)
    with pytest.raises(ConcurrencyError, match="retry_on_conflict"), uow:
        repo = uow.repository
        mine = repo.get(repo.specs.filter(id=a.id))
        mine.balance += 10
        repo.save(mine)
        new = repo.save(username="new")
        # another client changes the entity before commit
        client.execute_command("JSON.SET", key(a), "$.balance", "100")
        uow.commit()
    assert raw_json(client, key(a))["balance"] == 100  # theirs, not ours
    assert client.exists(key(new)) == 0  # the other queued write did not land


def test_entity_deleted_by_another_client_aborts_the_commit(
        uow: RedisUnitOfWork, accounts: RedisRepository[Account], client: redis.Redis) -> None:
    a = accounts.save(username="a")
    b = accounts.save(username="b")
    with pytest.raises(ConcurrencyError), uow:
        repo = uow.repository
        mine = repo.get(repo.specs.filter(id=a.id))
        repo.delete(b)
        repo.save(mine, balance=3)
        client.delete(key(a))
        uow.commit()
    assert client.exists(key(a)) == 0 and client.exists(key(b)) == 1


@pytest.mark.parametrize("read", ["get", "filter", "refresh"])
def test_every_read_is_watched(read: str, uow: RedisUnitOfWork,
                               accounts: RedisRepository[Account], client: redis.Redis) -> None:
    a = accounts.save(username="a")
    with pytest.raises(ConcurrencyError), uow:
        repo = uow.repository
        if read == "get":
            repo.get(repo.specs.filter(id=a.id))
        elif read == "filter":
            repo.filter(repo.specs.filter(id__in=[a.id]))
        else:
            repo.refresh(a.model_copy())
        client.execute_command("JSON.SET", key(a), "$.username", '"theirs"')
        repo.save(username="x")
        uow.commit()
    assert client.dbsize() == 1


def test_missing_entity_read_then_created_aborts(uow: RedisUnitOfWork,
                                                 client: redis.Redis) -> None:
    with pytest.raises(ConcurrencyError), uow:
        repo = uow.repository
        with pytest.raises(NotFoundError):
            repo.get(repo.specs.filter(id="later"))
        client.execute_command("JSON.SET", f"{ACCOUNT_PREFIX}:later", "$",
                               '{"id":"later","username":"theirs"}')
        repo.save(username="mine", id="later")
        uow.commit()
    assert raw_json(client, f"{ACCOUNT_PREFIX}:later")["username"] == "theirs"


def test_unchanged_reads_commit_fine_and_retry_works_after_conflict(
        uow: RedisUnitOfWork, accounts: RedisRepository[Account], client: redis.Redis) -> None:
    a = accounts.save(username="a", balance=1)
    attempts = []

    def add_ten() -> float:
        with uow:
            repo = uow.repository
            mine = repo.get(repo.specs.filter(id=a.id))
            if not attempts:  # someone else writes during the first attempt only
                client.execute_command("JSON.NUMINCRBY", key(a), "$.balance", "100")
            attempts.append(1)
            mine.balance += 10
            repo.save(mine)
            uow.commit()
        return mine.balance

    assert retry_on_conflict(add_ten) == 111
    assert len(attempts) == 2
    assert raw_json(client, key(a))["balance"] == 111


@pytest.mark.sync_only  # threads; tests/redis/test_aio.py has 100 tasks on the async API
def test_threads_lose_no_update(make_uow: UowFactory, make_repo: RepoFactory,
                                client: redis.Redis) -> None:
    threads_n, per_thread = 8, 25
    counters = make_repo(Counter)
    counters.save(id="shared", value=0)
    errors: list[BaseException] = []

    def increment(uow: RedisUnitOfWork) -> None:
        with uow:
            repo = uow.repository
            counter = repo.get(repo.specs.filter(id="shared"))
            counter.value += 1
            repo.save(counter)
            uow.commit()

    def worker() -> None:
        try:
            uow = make_uow(Counter)
            for _ in range(per_thread):
                retry_on_conflict(increment, uow, attempts=1000)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert not errors, errors
    assert raw_json(client, f"{COUNTER_PREFIX}:shared")["value"] == threads_n * per_thread
    assert counters.get(counters.specs.filter(id="shared")).value == 200


def test_connections_are_given_back(any_client: redis.Redis, make_uow: UowFactory,
                                    make_repo: RepoFactory, client: redis.Redis) -> None:
    a = make_repo(Account, any_client).save(username="a")
    uow = make_uow(Account, any_client)
    for i in range(30):
        with pytest.raises((RuntimeError, ConcurrencyError)) if i % 3 else _nothing(), uow:
            repo = uow.repository
            found = repo.get(repo.specs.filter(id=a.id))
            repo.save(found)
            if i % 3 == 1:
                raise RuntimeError("leave")
            if i % 3 == 2:
                client.execute_command("JSON.SET", key(a), "$.balance", str(i))
            uow.commit()
    pool: Any = unwrap(uow).repository.session.connection_pool  # any_client's, or its twin's
    assert len(pool._in_use_connections) == 0  # every WATCH connection was given back
    # one connection for plain commands, one for the watched block: not one per block
    assert len(pool._available_connections) <= 3


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# -- only_create / only_update for the whole commit -------------------------------------------

def test_only_create_failing_writes_nothing(uow: RedisUnitOfWork,
                                            accounts: RedisRepository[Account],
                                            client: redis.Redis) -> None:
    taken = accounts.save(username="taken")
    with pytest.raises(AlreadyExistsError) as info, uow:
        repo = uow.repository
        fresh = repo.save(username="fresh", only_create=True)
        other = repo.save(username="other")
        repo.save(username="dup", id=taken.id, only_create=True)
        uow.commit()
    assert info.value.key == key(taken) and key(taken) in str(info.value)
    assert client.exists(key(fresh), key(other)) == 0
    assert raw_json(client, key(taken))["username"] == "taken"
    with uow:
        uow.repository.save(username="fresh", only_create=True)
        uow.commit()
    assert client.dbsize() == 2


def test_only_update_failing_writes_nothing(uow: RedisUnitOfWork,
                                            accounts: RedisRepository[Account],
                                            client: redis.Redis) -> None:
    there = accounts.save(username="there", balance=1)
    with pytest.raises(UpdateTargetMissingError) as info, uow:
        repo = uow.repository
        repo.save(there, balance=2, only_update=True)
        ghost = repo.save(username="ghost", only_update=True)
        uow.commit()
    assert info.value.key == key(ghost) and key(ghost) in str(info.value)
    assert raw_json(client, key(there))["balance"] == 1
    assert client.exists(key(ghost)) == 0


def test_update_in_a_unit_of_work_is_only_update(uow: RedisUnitOfWork,
                                                 accounts: RedisRepository[Account],
                                                 client: redis.Redis) -> None:
    there = accounts.save(username="there", balance=1)
    with pytest.raises(UpdateTargetMissingError), uow:
        repo = uow.repository
        repo.update(there.model_copy(update={"balance": 2}))
        repo.update(Account(username="ghost"))
        uow.commit()
    assert raw_json(client, key(there))["balance"] == 1
    assert client.dbsize() == 1


def test_only_create_and_only_update_succeed_together(uow: RedisUnitOfWork,
                                                      accounts: RedisRepository[Account],
                                                      client: redis.Redis) -> None:
    there = accounts.save(username="there")
    with uow:
        repo = uow.repository
        new = repo.save(username="new", only_create=True)
        repo.save(there, username="changed", only_update=True)
        uow.commit()
    assert raw_json(client, key(new))["username"] == "new"
    assert raw_json(client, key(there))["username"] == "changed"


def test_key_created_by_another_client_after_check_is_caught(
        uow: RedisUnitOfWork, client: redis.Redis) -> None:
    with pytest.raises(AlreadyExistsError), uow:
        repo = uow.repository
        mine = repo.save(username="mine", id="race", only_create=True)
        client.execute_command("JSON.SET", key(mine), "$", '{"id":"race","username":"theirs"}')
        uow.commit()
    assert raw_json(client, key(mine))["username"] == "theirs"


# -- TTL --------------------------------------------------------------------------------------

def test_ttl_is_set_in_the_commit(uow: RedisUnitOfWork, client: redis.Redis,
                                  monitor: MonitorLog) -> None:
    with monitor.record() as log, uow:
        s = uow.repository.save(username="s", expire_in=100)
        ms = uow.repository.save(username="ms", expire_in_px=100_000)
        uow.commit()
    assert 0 < client.ttl(key(s)) <= 100
    assert 90_000 < client.pttl(key(ms)) <= 100_000
    commands = names(log)
    inside = commands[commands.index("MULTI") + 1: commands.index("EXEC")]
    assert inside.count("EXPIRE") == 1 and inside.count("PEXPIRE") == 1
    assert commands.count("EXPIRE") == 1 and commands.count("PEXPIRE") == 1


def test_later_save_clears_ttl_unless_keep_ttl(uow: RedisUnitOfWork,
                                               accounts: RedisRepository[Account],
                                               client: redis.Redis) -> None:
    entity = accounts.save(username="t", expire_in=100)
    with uow:
        uow.repository.save(entity.model_copy(update={"balance": 1, "expire_in": None}),
                            keep_ttl=True)
        uow.commit()
    assert 0 < client.ttl(key(entity)) <= 100
    assert raw_json(client, key(entity))["balance"] == 1
    loaded = accounts.get(accounts.specs.filter(id=entity.id))  # no write options
    with uow:
        uow.repository.save(loaded, balance=2)
        uow.commit()
    assert client.ttl(key(entity)) == -1
    assert raw_json(client, key(entity))["balance"] == 2


def test_update_follows_the_ttl_rule(accounts: RedisRepository[Account],
                                     client: redis.Redis, uow: RedisUnitOfWork) -> None:
    entity = accounts.save(username="t", expire_in_px=100_000)
    loaded = accounts.get(accounts.specs.filter(id=entity.id))
    loaded.keep_ttl = True
    accounts.update(loaded)
    assert 0 < client.pttl(key(entity)) <= 100_000
    loaded.keep_ttl = False
    loaded.balance = 3
    accounts.update(loaded)
    assert client.ttl(key(entity)) == -1
    with uow:
        uow.repository.update(loaded, expire_in=50)
        uow.commit()
    assert 0 < client.ttl(key(entity)) <= 50
    with uow:
        uow.repository.update(loaded)
        uow.commit()
    assert client.ttl(key(entity)) == -1


def test_ttl_rule_outside_a_unit_of_work(accounts: RedisRepository[Account],
                                        client: redis.Redis) -> None:
    entity = accounts.save(username="t", expire_in=100)
    assert 0 < client.ttl(key(entity)) <= 100
    accounts.save(username="t", id=entity.id, keep_ttl=True)
    assert 0 < client.ttl(key(entity)) <= 100
    accounts.save(username="t", id=entity.id)
    assert client.ttl(key(entity)) == -1


def test_two_models_in_one_commit_through_two_units_of_work(
        make_uow: UowFactory, any_client: redis.Redis, client: redis.Redis) -> None:
    # each unit of work serves one repository; writes of a second model go through its own
    accounts_uow = make_uow(Account, any_client)
    notes_uow = make_uow(Note, any_client)
    with accounts_uow, notes_uow:
        a = accounts_uow.repository.save(username="a")
        n = notes_uow.repository.save(text="n")
        accounts_uow.commit()
        notes_uow.commit()
    assert client.exists(key(a), f"t:note:{n.id}") == 2
