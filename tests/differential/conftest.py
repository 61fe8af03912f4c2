"""Fixtures of the differential tier (Redis against the in-memory twin and Python's meaning)."""

from __future__ import annotations

import pytest
import redis

from assimilator_stack.testing.pytest_plugin import RedisClientFactory


@pytest.fixture
def resp2(redis_client_factory: RedisClientFactory) -> redis.Redis:
    """A RESP2 client that decodes replies (the flushed test server)."""
    return redis_client_factory(protocol=2, decode_responses=True)
