"""Helpers for the query-execution tests (ordering, paging, large results, count, only, bulk
writes, explain, key scans, index lifecycle): private servers with other settings, fast bulk
loading, and a client that records what it sends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import redis
from pydantic import BaseModel

from assimilator_stack import RedisRepository
from assimilator_stack.backends.redis.plans import ModelPlans
from assimilator_stack.testing import RedisStackServer, ServerNotAvailableError


@contextlib.contextmanager
def private_server(*extra_args: str) -> Iterator[RedisStackServer]:
    """A Redis Stack server of our own (other settings than the shared one), or a skip when
    the embedded binaries are not installed (e.g. a run against REDIS_URL only)."""
    try:
        server = RedisStackServer(extra_args=extra_args)
        server.start()
    except ServerNotAvailableError as exc:  # a run against REDIS_URL only (the Docker service)
        pytest.skip("needs the embedded server binaries (the server extra): it runs a server "
                    "of its own, with its own settings or data (" + str(exc).splitlines()[0]
                    + ")")
    try:
        yield server
    finally:
        server.stop()


def load(client: redis.Redis, entities: Iterable[BaseModel], chunk: int = 5000) -> int:
    """Store entities exactly as RedisRepository would (its codec), pipelined, without a
    transaction: the fast way to build big data sets."""
    plans_of: dict[type[BaseModel], ModelPlans[Any]] = {}
    pipe = client.pipeline(transaction=False)
    count = 0
    for entity in entities:
        model = type(entity)
        plans = plans_of.get(model)
        if plans is None:
            plans = plans_of[model] = RedisRepository(client, model).plans
        pipe.execute_command("JSON.SET", plans.key_of_entity(entity), "$", plans.codec.dump(entity))
        count += 1
        if count % chunk == 0:
            pipe.execute()
    pipe.execute()
    return count


class Recorder:
    """What one client sent: every command (name and args), one entry per round trip."""

    def __init__(self) -> None:
        self.trips: list[list[tuple[Any, ...]]] = []

    def clear(self) -> None:
        self.trips.clear()

    @property
    def commands(self) -> list[tuple[Any, ...]]:
        return [command for trip in self.trips for command in trip]

    def names(self) -> list[str]:
        return [_name(command) for command in self.commands]


def _name(command: tuple[Any, ...]) -> str:
    first = command[0]
    return (first.decode() if isinstance(first, bytes) else str(first)).upper()


def recording_client(url: str, **kwargs: Any) -> tuple[redis.Redis, Recorder]:
    """A redis-py client whose connections log every command they send (a real connection
    subclass: nothing is mocked), one round trip per entry."""
    recorder = Recorder()

    class RecordingConnection(redis.Connection):
        def send_command(self, *args: Any, **options: Any) -> None:
            recorder.trips.append([args])
            super().send_command(*args, **options)

        def pack_commands(self, commands: Any) -> Any:
            # several commands in one write: a pipeline (recorded below) or a batch the
            # library sends on a connection of its own
            commands = [tuple(c) for c in commands]
            if not getattr(self, "_in_pipeline", False):
                recorder.trips.append(list(commands))
            return super().pack_commands(commands)

    client = redis.Redis.from_url(url, connection_class=RecordingConnection, **kwargs)
    original = client.pipeline

    def pipeline(transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = original(transaction=transaction, shard_hint=shard_hint)
        execute = pipe._execute_pipeline if not transaction else pipe._execute_transaction

        def record(connection: Any, commands: Any, raise_on_error: bool) -> Any:
            recorder.trips.append([args for args, _ in commands])
            connection._in_pipeline = True
            try:
                return execute(connection, commands, raise_on_error)
            finally:
                connection._in_pipeline = False

        if transaction:
            pipe._execute_transaction = record  # type: ignore[method-assign]
        else:
            pipe._execute_pipeline = record  # type: ignore[method-assign]
        return pipe

    client.pipeline = pipeline  # type: ignore[method-assign]
    client.ping()
    recorder.clear()
    return client, recorder
