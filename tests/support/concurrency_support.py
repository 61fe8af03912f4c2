"""Helpers for the concurrency tests: worker processes started by fork (cheap: nothing is
imported again) and a hook that lets another client write at an exact point of a plan."""

from __future__ import annotations

import contextlib
import inspect
import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from assimilator_stack.redis_.driver import Session
from assimilator_stack.redis_.protocol import Call, Request


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
    original = Session.perform

    def perform(self: Session, request: Request) -> Any:
        reply = original(self, request)
        if not (isinstance(request, Call) and request.args[0] in ("FT.AGGREGATE", "FT.SEARCH")
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

    Session.perform = perform  # type: ignore[method-assign]
    try:
        yield fired
    finally:
        Session.perform = original  # type: ignore[method-assign]
