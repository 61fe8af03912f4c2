"""Runs the benchmark: for each N, for each contender, its three phases in worker processes
against the shared server (emptied between contenders), then checks every answer."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis

from . import launch, machine, memory, server
from .contenders import Contender
from .dataset import generate
from .rounds import merge
from .verify import WRONG, check, loud
from .workloads import KEYS, PHASE_OF, PHASES, Truth, plan, truth

REPO = launch.REPO
VENVS = REPO / "bench" / ".venvs"
PROFILED = ("insert", "get", "query", "filter1000")


@dataclass
class Options:
    sizes: list[int]
    contenders: list[Contender]
    seed: int = 20240101
    batch_size: int = 1000
    budget_seconds: float = 10.0
    smoke: bool = False
    redis_url: str | None = None
    worker_timeout: float = 1800.0
    profile: bool = False
    stack_ref: str | None = None
    pin: bool = True
    rounds: int = 1
    out_dir: Path = REPO / "bench" / "results"
    venv_dir: Path = VENVS

    def budgets(self) -> dict[str, list[float]]:
        """[target runs, minimum runs, seconds] per timed loop."""
        if self.smoke:
            return {"get": [100, 10, 1.0], "query": [20, 3, 1.0], "count": [20, 3, 1.0],
                    "filter1000": [5, 2, 1.0]}
        s = self.budget_seconds
        return {"get": [1000, 100, s], "query": [200, 5, s], "count": [200, 5, s],
                "filter1000": [50, 3, s]}


@dataclass
class Run:
    """Everything a run measured; saved as JSON and rendered by report.py and plot.py."""

    date: str
    machine: dict[str, Any]
    options: dict[str, Any]
    server: dict[str, Any] = field(default_factory=dict)
    contenders: dict[str, dict[str, Any]] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    # results[str(N)][workload][contender] = one worker result (status, samples, answer, ...)
    results: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # memory[str(N)][contender]: Redis memory per entity after its load phase (memory.py)
    memory: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def log(message: str) -> None:
    print(message, flush=True)


def run(options: Options) -> Run:
    started = time.monotonic()
    record = Run(
        date=dt.date.today().isoformat(),
        machine=machine.describe(),
        options={"sizes": options.sizes, "seed": options.seed,
                 "batch_size": options.batch_size, "budgets": options.budgets(),
                 "smoke": options.smoke, "rounds": options.rounds,
                 "contenders": [c.key for c in options.contenders]},
        sizes=list(options.sizes),
    )
    workers = launch.prepare(options.contenders, options.venv_dir, options.stack_ref,
                             options.worker_timeout, log)
    for c in options.contenders:
        record.contenders[c.key] = {"label": c.label}
        if c.key in workers.sources:
            record.contenders[c.key]["source"] = workers.sources[c.key]
    with server.shared_server(options.redis_url) as shared:
        url = shared.url
        record.server = server.describe(url)
        workers.cpus = server.split_cpus(shared.pid) if options.pin else None
        record.options["pinned"] = (
            f"server on CPU {sorted(os.sched_getaffinity(shared.pid))}, workers on CPUs "
            f"{sorted(workers.cpus)}" if workers.cpus and shared.pid else "no")
        log(f"server: redis {record.server.get('redis')}, modules {record.server.get('modules')}")
        for n in options.sizes:
            _one_size(options, record, workers, url, n)
        if options.profile:
            _profile(options, record, workers, url, max(options.sizes))
    record.seconds = round(time.monotonic() - started, 1)
    return record


def _one_size(options: Options, record: Run, workers: launch.Launcher, url: str,
              n: int) -> None:
    log(f"\n=== N = {n:,}")
    rows = generate(n, options.seed)
    params = plan(rows, options.seed, options.batch_size)
    right = truth(rows, params)
    del rows
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {k: {} for k in KEYS}
    for number in range(options.rounds):
        if options.rounds > 1:
            log(f"  round {number + 1} of {options.rounds}")
        for c in options.contenders:
            server.flush(url)
            for phase in PHASES:
                task = {"phase": phase, "url": url, "params": params.as_json(),
                        "budgets": options.budgets()}
                started = time.monotonic()
                reply = workers.phase(c, task)
                if phase == "load":
                    _memory(record, url, n, c, reply["results"].get("insert", {}))
                record.contenders[c.key]["versions"] = reply.get("versions", {})
                for workload, result in reply["results"].items():
                    checked = _checked(c, n, workload, result, right, record)
                    rounds[workload].setdefault(c.key, []).append(checked)
                log(f"  {c.label:<24} {phase:<6} {time.monotonic() - started:6.1f}s  "
                    + "  ".join(_brief(k, rounds[k][c.key][-1]) for k in KEYS
                                if PHASE_OF[k] == phase and c.key in rounds[k]))
    server.flush(url)
    record.results[str(n)] = {k: {c: merge(found) for c, found in by_contender.items()}
                              for k, by_contender in rounds.items()}


def _memory(record: Run, url: str, n: int, c: Contender, insert: dict[str, Any]) -> None:
    """Redis memory the bulk insert added (every entity and its indexing; the worker reads
    used_memory around it), per entity, with the index's share (FT.INFO). The smallest of
    the rounds is kept (the allocator may hold a little more in one round)."""
    used = insert.get("redis_memory") or {}
    if insert.get("status") != "ok" or used.get("before") is None or used.get("after") is None:
        return
    client = redis.Redis.from_url(url)
    try:
        found = memory.per_entity(used["before"], used["after"], memory.index_bytes(client), n)
    finally:
        client.close()
    kept = record.memory.setdefault(str(n), {})
    if c.key not in kept or found["bytes_per_entity"] < kept[c.key]["bytes_per_entity"]:
        kept[c.key] = found
    log(f"  {c.label:<24} memory {found['bytes_per_entity']:,} B per entity "
        f"(index {found['index_bytes_per_entity']:,})")


def _checked(c: Contender, n: int, workload: str, result: dict[str, Any], right: Truth,
             record: Run) -> dict[str, Any]:
    result = check(workload, result, right)
    if result["status"] == WRONG:
        banner = loud(c.label, n, workload, result)
        print(banner, file=sys.stderr, flush=True)
        entry = f"{c.label}, N={n:,}, {workload}"
        if entry not in record.wrong:
            record.wrong.append(entry)
    elif result["status"] == "error":
        log(f"  !! {c.label}, N={n:,}, {workload}: error: {result.get('message')}")
    return result


def _brief(workload: str, result: dict[str, Any] | None) -> str:
    if not result:
        return f"{workload}=?"
    if result["status"] != "ok":
        return f"{workload}={result['status'].upper()}"
    return f"{workload}={result['samples']['median'] * 1000:.3g}ms"


def _profile(options: Options, record: Run, workers: launch.Launcher, url: str,
             n: int) -> None:
    """Load again with pyinstrument around workloads 2, 3 and 5, for the floor and ours."""
    folder = options.out_dir / f"profile-{record.date}-N{n}"
    log(f"\n=== profiling at N = {n:,} into {folder}")
    rows = generate(n, options.seed)
    params = plan(rows, options.seed, options.batch_size)
    del rows
    for c in options.contenders:
        if not (c.ours or c.key == "raw"):
            continue
        server.flush(url)
        task = {"phase": "load", "url": url, "params": params.as_json(),
                "budgets": options.budgets(),
                "profile": {"workloads": list(PROFILED), "dir": str(folder)}}
        workers.phase(c, task)
        for workload in PROFILED:
            path = folder / f"{c.key}-{workload}.txt"
            if path.exists():
                shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
                record.profiles[f"{c.key}/{workload}"] = str(shown)
    server.flush(url)
