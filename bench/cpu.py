"""CPU time per call, without I/O: assimilator_stack against the leanest hand-written redis-py.

End-to-end timings on a shared machine swing by ±20 % between runs; the CPU a library spends
per call does not. So this measures it directly:

1. Load the same N products twice into one embedded server (or ``--redis-url``): through the
   library (its index, its documents) and through the raw contender (``workers/raw.py``: its
   own index and plain documents). Bulk insert is timed end to end here (rounds alternate
   which side goes first) and Redis memory per entity is read around each load.
2. For each workload, run the library's call and the raw call against the server once for
   real, *recording* at the connection (the bytes sent, the replies as the parser returned
   them, before redis-py's response callbacks).
3. *Replay*: the connection sends nothing and reads nothing; each read returns the next
   recorded reply. A checked replay first proves that each side sends exactly what it sent
   live and gives the live answer (and that the library's answer is raw's). Then each side
   is timed (this thread's CPU time, ``time.thread_time_ns``) over several rounds,
   alternating; the minimum and the median per call are reported, and their difference.
   The harness's own objects (loaded entities, tapes) are ``gc.freeze()``-d first, so the
   garbage collector's share is what each call's allocations cost, not the harness's heap.

Everything above the socket is measured, for both sides alike: building the specifications,
compiling and planning (library), redis-py's command packing, pool and callbacks, reply
parsing, pydantic validation. The raw side is ``workers/raw.py``'s adapter, the library side
``workers/stack_sync.py``'s (the same code the end-to-end benchmark runs).

Run from the repository root, in a venv with the library installed (``pip install -e
".[server,bench]"``)::

    python -m bench.cpu                 # N = 10,000; writes bench/results/<date>-cpu.{md,json}
    python -m bench.cpu --profile       # also: where the library's CPU goes, per workload
    python -m bench.cpu --n 2000 --rounds 5 --no-write   # quick look

Targets (issue 9): library ≤ raw + 5 µs for get, + 20 µs for the sorted top 20, + 300 µs for a
1,000-row page, + 10 µs for count; bulk insert end to end ≤ 1.30 x raw.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import inspect
import io
import json
import math
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import redis
from redis.exceptions import ResponseError

from . import machine, memory, server
from .dataset import fingerprint, generate
from .workloads import COUNT_PRICE, QUERY_CATEGORY, QUERY_LIMIT, QUERY_PRICE, plan

REPO = Path(__file__).resolve().parent.parent
TARGETS_US = {"get": 5.0, "query": 20.0, "query_new": 20.0, "page1000": 300.0,
              "count": 10.0}
INSERT_TARGET = 1.30
INSERT_CPU_BATCH = 1000  # entities per replayed bulk insert (re-saves of loaded entities)
FRESH_VALUES = 600  # distinct filter values a workload cycles through (more than any cache)


# -- the recording / replaying connection ------------------------------------------------------


class Tape:
    """What one call sent and received. ``mode``: live (plain I/O), record, replay."""

    def __init__(self) -> None:
        self.mode = "live"
        self.replies: list[Any] = []
        self.sent: list[bytes] = []
        self.pos = 0
        self.check = False  # while replaying: also collect what is sent, to compare

    def start(self, mode: str, replies: list[Any] | None = None) -> None:
        self.mode = mode
        self.replies = [] if replies is None else replies
        self.sent = []
        self.pos = 0


TAPE = Tape()


def _packed(command: Any) -> bytes:
    if isinstance(command, (bytes, str)):
        return command.encode() if isinstance(command, str) else command
    return b"".join(bytes(part) for part in command)


class TapeConnection(redis.Connection):
    """A redis-py connection that also records (mode ``record``) or replays (``replay``)."""

    tape: ClassVar[Tape] = TAPE

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        tape = self.tape
        if tape.mode == "live":
            super().send_packed_command(command, check_health)
            return
        if tape.mode == "record" or tape.check:
            tape.sent.append(_packed(command))
        if tape.mode == "record":
            super().send_packed_command(command, check_health)

    def can_read(self, timeout: float = 0) -> bool:
        if self.tape.mode == "replay":
            return False
        return super().can_read(timeout)  # type: ignore[no-any-return]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        tape = self.tape
        if tape.mode == "replay":
            reply = tape.replies[tape.pos]
            tape.pos += 1
            if isinstance(reply, ResponseError):
                raise reply
            return reply
        try:
            reply = super().read_response(*args, **kwargs)
        except ResponseError as exc:
            if tape.mode == "record":
                tape.replies.append(exc)
            raise
        if tape.mode == "record":
            tape.replies.append(reply)
        return reply


def tape_client(url: str) -> redis.Redis:
    pool = redis.ConnectionPool.from_url(url, connection_class=TapeConnection,
                                         socket_timeout=300.0)
    return redis.Redis(connection_pool=pool)


# -- the two sides -----------------------------------------------------------------------------


def _sides(client: redis.Redis) -> tuple[Any, Any]:
    """(library adapter, raw adapter) on ``client`` (imported here: the workers' modules)."""
    from assimilator_stack import RedisRepository, RedisUnitOfWork

    from .workers.raw import Raw
    from .workers.stack_sync import Product, StackSync

    lib = StackSync()
    lib.client = client
    options: dict[str, Any] = {}
    if "index_check_interval" in inspect.signature(RedisRepository).parameters:
        # The index health check (one FT.INFO per second and pool) is not replayed: a replay
        # has no reply for it. Its cost per call when not due is measured.
        options["index_check_interval"] = math.inf
    lib.repo = RedisRepository(session=client, model=Product, **options)
    lib.specs = lib.repo.specs
    lib.unit_of_work = RedisUnitOfWork
    raw = Raw()
    raw.r = client
    return lib, raw


@dataclass
class Workload:
    key: str
    title: str
    lib: Callable[[Any], Any]
    raw: Callable[[Any], Any]
    args: Sequence[Any]
    answer: Callable[[Any], Any]  # comparable form of a result
    per: int = 1  # results are also shown per this many items (insert: per entity)
    lib_tapes: list[list[Any]] = field(default_factory=list)
    raw_tapes: list[list[Any]] = field(default_factory=list)
    lib_sent: list[list[bytes]] = field(default_factory=list)
    raw_sent: list[list[bytes]] = field(default_factory=list)
    answers: list[Any] = field(default_factory=list)


def workloads(lib: Any, raw: Any, params: Any, lib_entities: list[Any],
              raw_entities: list[Any]) -> list[Workload]:
    def entity_print(e: Any) -> str:
        return fingerprint(e.model_dump())

    def ids(found: list[Any]) -> list[str]:
        return [e.id for e in found]

    lo, hi = QUERY_PRICE
    clo, chi = COUNT_PRICE
    rating = params.filter_rating_min
    batch = min(INSERT_CPU_BATCH, len(lib_entities))
    return [
        Workload("get", "get by id", lib.get, raw.get, params.get_ids[:8], entity_print),
        Workload("query", f"price range AND category, order by rating desc, first "
                 f"{QUERY_LIMIT}",
                 lambda _: lib.query(lo, hi, QUERY_CATEGORY, QUERY_LIMIT),
                 lambda _: raw.query(lo, hi, QUERY_CATEGORY, QUERY_LIMIT), [None], ids),
        Workload("query_new", f"the same, a new price range each call ({FRESH_VALUES} "
                 "in turn: what no cache of compiled filters can answer)",
                 lambda lo_: lib.query(lo_, hi, QUERY_CATEGORY, QUERY_LIMIT),
                 lambda lo_: raw.query(lo_, hi, QUERY_CATEGORY, QUERY_LIMIT),
                 [round(lo + i / 100, 2) for i in range(FRESH_VALUES)], ids),
        Workload("page1000", "filter returning 1,000 entities",
                 lambda _: lib.rating_at_least(rating), lambda _: raw.rating_at_least(rating),
                 [None], lambda found: sorted(ids(found))),
        Workload("count", "count of a price range", lambda _: lib.count_price(clo, chi),
                 lambda _: raw.count_price(clo, chi), [None], int),
        Workload("insert", f"bulk insert of {batch:,} (unit of work / pipeline), "
                 "shown per entity",
                 lambda _: lib.insert(lib_entities[:batch]),
                 lambda _: raw.insert(raw_entities[:batch]), [None], lambda _: None,
                 per=batch),
    ]


# -- record, check, time -----------------------------------------------------------------------


def record(w: Workload) -> None:
    for arg in w.args:
        answers = []
        for side, tapes, sent in ((w.lib, w.lib_tapes, w.lib_sent),
                                  (w.raw, w.raw_tapes, w.raw_sent)):
            side(arg)  # warm: what is asked once per pool (FT.CONFIG, FT.INFO) is asked now
            TAPE.start("record")
            try:
                answers.append(w.answer(side(arg)))
            finally:
                TAPE.mode = "live"
            tapes.append(TAPE.replies)
            sent.append(TAPE.sent)
        if answers[0] != answers[1]:
            raise SystemExit(f"{w.key}({arg!r}): the library answered {answers[0]!r}, "
                             f"raw redis-py {answers[1]!r}")
        w.answers.append(answers[0])


def check_replay(w: Workload) -> None:
    """Each side, replayed, sends what it sent live, reads every reply, answers the same."""
    for i, arg in enumerate(w.args):
        for name, side, tapes, sent in (("library", w.lib, w.lib_tapes, w.lib_sent),
                                        ("raw", w.raw, w.raw_tapes, w.raw_sent)):
            TAPE.start("replay", tapes[i])
            TAPE.check = True
            try:
                got = w.answer(side(arg))
            finally:
                TAPE.check = False
                TAPE.mode = "live"
            problems = []
            if TAPE.sent != sent[i]:
                problems.append(f"sent {len(TAPE.sent)} packets, {len(sent[i])} live")
            if TAPE.pos != len(tapes[i]):
                problems.append(f"read {TAPE.pos} of {len(tapes[i])} replies")
            if got != w.answers[i]:
                problems.append("answered differently")
            if problems:
                raise SystemExit(f"replay of {name} {w.key}({arg!r}): " + "; ".join(problems))


def _time(side: Callable[[Any], Any], args: Sequence[Any], tapes: list[list[Any]],
          calls: int) -> float:
    """CPU seconds per call of ``side``, replayed ``calls`` times (cycling the arguments)."""
    n = len(args)
    gc.collect()
    start = time.thread_time_ns()
    for i in range(calls):
        TAPE.start("replay", tapes[i % n])
        side(args[i % n])
    spent = time.thread_time_ns() - start
    TAPE.mode = "live"
    return spent / calls / 1e9


def measure(w: Workload, rounds: int, round_seconds: float) -> dict[str, Any]:
    probe = max(_time(w.lib, w.args, w.lib_tapes, 3), 1e-7)
    calls = max(3, min(20000, int(round_seconds / probe)))
    lib: list[float] = []
    raw: list[float] = []
    for r in range(rounds):
        order = ((lib, w.lib, w.lib_tapes), (raw, w.raw, w.raw_tapes))
        for out, side, tapes in (order if r % 2 == 0 else order[::-1]):
            out.append(_time(side, w.args, tapes, calls))
    return {
        "title": w.title, "calls_per_round": calls, "rounds": rounds, "per": w.per,
        "library_us": _summary(lib), "raw_us": _summary(raw),
        "difference_us": {"min": (min(lib) - min(raw)) * 1e6,
                          "median": (statistics.median(lib) - statistics.median(raw)) * 1e6},
        "commands": {"library": [len(s) for s in w.lib_sent][:1],
                     "raw": [len(s) for s in w.raw_sent][:1]},
    }


def _summary(samples: list[float]) -> dict[str, float]:
    return {"min": min(samples) * 1e6, "median": statistics.median(samples) * 1e6,
            "max": max(samples) * 1e6}


def profile(w: Workload, seconds: float, top: int) -> str:
    """cProfile of the library side, replayed: the functions with the most own time."""
    probe = max(_time(w.lib, w.args, w.lib_tapes, 3), 1e-7)
    calls = max(3, int(seconds / probe))
    prof = cProfile.Profile()
    prof.enable()
    _time(w.lib, w.args, w.lib_tapes, calls)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    out.write(f"### {w.key}: {calls} replayed calls\n\n")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# -- end-to-end bulk insert and memory ---------------------------------------------------------


def insert_rounds(url: str, n: int, seed: int, rounds: int
                  ) -> tuple[redis.Redis, list[Any], list[Any], dict[str, Any]]:
    """Bulk insert of ``n`` by each side, end to end, ``rounds`` times (FLUSHALL before each
    round; the side going first alternates); then each side's memory per entity, loaded alone
    on an emptied server (both sides store the same strings, which RedisJSON may share);
    then both loads again, for the replay. Returns a client (fresh pool: the library knows
    nothing stale about the server) and both sides' entities."""
    rows = generate(n, seed)
    lib_seconds: list[float] = []
    raw_seconds: list[float] = []
    client: redis.Redis | None = None
    lib_entities: list[Any] = []
    raw_entities: list[Any] = []

    def fresh() -> tuple[redis.Redis, Any, Any]:
        nonlocal client, lib_entities, raw_entities
        server.flush(url)
        if client is not None:
            client.close()
        client = tape_client(url)
        lib, raw = _sides(client)
        if not lib_entities:
            lib_entities, raw_entities = lib.build(rows), raw.build(rows)
        return client, lib, raw

    for r in range(rounds):
        _, lib, raw = fresh()
        raw.prepare()
        lib.prepare()
        order = [(lib, lib_entities, lib_seconds), (raw, raw_entities, raw_seconds)]
        for side, entities, out in (order if r % 2 == 0 else order[::-1]):
            gc.collect()
            start = time.perf_counter()
            side.insert(entities)
            out.append(time.perf_counter() - start)
        if lib.count_all() != n or raw.count_all() != n:
            raise SystemExit("bulk insert: a side did not store every entity")
    mem: dict[str, Any] = {}
    for name in ("library", "raw"):
        c, lib, raw = fresh()
        side, entities = (lib, lib_entities) if name == "library" else (raw, raw_entities)
        side.prepare()
        index = lib.repo.plans.index.name if name == "library" else "product:idx"
        before = memory.used_memory(c)
        side.insert(entities)
        mem[name] = memory.per_entity(before, memory.used_memory(c),
                                      memory.index_bytes(c, [index]), n)
    c, lib, raw = fresh()
    for side, entities in ((raw, raw_entities), (lib, lib_entities)):
        side.prepare()
        side.insert(entities)
    ratios = [a / b for a, b in zip(lib_seconds, raw_seconds)]
    e2e = {"n": n, "rounds": rounds, "library_s": lib_seconds, "raw_s": raw_seconds,
           "ratio": {"min": min(ratios), "median": statistics.median(ratios)}}
    return c, lib_entities, raw_entities, {"insert_end_to_end": e2e, "memory": mem}


# -- report ------------------------------------------------------------------------------------


def _f(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}"


def markdown(result: dict[str, Any], command: str) -> str:
    m = result["machine"]
    out = [f"# CPU per call without I/O, {result['date']}", "",
           f"Reproduce: `{command}` (from the repository root). Machine: {m['cpu']}, "
           f"{m['cores']} cores, Python {m['python']}; N = {result['n']:,} loaded.", "",
           "Replayed replies, no I/O: this thread's CPU time per call, minimum and median of "
           f"{result['rounds']} rounds (sides alternate). See `bench/cpu.py`.", "",
           "| workload | library µs (min / median) | raw µs (min / median) | "
           "difference µs (min / median) | target | verdict |",
           "|---|---|---|---|---|---|"]
    for key, w in result["cpu"].items():
        lib, raw, diff = w["library_us"], w["raw_us"], w["difference_us"]
        per = w["per"]
        if per > 1:
            lib = {k: v / per for k, v in lib.items()}
            raw = {k: v / per for k, v in raw.items()}
            diff = {k: v / per for k, v in diff.items()}
        target = TARGETS_US.get(key)
        verdict = ("—" if target is None else
                   "PASS" if diff["min"] <= target else "FAIL")
        out.append(f"| {w['title']} | {_f(lib['min'])} / {_f(lib['median'])} | "
                   f"{_f(raw['min'])} / {_f(raw['median'])} | "
                   f"{diff['min']:+.1f} / {diff['median']:+.1f} | "
                   f"{'—' if target is None else f'≤ +{target:g}'} | {verdict} |")
    e2e = result["insert_end_to_end"]
    ratio = e2e["ratio"]
    out += ["", f"Bulk insert of {e2e['n']:,} end to end (real I/O), library ÷ raw over "
            f"{e2e['rounds']} rounds: min {ratio['min']:.2f}, median {ratio['median']:.2f} "
            f"(target ≤ {INSERT_TARGET:.2f}: "
            f"{'PASS' if ratio['median'] <= INSERT_TARGET else 'FAIL'}; judged on the median).",
            "",
            "Redis memory per entity, each side loaded alone on an emptied server "
            "(`used_memory` delta; index = FT.INFO sizes of its index):", "",
            "| side | bytes per entity | index | documents and keys |", "|---|---|---|---|"]
    for name, mem in result["memory"].items():
        out.append(f"| {name} | {mem['bytes_per_entity']:,} | "
                   f"{mem['index_bytes_per_entity']:,} | {mem['rest_bytes_per_entity']:,} |")
    out.append("")
    return "\n".join(out)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=10_000, help="entities loaded (default 10,000)")
    p.add_argument("--rounds", type=int, default=9, help="timed rounds per side (default 9)")
    p.add_argument("--round-seconds", type=float, default=0.15,
                   help="CPU seconds one timed round aims at (default 0.15)")
    p.add_argument("--insert-rounds", type=int, default=3,
                   help="end-to-end bulk insert rounds (default 3)")
    p.add_argument("--seed", type=int, default=20240101)
    p.add_argument("--redis-url", default=None,
                   help="use this server instead of the embedded one (it is FLUSHALLed!)")
    p.add_argument("--only", default=None, help="comma-separated workloads to time")
    p.add_argument("--profile", action="store_true",
                   help="print where the library's CPU goes (cProfile of the replayed calls)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    p.add_argument("--no-write", action="store_true", help="print only; write no files")
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin the embedded server and this process to separate CPUs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.n < 1000:
        raise SystemExit("--n must be at least 1,000 (workload page1000)")
    rows = generate(args.n, args.seed)
    params = plan(rows, args.seed, 1000)
    del rows
    result: dict[str, Any] = {"date": dt.date.today().isoformat(), "machine": machine.describe(),
                              "n": args.n, "rounds": args.rounds, "cpu": {}}
    profiles: list[str] = []
    with server.shared_server(args.redis_url) as shared:
        if not args.no_pin:
            cpus = server.split_cpus(shared.pid)
            if cpus:
                os.sched_setaffinity(0, cpus)
        client, lib_entities, raw_entities, loaded = insert_rounds(
            shared.url, args.n, args.seed, max(1, args.insert_rounds))
        result.update(loaded)
        lib, raw = _sides(client)
        # What the harness holds (20,000 entities, then the recorded replies) is left out of
        # the collector's passes, as an application's long-lived objects mostly are: each
        # call still pays for collecting what it allocates, not for the harness's heap.
        gc.collect()
        gc.freeze()
        chosen = set(args.only.split(",")) if args.only else None
        for w in workloads(lib, raw, params, lib_entities, raw_entities):
            if chosen is not None and w.key not in chosen:
                continue
            record(w)
            check_replay(w)
            gc.freeze()  # the tapes too
            result["cpu"][w.key] = measure(w, max(1, args.rounds), args.round_seconds)
            c = result["cpu"][w.key]
            print(f"{w.key:<9} library {c['library_us']['min']:9.1f} µs   raw "
                  f"{c['raw_us']['min']:9.1f} µs   difference {c['difference_us']['min']:+9.1f}"
                  f" µs (min; median {c['difference_us']['median']:+.1f})", flush=True)
            if args.profile:
                profiles.append(profile(w, 2.0, 30))
        client.close()
        server.flush(shared.url)
    command = "python -m bench.cpu " + " ".join(sys.argv[1:] if argv is None else argv)
    text = markdown(result, command.strip())
    print("\n" + text)
    for p in profiles:
        print(p)
    if not args.no_write:
        args.out.mkdir(parents=True, exist_ok=True)
        stem = args.out / f"{result['date']}-cpu"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
        stem.with_suffix(".md").write_text(text + "\n")
        print(f"wrote {stem}.md, {stem}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
