"""The suite as the Docker test service runs it: ``.[test]`` only (no embedded server
binaries) and REDIS_URL at a server started outside the tests. Tests that start a server of
their own skip, saying they need the binaries; everything else runs on REDIS_URL.
(``.ci/run`` runs the whole suite that way; these checks keep it honest in every run.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from assimilator_stack.testing import ServerNotAvailableError
from assimilator_stack.testing.binaries import (
    REDIS_MODULES_ENV,
    REDIS_SERVER_ENV,
    find_modules,
    find_redis_server,
)
from tests.support.cluster_support import NEEDS_CLUSTER

ROOT = Path(__file__).resolve().parents[2]

# Modules whose tests start servers of their own (stopped, private settings, the server
# itself), and one that only needs REDIS_URL.
OWN_SERVERS = ["tests/redis/test_aio.py", "tests/redis/test_embedded_server.py",
               "tests/redis/test_ordering_paging.py", "tests/redis/test_count.py",
               "tests/redis/test_cluster.py"]


@pytest.mark.slow
def test_tests_that_need_the_binaries_skip_saying_so(redis_stack_url: str,
                                                     tmp_path: Path) -> None:
    env = dict(os.environ, REDIS_URL=redis_stack_url, PYTHONDONTWRITEBYTECODE="1")
    env.pop("REDIS_CLUSTER_URL", None)
    # as without the server extra: no binary can be found
    env[REDIS_SERVER_ENV] = str(tmp_path / "no-redis-server")
    env[REDIS_MODULES_ENV] = str(tmp_path / "no-module.so")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider",
         "-k", "not differential", *OWN_SERVERS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    summary = out.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and re.search(r"\d+ skipped", summary), summary
    assert " error" not in summary and "failed" not in summary, summary
    skips = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert skips
    for line in skips:  # or the cluster runs of the query suite (no REDIS_CLUSTER_URL)
        assert "needs the embedded server binaries" in line or NEEDS_CLUSTER in line, line


@pytest.mark.slow
def test_the_unit_tier_needs_no_server_nor_binaries(tmp_path: Path) -> None:
    """``pytest tests/unit`` with no REDIS_URL and no server binaries: everything passes,
    nothing skips (the plugin starts a server only for a test that asks for one)."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(PYTHONDONTWRITEBYTECODE="1", **{
        REDIS_SERVER_ENV: str(tmp_path / "no-redis-server"),
        REDIS_MODULES_ENV: str(tmp_path / "no-module.so")})
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider",
         "-m", "not slow", "tests/unit"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    summary = out.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    assert "skipped" not in summary and "error" not in summary, summary


def _binaries() -> bool:
    try:
        find_redis_server()
        find_modules()
    except ServerNotAvailableError:
        return False
    return True


@pytest.mark.skipif(not _binaries(),
                    reason="needs the embedded server binaries (the server extra): it starts "
                           "the server .ci/run serves REDIS_URL from")
def test_the_ci_server_script_serves_then_stops() -> None:
    serving = subprocess.Popen([sys.executable, str(ROOT / ".ci" / "serve_redis.py")],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert serving.stdout is not None
        url = serving.stdout.readline().strip()
        assert url.startswith("redis://127.0.0.1:"), url
        with redis.Redis.from_url(url) as client:
            assert client.ping()
            assert client.execute_command("FT._LIST") is not None  # RediSearch is loaded
        serving.send_signal(signal.SIGTERM)
        assert serving.wait(timeout=30) == 0
        with pytest.raises(redis.ConnectionError), redis.Redis.from_url(url) as client:
            client.ping()
    finally:
        if serving.poll() is None:
            serving.kill()
            serving.wait()
