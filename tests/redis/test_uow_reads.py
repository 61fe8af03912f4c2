"""A unit of work reads what it commits against (issue 8, item 1).

Inside a unit of work every entity a read returns matched the specifications after its key was
WATCHed, so a change by another client between the search and the WATCH can neither hand the
unit of work an entity that no longer matches nor let its commit overwrite that change. Shown
with the exact race (another client writes right after the search, see
``concurrency_support.after_search``) and with real concurrent workers: 100 processes and 100
asyncio tasks claiming 300 jobs, each claimed exactly once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
import redis

from assimilator_stack import (
    AlreadyExistsError,
    AssimilatorConfig,
    ConcurrencyError,
    NotFoundError,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    UpdateTargetMissingError,
    filter_,
    only,
    paginate,
    retry_on_conflict,
)
from assimilator_stack.aio import AsyncRedisRepository, AsyncRedisUnitOfWork
from assimilator_stack.core.retry import async_retry_on_conflict
from tests.support.concurrency_support import after_search, run_processes
from tests.support.helpers import RepoFactory, UowFactory

pytestmark = pytest.mark.both_apis

JOB_PREFIX = "t:job"


class Job(RedisModel):
    name: str = ""
    status: str = "new"
    owner: str = ""

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = JOB_PREFIX


def stored(client: redis.Redis, job_id: str) -> Any:
    raw = client.execute_command("JSON.GET", f"{JOB_PREFIX}:{job_id}")
    return None if raw is None else json.loads(raw)


def take(client: redis.Redis, job_id: str, owner: str = "other") -> Callable[[], None]:
    """Another client claims a job (through its own repository: the index sees it)."""
    def action() -> None:
        others = RedisRepository(session=client, model=Job)
        job = others.get(filter_(id=job_id))
        others.save(job, status="taken", owner=owner)
    return action


def make_jobs(repo: Any, statuses: list[str]) -> None:
    for i, status in enumerate(statuses):
        repo.save(id=f"j{i}", name=f"job{i}", status=status)


# -- the race, step by step --------------------------------------------------------------------

READS: dict[str, Callable[[Any], list[Any]]] = {
    "filter window": lambda r: r.filter(filter_(status="new"), paginate(limit=1)),
    "filter all": lambda r: r.filter(filter_(status="new")),
    "get": lambda r: [r.get(filter_(status="new"))],
    "stream": lambda r: list(r.stream(filter_(status="new"), batch_size=1)),
    "only": lambda r: r.filter(filter_(status="new"), only("status"), paginate(limit=1)),
    "inexact window": lambda r: r.filter(filter_(status="new", name__startswith="job"),
                                         paginate(limit=1)),
    "inexact all": lambda r: r.filter(filter_(status="new", name__startswith="job")),
}


@pytest.mark.parametrize("read", list(READS))
def test_an_entity_taken_between_search_and_watch_is_not_returned(
        read: str, make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis) -> None:
    # get needs exactly one match: j1 becomes new as j0 is taken
    make_jobs(make_repo(Job), ["new", "taken", "taken"] if read == "get" else ["new"] * 3)

    def race() -> None:
        take(client, "j0")()
        if read == "get":
            client.execute_command("JSON.SET", f"{JOB_PREFIX}:j1", "$.status", '"new"')

    uow = make_uow(Job)
    with uow:
        repo = uow.repository
        with after_search(race) as fired:
            found = READS[read](repo)
        assert fired
        assert found, "jobs j1 / j2 are new all along"
        assert all(job.status == "new" for job in found), found
        assert "j0" not in [job.id for job in found]
        for job in found:
            if read != "only":
                repo.save(job, status="taken", owner="me")
        uow.commit()
    assert stored(client, "j0")["owner"] == "other"  # not overwritten


@pytest.mark.parametrize("page", [5, 10000])
def test_a_read_over_many_pages_returns_each_match_once(
        page: int, make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys found page by page (``page`` rows a search page), documents read by key a batch
    at a time: every match once, none that stopped matching before its WATCH."""
    monkeypatch.setattr("assimilator_stack.backends.redis.watching.PAGE", page)
    make_jobs(make_repo(Job), ["new"] * 50)
    uow = make_uow(Job)
    with uow:
        repo = uow.repository
        with after_search(take(client, "j3")):
            found = list(repo.stream(filter_(status="new"), batch_size=7))
        assert sorted(job.id for job in found) == sorted(f"j{i}" for i in range(50) if i != 3)
        assert {job.status for job in found} == {"new"}
        everything = repo.filter(filter_(status="new"))
        assert len(everything) == 49
        uow.commit()


