"""What the drivers report about the commands they send: a DEBUG line per command on
``assimilator_stack.commands``, a WARNING on ``assimilator_stack.queries`` for an operation
slower than ``settings.slow_query_ms``, and the operation's span (tracing.py) with the shape of
its search commands.

A command's *shape* never holds a user value: for FT.SEARCH / FT.AGGREGATE the index, the
attributes the query names (``@price @name``) and the argument keywords; values (PARAMS, tag
text, numbers, keys) become ``?``.
"""

from __future__ import annotations

import re
import time
from contextlib import ExitStack
from typing import Any

from ... import logs, tracing
from ...settings import settings
from .protocol import Args, Batch, Call, Exec, Request, Watch
from .replies import text

_REFERENCE = re.compile(r"@[A-Za-z0-9_]+")
_KEYWORDS = frozenset({
    "LOAD", "SORTBY", "LIMIT", "PARAMS", "DIALECT", "WITHCURSOR", "COUNT", "MAX", "GROUPBY",
    "REDUCE", "APPLY", "FILTER", "AS", "TIMEOUT", "NOCONTENT", "WITHSCORES", "RETURN", "ASC",
    "DESC", "SCORER", "VERBATIM", "INFIELDS", "INKEYS", "SUMMARIZE", "HIGHLIGHT", "FIELDS",
    "FRAGS", "LEN", "SEPARATOR", "TAGS", "WITHSORTKEYS", "READ", "DEL", "MAXIDLE", "TOLIST",
    "SUM", "MIN", "AVG", "COUNT_DISTINCT", "COUNT_DISTINCTISH", "FIRST_VALUE", "ADDSCORES",
})
# Commands whose arguments after the name are all keys; all but the last (a path); none.
_ALL_KEYS = frozenset({"DEL", "UNLINK", "EXISTS", "WATCH", "TOUCH"})
_NO_KEYS = frozenset({"MULTI", "EXEC", "INFO", "PING", "CONFIG", "CLIENT", "MEMORY STATS",
                      "DBSIZE", "SCRIPT", "UNWATCH", "DISCARD"})


def key_count(args: Args) -> int:
    name = text(args[0]).upper()
    if name.startswith("FT.") or name in _NO_KEYS:
        return 0
    if name in _ALL_KEYS:
        return len(args) - 1
    if name == "JSON.MGET":
        return len(args) - 2
    if name in ("EVAL", "EVALSHA", "FCALL"):
        return int(args[2]) if len(args) > 2 else 0
    return 1 if len(args) > 1 else 0


def shape(args: Args) -> str:
    """``args`` without its values (see the module docstring)."""
    name = text(args[0]).upper()
    if not name.startswith("FT.") or len(args) < 2:
        return f"{name} ({key_count(args)} keys)"
    out = [name]
    rest = [_arg(a) for a in args[1:]]
    if name == "FT.CURSOR" and rest:
        out.append(rest.pop(0).upper())  # READ / DEL
    if rest:
        out.append(rest.pop(0))  # the index
    if name in ("FT.SEARCH", "FT.AGGREGATE", "FT.EXPLAIN") and rest:
        out.append(_references(rest.pop(0)))
    i = 0
    while i < len(rest):
        token, upper = rest[i], rest[i].upper()
        i += 1
        if upper in _KEYWORDS:
            out.append(upper)
            if upper == "PARAMS" and i < len(rest) and rest[i].isdigit():
                count = int(rest[i])
                out += [rest[i], *("?" * count)]  # names and values alike
                i += 1 + count
            elif upper in ("APPLY", "FILTER") and i < len(rest):
                out.append(_references(rest[i]))
                i += 1
        elif _REFERENCE.fullmatch(token):
            out.append(token)
        else:
            out.append("?")
    return " ".join(out)


def _references(query: str) -> str:
    names = list(dict.fromkeys(_REFERENCE.findall(query)))
    return "'" + (" ".join(names) if names else ("*" if query.strip() == "*" else "?")) + "'"


