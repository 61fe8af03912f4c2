"""The unit tier runs without a Redis server: a test here that asks for a server fixture
(``redis_stack_url`` and everything built on it: ``redis_client``, ``client``, ``make_repo``,
...), starts an embedded server, or opens a connection fails at once, saying so. Plans are
driven with scripted replies instead (tests/support/scripted.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

import pytest
import redis.asyncio.connection
import redis.connection

from assimilator_stack.testing.server import RedisStackServer

NO_SERVER = ("tests/unit runs without a Redis server; a test that needs one belongs in "
             "tests/redis or tests/differential")


@pytest.fixture
def redis_stack_url() -> NoReturn:
    """Overrides the plugin's session fixture, so every server fixture fails here."""
    pytest.fail(f"asked for a server fixture: {NO_SERVER}", pytrace=False)


@pytest.fixture(autouse=True)
def _no_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No embedded server and no connection, even one made by hand."""

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        pytest.fail(f"tried to reach a Redis server: {NO_SERVER}", pytrace=False)

    monkeypatch.setattr(RedisStackServer, "start", refuse)
    for connection in (redis.connection.AbstractConnection,
                       redis.asyncio.connection.AbstractConnection):
        for name in ("connect", "connect_check_health"):  # the latter: redis-py >= 6
            if hasattr(connection, name):
                monkeypatch.setattr(connection, name, refuse)
    yield
