"""A private, throwaway Redis Stack server (redis-server + RedisJSON + RediSearch) for tests."""

from __future__ import annotations

import atexit
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from assimilator_stack.testing.binaries import (
    ServerNotAvailableError,
    find_modules,
    find_redis_server,
)

__all__ = ["RedisStackServer", "ServerNotAvailableError", "ServerStartupError"]

SEARCH_MODULE_ARGS: tuple[str, ...] = (
    "MAXSEARCHRESULTS",
    "10000",
    "MAXAGGREGATERESULTS",
    "10000",
)
_HOST = "127.0.0.1"
_PORT_ATTEMPTS = 3
_STOP_GRACE_SECONDS = 5.0
_LOG_TAIL_LINES = 40
_PORT_IN_USE_MARKERS = ("Address already in use", "Could not create server TCP listening socket")


class ServerStartupError(RuntimeError):
    """The redis-server process did not come up; the message holds the tail of its log."""


# --- cleanup of servers still running when the interpreter exits -------------------------

_running: set[RedisStackServer] = set()
_running_lock = threading.Lock()


def _stop_all_at_exit() -> None:
    with _running_lock:
        servers = list(_running)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


atexit.register(_stop_all_at_exit)


def _die_with_parent_preexec() -> Callable[[], None] | None:
    """On Linux, a preexec_fn asking the kernel to SIGKILL the child when its parent dies.

    Best effort: PR_SET_PDEATHSIG fires when the *thread* that started the child exits, so
    start servers from a long-lived thread (pytest's main thread is fine).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    sigkill = int(signal.SIGKILL)

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sigkill, 0, 0, 0)

    return preexec


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((_HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class RedisStackServer:
    """Run a private redis-server with RedisJSON and RediSearch loaded.

    ::

        with RedisStackServer() as server:
            r = server.client(decode_responses=True)
            r.json().set("k", "$", {"a": 1})

    The server listens on 127.0.0.1 only, on a free port (or ``port``), runs in a temporary
    directory removed on :meth:`stop`, and persists nothing unless ``persistence=True`` (then
    Redis' default RDB saving and AOF are enabled, still inside that temporary directory).
    Binaries come from :mod:`assimilator_stack.testing.binaries` (``redis_server`` /
    ``modules`` arguments, then ``$ASSIMILATOR_STACK_REDIS_SERVER`` /
    ``$ASSIMILATOR_STACK_REDIS_MODULES``, then the ``server`` extra's packages). An empty
    module list loads no module (Redis 8 with the built-in query engine and JSON).

    The process is stopped when the ``with`` block exits (also on an exception), by an
    ``atexit`` handler, and on Linux by the kernel if the Python process dies.
    """

    def __init__(
        self,
        *,
        redis_server: str | None = None,
        modules: Sequence[str] | None = None,
        port: int | None = None,
        persistence: bool = False,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 10.0,
    ) -> None:
        self._redis_server_arg = redis_server
        self._modules_arg = None if modules is None else list(modules)
        self._port_arg = port
        self.persistence = persistence
        self.extra_args: tuple[str, ...] = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: Path | None = None
        self._port: int | None = None
        self._cmd: list[str] = []
        self._lock = threading.RLock()

    # --- public properties ------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server process was started and has not exited."""
        return self._process is not None and self._process.poll() is None

    @property
    def port(self) -> int:
        """TCP port on 127.0.0.1 (only while started)."""
        if self._port is None or self._process is None:
            raise RuntimeError("RedisStackServer is not started")
        return self._port

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT`` (only while started)."""
        return f"redis://{_HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of redis-server, or None when not started."""
        return None if self._process is None else self._process.pid

    @property
    def directory(self) -> Path | None:
        """The temporary working directory (removed on stop), or None when not started."""
        return self._directory

    @property
    def log_path(self) -> Path | None:
        """The server's log file inside :attr:`directory`, or None when not started."""
        return None if self._directory is None else self._directory / "redis.log"

    def client(self, **kwargs: Any) -> redis.Redis:
        """A new :class:`redis.Redis` connected to this server; ``kwargs`` go to redis.Redis."""
        return redis.Redis(host=_HOST, port=self.port, **kwargs)

    # --- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> RedisStackServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> RedisStackServer:
        """Start the server and wait until it answers with JSON and search available."""
        with self._lock:
            if self._process is not None:
                raise RuntimeError("RedisStackServer is already started")
            binary = find_redis_server(self._redis_server_arg)
            modules = find_modules(self._modules_arg)
            attempts = 1 if self._port_arg is not None else _PORT_ATTEMPTS
            for attempt in range(1, attempts + 1):
                port = self._port_arg if self._port_arg is not None else _free_port()
                try:
                    self._launch(binary, modules, port)
                    self._wait_ready(no_modules=not modules)
                    return self
                except ServerStartupError as err:
                    port_in_use = any(m in str(err) for m in _PORT_IN_USE_MARKERS)
                    self.stop()
                    if not port_in_use or attempt == attempts:
                        raise
                except BaseException:
                    self.stop()
                    raise
            raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its temporary directory."""
        with self._lock:
            process, self._process = self._process, None
            directory, self._directory = self._directory, None
            self._port = None
            with _running_lock:
                _running.discard(self)
            if process is not None:
                _terminate(process)
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)

    # --- internals --------------------------------------------------------------------

    def _command(self, binary: str, modules: list[str], port: int, directory: Path) -> list[str]:
        cmd = [
            binary,
            "--port", str(port),
            "--bind", _HOST,
            "--dir", str(directory),
            "--logfile", str(directory / "redis.log"),
            "--daemonize", "no",
        ]  # fmt: skip
        if not self.persistence:
            cmd += ["--save", "", "--appendonly", "no"]
        else:
            cmd += ["--appendonly", "yes"]
        for module in modules:
            cmd += ["--loadmodule", module]
            if "search" in Path(module).name.lower():
                cmd += list(SEARCH_MODULE_ARGS)
        cmd += list(self.extra_args)
        return cmd

    def _launch(self, binary: str, modules: list[str], port: int) -> None:
        directory = Path(tempfile.mkdtemp(prefix="assimilator-redis-"))
        self._directory = directory
        self._port = port
        cmd = self._command(binary, modules, port, directory)
        self._cmd = cmd
        with open(directory / "stdout.log", "wb") as out:
            self._process = subprocess.Popen(
                cmd,
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the test run doesn't kill it mid-teardown
                preexec_fn=_die_with_parent_preexec(),
            )
        with _running_lock:
            _running.add(self)

    def _failure(self, reason: str) -> ServerStartupError:
        directory = self._directory
        parts = [f"redis-server on {_HOST}:{self._port} did not start: {reason}."]
        if self._cmd:
            parts.append("Command: " + subprocess.list2cmdline(self._cmd))
        if directory is not None:
            for name in ("stdout.log", "redis.log"):
                tail = _tail(directory / name)
                if tail:
                    parts.append(f"--- {name} (last lines) ---\n{tail}")
        return ServerStartupError("\n".join(parts))

    def _wait_ready(self, *, no_modules: bool) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        last_error: str = "timed out"
        while True:
            code = self._process.poll()
            if code is not None:
                raise self._failure(f"process exited with code {code}")
            if time.monotonic() > deadline:
                raise self._failure(
                    f"not ready after {self.startup_timeout:g}s (last: {last_error})"
                )
            try:
                with redis.Redis(
                    host=_HOST,
                    port=self.port,
                    socket_connect_timeout=0.5,
                    socket_timeout=1.0,
                    retry=Retry(NoBackoff(), 0),
                ) as conn:
                    conn.ping()
                    server_pid = conn.info("server").get("process_id")
                    if server_pid != self._process.pid:
                        # Someone else answers on this port: ours will exit "address in use".
                        last_error = f"port {self.port} is answered by pid {server_pid}"
                        time.sleep(0.02)
                        continue
                    missing = _missing_features(conn)
                    if missing:
                        raise self._failure(
                            f"it runs but lacks {', '.join(missing)} "
                            "(check the module paths / the server version)"
                        )
                    if no_modules:
                        # Built-in query engine (Redis 8): same limits as the modules get.
                        with contextlib.suppress(redis.RedisError):
                            _execute(conn, "FT.CONFIG", "SET", *SEARCH_MODULE_ARGS[:2])
                            _execute(conn, "FT.CONFIG", "SET", *SEARCH_MODULE_ARGS[2:])
                    return
            except (redis.ConnectionError, redis.TimeoutError) as err:  # incl. BusyLoadingError
                last_error = str(err) or type(err).__name__
            time.sleep(0.02)


def _execute(conn: redis.Redis, *args: Any) -> Any:
    """``conn.execute_command`` (untyped in redis-py) behind a typed wrapper."""
    client: Any = conn
    return client.execute_command(*args)


def _missing_features(conn: redis.Redis) -> list[str]:
    """Which of JSON / search the server lacks (modules listed, or commands that work)."""
    names: set[str] = set()
    with contextlib.suppress(redis.ResponseError):
        for entry in _execute(conn, "MODULE", "LIST"):
            if isinstance(entry, dict):
                name = entry.get(b"name", entry.get("name", b""))
            else:  # RESP2: flat [b"name", b"ReJSON", b"ver", ...]
                flat = list(entry)
                name = flat[flat.index(b"name") + 1] if b"name" in flat else b""
            if isinstance(name, bytes):
                name = name.decode()
            names.add(str(name).lower())
    missing: list[str] = []
    if not any("json" in n for n in names):
        try:  # read-only probe of a key that cannot exist in a fresh server
            _execute(conn, "JSON.TYPE", "__assimilator_stack_probe__")
            has_json = True
        except redis.ResponseError:
            has_json = False
        if not has_json:
            missing.append("RedisJSON")
    if "search" not in names:
        try:
            _execute(conn, "FT._LIST")
        except redis.ResponseError:
            missing.append("RediSearch")
    return missing


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=_STOP_GRACE_SECONDS)
    else:
        process.wait()
