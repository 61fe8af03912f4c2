"""What only the async API has: many tasks on one counter, cancellation mid-commit, a server
that stops answering, awaited LazyCommands, async streams, and the async in-memory twin.

The behavioural tests (CRUD, unit of work, lazy, queries) run on both APIs elsewhere (the
``both_apis`` marker); no async event-loop plugin is needed: each test runs its own loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio
import redis.exceptions as rx
from redis.backoff import NoBackoff
from redis.retry import Retry

from assimilator_stack import (
    AlreadyExistsError,
    AsyncInternalRepository,
    AsyncInternalUnitOfWork,
    AsyncLazyCommand,
    AsyncRedisRepository,
    AsyncRedisUnitOfWork,
    AsyncRepository,
    AsyncUnitOfWork,
    ConcurrencyError,
    ConnectionFailedError,
    InternalRepository,
    InvalidQueryError,
    NotFoundError,
    RedisRepository,
    async_retry_on_conflict,
    filter_,
    order,
    paginate,
)
from assimilator_stack.backends.redis.errors import map_error
from assimilator_stack.backends.redis.protocol import WatchFailed
from assimilator_stack.testing import RedisStackServer, ServerNotAvailableError
from assimilator_stack.testing.pytest_plugin import AsyncRedisClientFactory
from tests.redis.test_errors import OPERATIONS
from tests.support.helpers import CommandCounter, closed_port
from tests.support.models import COUNTER_PREFIX, NOTE_PREFIX, Account, Counter, Note
from tests.support.sync_facade import LoopBridge, SyncFacade

T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(main(), timeout=120)  # a hang fails, it never blocks CI

    return asyncio.run(guarded())


# -- many tasks, one counter ------------------------------------------------------------------

def test_hundred_tasks_lose_no_update(async_redis_client_factory: AsyncRedisClientFactory,
                                      client: redis.Redis) -> None:
    tasks_n = 100
    conflicts = 0

    async def main() -> None:
        nonlocal conflicts
        session = async_redis_client_factory()
        counters = AsyncRedisRepository(session=session, model=Counter)
        await counters.save(id="shared", value=0)

        async def increment() -> int:
            nonlocal conflicts
            uow = AsyncRedisUnitOfWork(repository=counters)
            async with uow:
                repo = uow.repository
                counter = await repo.get(repo.specs.filter(id="shared"))
                await asyncio.sleep(0)  # let the other tasks read the same value
                counter.value += 1
                await repo.save(counter)
                try:
                    await uow.commit()
                except ConcurrencyError:
                    conflicts += 1
                    raise
            return int(counter.value)

        seen = await asyncio.gather(*(async_retry_on_conflict(increment, attempts=10_000)
                                      for _ in range(tasks_n)))
        assert sorted(seen) == list(range(1, tasks_n + 1))  # each task wrote its own value
        assert (await counters.get(counters.specs.filter(id="shared"))).value == tasks_n
        pool: Any = session.connection_pool
        assert not pool._in_use_connections
        await session.aclose()

    run(main)
    assert int(client.execute_command("JSON.GET", f"{COUNTER_PREFIX}:shared", "$.value")
               .strip(b"[]")) == tasks_n
    assert conflicts > 0  # they really raced


# -- cancellation -----------------------------------------------------------------------------

KEYS_PER_COMMIT = 5
KINDS = ("blind", "read_first", "only_create")


@pytest.mark.parametrize("socket_timeout", ["default", None])
def test_cancelled_commit_is_all_or_nothing_and_the_pool_stays_usable(
        socket_timeout: str | None, async_redis_client_factory: AsyncRedisClientFactory,
        client: redis.Redis) -> None:
    # With a socket_timeout redis-py sends through asyncio.wait_for, which on Python < 3.12
    # may absorb a cancellation (the commit then completes); without one every cancel lands.
    # For each kind of commit, cancel after 0, 1, 2, ... event-loop iterations: every point
    # from "not started" through "reply in flight" to "done" (until 3 rounds completed).
    outcomes: dict[str, collections.Counter[int]] = {k: collections.Counter() for k in KINDS}
    rounds: list[int] = []

    def keys_of(i: int) -> list[str]:
        return [f"{NOTE_PREFIX}:r{i}-{k}" for k in range(KEYS_PER_COMMIT)]

    async def main() -> None:
        kwargs = {} if socket_timeout == "default" else {"socket_timeout": socket_timeout}
        session = async_redis_client_factory(**kwargs)
        notes = AsyncRedisRepository(session=session, model=Note)
        await notes.save(id="anchor", text="read by read_first commits")

        async def commit(i: int, kind: str) -> None:
            uow = AsyncRedisUnitOfWork(repository=notes)
            async with uow:
                repo = uow.repository
                if kind == "read_first":
                    await repo.get(repo.specs.filter(id="anchor"))  # WATCHes: pinned connection
                for k in range(KEYS_PER_COMMIT):
                    await repo.save(id=f"r{i}-{k}", text=f"{i}",
                                    only_create=kind == "only_create")
                await uow.commit()

        for kind in KINDS:
            point = 0
            while outcomes[kind][KEYS_PER_COMMIT] < 3 and point < 2000:
                i = len(rounds)
                rounds.append(i)
                task = asyncio.create_task(commit(i, kind))
                for _ in range(point):
                    await asyncio.sleep(0)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                present = client.exists(*keys_of(i))
                assert present in (0, KEYS_PER_COMMIT), (i, kind, point, present)
                outcomes[kind][present] += 1
                point += 1

        # The pool is usable: no connection is lent out, and replies still match commands.
        pool: Any = session.connection_pool
        assert not pool._in_use_connections
        for n in range(20):
            saved = await notes.save(id=f"after{n}", text=f"t{n}")
            assert await notes.get(notes.specs.filter(id=saved.id)) == saved
        uow = AsyncRedisUnitOfWork(repository=notes)
        async with uow:
            anchor = await uow.repository.get(notes.specs.filter(id="anchor"))
            await uow.repository.save(anchor, text="changed")
            await uow.commit()
        assert (await notes.get(notes.specs.filter(id="anchor"))).text == "changed"
        assert not pool._in_use_connections
        await session.aclose()

    run(main)
    time.sleep(0.2)  # a cancelled connection's last packet may still be on its way
    for i in rounds:  # and never half of a commit, then or later
        assert client.exists(*keys_of(i)) in (0, KEYS_PER_COMMIT), i
    for kind in KINDS:  # the cancellation points covered both outcomes
        assert outcomes[kind][0] and outcomes[kind][KEYS_PER_COMMIT], (kind, outcomes)


def test_cancelled_read_makes_the_next_commit_a_conflict(
        async_redis_client_factory: AsyncRedisClientFactory, client: redis.Redis) -> None:
    """A read cancelled mid-flight may have lost its WATCH (redis-py drops the connection):
    the commit that follows must still fail when a key read before changed."""
    cancelled_rounds = 0

    async def main() -> None:
        nonlocal cancelled_rounds
        # socket_timeout=None: redis-py then sends without asyncio.wait_for, which on Python
        # < 3.12 may absorb a cancellation; here every cancellation lands.
        session = async_redis_client_factory(socket_timeout=None)
        notes = AsyncRedisRepository(session=session, model=Note)
        await notes.save(id="a", text="a")
        await notes.save(id="b", text="b")
        for n in range(12):
            uow = AsyncRedisUnitOfWork(repository=notes)
            async with uow:
                repo = uow.repository
                await repo.get(repo.specs.filter(id="a"))  # WATCH a on a pinned connection
                read = asyncio.create_task(repo.get(repo.specs.filter(id="b")))
                for _ in range(n % 6):
                    await asyncio.sleep(0)
                read.cancel()
                try:
                    await read
                except asyncio.CancelledError:
                    cancelled_rounds += 1
                client.execute_command("JSON.SET", f"{NOTE_PREFIX}:a", "$.text", f'"{n}"')
                await repo.save(id=f"c{n}", text="c")
                with pytest.raises(ConcurrencyError):  # WATCH held, or known to be lost
                    await uow.commit()
            assert not client.exists(f"{NOTE_PREFIX}:c{n}")
        pool: Any = session.connection_pool
        assert not pool._in_use_connections
        await session.aclose()

    run(main)
    assert cancelled_rounds == 12


# -- tasks sharing one repository ------------------------------------------------------------

def test_tasks_share_a_repository_and_a_unit_of_work(
        async_redis_client_factory: AsyncRedisClientFactory, client: redis.Redis) -> None:
    async def main() -> None:
        session = async_redis_client_factory()
        notes = AsyncRedisRepository(session=session, model=Note)
        await asyncio.gather(*(notes.save(id=f"n{i}", text=f"t{i}") for i in range(30)))
        found = await asyncio.gather(*(notes.get(notes.specs.filter(id=f"n{i}"))
                                       for i in range(30)))
        assert [n.text for n in found] == [f"t{i}" for i in range(30)]

        for conflict in (False, True):
            uow = AsyncRedisUnitOfWork(repository=notes)
            async with uow:
                repo = uow.repository  # its reads share one WATCHing connection
                mine = await asyncio.gather(*(repo.get(repo.specs.filter(id=f"n{i}"))
                                              for i in range(30)))
                assert [n.id for n in mine] == [f"n{i}" for i in range(30)]
                await asyncio.gather(*(repo.save(n, text=f"{n.text}!") for n in mine))
                if conflict:
                    client.execute_command("JSON.SET", f"{NOTE_PREFIX}:n17", "$.text", '"x"')
                    with pytest.raises(ConcurrencyError):
                        await uow.commit()
                else:
                    await uow.commit()
        assert (await notes.get(notes.specs.filter(id="n3"))).text == "t3!"
        assert (await notes.get(notes.specs.filter(id="n17"))).text == "x"
        pool: Any = session.connection_pool
        assert not pool._in_use_connections
        await session.aclose()

    run(main)


# -- a server that stops answering ------------------------------------------------------------

class StoppableServer:
    """A private server of one test, which can be made to stop answering (SIGSTOP)."""

    def __init__(self, server: RedisStackServer) -> None:
        self.server = server

    def session(self) -> redis.asyncio.Redis:
        return redis.asyncio.Redis.from_url(self.server.url, socket_timeout=0.5,
                                            retry=Retry(NoBackoff(), 0))

    @contextlib.contextmanager
    def not_answering(self) -> Iterator[None]:
        pid = self.server.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)


@pytest.fixture
def stoppable() -> Iterator[StoppableServer]:
    server = RedisStackServer()
    try:
        server.start()
    except ServerNotAvailableError as exc:  # a run against REDIS_URL only (the Docker service)
        pytest.skip(f"needs the embedded server binaries (the server extra): it pauses a "
                    f"server process of its own ({exc.__class__.__name__})")
    try:
        yield StoppableServer(server)
    finally:
        server.stop()


def test_a_server_that_stops_answering_gives_a_timeout_error(stoppable: StoppableServer
                                                             ) -> None:
    async def main() -> None:
        session = stoppable.session()
        notes = AsyncRedisRepository(session=session, model=Note)
        saved = await notes.save(text="before")
        uow = AsyncRedisUnitOfWork(repository=notes)
        with stoppable.not_answering():
            started = time.monotonic()
            with pytest.raises(ConnectionFailedError, match="did not answer") as info:
                await notes.get(notes.specs.filter(id=saved.id))
            assert isinstance(info.value.__cause__, (rx.TimeoutError, rx.ConnectionError))
            with pytest.raises(ConnectionFailedError):
                await notes.count()
            with pytest.raises(ConnectionFailedError):
                async with uow:
                    await uow.repository.save(text="never")
                    await uow.commit()
            assert time.monotonic() - started < 10  # a few timeouts, not a hang
        assert (await notes.get(notes.specs.filter(id=saved.id))) == saved  # it recovers
        await session.aclose()

    run(main)


def test_watched_connection_timing_out_is_a_connection_error_not_a_conflict(
        stoppable: StoppableServer) -> None:
    """A timeout on the WATCHing connection leaves the commit's outcome unknown: it must not
    be reported as a lost race ("nothing was written, retry")."""

    async def main() -> None:
        session = stoppable.session()
        notes = AsyncRedisRepository(session=session, model=Note)
        saved = await notes.save(text="before")
        uow = AsyncRedisUnitOfWork(repository=notes)
        async with uow:
            repo = uow.repository
            mine = await repo.get(repo.specs.filter(id=saved.id))
            await repo.save(mine, text="mine")
            with stoppable.not_answering():
                with pytest.raises(ConnectionFailedError):  # a read on the WATCHing line
                    await repo.get(repo.specs.filter(id="other"))
                with pytest.raises(ConnectionFailedError):
                    await uow.commit()
        assert (await notes.get(notes.specs.filter(id=saved.id))).text == "before"
        await session.aclose()

    run(main)


def test_a_watch_error_from_a_failed_connection_is_a_connection_error() -> None:
    # redis-py (some versions) reports a timeout on a WATCHing connection as WatchError
    try:
        try:
            raise rx.TimeoutError("Timeout reading from 127.0.0.1:1")
        except rx.TimeoutError:
            raise rx.WatchError(  # noqa: B904 (redis-py raises it so: __context__ is set)
                "A TimeoutError occurred while watching one or more keys")
    except rx.WatchError as exc:
        mapped = map_error(exc)
    assert isinstance(mapped, ConnectionFailedError) and "did not answer" in str(mapped)
    assert isinstance(map_error(rx.WatchError("Watched variable changed.")), WatchFailed)


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_unreachable_server_raises_connection_failed(operation: str,
                                                     redis_stack_url: str) -> None:
    bridge = LoopBridge(redis_stack_url)
    dead = redis.asyncio.Redis(port=closed_port(), retry=Retry(NoBackoff(), 0),
                               socket_connect_timeout=2)
    try:
        repo = SyncFacade(AsyncRedisRepository(session=dead, model=Account), bridge)
        with pytest.raises(ConnectionFailedError, match="connect") as info:
            OPERATIONS[operation](repo)  # type: ignore[arg-type]
        assert isinstance(info.value.__cause__, rx.ConnectionError)
    finally:
        bridge.run(dead.aclose())
        bridge.close()


# -- LazyCommand, awaited ---------------------------------------------------------------------

def test_lazy_is_awaited_once_and_cached(async_redis_client_factory: AsyncRedisClientFactory,
                                         commands: CommandCounter) -> None:
    async def main() -> None:
        session = async_redis_client_factory()
        accounts = AsyncRedisRepository(session=session, model=Account)
        saved = await accounts.save(username="lazy")
        with commands.count() as calls:
            lazy = accounts.get(accounts.specs.filter(id=saved.id), lazy=True)
            counted = accounts.count(lazy=True)
        assert isinstance(lazy, AsyncLazyCommand) and not lazy.executed
        assert not calls
        with commands.count() as calls:
            together = await asyncio.gather(lazy, lazy, lazy())  # three awaits, one run
            again = await lazy
        assert together == [saved] * 3 and again is together[0] and lazy.executed
        assert dict(calls) == {"json.get": 1}
        assert await counted == 1 and await counted == 1

        missing = accounts.get(accounts.specs.filter(id="missing"), lazy=True)
        for _ in range(2):  # a failed run is not cached: each await tries again
            with pytest.raises(NotFoundError):
                await missing
        assert not missing.executed
        await session.aclose()

    run(main)


# -- stream -----------------------------------------------------------------------------------

def test_stream_is_an_async_iterator(async_redis_client_factory: AsyncRedisClientFactory
                                     ) -> None:
    async def main() -> None:
        session = async_redis_client_factory()
        accounts = AsyncRedisRepository(session=session, model=Account)
        for i in range(30):
            await accounts.save(username=f"u{i:02}", balance=i % 7)
        specs = (filter_(balance__gte=2), order("-balance", "username"))
        expected = await accounts.filter(*specs)
        streamed = [a async for a in accounts.stream(*specs, batch_size=4)]
        assert streamed == expected and len(expected) == 20
        unordered = [a.id async for a in accounts.stream(batch_size=7)]
        assert sorted(unordered) == sorted(a.id for a in await accounts.filter())
        with pytest.raises(InvalidQueryError, match="batch_size"):
            accounts.stream(batch_size=0)  # refused when called, not when iterated
        with pytest.raises(InvalidQueryError):
            accounts.stream(order("no_such_field"))

        early = accounts.stream(batch_size=3)  # stopped early: its cursor is freed
        async for _ in early:
            break
        await early.aclose()  # type: ignore[attr-defined]
        info = await session.execute_command("FT.INFO", accounts.plans.index.name)
        cursors = dict(zip(info[::2], info[1::2]))[b"cursor_stats"] if isinstance(info, list) \
            else info[b"cursor_stats"]
        stats = cursors if isinstance(cursors, dict) else dict(zip(cursors[::2], cursors[1::2]))
        assert stats[b"index_total"] == 0
        await session.aclose()

    run(main)


# -- the right client for the right repository ------------------------------------------------

def test_a_client_of_the_other_kind_is_refused_clearly(redis_stack_url: str) -> None:
    sync_client = redis.Redis.from_url(redis_stack_url)
    async_client = redis.asyncio.Redis.from_url(redis_stack_url)
    with pytest.raises(TypeError, match=r"AsyncRedisRepository needs session=redis\.asyncio"):
        AsyncRedisRepository(session=sync_client, model=Account)
    with pytest.raises(TypeError, match=r"RedisRepository needs session=redis\.(client\.)?Redis"):
        RedisRepository(session=async_client, model=Account)  # type: ignore[arg-type]
    sync_client.close()


def test_async_classes_are_the_async_abstractions(redis_stack_url: str) -> None:
    repo = AsyncRedisRepository(session=redis.asyncio.Redis.from_url(redis_stack_url),
                                model=Account)
    assert isinstance(repo, AsyncRepository)
    assert isinstance(AsyncRedisUnitOfWork(repository=repo), AsyncUnitOfWork)
    twin = AsyncInternalRepository(model=Account)
    assert isinstance(twin, AsyncRepository)
    assert isinstance(AsyncInternalUnitOfWork(repository=twin), AsyncUnitOfWork)


# -- async_retry_on_conflict ------------------------------------------------------------------

def test_async_retry_gives_up_after_its_attempts_and_lets_other_errors_through() -> None:
    calls: list[int] = []

    async def always_conflicts(n: int) -> None:
        calls.append(n)
        raise ConcurrencyError("lost")

    async def fails_otherwise() -> None:
        calls.append(0)
        raise AlreadyExistsError("k")

    async def main() -> None:
        with pytest.raises(ConcurrencyError):
            await async_retry_on_conflict(always_conflicts, 7, attempts=3, backoff=0)
        assert calls == [7, 7, 7]
        calls.clear()
        with pytest.raises(AlreadyExistsError):
            await async_retry_on_conflict(fails_otherwise, attempts=3)
        assert calls == [0]

    run(main)


# -- the async in-memory twin -----------------------------------------------------------------

def test_async_twin_behaves_as_the_sync_twin() -> None:
    async def main() -> None:
        store: dict[str, Any] = {}
        accounts = AsyncInternalRepository(session=store, model=Account)
        other = InternalRepository(session=store, model=Account)  # another client, same data
        a = await accounts.save(username="a", balance=1)
        await accounts.save(username="b", balance=5)
        assert await accounts.get(accounts.specs.filter(id=a.id)) == a
        assert [x.username for x in await accounts.filter(order("-balance"))] == ["b", "a"]
        assert await accounts.count(filter_(balance__gt=2)) == 1
        assert [x.username async for x in accounts.stream(order("username"), batch_size=1)] \
            == ["a", "b"]
        lazy = accounts.filter(paginate(limit=1), order("username"), lazy=True)
        assert isinstance(lazy, AsyncLazyCommand) and not lazy.executed
        assert [x.username for x in await lazy] == ["a"]
        with pytest.raises(NotFoundError):
            await accounts.get(accounts.specs.filter(id="missing"))
        assert await accounts.update(filter_(balance__lt=3), balance=2) == 1
        a.balance = 9
        assert await accounts.is_modified(a)
        await accounts.refresh(a)
        assert a.balance == 2

        uow = AsyncInternalUnitOfWork(repository=accounts)
        async with uow:
            repo = uow.repository
            mine = await repo.get(repo.specs.filter(id=a.id))
            await repo.save(mine, balance=100)
            await repo.save(username="queued")
            assert await accounts.count() == 2  # nothing written before commit
            other.save(mine.model_copy(update={"balance": 50}))  # someone else writes it
            with pytest.raises(ConcurrencyError):
                await uow.commit()
        assert await accounts.count() == 2
        assert (await accounts.get(accounts.specs.filter(id=a.id))).balance == 50

        async with uow:
            await uow.repository.delete(filter_(username="b"))
            await uow.commit()
        assert [x.username for x in await accounts.filter()] == ["a"]

    run(main)
