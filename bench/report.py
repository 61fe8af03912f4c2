"""The Markdown report of a run (also printed on stdout): medians with min-max, ratios against
raw redis-py and against each peer, the targets of issue 4, memory, machine and versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .contenders import FLOOR, OURS
from .workloads import KEYS, TITLES, UNITS

_SCALE = {"us": 1e6, "ms": 1e3, "s": 1.0}
_NOT_AVAILABLE = "n/a"


def _n(value: str | int) -> str:
    return f"N={int(value):,}"


def _fmt(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def seconds_per_op(result: dict[str, Any] | None, workload: str, n: int) -> float | None:
    """The time used for ratios (lower is better); insert is per entity. None when void."""
    if not result or result.get("status") != "ok":
        return None
    median = float(result["samples"]["median"])
    return median / n if workload == "insert" else median


def _cell_value(result: dict[str, Any], workload: str, n: int) -> str:
    s = result["samples"]
    unit = UNITS[workload]
    if unit == "entities/s":
        return f"{_fmt(n / s['median'])}/s"
    k = _SCALE[unit]
    text = _fmt(s["median"] * k)
    if s["runs"] > 1:
        text += f" ({_fmt(s['min'] * k)}-{_fmt(s['max'] * k)})"
    return text


class Report:
    def __init__(self, run: dict[str, Any], command: str) -> None:
        self.run = run
        self.command = command
        self.sizes: list[str] = [str(n) for n in run["sizes"]]
        self.keys: list[str] = list(run["options"]["contenders"])
        self.labels = {k: run["contenders"].get(k, {}).get("label", k) for k in self.keys}
        self.footnotes: list[str] = []

    # -- pieces -----------------------------------------------------------------------------

    def result(self, n: str, workload: str, contender: str) -> dict[str, Any] | None:
        return self.run["results"].get(n, {}).get(workload, {}).get(contender)  # type: ignore[no-any-return]

    def time(self, n: str, workload: str, contender: str) -> float | None:
        return seconds_per_op(self.result(n, workload, contender), workload, int(n))

    def _note(self, text: str) -> str:
        if text not in self.footnotes:
            self.footnotes.append(text)
        return f"[{self.footnotes.index(text) + 1}]"

    def cell(self, n: str, workload: str, contender: str) -> str:
        r = self.result(n, workload, contender)
        if r is None:
            return "—"
        label = self.labels[contender]
        status = r.get("status")
        if status == "not_available":
            return f"{_NOT_AVAILABLE} " + self._note(f"{label}, {workload}: {r.get('message')}")
        if status == "error":
            return "ERROR " + self._note(f"{label}, {workload}: {r.get('message')}")
        if status == "wrong":
            return "**WRONG** " + self._note(
                f"{label}, {_n(n)}, {workload}: answered {r.get('answer')!r}, "
                f"expected {r.get('expected')!r}; timing voided")
        text = _cell_value(r, workload, int(n))
        runs, target = r["samples"]["runs"], self._target_runs(workload)
        if target and runs < target:
            text += f" [{runs} runs]"
        if contender != FLOOR:
            mine, floor = self.time(n, workload, contender), self.time(n, workload, FLOOR)
            if mine and floor:
                text += f" **x{mine / floor:.2f}**"
        return text

    def _target_runs(self, workload: str) -> int | None:
        budget = self.run["options"]["budgets"].get(workload)
        return int(budget[0]) if budget else None

    @staticmethod
    def table(head: list[str], rows: list[list[str]]) -> list[str]:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        return out

    # -- sections ---------------------------------------------------------------------------

    def results_section(self) -> list[str]:
        out = ["## Results", "",
               "Median (min-max) per operation; **xr** = time ÷ raw redis-py's time "
               "(lower is better; insert compares time per entity).", ""]
        for workload in KEYS:
            unit = UNITS[workload]
            unit_text = "entities per second" if unit == "entities/s" else f"{unit} per call"
            if workload in ("insert", "stream", "update", "delete"):
                unit_text += ", one run"
            out += [f"### {TITLES[workload]} ({unit_text})", ""]
            rows = [[self.labels[c]] + [self.cell(n, workload, c) for n in self.sizes]
                    for c in self.keys]
            out += [*self.table(["contender"] + [_n(n) for n in self.sizes], rows), ""]
        return out

    def peers_section(self) -> list[str]:
        """Speed-ups of each flavour of ours against each peer: peer time ÷ our time."""
        ours = [c for c in self.keys if self._is_ours(c)]
        peers = [c for c in self.keys if c != FLOOR and not self._is_ours(c)]
        if not ours or not peers:
            return []
        out = ["## Against each peer", "",
               "How many times faster (x) each flavour of assimilator_stack is than each "
               "peer: peer time ÷ our time (> 1 means we are faster).", ""]
        for mine in ours:
            head = ["workload"] + [f"vs {self.labels[p]}, {_n(n)}" for p in peers
                                   for n in self.sizes]
            rows = []
            for workload in KEYS:
                row = [TITLES[workload].split(" ", 1)[0]]
                for p in peers:
                    for n in self.sizes:
                        a, b = self.time(n, workload, p), self.time(n, workload, mine)
                        row.append(f"{a / b:.1f}x" if a and b else "—")
                rows.append(row)
            out += [f"### {self.labels[mine]}", "", *self.table(head, rows), ""]
        return out

    def _is_ours(self, key: str) -> bool:
        return key == OURS or key.startswith(OURS + "_")

    def memory_section(self) -> list[str]:
        rows = []
        for c in self.keys:
            row = [self.labels[c]]
            for n in self.sizes:
                r = self.result(n, "stream", c)
                mem = (r or {}).get("memory")
                if r and r.get("status") == "ok" and mem:
                    row.append(f"+{mem['growth_mib']:.1f} MiB (peak {mem['peak_mib']:.0f})")
                else:
                    row.append("—")
            rows.append(row)
        batch = self.run["options"]["batch_size"]
        intro = (f"Peak RSS growth of the worker while it iterates all N entities (batch size "
                 f"{batch}), over its RSS just before; the kernel's peak mark is reset first.")
        head = ["contender"] + [_n(n) for n in self.sizes]
        return ["## Memory of workload 6", "", intro, "", *self.table(head, rows), ""]

    def redis_memory(self, n: str, contender: str) -> dict[str, Any] | None:
        """Bytes per entity in Redis after the load, when the insert went right."""
        r = self.result(n, "insert", contender)
        if not r or r.get("status") != "ok":
            return None
        return self.run.get("memory", {}).get(n, {}).get(contender)  # type: ignore[no-any-return]

    def redis_memory_section(self) -> list[str]:
        if not self.run.get("memory"):
            return []
        rows = []
        for c in self.keys:
            row = [self.labels[c]]
            for n in self.sizes:
                mem = self.redis_memory(n, c)
                row.append("—" if mem is None else
                           f"{mem['bytes_per_entity']:,} (index {mem['index_bytes_per_entity']:,})")
            rows.append(row)
        intro = ("Bytes per entity Redis holds after the load phase (documents, keys and "
                 "search index): `INFO memory` used_memory after the load minus before, ÷ N; "
                 "in brackets the index's share (FT.INFO sizes). Smallest of the rounds. The first "
                 "load after the server starts also fills RediSearch's pools (about 300 KB "
                 "kept across FLUSHALL): compare at N ≥ 10,000.")
        head = ["contender"] + [_n(n) for n in self.sizes]
        return ["## Redis memory per entity", "", intro, "", *self.table(head, rows), ""]

    def targets_section(self) -> list[str]:
        out = ["## Targets (issue 4)", ""]
        rows = [self._target_floor(), self._target_redis_om(), self._target_py_assimilator(),
                self._target_count_checked(), self._target_memory(),
                self._target_bytes_per_entity()]
        out += [*self.table(["target", "measured", "verdict"], [r for r in rows if r]), ""]
        return out

    def _ratios(self, workloads: tuple[str, ...], ratio: Callable[[str, str], float | None]
                ) -> list[str]:
        found = []
        for workload in workloads:
            for n in self.sizes:
                value = ratio(n, workload)
                if value is not None:
                    found.append(f"{workload} {_n(n)}: {value:.2f}")
        return found

    def _target_floor(self) -> list[str]:
        def ratio(n: str, w: str) -> float | None:
            a, b = self.time(n, w, OURS), self.time(n, w, FLOOR)
            return a / b if a and b else None
        values = self._ratios(("get", "query", "filter1000"), ratio)
        worst = [ratio(n, w) for w in ("get", "query", "filter1000") for n in self.sizes]
        known = [v for v in worst if v is not None]
        missing = len(known) < len(worst)
        verdict = ("not measured" if not known else
                   "FAIL" if max(known) > 1.25 else "partial: PASS so far" if missing else "PASS")
        return ["sync / raw ≤ 1.25 on workloads 2, 3, 5", "; ".join(values) or "—", verdict]

    def _speedup(self, peer: str, workloads: tuple[str, ...], sizes: list[str]
                 ) -> tuple[list[str], list[float], int]:
        texts, values, wanted = [], [], 0
        for w in workloads:
            for n in sizes:
                wanted += 1
                a, b = self.time(n, w, peer), self.time(n, w, OURS)
                if a and b:
                    values.append(a / b)
                    texts.append(f"{w} {_n(n)}: {a / b:.1f}x")
        return texts, values, wanted

    def _target_redis_om(self) -> list[str] | None:
        if "redis_om" not in self.keys:
            return None
        texts, values, wanted = self._speedup("redis_om", ("insert", "query", "filter1000"),
                                              self.sizes)
        verdict = ("not measured" if not values else "FAIL" if min(values) < 2 else
                   "partial: PASS so far" if len(values) < wanted else "PASS")
        return ["≥ 2x faster than redis-om on workloads 1, 3, 5", "; ".join(texts) or "—",
                verdict]

    def _target_py_assimilator(self) -> list[str] | None:
        if "py_assimilator" not in self.keys:
            return None
        big = [n for n in self.sizes if int(n) >= 100_000]
        if not big:
            return ["≥ 100x faster than py-assimilator at N=100,000 on workload 3",
                    "not run at N=100,000 (use --sizes ...,100000)", "not measured"]
        texts, values, _ = self._speedup("py_assimilator", ("query",), big)
        verdict = "not measured" if not values else "FAIL" if min(values) < 100 else "PASS"
        return ["≥ 100x faster than py-assimilator at N=100,000 on workload 3",
                "; ".join(texts) or "—", verdict]

    def _target_count_checked(self) -> list[str] | None:
        if "py_assimilator" not in self.keys:
            return None
        texts = []
        for n in self.sizes:
            r = self.result(n, "count", "py_assimilator") or {}
            if r.get("status") == "wrong":
                texts.append(f"{_n(n)}: answered {r['answer']['count']:,}, "
                             f"true {r['expected']['count']:,}")
            elif r.get("status") == "ok":
                texts.append(f"{_n(n)}: right ({r['answer']['count']:,})")
        return ["py-assimilator's workload-4 count checked against the true count",
                "; ".join(texts) or "—", "checked"]

    def _target_memory(self) -> list[str]:
        growth = {}
        for n in self.sizes:
            r = self.result(n, "stream", OURS) or {}
            if r.get("status") == "ok":
                growth[int(n)] = float(r["memory"]["growth_mib"])
        target = "workload 6: peak memory grows with the batch size, not with N"
        if len(growth) < 2:
            return [target, "needs two sizes where the stream works", "not measured"]
        lo, hi = min(growth), max(growth)
        text = "; ".join(f"{_n(n)}: +{g:.1f} MiB" for n, g in sorted(growth.items()))
        # N grew hi/lo times; bounded means the growth stays within 2x (plus 5 MiB of noise).
        bounded = growth[hi] <= 2 * growth[lo] + 5
        return [target, text, "PASS" if bounded else "FAIL"]

    def _target_bytes_per_entity(self) -> list[str] | None:
        if "redis_om" not in self.keys or not self.run.get("memory"):
            return None
        texts, verdicts = [], []
        for n in self.sizes:
            mine, peer = self.redis_memory(n, OURS), self.redis_memory(n, "redis_om")
            if mine and peer:
                texts.append(f"{_n(n)}: {mine['bytes_per_entity']:,} vs "
                             f"{peer['bytes_per_entity']:,}")
                verdicts.append(mine["bytes_per_entity"] <= peer["bytes_per_entity"])
        verdict = "not measured" if not verdicts else "PASS" if all(verdicts) else "FAIL"
        return ["Redis bytes per entity ≤ redis-om's (issue 9)", "; ".join(texts) or "—",
                verdict]

    def header(self) -> list[str]:
        run = self.run
        m = run["machine"]
        srv = run.get("server", {})
        out = [f"# Benchmarks, {run['date']}", "",
               f"Reproduce: `{self.command}` (from the repository root).", "",
               f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, "
               f"Python {m['python']}. Server: Redis {srv.get('redis')} with "
               + ", ".join(f"{k} {v}" for k, v in srv.get("modules", {}).items())
               + f", on the same machine (127.0.0.1). Run took {run['seconds']:.0f}s.", "",
               "Each contender runs in its own virtual environment and worker process against "
               "one shared server, emptied (FLUSHALL) between contenders. Every answer is "
               "checked against the true answer computed from the generated data; a wrong "
               "answer voids that timing. Every client is made with `socket_timeout=300` "
               "(redis-py 8's default of 5 s is shorter than one MULTI/EXEC of 100,000 indexed "
               "documents here). Times are medians of one process each; on a machine shared "
               "with other work, compare ratios within one run, and use `--rounds 3` for "
               "steadier numbers.", ""]
        rows = []
        for c in self.keys:
            info = run["contenders"].get(c, {})
            versions = ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items())
            if info.get("source"):
                versions += f"; from {info['source']}"
            rows.append([self.labels[c], versions])
        out += [*self.table(["contender", "versions"], rows), ""]
        return out

    def notes_section(self) -> list[str]:
        out = []
        if self.run.get("wrong"):
            out += ["## Wrong answers (timings voided)", ""]
            out += [f"- {w}" for w in self.run["wrong"]] + [""]
        notes: dict[tuple[str, str], str] = {}
        for n in self.sizes:
            for workload in KEYS:
                for c in self.keys:
                    r = self.result(n, workload, c) or {}
                    if r.get("note"):
                        notes[(c, workload)] = r["note"]
        if notes:
            out += ["## How each contender answers", ""]
            out += [f"- {self.labels[c]}, {w}: {text}" for (c, w), text in notes.items()]
            out += [""]
        if self.run.get("profiles"):
            out += ["## Profiles", ""]
            out += [f"- {k}: `{v}`" for k, v in self.run["profiles"].items()] + [""]
        if self.footnotes:
            out += ["## Footnotes", ""]
            out += [f"{i}. {text}" for i, text in enumerate(self.footnotes, 1)] + [""]
        return out

    def markdown(self, plot: str | None = None) -> str:
        body = (self.results_section() + self.peers_section() + self.redis_memory_section()
                + self.memory_section())
        targets = self.targets_section()
        out = self.header() + targets
        if plot:
            out += [f"![time per operation against N]({plot})", ""]
        out += body + self.notes_section()
        return "\n".join(out)
