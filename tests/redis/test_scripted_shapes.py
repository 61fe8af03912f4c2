"""The unit tier's hand-written replies (tests/support/scripted.py) have the shapes the real
server sends, in each client flavour: same containers, same field names, same scalar types
(values aside). If a server upgrade changes a shape, this fails, not the unit tier silently."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from assimilator_stack.backends.redis.sync_driver import without_callbacks
from tests.support.scripted import SHAPES, Shape


def skeleton(value: Any) -> Any:
    """Containers and field names kept, scalars replaced by their type."""
    if isinstance(value, dict):
        return {k: skeleton(v) for k, v in value.items()}
    if isinstance(value, list):
        return [skeleton(v) for v in value]
    return type(value).__name__


@pytest.fixture(params=SHAPES, ids=str)
def flavoured(request: pytest.FixtureRequest, redis_client_factory: Any
              ) -> tuple[Shape, Any]:
    shape: Shape = request.param
    client = redis_client_factory(protocol=shape.resp, decode_responses=shape.decode)
    raw = without_callbacks(client)  # what the library's plans see
    raw.execute_command("FT.CREATE", "shapes", "ON", "JSON", "PREFIX", "1", "s:", "SCHEMA",
                        "$.name", "AS", "name", "TAG")
    for i in (1, 2, 3):
        raw.execute_command("JSON.SET", f"s:{i}", "$", json.dumps({"id": str(i), "name": "n"}))
    return shape, raw


def test_replies_have_the_shapes_the_server_sends(flavoured: tuple[Shape, redis.Redis]
                                                   ) -> None:
    shape, raw = flavoured
    row = {"__key": "s:1", "$": '{"id":"1","name":"n"}'}
    opened = raw.execute_command("FT.AGGREGATE", "shapes", "*", "LOAD", "2", "@__key", "$",
                                 "WITHCURSOR", "COUNT", "1")
    assert skeleton(opened) == skeleton(shape.cursor([row], 1))
    read = raw.execute_command("FT.CURSOR", "READ", "shapes", str(opened[1]), "COUNT", "1")
    assert skeleton(read) == skeleton(shape.cursor([row], 1))
    listed = raw.execute_command("FT.AGGREGATE", "shapes", "*", "LOAD", "1", "@__key",
                                 "LIMIT", "0", "1")
    assert skeleton(listed) == skeleton(shape.rows([{"__key": "s:1"}]))
    found = raw.execute_command("FT.SEARCH", "shapes", "@name:{n}", "NOCONTENT",
                                "LIMIT", "0", "1")
    assert skeleton(found) == skeleton(shape.search_ids(3, ["s:1"]))
    counted = raw.execute_command("FT.SEARCH", "shapes", "*", "LIMIT", "0", "0")
    assert skeleton(counted) == skeleton(shape.search_ids(3))
    config = raw.execute_command("FT.CONFIG", "GET", "MAXAGGREGATERESULTS")
    assert skeleton(config) == skeleton(shape.config("MAXAGGREGATERESULTS", "10000"))
    assert type(raw.execute_command("INFO", "keyspace")) is type(shape.keyspace(3, 0))


def test_ft_info_holds_the_scripted_fields_with_their_types(
        flavoured: tuple[Shape, redis.Redis]) -> None:
    shape, raw = flavoured
    real, scripted = (raw.execute_command("FT.INFO", "shapes"), shape.ft_info("shapes"))
    if shape.resp == 2:  # flat name, value lists
        real, scripted = (dict(zip(x[0::2], x[1::2])) for x in (real, scripted))
    for name, value in scripted.items():
        if name == shape.s("Index Errors") and shape.resp == 2:
            assert skeleton(real[name]) == skeleton(value)
            continue
        assert name in real
        assert skeleton(real[name]) == skeleton(value), name
