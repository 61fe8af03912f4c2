"""All or nothing means all: what RedisJSON would refuse inside EXEC (or store changed) is refused
before anything is sent, naming the key and the field (issue 8, item 5).

The limits are checked against the server itself: a value at the limit is stored and read back
unchanged, one step beyond is refused.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from assimilator_stack import (
    AssimilatorConfig,
    DataLayerError,
    RedisModel,
    UnstorableValueError,
    filter_,
)
from tests.support.helpers import RepoFactory, UowFactory

pytestmark = pytest.mark.both_apis

PREFIX = "t:storable"


class Blob(BaseModel):
    """A plain pydantic model: its floats take NaN and infinities (RedisModel refuses them)."""

    id: str
    name: str = ""
    n: int = 0
    x: float = 0.0
    payload: Any = None

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = PREFIX


def nested(levels: int) -> Any:
    """``levels`` lists, one inside the other."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


# The document is one container, so a top-level field may hold 126 more.
DEEPEST_OK = 126


def test_a_commit_with_a_too_deep_value_writes_nothing(make_uow: UowFactory,
                                                       client: redis.Redis) -> None:
    """The issue's case: valid, 200 levels deep, valid. Today the two valid entities were
    written and the commit raised RedisCommandError."""
    uow = make_uow(Blob)
    with pytest.raises(UnstorableValueError) as err, uow:
        uow.repository.save(id="a", name="valid")
        uow.repository.save(id="deep", payload=nested(200))
        uow.repository.save(id="b", name="valid too")
        uow.commit()
    assert err.value.key == f"{PREFIX}:deep" and err.value.field == "payload"
    assert "127" in str(err.value)
    assert client.keys(f"{PREFIX}:*") == []


@pytest.mark.parametrize(("field", "ok", "refused"), [
    ("payload", nested(DEEPEST_OK), nested(DEEPEST_OK + 1)),
    ("payload", {"k": nested(DEEPEST_OK - 1)}, {"k": nested(DEEPEST_OK)}),
    ("n", 2**64 - 1, 2**64),
    ("n", -(2**63), -(2**63) - 1),
    ("payload", [2**64 - 1], [2**64]),
    ("payload", {"v": -(2**63)}, {"v": -(2**63) - 1}),
    ("x", 1.7976931348623157e308, math.inf),
    ("x", -0.5, -math.inf),
    ("x", 0.25, math.nan),
    ("payload", [1e300], [math.nan]),
    ("payload", {"a": [0.5]}, {"a": [math.inf]}),
    ("name", "\U0001f600", "\ud800"),
    ("payload", "x\x00y", ["\udfff"]),
], ids=["depth", "depth-in-object", "u64", "i64", "int-in-any", "int-in-dict", "inf", "-inf",
        "nan", "nan-in-any", "inf-nested", "surrogate", "surrogate-in-any"])
def test_each_limit_is_the_servers(field: str, ok: Any, refused: Any, make_repo: RepoFactory,
                                   make_uow: UowFactory, client: redis.Redis) -> None:
    repo = make_repo(Blob)
    saved = repo.save(id="ok", **{field: ok})
    assert getattr(repo.get(filter_(id="ok")), field) == getattr(saved, field) == ok
    # Outside a unit of work: refused, nothing written.
    with pytest.raises(UnstorableValueError) as err:
        repo.save(id="bad", **{field: refused})
    assert err.value.key == f"{PREFIX}:bad" and err.value.field == field
    assert isinstance(err.value, DataLayerError)
    # Inside one: the commit is whole or nothing.
    uow = make_uow(Blob)
    with pytest.raises(UnstorableValueError), uow:
        uow.repository.save(id="first")
        uow.repository.save(id="bad", **{field: refused})
        uow.repository.save(id="last")
        uow.commit()
    assert sorted(client.keys(f"{PREFIX}:*")) == [f"{PREFIX}:ok".encode()]


@pytest.mark.parametrize("value", [nested(DEEPEST_OK + 1), [math.nan], [2**70], ["\ud800"]],
                         ids=["deep", "nan", "int", "surrogate"])
def test_bulk_update_values_are_checked_first(value: Any, make_repo: RepoFactory,
                                              make_uow: UowFactory, client: redis.Redis
                                              ) -> None:
    repo = make_repo(Blob)
    for i in range(3):
        repo.save(id=f"e{i}", name="same")
    before = {k: client.execute_command("JSON.GET", k) for k in client.keys(f"{PREFIX}:*")}
    with pytest.raises(UnstorableValueError) as err:
        repo.update(filter_(name="same"), payload=value, name="changed")
    assert err.value.field == "payload"
    uow = make_uow(Blob)
    with pytest.raises(UnstorableValueError), uow:
        uow.repository.update(filter_(name="same"), name="changed")
        uow.repository.update(filter_(name="same"), payload=value)
        uow.commit()
    after = {k: client.execute_command("JSON.GET", k) for k in client.keys(f"{PREFIX}:*")}
    assert after == before


def test_a_deep_nested_model_is_refused_too(make_repo: RepoFactory, client: redis.Redis) -> None:
    class Node(RedisModel):
        child: Node | None = None

        class AssimilatorConfig(AssimilatorConfig):
            key_prefix: ClassVar[str | None] = "t:storable-node"

    repo = make_repo(Node)
    root = Node(id="n")
    for _ in range(DEEPEST_OK + 1):
        root = Node(id="n", child=root)
    with pytest.raises(UnstorableValueError) as err:
        repo.save(root)
    assert err.value.field == "child"
    assert client.keys("t:storable-node:*") == []


# Values RedisJSON must take or refuse: ints around the 64-bit edges, floats with NaN and
# infinities, strings with NUL and surrogates, and nesting around the limit.
_scalars = st.one_of(
    st.integers(-(2**63) - 2, -(2**63) + 2), st.integers(2**64 - 3, 2**64 + 3),
    st.integers(-1000, 1000),
    st.sampled_from([0.5, -0.0, 1e300, -2.5e-300, math.nan, math.inf, -math.inf]),
    st.text(alphabet=st.sampled_from(["a", "\x00", "\ud800", "é", "\U0001f600"]), max_size=3),
    st.booleans(), st.none(),
)
_trees = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)),
    max_leaves=8,
)


@st.composite
def _deep(draw: st.DrawFn) -> Any:
    value = draw(_trees)
    for _ in range(draw(st.sampled_from([0, 0, DEEPEST_OK - 2, DEEPEST_OK - 1, DEEPEST_OK]))):
        value = [value]
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.sync_only
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload=_deep())
def test_stored_exactly_or_refused_before_sending(payload: Any, redis_client_factory: Any,
                                                  make_repo: RepoFactory) -> None:
    """Property: save() either stores the value so that it reads back the same, or raises
    UnstorableValueError and writes nothing; never a server error, never a changed value."""
    client = redis_client_factory()
    client.delete(f"{PREFIX}:p")
    repo = make_repo(Blob, client)
    try:
        repo.save(id="p", payload=payload)
    except UnstorableValueError:
        assert client.exists(f"{PREFIX}:p") == 0
        return
    assert _same(repo.get(filter_(id="p")).payload, payload)
