"""Issue 13: the ``assimilator-stack`` console script, run as a subprocess against the test
server: status, migrate (progress, exit code), prune, ``--json``, ``REDIS_URL``, and errors
as one line with a non-zero exit code, never a traceback."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from assimilator_stack import RedisRepository
from assimilator_stack.backends.redis.plans import ModelPlans
from assimilator_stack.testing.binaries import ServerNotAvailableError, find_redis_server
from tests.support.deploy_models import PREFIX, ProductV1, ProductV2, load
from tests.support.helpers import text

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("assimilator-stack")
V1_MODEL = "tests.support.deploy_models:ProductV1"
V2_MODEL = "tests.support.deploy_models:ProductV2"
V1 = ModelPlans(ProductV1).index.name
V2 = ModelPlans(ProductV2).index.name


def cli(*args: str, url: str | None = None, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"the console script is not installed next to {sys.executable}"
    command = [str(SCRIPT), *args, *(["--url", url] if url else [])]
    environment = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return subprocess.run(command, cwd=ROOT, env={**environment, **(env or {})},
                          capture_output=True, text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("assimilator-stack: error: "), lines
    assert all(n in lines[0] for n in needles), lines


@pytest.mark.slow  # five runs of the script
def test_status_migrate_status_prune(redis_stack_url: str, redis_client: redis.Redis) -> None:
    load(redis_client, 2000)
    assert RedisRepository(redis_client, ProductV1).count() == 2000  # v1 runs

    before = cli("index", "status", V2_MODEL, url=redis_stack_url)
    assert before.returncode == 0, before.stderr
    assert f"index      {V2}" in before.stdout and "exists     no" in before.stdout
    assert V1 in before.stdout  # stale: v1's index

    migrated = cli("index", "migrate", V2_MODEL, url=redis_stack_url)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stderr.strip().splitlines()[-1] == "indexed 2000 of 2000 documents (100%)"
    assert "documents  2000" in migrated.stdout
    assert f"alias {PREFIX}:idx points at it" in migrated.stdout

    status = cli("index", "status", V2_MODEL, "--json", url=redis_stack_url)
    assert status.returncode == 0, status.stderr
    state = json.loads(status.stdout)
    assert (state["name"], state["exists"], state["num_docs"], state["aliased"]) == \
        (V2, True, 2000, True)
    assert [s["name"] for s in state["stale"]] == [V1]
    assert state["stale"][0]["last_used"] is not None  # v1 recorded its use

    kept = cli("index", "prune", V2_MODEL, url=redis_stack_url)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith(f"kept    {V1}: used ")
    dropped = cli("index", "prune", V2_MODEL, "--force", "--json", url=redis_stack_url)
    assert dropped.returncode == 0, dropped.stderr
    assert json.loads(dropped.stdout) == {"dropped": [V1], "kept": {}}
    assert [text(n) for n in redis_client.execute_command("FT._LIST")] == [V2]
    assert redis_client.dbsize() == 2000 + 1  # the documents stay (and the use registry)


def test_migrate_on_a_terminal(redis_stack_url: str, redis_client: redis.Redis) -> None:
    """stderr a terminal: the rich progress bar when the cli extra is installed (plain lines
    otherwise); either way the migration completes with exit code 0."""
    load(redis_client, 500)
    leader, follower = pty.openpty()
    try:
        environment = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        done = subprocess.run([str(SCRIPT), "index", "migrate", V1_MODEL, "--url",
                               redis_stack_url], cwd=ROOT, env=environment, stderr=follower,
                              stdout=subprocess.PIPE, text=True, timeout=120)
        os.set_blocking(leader, False)
        try:
            shown = os.read(leader, 65536).decode(errors="replace")
        except BlockingIOError:
            shown = ""
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 0, shown
    assert "Traceback" not in shown
    assert "documents  500" in done.stdout


def test_migrate_json_and_redis_url(redis_stack_url: str, redis_client: redis.Redis) -> None:
    load(redis_client, 10)
    done = cli("index", "migrate", V1_MODEL, "--json", env={"REDIS_URL": redis_stack_url})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress lines with --json
    assert json.loads(done.stdout)["num_docs"] == 10


def test_migrate_with_unindexable_documents_exits_3(redis_stack_url: str,
                                                    redis_client: redis.Redis) -> None:
    load(redis_client, 10)
    redis_client.execute_command("JSON.SET", f"{PREFIX}:bad", "$",
                                 '{"id":"bad","name":"x","category":"toys","price":"high"}')
    done = cli("index", "migrate", V2_MODEL, url=redis_stack_url)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert f"{PREFIX}:bad" in done.stderr.strip().splitlines()[-1]


def test_a_model_that_cannot_be_imported(redis_stack_url: str) -> None:
    one_line_error(cli("index", "status", "no_such_package.models:Product",
                       url=redis_stack_url), "no_such_package", "ModuleNotFoundError")
    one_line_error(cli("index", "status", "tests.support.deploy_models:Nope",
                       url=redis_stack_url), "has no 'Nope'")
    one_line_error(cli("index", "status", "json:dumps", url=redis_stack_url),
                   "not a model class")
    one_line_error(cli("index", "status", "tests.support.deploy_models",
                       url=redis_stack_url), "module:Class")


def test_a_server_that_cannot_be_reached() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free once closed: nothing listens there
    one_line_error(cli("index", "status", V1_MODEL, url=f"redis://127.0.0.1:{port}"),
                   "cannot reach Redis", str(port))
    one_line_error(cli("index", "status", V1_MODEL, url="nonsense://x"))


def test_usage_errors_exit_2() -> None:
    done = cli("index", "prune", V1_MODEL, "--idle", "soon")
    assert done.returncode == 2 and "Traceback" not in done.stderr


@pytest.fixture
def server_without_modules(tmp_path: Path) -> Iterator[str]:
    """A plain redis-server: no search module."""
    try:
        binary = find_redis_server()
    except ServerNotAvailableError:
        pytest.skip("needs the embedded server binaries (the server extra): a redis-server "
                    "without modules")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}"
    try:
        client: Any = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_server_without_the_search_module(server_without_modules: str) -> None:
    one_line_error(cli("index", "status", V1_MODEL, url=server_without_modules),
                   "no search module")
