"""The unit tier cannot reach a server, even by accident (tests/unit/conftest.py)."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio

from assimilator_stack.testing import RedisStackServer


@pytest.mark.parametrize("fixture", ["redis_stack_url", "redis_client", "redis_client_factory",
                                     "client", "make_repo", "bridge"])
def test_server_fixtures_fail_here(request: pytest.FixtureRequest, fixture: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="tests/unit runs without a Redis server"):
        request.getfixturevalue(fixture)


def test_no_connection_is_opened() -> None:
    client = redis.Redis(host="127.0.0.1", port=1)
    with pytest.raises(pytest.fail.Exception, match="tried to reach a Redis server"):
        client.ping()


def test_no_async_connection_is_opened() -> None:
    async def ping() -> None:
        client = redis.asyncio.Redis(host="127.0.0.1", port=1)
        try:
            await client.ping()
        finally:
            await client.aclose()

    with pytest.raises(pytest.fail.Exception, match="tried to reach a Redis server"):
        asyncio.run(ping())


def test_no_embedded_server_starts() -> None:
    with pytest.raises(pytest.fail.Exception, match="tried to reach a Redis server"):
        RedisStackServer().start()
