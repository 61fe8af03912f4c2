"""What every contender's worker shares: the adapter interface, the phases, the JSON reply.

A worker is ``python -m bench.workers.<name>`` run inside the contender's own virtual
environment: it reads one task (JSON) on stdin, runs one phase against the shared server and
prints one ``BENCH-RESULT {json}`` line. Standard library only, so that it imports under any
contender's dependencies (py-assimilator's pydantic v1 included).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.metadata
import json
import os
import resource
import sys
import traceback
from collections.abc import Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ..dataset import Row, digest, fingerprint, generate
from ..timing import Budget, each, repeat, summary, timed
from ..workloads import id_checksum

RESULT_MARK = "BENCH-RESULT "
# Every contender's client gets this socket timeout. redis-py 8 defaults to 5 s, which a single
# MULTI/EXEC (or pipeline) of 100,000 indexed documents can exceed on this machine.
SOCKET_TIMEOUT = 300.0
T = TypeVar("T")


class NotAvailable(Exception):
    """The contender has no way to do this workload (or not yet)."""


class Adapter:
    """One library, answering each workload the way its documentation suggests.

    Methods a library cannot do raise :class:`NotAvailable`; so do the exception types listed
    in ``unavailable`` (e.g. an InvalidQueryError from a query engine that is not built yet).
    """

    key = "?"
    distributions: tuple[str, ...] = ()  # installed versions reported with the results
    unavailable: tuple[type[BaseException], ...] = (NotAvailable, NotImplementedError)
    notes: ClassVar[dict[str, str]] = {}  # workload -> how it answers, when unusual

    def connect(self, url: str) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """Create indexes before the data arrives (untimed), so inserts are indexed for all."""

    def build(self, rows: list[Row]) -> list[Any]:
        raise NotImplementedError

    def insert(self, entities: list[Any]) -> None:
        raise NotAvailable

    def count_all(self) -> int:
        raise NotAvailable

    def get(self, entity_id: str) -> Any:
        raise NotAvailable

    def as_dict(self, entity: Any) -> Mapping[str, Any]:
        raise NotImplementedError

    def entity_id(self, entity: Any) -> str:
        return str(entity.id)

    def query(self, price_min: float, price_max: float, category: str, limit: int) -> list[Any]:
        raise NotAvailable

    def count_price(self, price_min: float, price_max: float) -> int:
        raise NotAvailable

    def rating_at_least(self, rating: float) -> list[Any]:
        raise NotAvailable

    def stream(self, batch_size: int) -> Iterable[Any]:
        raise NotAvailable

    def update_stock(self, rating_max: float, stock: int) -> None:
        raise NotAvailable

    def ids_with_stock_at_least(self, stock: int) -> list[str]:
        raise NotAvailable

    def delete_rating_at_least(self, rating: float) -> None:
        raise NotAvailable

    def close(self) -> None:
        """Release connections."""


class AsyncAdapter(Adapter):
    """Base for an asyncio library: run each coroutine to completion on one long-lived loop,
    so the timed call includes the await but not the loop's creation."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.loop.close()


# -- measuring ---------------------------------------------------------------------------------

def _rss_kib(field: str) -> int:
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _redis_used_memory(url: str) -> int | None:
    """The server's ``used_memory`` (every contender's venv has redis-py; None without it)."""
    try:
        import redis
    except ImportError:
        return None
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux): the next VmHWM is the peak from here on."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Profiling:
    """Optional pyinstrument (or cProfile) around chosen workloads; text reports to a folder."""

    def __init__(self, spec: Mapping[str, Any] | None, contender: str) -> None:
        self.workloads = set(spec.get("workloads", ())) if spec else set()
        self.folder = Path(spec["dir"]) if spec else None
        self.contender = contender

    @contextlib.contextmanager
    def around(self, workload: str) -> Any:
        if workload not in self.workloads or self.folder is None:
            yield
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{self.contender}-{workload}.txt"
        try:
            from pyinstrument import Profiler
        except ImportError:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            try:
                yield
            finally:
                prof.disable()
                with open(target, "w") as out:
                    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(40)
            return
        profiler = Profiler(interval=0.0002)
        profiler.start()
        try:
            yield
        finally:
            profiler.stop()
            show = {"show_regex": r".*(assimilator_stack|bench|redis_om|assimilator)/.*"}
            target.write_text(profiler.output_text(processor_options=show))


