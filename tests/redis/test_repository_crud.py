"""RedisRepository CRUD on the real server, for every client flavour (RESP2/3, bytes/str)."""

from __future__ import annotations

import pytest
import redis

from assimilator_stack import (
    AsyncRepository,
    DataLayerError,
    InvalidQueryError,
    MultipleResultsError,
    NotFoundError,
    RedisRepository,
    Repository,
    UpdateTargetMissingError,
)
from tests.support.helpers import CommandCounter, RepoFactory, RoundTrips, UowFactory, raw_json
from tests.support.models import ACCOUNT_PREFIX, PLAIN_PREFIX, Account, Note, PlainItem
from tests.support.sync_facade import unwrap

pytestmark = pytest.mark.both_apis  # each test also runs on the async classes


@pytest.fixture
def accounts(any_client: redis.Redis, make_repo: RepoFactory) -> RedisRepository[Account]:
    return make_repo(Account, any_client)


def key(entity: Account) -> str:
    return f"{ACCOUNT_PREFIX}:{entity.id}"


def test_is_a_repository(accounts: RedisRepository[Account], api: str) -> None:
    assert isinstance(unwrap(accounts), Repository if api == "sync" else AsyncRepository)
    assert accounts.model is Account


# -- save -------------------------------------------------------------------------------------

def test_save_fields_returns_the_validated_entity(accounts: RedisRepository[Account],
                                                  client: redis.Redis) -> None:
    saved = accounts.save(username="Andrey", balance="1000")  # pydantic coerces "1000"
    assert isinstance(saved, Account)
    assert saved.balance == 1000.0 and isinstance(saved.balance, float)
    document = raw_json(client, key(saved))
    assert (document["id"], document["username"], document["balance"]) == (
        saved.id, "Andrey", 1000.0)


def test_save_obj_returns_it_and_stores_it(accounts: RedisRepository[Account],
                                           client: redis.Redis) -> None:
    entity = Account(username="x", balance=2)
    saved = accounts.save(entity)
    assert saved == entity
    assert raw_json(client, key(entity))["username"] == "x"


def test_save_obj_with_fields_overrides(accounts: RedisRepository[Account]) -> None:
    entity = Account(username="x", balance=2)
    saved = accounts.save(entity, balance=5)
    assert (saved.id, saved.username, saved.balance) == (entity.id, "x", 5.0)
    assert accounts.get(accounts.specs.filter(id=entity.id)).balance == 5.0


def test_save_invalid_fields_names_the_field(accounts: RedisRepository[Account],
                                             client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="balance"):
        accounts.save(username="x", balance="lots")
    with pytest.raises(ValueError, match="username"):
        accounts.save(balance=1)
    assert client.dbsize() == 0


def test_save_overwrites(accounts: RedisRepository[Account]) -> None:
    entity = accounts.save(username="x", balance=1)
    accounts.save(entity.model_copy(update={"balance": 9.5}))
    assert accounts.get(accounts.specs.filter(id=entity.id)).balance == 9.5
    assert accounts.count() == 1


# -- get / filter by id -----------------------------------------------------------------------

def test_get_by_id(accounts: RedisRepository[Account]) -> None:
    a = accounts.save(username="a")
    accounts.save(username="b")
    assert accounts.get(accounts.specs.filter(id=a.id)) == a
    assert accounts.get(accounts.specs.filter(id__in=[a.id, "missing"])) == a


def test_get_missing_raises_not_found(accounts: RedisRepository[Account]) -> None:
    accounts.save(username="a")
    with pytest.raises(NotFoundError, match="Account"):
        accounts.get(accounts.specs.filter(id="nope"))
    with pytest.raises(NotFoundError):
        accounts.get(accounts.specs.filter(id__in=["nope", "nope2"]))
    with pytest.raises(NotFoundError):
        accounts.get(accounts.specs.filter(id__in=[]))
    assert issubclass(NotFoundError, DataLayerError)


def test_get_two_matches_raises_multiple_results(accounts: RedisRepository[Account]) -> None:
    a, b = accounts.save(username="a"), accounts.save(username="b")
    with pytest.raises(MultipleResultsError, match="Account"):
        accounts.get(accounts.specs.filter(id__in=[a.id, b.id]))
    # the same id twice is one entity
    assert accounts.get(accounts.specs.filter(id__in=[a.id, a.id])) == a


