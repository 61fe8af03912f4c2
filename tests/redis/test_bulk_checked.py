"""Bulk update / delete outside a unit of work change only what still matches when they write
(issue 8, item 3): each batch of found keys is WATCHed, checked again in Redis, written in one
MULTI/EXEC (tried again if one of its keys changed meanwhile), and only what was written is
counted. Shown with the exact race (another client writes right after the search) and with
12 processes running the same bulk write at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
import redis
import redis.asyncio

from assimilator_stack import (
    AlreadyExistsError,
    AssimilatorConfig,
    ConcurrencyError,
    RedisModel,
    RedisRepository,
    filter_,
)
from assimilator_stack.aio import AsyncRedisRepository
from tests.support.concurrency_support import after_search, run_processes
from tests.support.helpers import RepoFactory

pytestmark = pytest.mark.both_apis

LEASE_PREFIX = "t:lease"


class Lease(RedisModel):
    name: str = ""
    status: str = "pending"
    owner: str = ""
    renewed: int = 0

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = LEASE_PREFIX


def stored(client: redis.Redis, lease_id: str) -> Any:
    raw = client.execute_command("JSON.GET", f"{LEASE_PREFIX}:{lease_id}")
    return None if raw is None else json.loads(raw)


def set_field(client: redis.Redis, lease_id: str, field: str, value: Any) -> Callable[[], None]:
    """Another client's write of one field (the index follows JSON.SET on a path)."""
    def action() -> None:
        client.execute_command("JSON.SET", f"{LEASE_PREFIX}:{lease_id}", f"$.{field}",
                               json.dumps(value))
    return action


def make_leases(repo: Any, n: int, status: str) -> None:
    for i in range(n):
        repo.save(id=f"l{i}", name=f"lease{i}", status=status)


# -- the race, step by step --------------------------------------------------------------------

