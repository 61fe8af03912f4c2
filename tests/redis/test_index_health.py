"""Nothing silently invisible (issue 8, item 4): a document under the model's prefix that
RediSearch cannot index (another program wrote ``"price": "12"`` where the index holds a
NUMERIC) is readable by ``get(id)`` but missing from every query. The repository finds it from
FT.INFO and raises UnindexedDocumentError naming the key and the field (or, with
``unindexed="warn"``, logs it); ``index_status()`` shows it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Annotated, Any, ClassVar

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field

from assimilator_stack import (
    AssimilatorConfig,
    AsyncRedisRepository,
    IndexStatus,
    InvalidQueryError,
    RedisModel,
    RedisRepository,
    Text,
    UnindexedDocumentError,
    filter_,
    order,
)
from assimilator_stack.backends.redis.health import problems
from assimilator_stack.fields.schema import schema_of
from tests.support.helpers import CommandCounter
from tests.support.sync_facade import LoopBridge, SyncFacade

pytestmark = pytest.mark.both_apis

PREFIX = "t:health"


class Gadget(RedisModel):
    name: str = ""
    price: float = 0.0
    tags: list[str] = Field(default_factory=list)
    sizes: list[int] = Field(default_factory=list)
    active: bool = True
    blurb: Annotated[str, Text()] = ""
    when: dt.datetime | None = None

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = PREFIX


def make(api: str, client: redis.Redis, request: pytest.FixtureRequest, **kwargs: Any
         ) -> RedisRepository[Gadget]:
    if api == "async":
        bridge: LoopBridge = request.getfixturevalue("bridge")
        inner = AsyncRedisRepository(bridge.twin(client), Gadget, **kwargs)
        return SyncFacade(inner, bridge)  # type: ignore[return-value]
    return RedisRepository(client, Gadget, **kwargs)


def other_program_writes(client: redis.Redis, key: str, doc: dict[str, Any]) -> None:
    client.execute_command("JSON.SET", key, "$", json.dumps(doc))


BAD = f"{PREFIX}:bad"


def test_queries_raise_naming_key_and_field(api: str, client: redis.Redis,
                                            request: pytest.FixtureRequest,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="assimilator_stack.index")
    repo = make(api, client, request, index_check_interval=0)
    for i in range(3):
        repo.save(id=f"g{i}", name="same", price=float(i))
    assert repo.count(filter_(name="same")) == 3
    other_program_writes(client, BAD, {"id": "bad", "name": "same", "price": "12"})
    assert repo.get(filter_(id="bad")).price == 12.0  # by key: read (pydantic takes "12")
    before = client.execute_command("JSON.GET", BAD)
    for attempt in (lambda: repo.filter(filter_(name="same")),
                    lambda: repo.count(filter_(name="same")),
                    lambda: repo.count(),
                    lambda: list(repo.stream(batch_size=2)),
                    lambda: repo.filter(order("price")),
                    lambda: repo.update(filter_(name="same"), name="changed"),
                    lambda: repo.delete(filter_(name="same"))):
        with pytest.raises(UnindexedDocumentError) as err:
            attempt()
        assert err.value.key == BAD and err.value.field == "price"
        assert "'12'" in str(err.value) or '"12"' in str(err.value)
    assert client.execute_command("JSON.GET", BAD) == before
    # Logged once as well (issue 13: a WARNING for a document that cannot be indexed).
    warnings = [r.getMessage() for r in caplog.records if r.name == "assimilator_stack.index"]
    assert len(warnings) == 1 and BAD in warnings[0] and "price" in warnings[0], warnings
    # Fixed by the other program: every query sees it again.
    other_program_writes(client, BAD, {"id": "bad", "name": "same", "price": 12})
    assert repo.count(filter_(name="same")) == 4
    assert repo.update(filter_(name="same"), name="changed") == 4


def test_a_fresh_pool_checks_before_its_first_query(api: str, client: redis.Redis,
                                                    request: pytest.FixtureRequest) -> None:
    """With the default interval: a process that starts after the bad write is told at once."""
    make(api, client, request).save(id="ok")
    other_program_writes(client, BAD, {"id": "bad", "tags": ["a", 1]})
    fresh = redis.Redis.from_url(request.getfixturevalue("redis_stack_url"))
    try:
        with pytest.raises(UnindexedDocumentError) as err:
            make(api, fresh, request).filter()
        assert err.value.key == BAD and err.value.field == "tags"
    finally:
        fresh.close()


def test_a_later_bad_write_is_found_within_the_interval(api: str, client: redis.Redis,
                                                        request: pytest.FixtureRequest) -> None:
    repo = make(api, client, request, index_check_interval=0.2)
    repo.save(id="ok")
    assert repo.count() == 1
    other_program_writes(client, BAD, {"id": "bad", "active": "yes", "sizes": ["1"]})
    time.sleep(0.25)
    with pytest.raises(UnindexedDocumentError) as err:
        repo.count()
    assert err.value.field == "sizes"


def test_warn_logs_once_and_answers(api: str, client: redis.Redis,
                                    request: pytest.FixtureRequest,
                                    caplog: pytest.LogCaptureFixture) -> None:
    repo = make(api, client, request, unindexed="warn", index_check_interval=0)
    repo.save(id="ok", name="n")
    other_program_writes(client, BAD, {"id": "bad", "name": 5})
    with caplog.at_level(logging.WARNING, logger="assimilator_stack.index"):
        assert [g.id for g in repo.filter()] == ["ok"]
        assert repo.count() == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "assimilator_stack.index"]
    assert len(warnings) == 1, warnings
    assert BAD in warnings[0] and "'name'" in warnings[0]


def test_index_status_shows_it(api: str, client: redis.Redis,
                               request: pytest.FixtureRequest) -> None:
    repo = make(api, client, request, unindexed="warn")
    for i in range(4):
        repo.save(id=f"g{i}")
    status = repo.index_status()
    assert isinstance(status, IndexStatus)
    assert (status.num_docs, status.indexing_failures, status.unindexed) == (4, 0, ())
    assert status.name == repo.plans.index.name and not status.indexing
    other_program_writes(client, BAD, {"id": "bad", "blurb": False})
    status = repo.index_status()
    assert (status.num_docs, status.indexing_failures, status.last_failure_key) == (4, 1, BAD)
    assert status.last_failure_error
    (missing,) = status.unindexed
    assert (missing.key, missing.field) == (BAD, "blurb")
    client.delete(BAD)
    status = repo.index_status()
    assert (status.indexing_failures, status.unindexed) == (1, ())  # the server never lowers it


def test_a_recreated_index_counts_anew(api: str, client: redis.Redis,
                                       request: pytest.FixtureRequest) -> None:
    """FLUSHALL drops the index (and its failure count): a bad document after it is found."""
    repo = make(api, client, request, index_check_interval=0)
    for i in range(2):
        other_program_writes(client, f"{BAD}{i}", {"id": f"bad{i}", "price": "x"})
        with pytest.raises(UnindexedDocumentError):
            repo.count()
        client.delete(f"{BAD}{i}")
    assert repo.count() == 0  # both fixed: the count (2) stays, nothing is missing
    client.flushall()
    repo.save(id="ok")
    other_program_writes(client, BAD, {"id": "bad", "price": "x"})
    with pytest.raises(UnindexedDocumentError) as err:
        repo.count()
    assert err.value.key == BAD


@pytest.mark.sync_only
def test_ft_info_is_asked_at_a_bounded_rate(client: redis.Redis) -> None:
    """The cost: once per pool, then at most once per interval (default 1 s), not per query."""
    repo = RedisRepository(client, Gadget)
    repo.save(id="g")
    counter = CommandCounter(client)
    with counter.count() as calls:
        started = time.monotonic()
        for _ in range(50):
            repo.count(filter_(name=""))
            repo.filter(filter_(price__gte=0))
        elapsed = time.monotonic() - started
    assert calls["ft.info"] <= 2 + int(elapsed), calls  # ensure_index's + one per second


@pytest.mark.sync_only
def test_settings_are_checked(client: redis.Redis) -> None:
    with pytest.raises(InvalidQueryError, match="unindexed"):
        RedisRepository(client, Gadget, unindexed="ignore")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="index_check_interval"):
        RedisRepository(client, Gadget, index_check_interval=-1)


# -- the Python model of what the index cannot take agrees with the server -----------------

_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-2, 2, allow_nan=False),
              st.sampled_from(["", "a", "12", "a,b"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["k"]), inner, max_size=1)),
    max_leaves=4,
)


@pytest.mark.sync_only
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(["name", "price", "tags", "sizes", "active", "blurb", "id"]),
       value=_json)
def test_diagnosis_agrees_with_the_server(field: str, value: Any,
                                          redis_client_factory: Any) -> None:
    client = redis_client_factory()
    repo = RedisRepository(client, Gadget, unindexed="warn")
    repo.index_status()  # the index exists
    name = repo.plans.index.name

    def failures() -> int:
        info = client.ft(name).info()
        return int(info["hash_indexing_failures"])

    before = failures()
    doc = {"id": "probe", field: value}
    raw = json.dumps(doc)
    client.execute_command("JSON.SET", f"{PREFIX}:probe", "$", raw)
    server_refused = failures() > before
    found = problems(schema_of(Gadget), f"{PREFIX}:probe", raw)
    assert found is not None
    assert bool(found) == server_refused, (doc, found)
    if found:
        assert found[0].field == field
