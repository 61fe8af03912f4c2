"""Least privilege (issue 8, item 7): a user allowed only the model's key prefix and the commands
the library needs — the JSON commands, FT.SEARCH / FT.AGGREGATE / FT.CURSOR / FT.INFO (no
FT.CREATE, no FT.CONFIG), MULTI / EXEC / WATCH / UNWATCH / DISCARD, and DEL / EXISTS /
PERSIST / EXPIRE / PEXPIRE on its keys; no INFO — can do everything README shows, once an
administrator created the index."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from typing import ClassVar

import pytest
import redis

from assimilator_stack import (
    AssimilatorConfig,
    ConcurrencyError,
    RedisCommandError,
    RedisModel,
    RedisRepository,
    filter_,
    only,
    order,
    paginate,
)
from tests.support.helpers import RepoFactory, UowFactory

pytestmark = pytest.mark.both_apis

PREFIX = "t:acl:job"

# README "Least privilege" lists the same commands.
LIBRARY_COMMANDS = (
    "+json.set", "+json.get", "+json.mget", "+json.del", "+json.arrappend", "+json.type",
    "+ft.search", "+ft.aggregate", "+ft.cursor", "+ft.info",
    "+multi", "+exec", "+watch", "+unwatch", "+discard",
    "+del", "+exists", "+persist", "+expire", "+pexpire",
)


class Job(RedisModel):
    status: str = "new"
    n: int = 0
    owner: str | None = None
    when: dt.datetime = dt.datetime(2024, 1, 1)

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = PREFIX


@pytest.fixture(params=[3, 2], ids=["resp3", "resp2"])
def restricted(client: redis.Redis, redis_stack_url: str, request: pytest.FixtureRequest
               ) -> Iterator[redis.Redis]:
    """A client logged in as a fresh least-privilege user (deleted afterwards: the embedded
    server is shared by the whole test session), over RESP3 and RESP2."""
    name = f"acl-test-{secrets.token_hex(4)}"
    password = secrets.token_hex(8)
    client.execute_command(
        "ACL", "SETUSER", name, "reset", "on", f">{password}", f"~{PREFIX}:*",
        "resetchannels", "-@all", "+@connection", *LIBRARY_COMMANDS,
    )
    user = redis.Redis.from_url(redis_stack_url, username=name, password=password,
                                protocol=request.param)
    try:
        yield user
    finally:
        user.close()
        client.execute_command("ACL", "DELUSER", name)


def test_the_user_really_lacks_the_admin_commands(restricted: redis.Redis) -> None:
    """The fixture is what it claims (otherwise the tests below prove nothing)."""
    for command in (("FT.CREATE", f"{PREFIX}:x", "ON", "JSON", "SCHEMA", "$.a", "TAG"),
                    ("INFO", "keyspace"), ("FT.CONFIG", "GET", "MAXAGGREGATERESULTS"),
                    ("JSON.SET", "t:other:1", "$", "{}")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            restricted.execute_command(*command)


def _admin_creates_index(client: redis.Redis) -> None:
    RedisRepository(client, Job).count()


def test_first_save_without_ft_create(client: redis.Redis, restricted: redis.Redis,
                                      make_repo: RepoFactory) -> None:
    """The first thing the application does is a save (today: NoPermission on FT.CREATE)."""
    _admin_creates_index(client)
    repo = make_repo(Job, restricted)
    saved = repo.save(status="new", n=1)
    assert repo.get(filter_(id=saved.id)) == saved
    assert repo.count(filter_(status="new")) == 1


def test_everything_readme_shows(client: redis.Redis, restricted: redis.Redis,
                                 make_repo: RepoFactory, make_uow: UowFactory) -> None:
    _admin_creates_index(client)
    repo = make_repo(Job, restricted)
    uow = make_uow(Job, restricted)
    with uow:
        for i in range(30):
            uow.repository.save(id=f"j{i:02}", n=i, status="new" if i % 2 else "old",
                                when=dt.datetime(2024, 1, 1) + dt.timedelta(days=i))
        uow.commit()
    assert repo.count() == 30
    assert repo.count(filter_(status="new")) == 15
    page = repo.filter(filter_(n__gte=10), order("-n"), paginate(limit=5, offset=2))
    assert [e.n for e in page] == [27, 26, 25, 24, 23]
    assert sorted(e.n for e in repo.stream(filter_(status="old"), batch_size=4)) == \
        list(range(0, 30, 2))
    assert [e.n for e in repo.stream(order("when"), batch_size=7)] == list(range(30))
    light = repo.filter(filter_(n__lt=3), only("n"), order("n"))
    assert [e.n for e in light] == [0, 1, 2]
    assert repo.get(filter_(id="j05")).n == 5
    repo.save(id="ttl", n=99, expire_in=100)
    assert 0 < client.ttl(f"{PREFIX}:ttl") <= 100
    repo.save(id="ttl", n=98)  # clears the TTL (PERSIST)
    assert client.ttl(f"{PREFIX}:ttl") == -1
    assert repo.update(filter_(status="old"), status="archived") == 15
    assert repo.delete(filter_(status="archived", n__lt=10)) == 5
    assert repo.count(filter_(status="archived")) == 10
    entity = repo.get(filter_(id="j01"))
    entity.owner = "me"
    repo.update(entity)
    repo.refresh(entity)
    assert entity.owner == "me"
    repo.delete(entity)
    assert repo.count() == 30 + 1 - 5 - 1
    # A unit of work with WATCH: a concurrent change makes the commit fail.
    other = make_repo(Job, restricted)
    with pytest.raises(ConcurrencyError), uow:
        claimed = uow.repository.get(filter_(id="j03"))
        other.update(filter_(id="j03"), owner="someone else")
        claimed.owner = "me"
        uow.repository.update(claimed)
        uow.commit()
    assert repo.get(filter_(id="j03")).owner == "someone else"
    with uow:
        # the 15 odd ones, less j01 (deleted), plus "ttl" (status "new" by default)
        assert uow.repository.update(filter_(status="new"), status="taken") == 15
        uow.commit()
    assert repo.count(filter_(status="taken")) == 15


def test_without_an_index_the_error_says_what_is_missing(restricted: redis.Redis,
                                                         make_repo: RepoFactory,
                                                         client: redis.Redis) -> None:
    """No index and no right to create it: a clear error, and nothing written."""
    repo = make_repo(Job, restricted)
    with pytest.raises(RedisCommandError) as err:
        repo.save(n=1)
    message = str(err.value)
    assert "FT.CREATE" in message and "administrator" in message
    assert client.keys(f"{PREFIX}:*") == []
    with pytest.raises(RedisCommandError, match=r"FT\.CREATE"):
        repo.count()
