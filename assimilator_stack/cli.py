"""The console script ``assimilator-stack``: a model's indexes from the shell (README,
"Operations").

    assimilator-stack index status  app.models:Product [--url URL] [--json]
    assimilator-stack index migrate app.models:Product [--url URL] [--json]
    assimilator-stack index prune   app.models:Product [--idle SECONDS] [--force] [--url URL]
                                                       [--json]

``--url`` defaults to ``$REDIS_URL``, then ``redis://localhost:6379``. Exit codes: 0 done;
1 an error (one line on stderr: the model cannot be imported, the server cannot be reached
or has no search module, ...); 2 a usage error; 3 ``migrate`` finished but some documents
could not be indexed (the last one is named).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import redis
from pydantic import BaseModel

from .backends.redis.lifecycle import IndexState, PruneResult
from .backends.redis.sync_repository import RedisRepository
from .exceptions import ConnectionFailedError, DataLayerError, RedisCommandError

PROG = "assimilator-stack"
DEFAULT_URL = "redis://localhost:6379"
EXIT_ERROR, EXIT_USAGE, EXIT_UNINDEXED = 1, 2, 3


class CliError(Exception):
    """Said on one line, exit code 1."""


def load_model(target: str) -> type[BaseModel]:
    """``package.module:Class`` -> the class (the working directory is importable, as with
    ``python -m``)."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise CliError(f"the model must be given as module:Class (e.g. app.models:Product), "
                       f"got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # whatever importing the user's module raised
        raise CliError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from exc
    found = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise CliError(f"module {module_name!r} has no {attribute!r}")
        found = getattr(found, part)
    if not isinstance(found, type) or not issubclass(found, BaseModel):
        raise CliError(f"{target} is not a model class (a pydantic BaseModel / RedisModel)")
    return found


def _human_bytes(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return f"{count} B"


def _ago(when: datetime | None) -> str:
    if when is None:
        return "never recorded"
    seconds = (datetime.now(timezone.utc) - when).total_seconds()
    return f"{when.isoformat(timespec='seconds')} ({seconds:.0f} s ago)"


def describe(state: IndexState) -> str:
    lines = [f"index      {state.name} (current definition)"]
    if not state.exists:
        lines.append("exists     no: run `index migrate` to build it")
    else:
        aliased = f"alias {state.alias} points at it" if state.aliased \
            else f"alias {state.alias} does not point at it"
        lines += [
            f"exists     yes; {aliased}",
            f"documents  {state.num_docs}" + (f", building: {state.percent:.0f}%"
                                              if state.indexing else ""),
            f"failures   {state.indexing_failures}" + (
                f" (last: {state.last_failure_key}: {state.last_failure_error})"
                if state.indexing_failures else ""),
            f"memory     {_human_bytes(state.memory_bytes)}",
            f"last used  {_ago(state.last_used)}",
        ]
        lines += [f"unindexed  {d.key}: {d.reason}" for d in state.unindexed]
    if state.stale:
        lines.append("stale indexes (older definitions over the same keys):")
        for old in state.stale:
            lines.append(f"  {old.name}  {old.num_docs} documents  "
                         f"{_human_bytes(old.memory_bytes)}  last used {_ago(old.last_used)}"
                         + ("  [alias]" if old.aliased else ""))
    else:
        lines.append("stale indexes: none")
    return "\n".join(lines)


class PlainProgress:
    """Progress lines on stderr, at most one per ``every`` seconds and the last one."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.next_at = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now < self.next_at and done < total:
            return
        self.next_at = now + self.every
        share = 100.0 * done / total if total else 100.0
        print(f"indexed {done} of {'about ' if done < total else ''}{total} documents "
              f"({share:.0f}%)", file=sys.stderr, flush=True)


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal when the ``cli`` extra is installed, else plain
    lines; nothing with ``--json``."""
    if quiet:
        yield None
        return
    try:
        if not sys.stderr.isatty():
            raise ImportError
        from rich.console import Console
        from rich.progress import Progress
    except ImportError:
        yield PlainProgress()
        return
    with Progress(console=Console(stderr=True)) as bar:
        task = bar.add_task("indexing", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    client = redis.Redis.from_url(args.url)
    try:
        repo = RedisRepository(client, model)
        if args.action == "status":
            state = repo.index.status()
            print(json.dumps(state.as_dict()) if args.json else describe(state))
            return 0
        if args.action == "migrate":
            with progress_bar(args.json) as report:
                state = repo.index.migrate(report)
            print(json.dumps(state.as_dict()) if args.json else describe(state))
            if state.indexing_failures:
                print(f"{PROG}: {state.indexing_failures} document(s) could not be indexed; "
                      f"the last: {state.last_failure_key} ({state.last_failure_error})",
                      file=sys.stderr)
                return EXIT_UNINDEXED
            return 0
        pruned: PruneResult = repo.index.prune(idle=args.idle, force=args.force)
        if args.json:
            print(json.dumps(pruned.as_dict()))
        else:
            for name in pruned.dropped:
                print(f"dropped {name}")
            for name, why in pruned.kept.items():
                print(f"kept    {name}: {why}")
            if not pruned.dropped and not pruned.kept:
                print("no stale index")
        return 0
    finally:
        client.close()


def _explain(exc: Exception, url: str) -> str:
    if isinstance(exc, ConnectionFailedError):
        return f"cannot reach Redis at {url}: {exc}"
    message = str(exc)
    if isinstance(exc, RedisCommandError) and "unknown command" in message.lower():
        return (f"the server at {url} has no search module (RediSearch): {message}. Use "
                "Redis Stack or Redis 8")
    return message


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=PROG, description="Operations on assimilator_stack "
                                  "models' RediSearch indexes.")
    groups = top.add_subparsers(dest="group", required=True)
    index = groups.add_parser("index", help="status, migrate, prune")
    actions = index.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("model", help="the model class, as module:Class")
    common.add_argument("--url", default=os.environ.get("REDIS_URL") or DEFAULT_URL,
                        help="the Redis server (default: $REDIS_URL, else %(default)s)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    actions.add_parser("status", parents=[common],
                       help="the current index, its progress and the stale indexes")
    actions.add_parser("migrate", parents=[common],
                       help="build the current definition's index and wait for it")
    prune = actions.add_parser("prune", parents=[common],
                               help="drop stale indexes no process has used for a while")
    prune.add_argument("--idle", type=float, default=3600.0,
                       help="seconds without use before an index is dropped (%(default)s)")
    prune.add_argument("--force", action="store_true", help="drop every stale index")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except (CliError, DataLayerError, redis.RedisError, ValueError) as exc:
        print(f"{PROG}: error: {_explain(exc, args.url)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def entry() -> Any:
    sys.exit(main())


if __name__ == "__main__":
    entry()