def test_filter_by_ids_keeps_the_asked_order(accounts: RedisRepository[Account]) -> None:
    saved = [accounts.save(username=f"u{i}") for i in range(5)]
    wanted = [saved[3].id, "missing", saved[0].id, saved[4].id]
    found = accounts.filter(accounts.specs.filter(id__in=wanted))
    assert [e.username for e in found] == ["u3", "u0", "u4"]
    assert accounts.filter(accounts.specs.filter(id="missing")) == []
    assert accounts.filter(accounts.specs.filter(id=saved[1].id)) == [saved[1]]


def test_filter_without_specs_returns_every_entity(accounts: RedisRepository[Account],
                                                   make_repo: RepoFactory,
                                                   any_client: redis.Redis) -> None:
    made = {accounts.save(username=f"u{i}").id for i in range(3)}
    make_repo(Note, any_client).save(text="not an account")
    found = accounts.filter()
    assert {e.id for e in found} == made
    assert all(isinstance(e, Account) for e in found)


def test_filter_by_id_with_paginate(accounts: RedisRepository[Account]) -> None:
    saved = [accounts.save(username=f"u{i}") for i in range(4)]
    ids = [e.id for e in saved]
    page = accounts.filter(accounts.specs.filter(id__in=ids), accounts.specs.paginate(limit=2,
                                                                                     offset=1))
    assert [e.username for e in page] == ["u1", "u2"]


@pytest.mark.sync_only  # counts round trips with a sync connection class
def test_get_by_id_is_one_json_get(client: redis.Redis, make_repo: RepoFactory,
                                   commands: CommandCounter,
                                   counting_client: tuple[redis.Redis, RoundTrips]) -> None:
    counted, trips = counting_client
    repo = make_repo(Account, counted)
    a, b, c = (repo.save(username=n) for n in "abc")
    trips.sent = 0
    with commands.count() as calls:
        assert repo.get(repo.specs.filter(id=a.id)) == a
    assert dict(calls) == {"json.get": 1}
    assert trips.sent == 1

    trips.sent = 0
    with commands.count() as calls:
        found = repo.filter(repo.specs.filter(id__in=[c.id, b.id, a.id]))
    assert [e.username for e in found] == ["c", "b", "a"]
    assert dict(calls) == {"json.mget": 1}
    assert trips.sent == 1

    trips.sent = 0
    with commands.count() as calls, pytest.raises(MultipleResultsError):
        repo.get(repo.specs.filter(id__in=[a.id, b.id]))
    assert dict(calls) == {"json.mget": 1}
    assert trips.sent == 1


def test_filter_on_other_fields_is_refused_clearly_or_served(
        accounts: RedisRepository[Account]) -> None:
    # Filtering on other fields is the query engine's job (issue 3). Until it is there, the
    # repository must say so instead of returning something wrong.
    a = accounts.save(username="a")
    accounts.save(username="b")
    try:
        found = accounts.filter(accounts.specs.filter(username="a"))
    except InvalidQueryError as exc:
        assert "not supported" in str(exc)
    else:
        assert found == [a]


def test_unknown_specification_is_refused(accounts: RedisRepository[Account]) -> None:
    with pytest.raises(InvalidQueryError, match="expected a specification"):
        accounts.filter(42)


# -- update -----------------------------------------------------------------------------------

def test_update_existing(accounts: RedisRepository[Account]) -> None:
    entity = accounts.save(username="a", balance=1)
    entity.balance = 7
    updated = accounts.update(entity)
    assert updated.balance == 7
    assert accounts.get(accounts.specs.filter(id=entity.id)).balance == 7


def test_update_missing_writes_nothing(accounts: RedisRepository[Account],
                                       client: redis.Redis) -> None:
    ghost = Account(username="ghost")
    with pytest.raises(UpdateTargetMissingError) as info:
        accounts.update(ghost)
    assert key(ghost) in str(info.value) and info.value.key == key(ghost)
    assert isinstance(info.value, NotFoundError)
    assert client.exists(key(ghost)) == 0
    assert client.dbsize() == 0


# -- delete -----------------------------------------------------------------------------------

def test_delete(accounts: RedisRepository[Account], client: redis.Redis) -> None:
    a, b = accounts.save(username="a"), accounts.save(username="b")
    accounts.delete(a)
    assert client.exists(key(a)) == 0
    with pytest.raises(NotFoundError):
        accounts.get(accounts.specs.filter(id=a.id))
    assert accounts.get(accounts.specs.filter(id=b.id)) == b
    assert accounts.count() == 1
    accounts.delete(a)  # deleting what is gone is not an error
    assert accounts.count() == 1


