"""The PNG: time per operation against N, one panel per workload, one line per contender,
log-log. ``python -m bench.plot RUN.json OUT.png`` (needs matplotlib; the harness runs it in
its own venv ``bench/.venvs/plot`` when the current interpreter lacks it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .report import seconds_per_op
from .workloads import KEYS, TITLES

_UNIT = {"insert": ("µs per entity", 1e6), "get": ("µs per call", 1e6),
         "stream": ("s for all N", 1.0)}


def draw(run: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [int(n) for n in run["sizes"]]
    fig, axes = plt.subplots(2, 4, figsize=(18, 8.5))
    for ax, workload in zip(axes.flat, KEYS):
        label, scale = _UNIT.get(workload, ("ms per call", 1e3))
        for key in run["options"]["contenders"]:
            points = []
            for n in sizes:
                result = run["results"].get(str(n), {}).get(workload, {}).get(key)
                t = seconds_per_op(result, workload, n)
                if t is not None:
                    points.append((n, t * scale))
            if points:
                xs, ys = zip(*points)
                name = run["contenders"].get(key, {}).get("label", key)
                ax.plot(xs, ys, marker="o", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(TITLES[workload], fontsize=9)
        ax.set_xlabel("N")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=max(1, len(labels)))
    fig.suptitle(f"Time per operation against N (log-log), {run['date']}; lower is better")
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python -m bench.plot RUN.json OUT.png")
    draw(json.loads(Path(argv[0]).read_text()), Path(argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