def _commands(request: Request) -> tuple[Args, ...]:
    if isinstance(request, Call):
        return (request.args,)
    if isinstance(request, (Batch, Exec)):
        return request.commands
    if isinstance(request, Watch):
        return (("WATCH", *request.keys),)
    return ()


def _arg(value: Any) -> str:
    """An argument as text; binary ones (a KNN query vector) are not UTF-8."""
    if isinstance(value, bytes):
        return value.decode(errors="backslashreplace")
    return str(value) if isinstance(value, (str, int, float)) else "?"


def _shown(args: Args) -> str:
    if settings.log_values:
        return " ".join(repr(_arg(a) if isinstance(a, bytes) else a)[:200] for a in args)
    return shape(args)


class Observation:
    """One plan run by a driver while DEBUG lines or tracing are on: its span (when it is a
    repository operation and tracing is on), the shapes of its search commands, its time."""

    def __init__(self, operation: str | None, model: str) -> None:
        self.operation = operation
        self.model = model
        self.searches: list[str] = []
        self.debug = logs.commands.isEnabledFor(10)
        self._stack = ExitStack()
        self.span: Any = None
        if operation is not None and tracing.enabled():
            self.span = self._stack.enter_context(tracing.span(
                f"assimilator_stack.{operation}",
                {"db.system": "redis", "assimilator_stack.model": model,
                 "assimilator_stack.operation": operation}))
        self.started = time.perf_counter()

    def sent(self, request: Request, seconds: float, error: BaseException | None) -> None:
        commands = _commands(request)
        self.searches += [shape(a) for a in commands if text(a[0]).upper() in
                          ("FT.SEARCH", "FT.AGGREGATE", "FT.CURSOR")]
        if not self.debug or not commands:
            return
        how = "" if isinstance(request, Call) else (
            f" (in MULTI/EXEC of {len(commands)})" if isinstance(request, Exec)
            else f" (in a pipeline of {len(commands)})")
        failed = f" -> {type(error).__name__}" if error is not None else ""
        for args in commands:
            logs.commands.debug("%s keys=%d %.3f ms%s%s", _shown(args), key_count(args),
                                seconds * 1000, how, failed)

    def finish(self, result: Any, error: BaseException | None) -> None:
        try:
            if self.span is not None:
                if self.searches:
                    self.span.set_attribute("assimilator_stack.commands", tuple(self.searches))
                    self.span.set_attribute("db.query.text", self.searches[0])
                if error is None:
                    self.span.set_attribute("assimilator_stack.rows", rows(result))
            if error is None and self.operation is not None:
                slow(self.operation, self.model, time.perf_counter() - self.started,
                     self.searches)
        finally:
            if error is not None:
                self._stack.__exit__(type(error), error, error.__traceback__)
            else:
                self._stack.close()


def rows(result: Any) -> int:
    """What an operation gave: the entities of a list, a count, one entity, or none."""
    if isinstance(result, (list, tuple)):
        return len(result)
    if isinstance(result, bool) or result is None:
        return 0
    if isinstance(result, int):
        return result
    return 1


def slow(operation: str, model: str, seconds: float, searches: list[str] | None = None
         ) -> None:
    """The WARNING for an operation slower than the threshold (called by the drivers)."""
    limit = settings.slow_query_ms
    # repo.index.* (a migration waits for a whole build) are not queries
    if limit and seconds * 1000 > limit and not operation.startswith("index."):
        logs.queries.warning("%s.%s took %.1f ms (slow_query_ms=%g)%s", model, operation,
                             seconds * 1000, limit,
                             f": {'; '.join(searches)}" if searches else "")


def observing() -> bool:
    """Whether a driver should run the next plan observed (DEBUG lines or tracing on)."""
    return logs.commands.isEnabledFor(10) or tracing.enabled()
