"""``python -m bench``: options, the run, then the table, the Markdown file and the plot."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import subprocess
import sys
from pathlib import Path

from . import venvs
from .contenders import CONTENDERS, select
from .report import Report
from .runner import REPO, Options, log, run

DEFAULT_SIZES = "1000,10000"
SMOKE_SIZE = "300"
EXIT_MISMATCH = 3


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="assimilator_stack against raw redis-py, redis-om and py-assimilator, "
                    "each in its own venv, on one embedded Redis Stack server.")
    p.add_argument("--sizes", default=None,
                   help=f"comma-separated N values (default {DEFAULT_SIZES}; the full run is "
                        "1000,10000,100000)")
    p.add_argument("--contenders", default=None,
                   help=f"comma-separated subset of {', '.join(CONTENDERS)} (default: all; "
                        "with --smoke only the quick ones)")
    p.add_argument("--smoke", action="store_true",
                   help=f"tiny N ({SMOKE_SIZE}), few runs: checks the harness and the answers")
    p.add_argument("--budget", type=float, default=10.0,
                   help="seconds one timed loop may take before it stops at its minimum runs")
    p.add_argument("--batch-size", type=int, default=1000, help="batch size of workload 6")
    p.add_argument("--rounds", type=int, default=1,
                   help="measure every contender this many times, alternating, and keep each "
                        "one's best round (steadier on a shared machine)")
    p.add_argument("--seed", type=int, default=20240101)
    p.add_argument("--redis-url", default=None,
                   help="use this server instead of the embedded one (it is FLUSHALLed!)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results",
                   help="folder for <date>.md, <date>.json and <date>.png")
    p.add_argument("--venvs", type=Path, default=REPO / "bench" / ".venvs")
    p.add_argument("--stack-ref", default=None, metavar="REF",
                   help="measure assimilator_stack as committed at REF (e.g. HEAD) instead of "
                        "the working tree (which others may be editing)")
    p.add_argument("--profile", action="store_true",
                   help="also profile workloads 2, 3, 5 (raw and ours) at the largest N")
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin the embedded server and the workers to separate CPUs")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--fail-on-mismatch", action="store_true",
                   help=f"exit {EXIT_MISMATCH} when any answer is wrong")
    return p.parse_args(argv)


def _sizes(args: argparse.Namespace) -> list[int]:
    text = args.sizes or (SMOKE_SIZE if args.smoke else DEFAULT_SIZES)
    try:
        sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    except ValueError:
        raise SystemExit(f"--sizes takes integers, got {text!r}") from None
    if not sizes or sizes[0] < 10:
        raise SystemExit("--sizes: every N must be at least 10")
    return sizes


def _plot(run_json: Path, png: Path, venv_dir: Path) -> bool:
    if importlib.util.find_spec("matplotlib") is not None:
        from .plot import draw

        draw(json.loads(run_json.read_text()), png)
        return True
    python = venvs.ensure(venv_dir / "plot", ("matplotlib",), log=log)
    done = subprocess.run([str(python), "-m", "bench.plot", str(run_json), str(png)],
                          cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        log(f"plot failed: {done.stderr.strip()[-2000:]}")
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    options = Options(
        sizes=_sizes(args),
        contenders=select(args.contenders, quick_only=args.smoke),
        seed=args.seed, batch_size=args.batch_size, budget_seconds=args.budget,
        smoke=args.smoke, redis_url=args.redis_url, profile=args.profile, pin=not args.no_pin,
        rounds=max(1, args.rounds), stack_ref=args.stack_ref,
        out_dir=args.out, venv_dir=args.venvs,
    )
    record = run(options)
    data = record.to_json()
    args.out.mkdir(parents=True, exist_ok=True)
    stem = record.date + ("-smoke" if args.smoke else "")
    run_json = args.out / f"{stem}.json"
    run_json.write_text(json.dumps(data, indent=1))
    png = args.out / f"{stem}.png"
    plotted = not args.no_plot and _plot(run_json, png, args.venvs)
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    report = Report(data, command.strip())
    text = report.markdown(png.name if plotted else None)
    md = args.out / f"{stem}.md"
    md.write_text(text + "\n")
    print("\n" + text)
    log(f"\nwrote {md}, {run_json}" + (f", {png}" if plotted else ""))
    if record.wrong:
        print("\n!!! WRONG ANSWERS (timings voided): " + "; ".join(record.wrong),
              file=sys.stderr)
        if args.fail_on_mismatch:
            return EXIT_MISMATCH
    return 0
