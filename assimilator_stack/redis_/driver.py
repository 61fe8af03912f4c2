"""The sync driver: performs a plan's requests with redis-py and feeds the replies back."""

from __future__ import annotations

import time
from typing import Any, TypeVar

import redis

from .errors import map_error
from .protocol import Batch, Call, Exec, Pause, Plan, Release, Request, Watch

T = TypeVar("T")


class SyncSession:
    """A client plus, while a unit of work watches keys, the connection that holds the WATCH."""

    def __init__(self, client: redis.Redis) -> None:
        self.client: Any = client  # redis-py's command methods are untyped
        self._pinned: Any = None  # a redis-py Pipeline holding WATCH

    def run(self, plan: Plan[T]) -> T:
        reply: Any = None
        error: BaseException | None = None
        while True:
            try:
                request = plan.throw(error) if error is not None else plan.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            reply, error = None, None
            try:
                reply = self._perform(request)
            except Exception as exc:  # handed to the plan, which decides
                error = map_error(exc, getattr(request, "args", None))

    def _perform(self, request: Request) -> Any:
        if isinstance(request, Call):
            target = self._pinned if self._pinned is not None else self.client
            return target.execute_command(*request.args)
        if isinstance(request, Batch):
            pipe = self.client.pipeline(transaction=False)
            for args in request.commands:
                pipe.execute_command(*args)
            return pipe.execute(raise_on_error=False)
        if isinstance(request, Watch):
            if self._pinned is None:
                self._pinned = self.client.pipeline(transaction=True)
            self._pinned.watch(*request.keys)
            return None
        if isinstance(request, Exec):
            pipe = self._pinned if self._pinned is not None else self.client.pipeline(True)
            self._pinned = None
            try:
                pipe.multi()
                for args in request.commands:
                    pipe.execute_command(*args)
                return pipe.execute(raise_on_error=False)
            finally:
                pipe.reset()
        if isinstance(request, Pause):
            time.sleep(request.seconds)
            return None
        if isinstance(request, Release):
            self.release()
            return None
        raise TypeError(f"unknown request {request!r}")

    @property
    def watching(self) -> bool:
        """True while a connection holds WATCHed keys (until EXEC or release)."""
        return self._pinned is not None

    def release(self) -> None:
        if self._pinned is not None:
            pinned, self._pinned = self._pinned, None
            pinned.reset()  # sends UNWATCH and returns the connection to the pool
