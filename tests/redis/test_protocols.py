"""The repository works whatever the user's client speaks: RESP2 or RESP3 (redis-py 8's
default), decode_responses on or off. CRUD and unit-of-work tests elsewhere also run under the
four flavours (the ``any_client`` fixture); here are whole scenarios and cross-flavour reads."""

from __future__ import annotations

import itertools

import pytest
import redis

from assimilator_stack import (
    AlreadyExistsError,
    ConcurrencyError,
    LazyCommand,
    MultipleResultsError,
    NotFoundError,
    RedisRepository,
    RedisUnitOfWork,
    UpdateTargetMissingError,
)
from assimilator_stack.testing.pytest_plugin import RedisClientFactory
from tests.support.helpers import CLIENT_FLAVOURS, FLAVOUR_IDS, raw_json
from tests.support.models import ACCOUNT_PREFIX, PLAIN_PREFIX, Account, Note, PlainItem


def test_whole_scenario(any_client: redis.Redis, client: redis.Redis) -> None:
    repo = RedisRepository(session=any_client, model=Account)
    notes = RedisRepository(session=any_client, model=Note)

    a = repo.save(username="Åsa 😀", balance=1.5)
    b = repo.save(Account(username="b", id="id:with *special* chars"))
    notes.save(text="other model")
    assert repo.get(repo.specs.filter(id=a.id)) == a
    assert repo.filter(repo.specs.filter(id__in=[b.id, a.id])) == [b, a]
    with pytest.raises(MultipleResultsError):
        repo.get(repo.specs.filter(id__in=[a.id, b.id]))
    with pytest.raises(NotFoundError):
        repo.get(repo.specs.filter(id="none"))
    assert repo.count() == 2 and notes.count() == 1
    assert {e.id for e in repo.filter()} == {a.id, b.id}

    a.balance = 2.5
    assert repo.is_modified(a)
    repo.update(a)
    assert not repo.is_modified(a)
    with pytest.raises(UpdateTargetMissingError):
        repo.update(Account(username="ghost"))

    client.execute_command("JSON.SET", f"{ACCOUNT_PREFIX}:{a.id}", "$.balance", "9")
    repo.refresh(a)
    assert a.balance == 9

    lazy = repo.get(repo.specs.filter(id=b.id), lazy=True)
    assert isinstance(lazy, LazyCommand) and lazy.username == "b"

    uow = RedisUnitOfWork(repository=repo)
    with uow:
        mine = uow.repository.get(uow.repository.specs.filter(id=a.id))
        mine.balance += 1
        uow.repository.save(mine)
        c = uow.repository.save(username="c", expire_in=100)
        uow.commit()
    assert raw_json(client, f"{ACCOUNT_PREFIX}:{a.id}")["balance"] == 10
    assert 0 < client.ttl(f"{ACCOUNT_PREFIX}:{c.id}") <= 100

    with pytest.raises(ConcurrencyError), uow:
        mine = uow.repository.get(uow.repository.specs.filter(id=a.id))
        client.execute_command("JSON.SET", f"{ACCOUNT_PREFIX}:{a.id}", "$.balance", "0")
        uow.repository.save(mine, balance=99)
        uow.commit()
    assert raw_json(client, f"{ACCOUNT_PREFIX}:{a.id}")["balance"] == 0

    with pytest.raises(AlreadyExistsError), uow:
        uow.repository.save(username="dup", id=b.id, only_create=True)
        uow.commit()
    assert repo.get(repo.specs.filter(id=b.id)).username == "b"

    repo.delete(b)
    assert repo.count() == 2  # a and c
    assert client.ttl(f"{ACCOUNT_PREFIX}:{c.id}") > 0


def test_plain_model_with_int_id(any_client: redis.Redis, client: redis.Redis) -> None:
    repo = RedisRepository(session=any_client, model=PlainItem)
    repo.save(id=1, name="één", qty=2)
    repo.save(PlainItem(id=2, name="two"))
    assert repo.get(repo.specs.filter(id=1)) == PlainItem(id=1, name="één", qty=2)
    assert [i.id for i in repo.filter(repo.specs.filter(id__in=[2, 1]))] == [2, 1]
    assert repo.count() == 2
    assert client.exists(f"{PLAIN_PREFIX}:1", f"{PLAIN_PREFIX}:2") == 2


@pytest.mark.parametrize(
    "writer, reader",
    list(itertools.product(CLIENT_FLAVOURS, CLIENT_FLAVOURS)),
    ids=[f"{w}->{r}" for w, r in itertools.product(FLAVOUR_IDS, FLAVOUR_IDS)],
)
def test_written_by_one_flavour_read_by_another(redis_client_factory: RedisClientFactory,
                                                writer: tuple[int, bool],
                                                reader: tuple[int, bool]) -> None:
    w = redis_client_factory(protocol=writer[0], decode_responses=writer[1])
    r = redis_client_factory(protocol=reader[0], decode_responses=reader[1])
    written = RedisRepository(session=w, model=Account).save(
        username="ünïcödé \"quoted\" \\ back", id="ключ:😀", balance=-0.5)
    repo = RedisRepository(session=r, model=Account)
    assert repo.get(repo.specs.filter(id="ключ:😀")) == written
    assert repo.filter(repo.specs.filter(id__in=["ключ:😀"])) == [written]
    assert repo.count() == 1
    assert not repo.is_modified(written)
