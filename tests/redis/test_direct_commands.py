"""The sync driver sends a command outside WATCH on a pool connection, packed by the library
(redis-py's packing cost more than the rest of a small query): the server must receive exactly
what redis-py would have sent, for every kind of argument, and errors must read the same."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assimilator_stack.backends.redis import sync_driver
from assimilator_stack.backends.redis.errors import map_error
from assimilator_stack.backends.redis.protocol import Batch, Call
from assimilator_stack.backends.redis.sync_driver import SyncSession

ARGUMENTS = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _run(session: SyncSession, request: Call | Batch) -> Any:
    def plan() -> Generator[Any, Any, Any]:
        return (yield request)

    return session.run(plan())


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(ARGUMENTS, min_size=1, max_size=5))
def test_arguments_reach_the_server_as_redis_py_sends_them(client: redis.Redis,
                                                            values: list[Any]) -> None:
    session = SyncSession(client)
    key = "t:direct:list"
    client.delete(key)
    assert _run(session, Call(("RPUSH", key, *values))) == len(values)
    # the server holds what redis-py itself would have written
    client.delete("t:direct:expected")
    client.rpush("t:direct:expected", *values)
    assert client.lrange(key, 0, -1) == client.lrange("t:direct:expected", 0, -1)
    # and a batch packs the same way
    echoed = _run(session, Batch(tuple(("ECHO", v) for v in values)))
    assert echoed == [client.echo(v) for v in values]


def test_a_command_name_of_two_words_and_non_default_encodings(
        client: redis.Redis, redis_stack_url: str) -> None:
    # packed for a UTF-8 client first (and kept): a latin-1 client still sends latin-1
    assert _run(SyncSession(client), Call(("ECHO", "é"))) == "é".encode()
    latin = redis.Redis.from_url(redis_stack_url, encoding="latin-1")
    try:
        session = SyncSession(latin)
        assert _run(session, Call(("ECHO", "é"))) == "é".encode("latin-1")
        reply = _run(session, Call(("CONFIG GET", "maxmemory-policy")))
        assert b"maxmemory-policy" in (reply if isinstance(reply, dict) else set(reply))
    finally:
        latin.close()


def test_an_error_reply_and_a_refused_argument_read_as_through_redis_py(
        client: redis.Redis) -> None:
    session = SyncSession(client)
    client.set("t:direct:text", "x")
    with pytest.raises(Exception) as direct:
        _run(session, Call(("LPUSH", "t:direct:text", "y")))
    with pytest.raises(redis.ResponseError) as plain:
        client.execute_command("LPUSH", "t:direct:text", "y")
    assert type(direct.value) is type(map_error(plain.value, ("LPUSH", "t:direct:text", "y")))
    assert str(plain.value) in str(direct.value)
    with pytest.raises(redis.DataError):
        client.execute_command("ECHO", True)
    with pytest.raises(Exception) as refused:
        _run(session, Call(("ECHO", True)))
    assert "bool" in str(refused.value)
    # the connection is usable afterwards
    assert _run(session, Call(("PING",))) in (True, b"PONG", "PONG")


def test_the_packed_arguments_kept_are_bounded(client: redis.Redis) -> None:
    session = SyncSession(client)
    values = [f"v{n}" for n in range(sync_driver._PIECES_KEPT + 10)]
    for start in range(0, len(values), 100):
        assert _run(session, Batch(tuple(("ECHO", v) for v in values[start:start + 100]))) \
            == [v.encode() for v in values[start:start + 100]]
    assert 0 < len(sync_driver._PIECES) <= sync_driver._PIECES_KEPT
    long = "x" * (sync_driver._PIECE_CHARS + 1)
    assert _run(session, Call(("ECHO", long))) == long.encode()
    assert long not in sync_driver._PIECES