def test_a_window_refills_when_its_entity_is_deleted_before_the_watch(
        make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis) -> None:
    make_jobs(make_repo(Job), ["new", "new"])
    uow = make_uow(Job)
    with uow, after_search(lambda: client.delete(f"{JOB_PREFIX}:j0")):
        found = uow.repository.filter(filter_(status="new"), paginate(limit=1))
    assert [job.id for job in found] == ["j1"]  # not [] although j1 was new all along


def test_a_window_that_never_settles_is_a_conflict(
        make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis) -> None:
    """Each search's job is taken before its WATCH, ten times over: the read gives up with
    ConcurrencyError (retry_on_conflict retries it) rather than return a taken job."""
    make_jobs(make_repo(Job), ["new"] * 12)
    uow = make_uow(Job)
    with pytest.raises(ConcurrencyError, match="changed on each of 10 searches"), uow, \
            after_search(*(take(client, f"j{i}") for i in range(12))) as fired:
        uow.repository.filter(filter_(status="new"), paginate(limit=1))
    assert len(fired) == 10


def test_a_change_after_the_watch_still_aborts_the_commit(
        make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis) -> None:
    make_jobs(make_repo(Job), ["new", "new"])
    uow = make_uow(Job)
    with pytest.raises(ConcurrencyError), uow:
        repo = uow.repository
        [job] = repo.filter(filter_(status="new"), paginate(limit=1))
        take(client, job.id)()
        repo.save(job, status="taken", owner="me")
        uow.commit()
    assert stored(client, "j0")["owner"] == "other"


def test_bulk_update_in_a_unit_of_work_leaves_a_key_changed_after_its_discovery(
        make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis) -> None:
    """The old plan watched keys found by a second search without searching again: a key
    first seen there and changed before its WATCH was written over."""
    make_jobs(make_repo(Job), ["new"])

    def appears() -> None:
        client.execute_command("JSON.SET", f"{JOB_PREFIX}:j1", "$",
                               '{"id":"j1","name":"job1","status":"new","owner":""}')

    uow = make_uow(Job)
    with uow:
        repo = uow.repository
        with after_search(appears, take(client, "j1")):
            changed = repo.update(filter_(status="new"), status="done", owner="me")
        uow.commit()
    assert stored(client, "j1")["owner"] == "other"
    assert stored(client, "j0")["owner"] == "me"
    assert changed == 1


# -- a read entity deleted, then updated: a conflict, not a missing target ----------------------

@pytest.mark.parametrize("how", ["by id", "by filter"])
def test_update_of_an_entity_deleted_after_the_read_is_a_conflict(
        how: str, make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis) -> None:
    make_jobs(make_repo(Job), ["new"])
    uow = make_uow(Job)
    with pytest.raises(ConcurrencyError), uow:
        repo = uow.repository
        spec = filter_(id="j0") if how == "by id" else filter_(status="new")
        job = repo.get(spec)
        client.delete(f"{JOB_PREFIX}:j0")
        repo.update(job, status="taken")
        uow.commit()
    assert stored(client, "j0") is None


def test_retry_on_conflict_retries_an_update_of_a_deleted_entity(
        make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis) -> None:
    make_jobs(make_repo(Job), ["new"])
    uow = make_uow(Job)
    attempts: list[int] = []

    def claim() -> str:
        with uow:
            repo = uow.repository
            found = repo.filter(filter_(status="new"), paginate(limit=1))
            attempts.append(len(found))
            if not found:
                return "none left"
            if len(attempts) == 1:
                client.delete(f"{JOB_PREFIX}:j0")
            repo.update(found[0], status="taken")
            uow.commit()
            return found[0].id

    assert retry_on_conflict(claim) == "none left"
    assert attempts == [1, 0]


def test_create_of_an_entity_read_as_missing_and_created_meanwhile_is_a_conflict(
        make_uow: UowFactory, client: redis.Redis) -> None:
    uow = make_uow(Job)
    with pytest.raises(ConcurrencyError), uow:
        repo = uow.repository
        with pytest.raises(NotFoundError):
            repo.get(filter_(id="j9"))
        take_over = '{"id":"j9","name":"theirs","status":"new","owner":"other"}'
        client.execute_command("JSON.SET", f"{JOB_PREFIX}:j9", "$", take_over)
        repo.save(Job(id="j9", name="mine", only_create=True))
        uow.commit()
    assert stored(client, "j9")["owner"] == "other"


