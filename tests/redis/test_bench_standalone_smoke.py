"""The standalone benchmark scripts (``python -m bench.search_relevance``,
``python -m bench.aggregate``, ``python -m bench.vectors``) at a tiny N: they run end to end
and exit 1 when the library's answer is wrong (each checks it against the truth before
timing). Never asserts on timing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assimilator_stack.testing import ServerNotAvailableError
from assimilator_stack.testing.binaries import find_modules, find_redis_server

REPO = Path(__file__).resolve().parents[2]


def _binaries() -> bool:
    # The scripts start their own embedded server.
    try:
        find_redis_server()
        find_modules()
    except ServerNotAvailableError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _binaries(), reason="needs the embedded server's binaries")


def _run(*args: str, patch: str = "") -> subprocess.CompletedProcess[str]:
    """Runs ``python -m bench.<args>``; ``patch`` is Python run first (to plant a wrong answer)."""
    code = "\n".join(["import runpy, sys", patch, f"sys.argv = {list(args)!r}",
                      f"runpy.run_module({args[0]!r}, run_name='__main__', alter_sys=True)"])
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def test_search_relevance_runs_and_checks() -> None:
    done = _run("bench.search_relevance", "300")
    assert done.returncode == 0, done.stderr + done.stdout
    lines = [line for line in done.stdout.splitlines() if line.startswith("N=")]
    assert len(lines) == 8  # 4 queries x (library, raw)
    # A library answer out of relevance order is caught before anything is timed.
    wrong = _run("bench.search_relevance", "300", patch=(
        "import assimilator_stack.backends.redis.sync_repository as r; "
        "hits = r.RedisRepository.hits; "
        "r.RedisRepository.hits = lambda self, *a, **k: hits(self, *a, **k)[::-1]"))
    assert wrong.returncode != 0 and "WRONG" in wrong.stdout + wrong.stderr


def test_aggregate_runs_and_checks() -> None:
    done = _run("bench.aggregate", "--sizes", "300", "--rounds", "1")
    assert done.returncode == 0, done.stderr + done.stdout
    rows = {line.split()[0]: line.split()[-1] for line in done.stdout.splitlines()[1:]}
    assert rows == {"raw-groupby": "WRONG", "raw-exact": "ok", "stack": "ok"}
    # A library answer one off is reported and fails the run.
    wrong = _run("bench.aggregate", "--sizes", "300", "--rounds", "1", patch=(
        "import assimilator_stack.backends.redis.sync_repository as r; "
        "agg = r.RedisRepository.aggregate; "
        "r.RedisRepository.aggregate = lambda self, *a, **k: "
        "[{**row, 'n': row['n'] + 1} for row in agg(self, *a, **k)]"))
    assert wrong.returncode == 1 and "WRONG: stack at N = 300" in wrong.stdout


def test_vectors_runs_and_checks() -> None:
    done = _run("bench.vectors", "--size", "300", "--runs", "1")
    assert done.returncode == 0, done.stderr + done.stdout
    assert sum(1 for line in done.stdout.splitlines() if line.startswith("| ")) == 8  # + header
    # A library KNN answer out of order is caught before anything is timed.
    wrong = _run("bench.vectors", "--size", "300", "--runs", "1", patch=(
        "import assimilator_stack.backends.redis.sync_repository as r; "
        "f = r.RedisRepository.filter; "
        "r.RedisRepository.filter = lambda self, *a, **k: f(self, *a, **k)[::-1]"))
    assert wrong.returncode == 1 and "WRONG flat knn" in wrong.stderr
