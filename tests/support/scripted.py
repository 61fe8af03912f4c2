"""Plans driven by scripted replies, without a server (httpcore's MockStream is the model).

A plan (assimilator_stack/backends/redis/protocol.py) is a generator of requests. :class:`Script`
plays the driver: it checks each request against the next step of a script written by hand,
sends that step's reply back (or throws its exception in, as the drivers throw mapped errors),
and records every request. The replies are what the server sends, in the shapes redis-py gives
a client without response callbacks (the library's own view, driver.without_callbacks), built
by :class:`Shape` for RESP2 / RESP3 and bytes / str. The shapes were checked once against
RediSearch 2.10 / RedisJSON 2.8 (the embedded server); nothing here comes from the code under
test.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from assimilator_stack.backends.redis.protocol import (
    Batch,
    Call,
    Exec,
    Pause,
    Plan,
    Release,
    Request,
    Watch,
)

T = TypeVar("T")

# What a step expects: a Call's exact args (a tuple; ``...`` as its last item: "starts with"),
# a request (equal), a request class (any request of it) or a predicate on the request.
Expect = tuple[Any, ...] | Request | type | Callable[[Request], bool]


@dataclass(frozen=True)
class Step:
    """One request the plan must make, and the reply it gets: a value, an exception (thrown
    into the plan), or a function of the request giving the value."""

    expect: Expect
    reply: Any = None


def matches(expect: Expect, request: Request) -> bool:
    if isinstance(expect, tuple):
        if not isinstance(request, Call):
            return False
        if expect and expect[-1] is Ellipsis:
            head = expect[:-1]
            return request.args[:len(head)] == head
        return request.args == expect
    if isinstance(expect, type):
        return isinstance(request, expect)
    if isinstance(expect, (Call, Batch, Watch, Exec, Pause, Release)):
        return bool(expect == request)
    assert callable(expect)
    return expect(request)


class Script:
    """Steps to play, in order, over one or more plans; ``requests`` is what the plans sent."""

    def __init__(self, *steps: Step | tuple[Expect, Any]) -> None:
        self.steps: deque[Step] = deque(s if isinstance(s, Step) else Step(*s) for s in steps)
        self.requests: list[Request] = []

    def add(self, *steps: Step | tuple[Expect, Any]) -> Script:
        self.steps.extend(s if isinstance(s, Step) else Step(*s) for s in steps)
        return self

    def run(self, plan: Plan[T]) -> T:
        """Drive ``plan`` to its end (its value; its exception escapes, as from a driver)."""
        reply: Any = None
        error: BaseException | None = None
        while True:
            try:
                request = plan.throw(error) if error is not None else plan.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            self.requests.append(request)
            if not self.steps:
                plan.close()
                raise AssertionError(f"unscripted request {request!r}; sent so far: "
                                     f"{self.requests[:-1]!r}")
            step = self.steps.popleft()
            if not matches(step.expect, request):
                plan.close()
                raise AssertionError(f"expected {step.expect!r}, the plan sent {request!r}")
            answer = step.reply(request) if callable(step.reply) and not isinstance(
                step.reply, BaseException) else step.reply
            reply, error = (None, answer) if isinstance(answer, BaseException) else (answer, None)

    def done(self) -> None:
        """Every step was played."""
        assert not self.steps, f"steps never reached: {list(self.steps)!r}"

    def calls(self) -> list[tuple[Any, ...]]:
        """The args of every Call sent (in order)."""
        return [r.args for r in self.requests if isinstance(r, Call)]


@dataclass(frozen=True)
class Shape:
    """Server replies as a redis-py client without callbacks gets them: ``resp`` 2 or 3,
    bulk strings as bytes or (``decode``) str."""

    resp: int
    decode: bool

    def __str__(self) -> str:
        return f"resp{self.resp}-{'str' if self.decode else 'bytes'}"

    def s(self, value: str) -> Any:
        return value if self.decode else value.encode()

    def _map(self, pairs: Iterable[tuple[str, Any]]) -> Any:
        """A RESP3 map, or RESP2's flat list of name, value."""
        items = [(self.s(k), v) for k, v in pairs]
        if self.resp == 3:
            return dict(items)
        return [x for pair in items for x in pair]

    def ft_info(self, index: str, *, max_doc_id: int = 0, indexing: int = 0,
                failures: int = 0) -> Any:
        """FT.INFO (the fields the library reads, among others the server sends)."""
        errors = self._map([("indexing failures", failures),
                            ("last indexing error", self.s("N/A")),
                            ("last indexing error key", self.s("N/A"))])
        return self._map([("index_name", self.s(index)), ("num_docs", max_doc_id),
                          ("max_doc_id", max_doc_id), ("hash_indexing_failures", failures),
                          ("indexing", indexing),
                          # RESP3 has doubles; RESP2 sends them as bulk strings
                          ("percent_indexed", 1.0 if self.resp == 3 else self.s("1")),
                          ("Index Errors", errors)])

    def config(self, name: str, value: str) -> Any:
        """FT.CONFIG GET <name>: ``[[name, value]]`` (RESP2), ``{name: value}`` (RESP3)."""
        if self.resp == 3:
            return {self.s(name): self.s(value)}
        return [[self.s(name), self.s(value)]]

    def rows(self, rows: Sequence[Mapping[str, str]], warnings: Sequence[str] = ()) -> Any:
        """FT.AGGREGATE: RESP2 ``[n, [field, value, ...], ...]`` (no warnings to show); RESP3
        a map with ``results`` (each row's fields under ``extra_attributes``) and ``warning``."""
        if self.resp == 3:
            return {self.s("attributes"): [], self.s("total_results"): len(rows),
                    self.s("format"): self.s("STRING"),
                    self.s("results"): [
                        {self.s("extra_attributes"): {self.s(k): self.s(v)
                                                      for k, v in row.items()},
                         self.s("values"): []} for row in rows],
                    self.s("warning"): [self.s(w) for w in warnings]}
        return [len(rows), *[[x for k, v in row.items() for x in (self.s(k), self.s(v))]
                             for row in rows]]

    def cursor(self, rows: Sequence[Mapping[str, str]], cursor_id: int,
               warnings: Sequence[str] = ()) -> Any:
        """FT.AGGREGATE ... WITHCURSOR and FT.CURSOR READ: ``[batch, cursor id]`` (0: the end)."""
        return [self.rows(rows, warnings), cursor_id]

    def search_ids(self, total: int, keys: Sequence[str] = (),
                   warnings: Sequence[str] = ()) -> Any:
        """FT.SEARCH ... NOCONTENT: RESP2 ``[total, key, ...]``; RESP3 a map."""
        if self.resp == 3:
            return {self.s("attributes"): [], self.s("total_results"): total,
                    self.s("format"): self.s("STRING"),
                    self.s("results"): [{self.s("id"): self.s(k), self.s("values"): []}
                                        for k in keys],
                    self.s("warning"): [self.s(w) for w in warnings]}
        return [total, *[self.s(k) for k in keys]]

    def keyspace(self, keys: int, expires: int) -> Any:
        """INFO keyspace: one verbatim string in both protocols."""
        return self.s(f"# Keyspace\r\ndb0:keys={keys},expires={expires},avg_ttl=0,"
                      "subexpiry=0\r\n")


SHAPES = [Shape(2, False), Shape(2, True), Shape(3, False), Shape(3, True)]
