"""Issue 13's plans driven by scripted replies (no server): what ``migrate`` and ``prune``
send, in order, and what they make of the replies; the shapes and key counts of commands."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from assimilator_stack.backends.redis import uses
from assimilator_stack.backends.redis.facts import ServerFacts
from assimilator_stack.backends.redis.index import ensure_index
from assimilator_stack.backends.redis.lifecycle import Lifecycle
from assimilator_stack.backends.redis.observe import key_count, shape
from assimilator_stack.backends.redis.plans import ModelPlans
from assimilator_stack.backends.redis.protocol import Batch, Pause, Request
from assimilator_stack.backends.redis.uses import registry_key
from assimilator_stack.exceptions import InvalidQueryError, RedisCommandError
from tests.support.deploy_models import PREFIX, ProductV1, ProductV2
from tests.support.scripted import SHAPES, Script, Shape, Step

V1 = ModelPlans(ProductV1).index.name
V2 = ModelPlans(ProductV2).index.name
ALIAS = f"{PREFIX}:idx"
REGISTRY = registry_key(f"{PREFIX}:")


@pytest.fixture(params=SHAPES, ids=str)
def shape_(request: pytest.FixtureRequest) -> Shape:
    made: Shape = request.param
    return made


def info(shape: Shape, name: str, docs: int, building: bool = False, share: float = 1.0,
         prefix: str = f"{PREFIX}:", memory: float = 1.5) -> Any:
    """FT.INFO of one index, in the flavour of ``shape`` (what lifecycle.py reads)."""
    s = shape.s
    number: Any = (lambda v: v) if shape.resp == 3 else (lambda v: s(repr(v)))
    definition: list[tuple[Any, Any]] = [(s("key_type"), s("JSON")),
                                         (s("prefixes"), [s(prefix)])]
    pairs: list[tuple[Any, Any]] = [
        (s("index_name"), s(name)),
        (s("index_definition"), dict(definition) if shape.resp == 3
         else [x for kv in definition for x in kv]),
        (s("num_docs"), docs), (s("indexing"), int(building)),
        (s("percent_indexed"), number(share)),
        (s("total_index_memory_sz_mb"), number(memory)),
        (s("hash_indexing_failures"), 0)]
    return dict(pairs) if shape.resp == 3 else [x for kv in pairs for x in kv]


def listed(shape: Shape, *names: str) -> Any:
    return [shape.s(n) for n in names]


def registry(shape: Shape, **stamps: float) -> Any:
    if shape.resp == 3:
        return {shape.s(k): shape.s(repr(v)) for k, v in stamps.items()}
    return [x for k, v in stamps.items() for x in (shape.s(k), shape.s(repr(v)))]


def batch_of_info(*names: str) -> Any:
    def check(request: Request) -> bool:
        return isinstance(request, Batch) and request.commands == tuple(
            ("FT.INFO", n) for n in names)
    return check


def life() -> Lifecycle:
    plans = ModelPlans(ProductV2)
    return Lifecycle(plans.index, plans.health)


def no_alias() -> RedisCommandError:
    return RedisCommandError("Unknown index name (or name is an alias itself)")


def test_migrate_creates_waits_reports_and_aliases(shape_: Shape) -> None:
    plans = life()
    facts = ServerFacts()
    reports: list[tuple[int, int]] = []
    script = Script(
        (("FT._LIST",), listed(shape_, V1, "someone-else")),
        Step(batch_of_info(V1), [info(shape_, V1, 100)]),
        (("FT.CREATE", V2, ...), shape_.s("OK")),
        (("FT.INFO", V2), info(shape_, V2, 30, building=True, share=0.25)),
        Step(Pause, None),
        (("FT.INFO", V2), info(shape_, V2, 100)),
        (("FT.ALIASUPDATE", ALIAS, V2), shape_.s("OK")),
        (("HSET", REGISTRY, V2, ...), 1),
        # the state returned
        (("FT._LIST",), listed(shape_, V1, V2)),
        Step(batch_of_info(V1, V2), [info(shape_, V1, 100), info(shape_, V2, 100)]),
        (("FT.INFO", ALIAS), info(shape_, V2, 100)),
        (("HGETALL", REGISTRY), registry(shape_, **{V2: time.time()})))
    state = script.run(plans.migrate(facts, lambda done, total: reports.append((done, total))))
    script.done()
    # 30 of about 120 (30 / 0.25) while building: the older index's 100 is a lower bound
    assert reports == [(30, 120), (100, 100)]
    assert V2 in facts.index_ready
    assert (state.name, state.exists, state.aliased, state.num_docs) == (V2, True, True, 100)
    assert state.memory_bytes == int(1.5 * 1024 * 1024)
    [old] = state.stale
    assert (old.name, old.num_docs, old.last_used) == (V1, 100, None)


def test_prune_keeps_what_is_used_drops_what_is_idle(shape_: Shape) -> None:
    plans = life()
    now = time.time()
    idle_one, busy_one, unknown = (f"{PREFIX}:idx:{c * 10}" for c in "abc")
    names = (V2, idle_one, busy_one, unknown)
    script = Script(
        (("FT._LIST",), listed(shape_, V2, idle_one, busy_one, unknown)),
        Step(batch_of_info(*sorted(names)), [info(shape_, n, 5) for n in sorted(names)]),
        (("FT.INFO", ALIAS), info(shape_, idle_one, 5)),
        (("HGETALL", REGISTRY), registry(shape_, **{idle_one: now - 7200,
                                                    busy_one: now - 10})),
        (("FT.ALIASUPDATE", ALIAS, V2), shape_.s("OK")),  # the alias first
        (("FT.DROPINDEX", idle_one), shape_.s("OK")),  # never DD
        (("HDEL", REGISTRY, idle_one), 1),
        (("HSETNX", REGISTRY, unknown, ...), 1))
    result = script.run(plans.prune(3600, force=False))
    script.done()
    assert result.dropped == (idle_one,)
    assert set(result.kept) == {busy_one, unknown}
    assert "used 10 s ago" in result.kept[busy_one]
    assert "no use recorded" in result.kept[unknown]


def test_prune_with_force_and_no_current_index_leaves_no_alias_question(shape_: Shape
                                                                        ) -> None:
    plans = life()
    script = Script(
        (("FT._LIST",), listed(shape_, V1)),
        Step(batch_of_info(V1), [info(shape_, V1, 5)]),
        (("FT.INFO", ALIAS), no_alias()),
        (("HGETALL", REGISTRY), registry(shape_)),
        (("FT.DROPINDEX", V1), shape_.s("OK")),
        (("HDEL", REGISTRY, V1), 0))
    assert script.run(plans.prune(3600, force=True)).dropped == (V1,)
    script.done()


def test_indexes_over_other_keys_are_not_ours(shape_: Shape) -> None:
    plans = life()
    lookalike = f"{PREFIX}:idx:0123456789"
    script = Script(
        (("FT._LIST",), listed(shape_, lookalike, f"{PREFIX}:idx:mine")),
        Step(batch_of_info(lookalike), [info(shape_, lookalike, 5, prefix="other:")]),
        (("FT.INFO", ALIAS), no_alias()),
        (("HGETALL", REGISTRY), registry(shape_)))
    assert script.run(plans.prune(0, force=True)).dropped == ()
    script.done()


def test_prune_checks_idle_before_sending_anything() -> None:
    for bad in (-1, True, "soon", float("nan")):
        with pytest.raises(InvalidQueryError, match="idle"):
            Script().run(life().prune(bad, force=False))  # type: ignore[arg-type]


def test_shapes_hide_every_user_value() -> None:
    args = ("FT.AGGREGATE", "t:thing:idx:0a", r"@name:{s3cr3t\-value} @age:[1 $v]",
            "PARAMS", "2", "v", "LOAD", "LOAD", "2", "@__key", "$", "SORTBY", "2", "@age",
            "ASC", "LIMIT", "0", "10", "FILTER", "@age > 42", "DIALECT", "2")
    assert shape(args) == ("FT.AGGREGATE t:thing:idx:0a '@name @age' PARAMS 2 ? ? LOAD ? "
                           "@__key ? SORTBY ? @age ASC LIMIT ? ? FILTER '@age' DIALECT ?")
    assert shape(("FT.CURSOR", "READ", "t:thing:idx:0a", 123, "COUNT", 5)) == \
        "FT.CURSOR READ t:thing:idx:0a ? COUNT ?"
    assert shape(("FT.SEARCH", "i", "*", "LIMIT", 0, 0)) == "FT.SEARCH i '*' LIMIT ? ?"
    assert shape(("JSON.MGET", "k1", "k2", "k3", ".")) == "JSON.MGET (3 keys)"
    assert shape(("JSON.SET", "k1", "$", '{"secret": 1}')) == "JSON.SET (1 keys)"


@pytest.mark.parametrize(("args", "keys"), [
    (("JSON.GET", "k"), 1), (("JSON.MGET", "a", "b", "."), 2), (("DEL", "a", "b", "c"), 3),
    (("EVAL", "s", 2, "a", "b", "x"), 2), (("FT.INFO", "i"), 0), (("MULTI",), 0),
    (("WATCH", "a", "b"), 2), (("PERSIST", "a"), 1)])
def test_key_counts(args: tuple[Any, ...], keys: int) -> None:
    assert key_count(args) == keys



# -- the record of an index's use (uses.py) ----------------------------------------------------


def test_a_query_records_its_use_at_most_once_per_interval() -> None:
    spec = ModelPlans(ProductV2).index
    facts = ServerFacts()
    facts.index_ready.add(V2)
    script = Script((("HSET", REGISTRY, V2, ...), 1))
    script.run(ensure_index(spec, facts, 60))
    script.run(ensure_index(spec, facts, 60))  # within the interval: nothing sent
    script.done()
    stamp = float(script.requests[0].args[3])  # type: ignore[union-attr]
    assert abs(stamp - time.time()) < 60
    assert facts.index_uses[V2] > time.monotonic() + 50  # the next one in about a minute
    facts.index_uses[V2] = time.monotonic()  # a minute later
    script.add((("HSET", REGISTRY, V2, ...), 1))
    script.run(ensure_index(spec, facts, 60))
    script.done()


def test_a_refused_record_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    facts = ServerFacts()
    script = Script((("HSET", REGISTRY, V2, ...),
                     RedisCommandError("NOPERM this user has no permissions to run 'hset'")))
    with caplog.at_level(logging.DEBUG, logger="assimilator_stack.index"):
        script.run(uses.record(facts, f"{PREFIX}:", V2))
    script.done()
    assert not uses.due(facts, V2)  # not asked again before the interval
    assert any("could not record" in r.getMessage() for r in caplog.records)