# -- refresh / is_modified --------------------------------------------------------------------

def test_refresh_updates_in_place(accounts: RedisRepository[Account],
                                  any_client: redis.Redis, make_repo: RepoFactory) -> None:
    mine = accounts.save(username="a", balance=1)
    other = make_repo(Account, any_client)
    theirs = other.get(other.specs.filter(id=mine.id))
    theirs.balance = 42
    theirs.username = "changed"
    other.save(theirs)
    same_object = mine
    accounts.refresh(mine)
    assert mine is same_object
    assert (mine.username, mine.balance) == ("changed", 42)


def test_refresh_of_a_deleted_entity_raises(accounts: RedisRepository[Account],
                                            client: redis.Redis) -> None:
    entity = accounts.save(username="a")
    client.delete(key(entity))
    with pytest.raises(NotFoundError, match="does not exist"):
        accounts.refresh(entity)
    assert entity.username == "a"  # left as it was


def test_is_modified(accounts: RedisRepository[Account], client: redis.Redis) -> None:
    entity = accounts.save(username="a", balance=1)
    assert accounts.is_modified(entity) is False
    entity.balance = 2
    assert accounts.is_modified(entity) is True
    accounts.save(entity)
    assert accounts.is_modified(entity) is False
    # changed by someone else
    client.execute_command("JSON.SET", key(entity), "$.username", '"z"')
    assert accounts.is_modified(entity) is True
    # a write option is not part of the entity's state
    accounts.refresh(entity)
    entity.keep_ttl = True
    assert accounts.is_modified(entity) is False
    # gone: differs from what is stored (nothing)
    client.delete(key(entity))
    assert accounts.is_modified(entity) is True


# -- count ------------------------------------------------------------------------------------

def test_count_counts_only_this_model(accounts: RedisRepository[Account],
                                      any_client: redis.Redis, make_repo: RepoFactory) -> None:
    notes = make_repo(Note, any_client)
    assert accounts.count() == 0 and notes.count() == 0
    for i in range(3):
        accounts.save(username=f"u{i}")
    for i in range(5):
        notes.save(text=f"n{i}")
    any_client.set("t:accountant", "a key that only looks alike")
    assert accounts.count() == 3
    assert notes.count() == 5
    a = accounts.filter()[0]
    accounts.delete(a)
    assert accounts.count() == 2 and notes.count() == 5


def test_count_by_ids(accounts: RedisRepository[Account]) -> None:
    a, b = accounts.save(username="a"), accounts.save(username="b")
    assert accounts.count(accounts.specs.filter(id=a.id)) == 1
    assert accounts.count(accounts.specs.filter(id__in=[a.id, b.id, "x"])) == 2
    assert accounts.count(accounts.specs.filter(id="x")) == 0


def test_count_after_flushall_recreates_the_index(accounts: RedisRepository[Account],
                                                  client: redis.Redis) -> None:
    accounts.save(username="a")
    assert accounts.count() == 1
    client.flushall()  # drops the index behind the repository's back
    accounts.save(username="b")
    accounts.save(username="c")
    assert accounts.count() == 2


def test_refresh_updates_extra_fields(any_client: redis.Redis, make_repo: RepoFactory,
                                      client: redis.Redis) -> None:
    repo = make_repo(PlainItem, any_client)
    item = repo.save(id=1, name="a", color="red")  # extra="allow" keeps unknown keys
    assert raw_json(client, f"{PLAIN_PREFIX}:1")["color"] == "red"
    client.execute_command("JSON.SET", f"{PLAIN_PREFIX}:1", "$", '{"id":1,"name":"b","size":3}')
    repo.refresh(item)
    assert item.name == "b"
    assert item.model_extra == {"size": 3}
    assert not repo.is_modified(item)


def test_filter_returns_every_entity_past_ten_thousand(make_repo: RepoFactory,
                                                       make_uow: UowFactory) -> None:
    uow = make_uow(Note)
    with uow:
        for i in range(10_050):
            uow.repository.save(text=f"n{i}", id=f"n{i}")
        uow.commit()
    notes = make_repo(Note)
    assert notes.count() == 10_050
    found = notes.filter()
    assert len(found) == 10_050
    assert {n.id for n in found} == {f"n{i}" for i in range(10_050)}