def test_conditions_on_unchanged_reads_keep_their_own_errors(
        make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis) -> None:
    make_jobs(make_repo(Job), ["new"])
    uow = make_uow(Job)
    with pytest.raises(AlreadyExistsError), uow:  # read as present, still present
        repo = uow.repository
        job = repo.get(filter_(id="j0"))
        repo.save(Job(id=job.id, only_create=True))
        uow.commit()
    with pytest.raises(UpdateTargetMissingError), uow:  # read as missing, still missing
        repo = uow.repository
        with pytest.raises(NotFoundError):
            repo.get(filter_(id="j9"))
        repo.update(Job(id="j9"))
        uow.commit()
    assert stored(client, "j9") is None


# -- real concurrency: every job claimed exactly once ------------------------------------------

WORKERS = 100
JOBS = 300


def claim_jobs(url: str, me: str) -> tuple[list[str], int]:
    """One worker process: claim jobs until none is left (each claim a unit of work); the
    jobs it claimed and how many units of work it ran."""
    client = redis.Redis.from_url(url)
    uow = RedisUnitOfWork(repository=RedisRepository(session=client, model=Job))
    runs = 0

    def claim() -> str | None:
        nonlocal runs
        runs += 1
        with uow:
            repo = uow.repository
            found = repo.filter(filter_(status="new"), paginate(limit=1))
            if not found:
                return None
            repo.save(found[0], status="taken", owner=me)
            uow.commit()
            return found[0].id

    claimed: list[str] = []
    while True:
        try:
            got = retry_on_conflict(claim)
        except ConcurrencyError:
            continue  # lost 20 times in a row: try again
        if got is None:
            client.close()
            return claimed, runs
        claimed.append(got)


def check_claims(client: redis.Redis, claims: dict[str, list[str]], runs: int) -> None:
    assert runs > JOBS + WORKERS, "the workers never raced"  # conflicts were retried
    every = [job for jobs in claims.values() for job in jobs]
    assert len(every) == len(set(every)), f"{len(every) - len(set(every))} double claims"
    assert sorted(every) == sorted(f"j{i}" for i in range(JOBS))
    for me, jobs in claims.items():
        for job in jobs:
            assert stored(client, job)["owner"] == me


@pytest.mark.slow
@pytest.mark.sync_only  # the async API: test_hundred_tasks_claim_each_job_once
def test_hundred_processes_claim_each_job_once(make_repo: RepoFactory, client: redis.Redis,
                                               redis_stack_url: str) -> None:
    repo = make_repo(Job)
    make_jobs(repo, ["new"] * JOBS)
    repo.count()  # the index exists before the workers start
    names = [f"w{i}" for i in range(WORKERS)]
    results = run_processes(claim_jobs, [(redis_stack_url, me) for me in names])
    check_claims(client, {me: jobs for me, (jobs, _) in zip(names, results)},
                 sum(runs for _, runs in results))


@pytest.mark.slow
@pytest.mark.sync_only
def test_hundred_tasks_claim_each_job_once(client: redis.Redis, redis_stack_url: str) -> None:
    make_jobs(RedisRepository(session=client, model=Job), ["new"] * JOBS)

    runs = 0

    async def main() -> dict[str, list[str]]:
        session = redis.asyncio.Redis.from_url(redis_stack_url, max_connections=200)
        repo = AsyncRedisRepository(session=session, model=Job)

        async def worker(me: str) -> list[str]:
            uow = AsyncRedisUnitOfWork(repository=repo)

            async def claim() -> str | None:
                nonlocal runs
                runs += 1
                async with uow:
                    mine = uow.repository
                    found = await mine.filter(filter_(status="new"), paginate(limit=1))
                    if not found:
                        return None
                    await mine.save(found[0], status="taken", owner=me)
                    await uow.commit()
                    return str(found[0].id)

            claimed: list[str] = []
            while True:
                try:
                    got = await async_retry_on_conflict(claim)
                except ConcurrencyError:
                    continue
                if got is None:
                    return claimed
                claimed.append(got)

        names = [f"t{i}" for i in range(WORKERS)]
        try:
            found = await asyncio.wait_for(
                asyncio.gather(*(worker(me) for me in names)), timeout=120)
        finally:
            await session.aclose()
        return dict(zip(names, found))

    claims = asyncio.run(main())
    check_claims(client, claims, runs)
