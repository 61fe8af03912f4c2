"""Helpers for the concurrency tests: worker processes started by fork (cheap: nothing is
imported again), a hook that lets another client write at an exact point of a plan, and other
programs writing while a test reads (:class:`Writers`: processes with their own clients that
write random keys at full speed until told to stop, bounded in time), with FT.INFO's
max_doc_id, which shows how many documents the server (re)indexed meanwhile."""

from __future__ import annotations

import contextlib
import inspect
import multiprocessing
import random
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pytest
import redis

from assimilator_stack.backends.redis.protocol import Call, Request
from assimilator_stack.backends.redis.sync_driver import Session, SyncSession


def run_processes(target: Callable[..., Any], args: list[tuple[Any, ...]],
                  timeout: float = 120.0) -> list[Any]:
    """Run ``target(*a)`` in one forked process per ``a``, all released together; their
    return values in order (an exception in a worker fails the test with its traceback)."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    gate = ctx.Event()

    def main(index: int, *a: Any) -> None:
        gate.wait()
        try:
            results.put((index, True, target(*a)))
        except BaseException:  # reported by the parent
            results.put((index, False, traceback.format_exc()))

    processes = [ctx.Process(target=main, args=(i, *a), daemon=True)
                 for i, a in enumerate(args)]
    for p in processes:
        p.start()
    gate.set()
    out: dict[int, Any] = {}
    errors: list[str] = []
    try:
        for _ in processes:
            index, ok, value = results.get(timeout=timeout)
            if ok:
                out[index] = value
            else:
                errors.append(value)
    finally:
        for p in processes:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join()
    if errors:
        pytest.fail(f"{len(errors)} worker(s) failed; first:\n{errors[0]}")
    return [out[i] for i in range(len(args))]


@contextlib.contextmanager
def after_search(*actions: Callable[[], None]) -> Iterator[list[int]]:
    """Run ``actions[i]`` (another client's write) right after the i-th search (FT.AGGREGATE
    or FT.SEARCH) reply of any repository in this process: between a search and whatever the
    plan does next (WATCH, JSON.MGET, MULTI/EXEC). Works for both drivers; yields a list whose
    length says how many actions ran."""
    fired: list[int] = []
    # Where a request is performed: Session.perform (both drivers), and the sync driver's
    # own entry, which sends a plain command itself. Only the outermost of them acts.
    hooked = [(Session, "perform"), (SyncSession, "_perform")]
    originals = [getattr(cls, name) for cls, name in hooked]
    depth = [0]

    def wrapped(original: Callable[[Session, Request], Any]) -> Callable[[Session, Request], Any]:
        def perform(self: Session, request: Request) -> Any:
            depth[0] += 1
            try:
                reply = original(self, request)
            finally:
                depth[0] -= 1
            if depth[0] or not (isinstance(request, Call)
                                and request.args[0] in ("FT.AGGREGATE", "FT.SEARCH")
                                and len(fired) < len(actions)):
                return reply
            action = actions[len(fired)]
            fired.append(1)
            if inspect.isawaitable(reply):
                async def then() -> Any:
                    value = await reply
                    action()
                    return value

                return then()
            action()
            return reply

        return perform

    for (cls, name), original in zip(hooked, originals):
        setattr(cls, name, wrapped(original))
    try:
        yield fired
    finally:
        for (cls, name), original in zip(hooked, originals):
            setattr(cls, name, original)


# -- other programs writing while a test reads ----------------------------------------------

_MAX_SECONDS = 60.0  # a writer never outlives a hung test by more than this


@dataclass(frozen=True)
class Job:
    """What one writer does: ``JSON.SET key path <random int in values>`` for random keys."""

    keys: tuple[str, ...]
    path: str
    values: tuple[int, int] = (0, 1_000_000)
    delete: bool = False  # DEL the keys instead (each once, in random order)


def _write(url: str, job: Job, seed: int, started: Any, stop: Any, done: Any) -> None:
    client = redis.Redis.from_url(url, protocol=2)
    rng = random.Random(seed)
    deadline = time.monotonic() + _MAX_SECONDS
    writes = 0
    doomed = rng.sample(job.keys, len(job.keys)) if job.delete else []
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            if job.delete:
                if not doomed:
                    break
                client.delete(doomed.pop())
                writes += 1
            else:
                pipe = client.pipeline(transaction=False)
                for _ in range(8):  # a few per round trip: more writes than the reader's pages
                    pipe.execute_command("JSON.SET", rng.choice(job.keys), job.path,
                                         str(rng.randint(*job.values)))
                pipe.execute(raise_on_error=False)  # a key deleted meanwhile: no error here
                writes += 8
            if writes == (1 if job.delete else 8):
                started.release()
    finally:
        done.put(writes)
        client.close()


class Writers:
    """``with Writers(url, job, ...) as w:`` runs one process per job (fork: quick to start)
    until the block ends; ``w.writes`` is how many commands they sent."""

    def __init__(self, url: str, *jobs: Job) -> None:
        self.url = url
        self.jobs = jobs
        self.writes = 0
        context = multiprocessing.get_context("fork")
        self._started = context.Semaphore(0)
        self._stop = context.Event()
        self._done: Any = context.Queue()
        self._processes = [
            context.Process(target=_write, args=(url, job, seed, self._started, self._stop,
                                                 self._done), daemon=True)
            for seed, job in enumerate(jobs)
        ]

    def __enter__(self) -> Writers:
        for process in self._processes:
            process.start()
        for _ in self._processes:  # every writer is writing before the read starts
            if not self._started.acquire(timeout=20):
                self._halt()
                raise RuntimeError("a writer process did not start")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._halt()

    def _halt(self) -> None:
        self._stop.set()
        for process in self._processes:
            if process.pid is None:
                continue
            process.join(timeout=10)
            if process.is_alive():  # pragma: no cover (only when a writer hangs)
                process.kill()
                process.join()
            else:
                self.writes += self._done.get(timeout=5)


def max_doc_id(client: redis.Redis, index: str) -> int:
    """The index's last internal document id: it grows by one for each (re)indexed document."""
    reply = client.execute_command("FT.INFO", index)
    pairs = reply if isinstance(reply, dict) else dict(zip(reply[0::2], reply[1::2]))
    value = pairs.get(b"max_doc_id", pairs.get("max_doc_id"))
    return int(value)


def keys_of(prefix: str, ids: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{prefix}:{i}" for i in ids)