class Phase:
    """Runs the workloads of one phase and collects one result per workload."""

    def __init__(self, adapter: Adapter, task: Mapping[str, Any]) -> None:
        self.adapter = adapter
        self.url = task["url"]
        self.params = task["params"]
        self.budgets = {k: Budget(*v) for k, v in task["budgets"].items()}
        self.profiling = Profiling(task.get("profile"), adapter.key)
        self.results: dict[str, dict[str, Any]] = {}

    def attempt(self, workload: str, body: Callable[[], dict[str, Any]]) -> None:
        gc.collect()
        try:
            with self.profiling.around(workload):
                result = body()
            result["status"] = "ok"
        except self.adapter.unavailable as exc:
            result = {"status": "not_available", "message": _describe(exc)}
        except Exception as exc:  # reported, and the other workloads go on
            traceback.print_exc(file=sys.stderr)
            result = {"status": "error", "message": _describe(exc)}
        note = self.adapter.notes.get(workload)
        if note:
            result["note"] = note
        self.results[workload] = result

    # -- phase "load": workloads 1 to 5 -------------------------------------------------------

    def load(self) -> None:
        a, p = self.adapter, self.params
        held = [a.build(generate(p["n"], p["seed"]))]  # dropped once inserted

        def insert() -> dict[str, Any]:
            gc.collect()
            before = _redis_used_memory(self.url)
            seconds, _ = timed(lambda: a.insert(held[0]))
            after = _redis_used_memory(self.url)
            return {"samples": summary([seconds]), "answer": {"count": a.count_all()},
                    "redis_memory": {"before": before, "after": after}}

        self.attempt("insert", insert)
        held.clear()

        def get() -> dict[str, Any]:
            ids = p["get_ids"]
            for warm in ids[:5]:
                a.get(warm)
            samples, prints = each(a.get, ids, self.budgets["get"],
                                   lambda e: fingerprint(a.as_dict(e)))
            return {"samples": summary(samples),
                    "answer": {"calls": len(prints), "digest": digest(prints)}}

        self.attempt("get", get)

        def query() -> dict[str, Any]:
            lo, hi = p["query_price"]
            args = (lo, hi, p["query_category"], p["query_limit"])
            answer = {"ids": [a.entity_id(e) for e in a.query(*args)]}
            samples = repeat(lambda: a.query(*args), self.budgets["query"])
            return {"samples": summary(samples), "answer": answer}

        self.attempt("query", query)

        def count() -> dict[str, Any]:
            lo, hi = p["count_price"]
            answer = {"count": a.count_price(lo, hi)}
            samples = repeat(lambda: a.count_price(lo, hi), self.budgets["count"])
            return {"samples": summary(samples), "answer": answer}

        self.attempt("count", count)

        def filter1000() -> dict[str, Any]:
            found = sorted(a.entity_id(e) for e in a.rating_at_least(p["filter_rating_min"]))
            answer = {"count": len(found), "digest": digest(found)}
            samples = repeat(lambda: a.rating_at_least(p["filter_rating_min"]),
                             self.budgets["filter1000"])
            return {"samples": summary(samples), "answer": answer}

        self.attempt("filter1000", filter1000)

    # -- phase "stream": workload 6, in a fresh process so its peak memory is its own -------

    def stream(self) -> None:
        a, p = self.adapter, self.params

        def stream() -> dict[str, Any]:
            gc.collect()
            baseline = _rss_kib("VmRSS")
            exact = _reset_peak_rss()
            count = 0
            checksum = 0

            def consume() -> None:
                nonlocal count, checksum
                for entity in a.stream(p["batch_size"]):
                    count += 1
                    checksum = (checksum + id_checksum((a.entity_id(entity),))) % (1 << 32)

            seconds, _ = timed(consume)
            peak = _rss_kib("VmHWM")
            return {
                "samples": summary([seconds]),
                "answer": {"count": count, "checksum": checksum},
                "memory": {"baseline_mib": baseline / 1024, "peak_mib": peak / 1024,
                           "growth_mib": max(0, peak - baseline) / 1024,
                           "peak_reset": exact, "batch_size": p["batch_size"]},
            }

        self.attempt("stream", stream)

    # -- phase "mutate": workload 7 -----------------------------------------------------------

    def mutate(self) -> None:
        a, p = self.adapter, self.params

        def update() -> dict[str, Any]:
            seconds, _ = timed(lambda: a.update_stock(p["update_rating_max"], p["updated_stock"]))
            ids = sorted(a.ids_with_stock_at_least(p["updated_stock"]))
            return {"samples": summary([seconds]),
                    "answer": {"count": len(ids), "digest": digest(ids)}}

        self.attempt("update", update)

        def delete() -> dict[str, Any]:
            seconds, _ = timed(lambda: a.delete_rating_at_least(p["delete_rating_min"]))
            return {"samples": summary([seconds]), "answer": {"remaining": a.count_all()}}

        self.attempt("delete", delete)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= 300 else text[:297] + "..."


def versions(names: Iterable[str]) -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def main(make_adapter: Callable[[], Adapter]) -> None:
    """Entry point of a worker module."""
    task = json.loads(sys.stdin.read())
    adapter = make_adapter()
    reply: dict[str, Any] = {"contender": adapter.key, "phase": task["phase"],
                             "versions": versions(adapter.distributions), "pid": os.getpid()}
    try:
        adapter.connect(task["url"])
        phase = Phase(adapter, task)
        if task["phase"] == "load":
            adapter.prepare()
            phase.load()
        elif task["phase"] == "stream":
            phase.stream()
        elif task["phase"] == "mutate":
            phase.mutate()
        else:
            raise ValueError(f"unknown phase {task['phase']!r}")
        reply["results"] = phase.results
    finally:
        adapter.close()
    sys.stdout.write(RESULT_MARK + json.dumps(reply) + "\n")
    sys.stdout.flush()