@pytest.mark.parametrize("inexact", [False, True])
def test_delete_leaves_a_lease_renewed_after_the_search(
        inexact: bool, make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(Lease)
    make_leases(repo, 5, "expired")
    spec = filter_(status="expired", name__startswith="lease") if inexact \
        else filter_(status="expired")
    with after_search(set_field(client, "l2", "status", "active")) as fired:
        deleted = repo.delete(spec)
    assert fired
    assert deleted == 4
    assert stored(client, "l2")["status"] == "active"
    assert client.keys(f"{LEASE_PREFIX}:*") == [f"{LEASE_PREFIX}:l2".encode()]


@pytest.mark.parametrize("inexact", [False, True])
def test_update_leaves_an_entity_cancelled_after_the_search(
        inexact: bool, make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(Lease)
    make_leases(repo, 5, "pending")
    spec = filter_(status="pending", name__startswith="lease") if inexact \
        else filter_(status="pending")
    with after_search(set_field(client, "l3", "status", "cancelled")):
        changed = repo.update(spec, status="processing")
    assert changed == 4
    assert stored(client, "l3")["status"] == "cancelled"
    assert [stored(client, f"l{i}")["status"] for i in (0, 1, 2, 4)] == ["processing"] * 4
    assert repo.count(filter_(status="processing")) == 4


def test_a_python_checked_part_is_checked_again(make_repo: RepoFactory,
                                                client: redis.Redis) -> None:
    repo = make_repo(Lease)
    make_leases(repo, 3, "pending")
    with after_search(set_field(client, "l1", "name", "renamed")):
        changed = repo.update(filter_(name__startswith="lease"), owner="me")
    assert changed == 2
    assert stored(client, "l1")["owner"] == ""


def test_a_change_between_the_check_and_the_write_retries_the_batch(
        make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(Lease)
    make_leases(repo, 5, "pending")
    # after the search, nothing; after the re-check (the keys are watched): a cancel, so the
    # MULTI/EXEC is refused and the batch is checked again
    with after_search(lambda: None, set_field(client, "l0", "status", "cancelled")) as fired:
        changed = repo.update(filter_(status="pending"), status="processing")
    assert len(fired) == 2
    assert changed == 4
    assert stored(client, "l0")["status"] == "cancelled"


def test_a_batch_that_keeps_changing_raises_and_says_what_was_written(
        make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(Lease)
    make_leases(repo, 3, "pending")
    renewals = [set_field(client, "l1", "renewed", n) for n in range(1, 100)]
    # the first action runs after the search; every re-check is followed by a renewal that
    # keeps l1 matching and breaks the WATCH
    # The batch [l0 l1 l2] fails, so it is split: [l0] is written, [l1 l2] fails and is split,
    # [l1] fails on every try; l2, after it, is not written.
    with pytest.raises(ConcurrencyError, match=r"changed 't:lease:l1'.* 1 entities were "
                       r"written before it, the other 2 found were not"), \
            after_search(lambda: None, *renewals):
        repo.update(filter_(status="pending"), status="processing")
    assert [stored(client, f"l{i}")["status"] for i in range(3)] == [
        "processing", "pending", "pending"]


def test_the_check_fits_a_small_maxsearchresults(make_repo: RepoFactory,
                                                 client: redis.Redis) -> None:
    """The check asks for a batch's keys at once; a server allowing fewer results per search
    is asked in parts that fit."""
    repo = make_repo(Lease)
    make_leases(repo, 10, "pending")
    before = client.execute_command("FT.CONFIG", "GET", "MAXSEARCHRESULTS")
    limit = before[b"MAXSEARCHRESULTS"] if isinstance(before, dict) else before[0][1]
    client.execute_command("FT.CONFIG", "SET", "MAXSEARCHRESULTS", "3")
    try:
        assert repo.update(filter_(status="pending"), status="processing") == 10
        assert repo.delete(filter_(status="processing", name__startswith="lease")) == 10
    finally:
        client.execute_command("FT.CONFIG", "SET", "MAXSEARCHRESULTS", limit)
    assert client.keys(f"{LEASE_PREFIX}:*") == []


# -- real concurrency: 12 processes, one bulk write each ---------------------------------------

PROCESSES = 12
ENTITIES = 2000


def update_where(url: str, me: str) -> int:
    client = redis.Redis.from_url(url)
    repo = RedisRepository(session=client, model=Lease)
    changed = int(repo.update(filter_(status="pending"), status="processing", owner=me))
    client.close()
    return changed


def delete_where(url: str, me: str) -> int:
    client = redis.Redis.from_url(url)
    deleted = int(RedisRepository(session=client, model=Lease).delete(filter_(status="expired")))
    client.close()
    return deleted


def renew(url: str, me: str) -> list[str]:
    """Another program renewing leases (expired -> active) while they are deleted: the ids it
    renewed (a lease already deleted cannot be renewed)."""
    client = redis.Redis.from_url(url)
    start = int(me[1:])
    renewed: list[str] = []
    for i in range(start, ENTITIES, PROCESSES):
        try:
            client.execute_command("JSON.SET", f"{LEASE_PREFIX}:l{i}", "$.status", '"active"')
        except redis.ResponseError:  # deleted already
            continue
        renewed.append(f"l{i}")
    client.close()
    return renewed


def fill(client: redis.Redis, status: str) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(ENTITIES):
        doc = {"id": f"l{i}", "name": f"lease{i}", "status": status, "owner": "", "renewed": 0}
        pipe.execute_command("JSON.SET", f"{LEASE_PREFIX}:l{i}", "$", json.dumps(doc))
    pipe.execute()


@pytest.mark.sync_only  # processes run the sync API; the plans are the async API's too
def test_twelve_processes_updating_the_same_matches_change_each_once(
        client: redis.Redis, redis_stack_url: str) -> None:
    repo = RedisRepository(session=client, model=Lease)
    repo.count()  # the index exists: the documents below are indexed as written
    fill(client, "pending")
    names = [f"p{i}" for i in range(PROCESSES)]
    counts = run_processes(update_where, [(redis_stack_url, me) for me in names])
    assert sum(counts) == ENTITIES, counts
    owners = [stored(client, f"l{i}")["owner"] for i in range(ENTITIES)]
    for me, count in zip(names, counts):
        assert owners.count(me) == count  # what each was told is what it wrote
    assert repo.count(filter_(status="pending")) == 0


@pytest.mark.sync_only
def test_twelve_tasks_updating_the_same_matches_change_each_once(
        client: redis.Redis, redis_stack_url: str) -> None:
    """The same on the async API: twelve asyncio tasks, one update each."""
    repo = RedisRepository(session=client, model=Lease)
    repo.count()
    fill(client, "pending")
    names = [f"t{i}" for i in range(PROCESSES)]

    async def main() -> list[int]:
        session = redis.asyncio.Redis.from_url(redis_stack_url)
        leases = AsyncRedisRepository(session=session, model=Lease)
        try:
            return list(await asyncio.wait_for(asyncio.gather(*(
                leases.update(filter_(status="pending"), status="processing", owner=me)
                for me in names)), timeout=120))
        finally:
            await session.aclose()

    counts = asyncio.run(main())
    assert sum(counts) == ENTITIES, counts
    owners = [stored(client, f"l{i}")["owner"] for i in range(ENTITIES)]
    for me, count in zip(names, counts):
        assert owners.count(me) == count


@pytest.mark.sync_only
def test_tasks_sharing_a_repository_do_not_share_a_watch(
        client: redis.Redis, redis_stack_url: str) -> None:
    """Writes outside a unit of work that WATCH (only_create, a bulk re-check) hold their own
    connection: tasks sharing one repository must not see each other's WATCH (or lose it to
    another task's EXEC). Twenty tasks create the same lease with only_create: one wins."""
    async def main() -> list[Any]:
        session = redis.asyncio.Redis.from_url(redis_stack_url)
        leases = AsyncRedisRepository(session=session, model=Lease)
        await leases.count()
        try:
            return list(await asyncio.gather(*(
                leases.save(Lease(id="same", owner=f"t{i}", only_create=True))
                for i in range(20)), return_exceptions=True))
        finally:
            await session.aclose()

    for _ in range(5):
        client.delete(f"{LEASE_PREFIX}:same")
        outcomes = asyncio.run(main())
        won = [o for o in outcomes if isinstance(o, Lease)]
        assert len(won) == 1, outcomes
        assert all(isinstance(o, AlreadyExistsError) for o in outcomes if o not in won)
        assert stored(client, "same")["owner"] == won[0].owner


@pytest.mark.sync_only
def test_deletes_by_twelve_processes_leave_leases_renewed_meanwhile(
        client: redis.Redis, redis_stack_url: str) -> None:
    """Six processes delete expired leases while six others renew them: a renewed lease is
    never deleted, and the deleters are told exactly how many they deleted."""
    repo = RedisRepository(session=client, model=Lease)
    repo.count()
    fill(client, "expired")
    jobs: list[tuple[Callable[..., Any], str]] = [
        (delete_where if i % 2 else renew, f"p{i}") for i in range(PROCESSES)]
    results = run_processes(lambda job, url, me: job(url, me),
                            [(job, redis_stack_url, me) for job, me in jobs])
    deleted = sum(r for r in results if isinstance(r, int))
    renewed = [lease for r in results if isinstance(r, list) for lease in r]
    assert renewed, "the renewers ran"
    lost = [lease for lease in renewed if stored(client, lease) is None]
    assert not lost, f"{len(lost)} renewed leases were deleted"
    left = len(client.keys(f"{LEASE_PREFIX}:*"))
    assert deleted + left == ENTITIES, (deleted, left)
    assert repo.count(filter_(status="expired")) == 0
