"""The library never depends on the client's response-callback table (issue 9, item 1).

redis-py's ``.json()`` and ``.ft()`` install callbacks for JSON.* / FT.* on the whole client,
and ``set_response_callback`` lets a user install anything. Every operation must give the
same answers before and after, on the four client flavours, sync and async.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
import redis

from assimilator_stack import RedisRepository, filter_, only, order
from assimilator_stack.testing.pytest_plugin import RedisClientFactory
from tests.support.helpers import RepoFactory, UowFactory
from tests.support.models import Account

pytestmark = pytest.mark.both_apis

# Every command the library sends, and the ones redis-py's pipelines send for it.
LIBRARY_COMMANDS = (
    "JSON.GET", "JSON.MGET", "JSON.SET", "JSON.DEL", "JSON.ARRAPPEND", "FT.SEARCH",
    "FT.AGGREGATE", "FT.CURSOR", "FT.CREATE", "FT.INFO", "FT.CONFIG", "INFO", "EXISTS", "DEL",
    "EXPIRE", "PEXPIRE", "PERSIST", "WATCH", "UNWATCH", "MULTI", "EXEC",
)


def poison(client: Any) -> None:
    """What users do to their clients: .json(), .ft(), and callbacks of their own."""
    client.json()
    client.ft("some-index")
    for command in LIBRARY_COMMANDS:
        client.set_response_callback(command, lambda reply, **options: "poisoned")


def user_client(any_client: redis.Redis, api: str, request: pytest.FixtureRequest) -> Any:
    """The client the repository under test runs on (the async twin for api="async")."""
    if api == "async":
        return request.getfixturevalue("bridge").twin(any_client)
    return any_client


def exercise(make_repo: RepoFactory, make_uow: UowFactory, session: redis.Redis
             ) -> list[Any]:
    """Every kind of read and write, in a fixed order; returns what the reads gave."""
    repo = make_repo(Account, session)
    seen: list[Any] = []
    a = repo.save(id="a", username="ann", balance=3)
    repo.save(id="b", username="bob", balance=1, expire_in=100)
    seen.append(repo.get(filter_(id="a")).username)
    seen.append(repo.get(filter_(username="bob")).id)
    seen.append([e.id for e in repo.filter(order("balance"))])
    seen.append([e.id for e in repo.filter(filter_(id__in=["a", "b"]))])
    seen.append([e.model_dump(exclude_unset=True) for e in repo.filter(only("username"),
                                                                        order("id"))])
    seen.append([e.id for e in repo.stream(order("-balance"), batch_size=1)])
    seen.append(repo.count())
    seen.append(repo.count(filter_(balance__gt=2)))
    a.balance = 5
    seen.append(repo.is_modified(a))
    repo.refresh(a)
    seen.append(a.balance)
    a.balance = 7
    repo.update(a)
    seen.append(repo.update(filter_(id="b"), balance=8))
    uow = make_uow(Account, session)
    with uow:
        mine = uow.repository.get(filter_(id="a"))
        mine.balance += 1
        uow.repository.save(mine)
        uow.repository.save(id="c", username="cy", only_create=True)
        uow.commit()
    seen.append(sorted((e.id, e.balance) for e in repo.filter()))
    repo.delete(repo.get(filter_(id="c")))
    seen.append(repo.delete(filter_(id="b")))
    seen.append([e.id for e in repo.filter()])
    return seen


def test_json_and_ft_and_own_callbacks_change_nothing(
        any_client: redis.Redis, make_repo: RepoFactory, make_uow: UowFactory, api: str,
        request: pytest.FixtureRequest, client: redis.Redis) -> None:
    session = user_client(any_client, api, request)
    before = exercise(make_repo, make_uow, any_client)
    client.flushall()
    poison(session)
    after = exercise(make_repo, make_uow, any_client)
    assert after == before
    assert before[0] == "ann" and before[-1] == ["a"]  # the exercise did read real data


def test_a_repository_made_before_the_client_is_poisoned(
        any_client: redis.Redis, make_repo: RepoFactory, api: str,
        request: pytest.FixtureRequest) -> None:
    session = user_client(any_client, api, request)
    repo = make_repo(Account, any_client)
    repo.save(id="x", username="xavier")
    poison(session)
    assert repo.get(filter_(id="x")).username == "xavier"
    assert [e.id for e in repo.filter(filter_(username="xavier"))] == ["x"]
    assert repo.count() == 1
    # the user's client keeps what the user installed
    assert session.response_callbacks["JSON.GET"](b"{}") == "poisoned"


def test_reads_by_id_after_json(any_client: redis.Redis, make_repo: RepoFactory,
                                make_uow: UowFactory, api: str,
                                request: pytest.FixtureRequest) -> None:
    """The issue's report, as a user meets it: one look at a document with ``.json()``."""
    session = user_client(any_client, api, request)
    repo = make_repo(Account, any_client)
    saved = repo.save(id="j", username="jo")
    user_client(any_client, "sync", request).json().get(f"t:account:{saved.id}")
    session.json()
    assert repo.get(filter_(id="j")) == saved
    assert repo.is_modified(saved) is False
    repo.refresh(saved)
    with make_uow(Account, any_client) as uow:
        assert uow.repository.get(filter_(id="j")) == saved


@pytest.mark.sync_only
@pytest.mark.parametrize("single", [False, True], ids=["pool", "single-connection"])
def test_the_repository_leaves_the_users_connections_alone(
        redis_client_factory: RedisClientFactory, single: bool) -> None:
    """The repository's view of the client shares its pool: dropping the repository closes
    nothing of the user's (same server-side connection before and after)."""
    user = redis_client_factory(single_connection_client=single)
    before = user.client_id()
    repo = RedisRepository(user, Account)
    repo.save(id="a", username="ann")
    assert repo.get(filter_(id="a")).username == "ann"
    del repo
    gc.collect()
    assert user.client_id() == before
    assert user.execute_command("JSON.GET", "t:account:a") is not None
