"""Errors: what reaches the user when Redis is unreachable, slow, rejects a command, or holds a
document that no longer fits the model."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
import redis.exceptions as rx
from redis.backoff import NoBackoff
from redis.retry import Retry

import assimilator_stack
from assimilator_stack import (
    ConnectionFailedError,
    DataLayerError,
    InvalidDocumentError,
    InvalidQueryError,
    NotFoundError,
    RedisCommandError,
    RedisRepository,
    RedisUnitOfWork,
)
from tests.support.helpers import RepoFactory, UowFactory, closed_port, raw_json
from tests.support.models import ACCOUNT_PREFIX, Account

# Tests that build their repository with make_repo also run on the async classes; the
# unreachable-server ones run on them in tests/redis/test_aio.py.
pytestmark = pytest.mark.both_apis


def no_retry_client(**kwargs: Any) -> redis.Redis:
    # redis-py retries failed connections with backoff by default (seconds per call)
    return redis.Redis(retry=Retry(NoBackoff(), 0), socket_connect_timeout=2, **kwargs)


def test_every_error_is_a_data_layer_error() -> None:
    for name in assimilator_stack.__all__:
        obj = getattr(assimilator_stack, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, DataLayerError), name


# -- connection failures ----------------------------------------------------------------------

@pytest.fixture
def dead_repo() -> RedisRepository[Account]:
    return RedisRepository(session=no_retry_client(port=closed_port()), model=Account)


OPERATIONS: dict[str, Callable[[RedisRepository[Account]], Any]] = {
    "save": lambda r: r.save(username="x"),
    "get": lambda r: r.get(r.specs.filter(id="x")),
    "filter_ids": lambda r: r.filter(r.specs.filter(id__in=["x", "y"])),
    "filter_all": lambda r: r.filter(),
    "count": lambda r: r.count(),
    "update": lambda r: r.update(Account(username="x")),
    "delete": lambda r: r.delete(Account(username="x")),
    "refresh": lambda r: r.refresh(Account(username="x")),
    "is_modified": lambda r: r.is_modified(Account(username="x")),
    "lazy_get": lambda r: r.get(r.specs.filter(id="x"), lazy=True)(),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_unreachable_server_raises_connection_failed(dead_repo: RedisRepository[Account],
                                                     operation: str) -> None:
    with pytest.raises(ConnectionFailedError) as info:
        OPERATIONS[operation](dead_repo)
    assert isinstance(info.value, DataLayerError)
    assert isinstance(info.value.__cause__, rx.ConnectionError)
    assert "connect" in str(info.value).lower()


def test_unreachable_server_in_a_unit_of_work(dead_repo: RedisRepository[Account]) -> None:
    uow = RedisUnitOfWork(repository=dead_repo)
    with pytest.raises(ConnectionFailedError) as info, uow:
        uow.repository.save(username="queued")  # nothing is sent yet
        uow.commit()
    assert isinstance(info.value.__cause__, rx.ConnectionError)
    with pytest.raises(ConnectionFailedError), uow:
        uow.repository.get(uow.repository.specs.filter(id="x"))


def test_timeout_raises_connection_failed_then_recovers(redis_stack_url: str,
                                                        client: redis.Redis) -> None:
    slow = redis.Redis.from_url(redis_stack_url, socket_timeout=0.2,
                                retry=Retry(NoBackoff(), 0))
    repo = RedisRepository(session=slow, model=Account)
    saved = repo.save(username="a")
    client.execute_command("CLIENT", "PAUSE", "600", "ALL")  # the server stops answering
    try:
        with pytest.raises(ConnectionFailedError) as info:
            repo.get(repo.specs.filter(id=saved.id))
        assert isinstance(info.value.__cause__, (rx.TimeoutError, rx.ConnectionError))
    finally:
        time.sleep(0.7)
    assert repo.get(repo.specs.filter(id=saved.id)) == saved
    slow.close()


# -- commands Redis rejects -------------------------------------------------------------------

def test_key_of_another_type_is_a_command_error(make_repo: RepoFactory,
                                                client: redis.Redis) -> None:
    repo = make_repo(Account)
    client.set(f"{ACCOUNT_PREFIX}:str", "not json")
    with pytest.raises(RedisCommandError) as info:
        repo.get(repo.specs.filter(id="str"))
    assert isinstance(info.value.__cause__, rx.ResponseError)
    with pytest.raises(RedisCommandError, match=f"{ACCOUNT_PREFIX}:str"):
        repo.save(username="x", id="str")
    assert client.get(f"{ACCOUNT_PREFIX}:str") == b"not json"
    assert repo.save(username="ok").username == "ok"  # the repository keeps working


# -- documents that no longer fit the model ---------------------------------------------------

@pytest.mark.parametrize(
    "document, field",
    [
        ('{"id":"bad","username":123,"balance":1}', "username"),
        ('{"id":"bad","username":"u","balance":"lots"}', "balance"),
        ('{"id":"bad","balance":1}', "username"),
    ],
    ids=["wrong-type-str", "wrong-type-number", "missing-field"],
)
def test_a_bad_document_names_its_key_and_field_and_stops_nothing_else(
        any_client: redis.Redis, make_repo: RepoFactory, make_uow: UowFactory,
        client: redis.Redis, document: str, field: str) -> None:
    repo = make_repo(Account, any_client)
    good = repo.save(username="good")
    bad_key = f"{ACCOUNT_PREFIX}:bad"
    client.execute_command("JSON.SET", bad_key, "$", document)

    with pytest.raises(InvalidDocumentError) as info:
        repo.get(repo.specs.filter(id="bad"))
    assert info.value.key == bad_key and field in info.value.fields
    assert bad_key in str(info.value) and field in str(info.value)
    assert isinstance(info.value, DataLayerError)

    with pytest.raises(InvalidDocumentError, match=bad_key):
        repo.filter(repo.specs.filter(id__in=[good.id, "bad"]))
    with pytest.raises(InvalidDocumentError, match=bad_key):
        repo.refresh(Account(username="x", id="bad"))

    # everything else still works
    assert repo.get(repo.specs.filter(id=good.id)) == good
    other = repo.save(username="other")
    assert repo.filter(repo.specs.filter(id__in=[good.id, other.id])) == [good, other]
    repo.save(good, balance=3)
    assert repo.get(repo.specs.filter(id=good.id)).balance == 3
    # a unit of work that does not touch the bad document commits
    uow = make_uow(Account, any_client)
    with uow:
        uow.repository.save(username="in-uow")
        uow.commit()
    # and the bad document can be repaired by saving over it
    repo.save(username="fixed", id="bad")
    assert repo.get(repo.specs.filter(id="bad")).username == "fixed"
    assert raw_json(client, bad_key)["username"] == "fixed"


def test_a_document_that_is_not_an_object(make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(Account)
    client.execute_command("JSON.SET", f"{ACCOUNT_PREFIX}:list", "$", "[1,2]")
    with pytest.raises(InvalidDocumentError, match=f"{ACCOUNT_PREFIX}:list"):
        repo.get(repo.specs.filter(id="list"))


# -- bad specifications -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "make_spec, fragment",
    [
        (lambda s: s.paginate(limit=-1), "limit"),
        (lambda s: s.paginate(offset=-2), "offset"),
        (lambda s: s.paginate(limit="3"), "limit"),
        (lambda s: s.order(""), "order"),
        (lambda s: s.filter(s.order("id")), "filter"),
    ],
)
def test_bad_specifications_are_refused_before_redis(make_spec: Callable[[Any], Any],
                                                     fragment: str) -> None:
    with pytest.raises(InvalidQueryError, match=fragment):
        make_spec(RedisRepository.specs)


def test_entity_without_id_cannot_be_deleted(make_repo: RepoFactory) -> None:
    repo = make_repo(Account)
    with pytest.raises(InvalidQueryError, match="no id"):
        repo.delete({"username": "x"})
    with pytest.raises(NotFoundError):
        repo.refresh(Account(username="never-saved"))


@pytest.mark.sync_only  # threads; the async API shares a repository between tasks instead
def test_threads_share_a_repository_safely(make_repo: RepoFactory) -> None:
    # redis-py clients are thread safe; the repository adds no shared mutable state on reads
    repo = make_repo(Account)
    saved = [repo.save(username=f"u{i}") for i in range(20)]
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for entity in saved:
                assert repo.get(repo.specs.filter(id=entity.id)) == entity
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
