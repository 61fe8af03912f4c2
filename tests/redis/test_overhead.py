"""Issue 9, per-call overhead and memory: what the library sends and keeps, and how much
Python it runs per call (counted, not timed: a count does not depend on the machine's load).

The CPU figures themselves come from ``python -m bench.cpu`` (replayed replies, no I/O).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest
import redis
from pydantic import Field

import assimilator_stack
from assimilator_stack import (
    AssimilatorConfig,
    Indexed,
    InternalRepository,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    Text,
)
from assimilator_stack.core.specs import filter_, only, order, paginate
from tests.support.helpers import MonitorLog, names

# -- models -----------------------------------------------------------------------------------


class Gadget(RedisModel):
    name: str
    label: Annotated[str, Indexed(sortable=True)] = ""
    code: Annotated[str, Field(max_length=8)] = ""
    note: str | None = None
    price: float = 0.0
    made: dt.datetime = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    tags: list[str] = Field(default_factory=list)
    description: Annotated[str, Text()] = ""

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:overhead-gadget"


def _attributes(client: redis.Redis, index: str) -> dict[str, list[str]]:
    """FT.INFO attributes: name -> its flags (type, SORTABLE, ...), upper case."""
    reply = client.execute_command("FT.INFO", index)
    info = reply if isinstance(reply, dict) else dict(zip(reply[0::2], reply[1::2]))
    found = {}
    for raw in info.get(b"attributes", info.get("attributes")):
        parts = raw if isinstance(raw, list) else [x for kv in raw.items() for x in kv]
        flat = [x for p in parts for x in (p if isinstance(p, list) else [p])]  # RESP3 flags
        words = [p.decode() if isinstance(p, bytes) else str(p) for p in flat]
        found[words[words.index("attribute") + 1]] = [w.upper() for w in words]
    return found


# -- memory: the index keeps sort values only where sorting is worth it -----------------------


def test_sort_values_kept_for_numbers_short_and_declared_fields_only(client: redis.Redis) -> None:
    repo = RedisRepository(session=client, model=Gadget)
    repo.count()  # makes the index
    attributes = _attributes(client, repo.plans.index.name)
    sortable = {name for name, flags in attributes.items() if "SORTABLE" in flags}
    # numbers, dates (with their exact residual), the id (every sort's tie-break), a declared
    # one, a short string (max_length <= 64) and one that may hold no value keep their sort
    # values; a plain str does not, nor a list.
    assert sortable == {"id", "label", "code", "note", "price", "made", "made__r"}, attributes
    # no word positions: phrases are checked in Python, nothing reads them
    reply = client.execute_command("FT.INFO", repo.plans.index.name)
    info = reply if isinstance(reply, dict) else dict(zip(reply[0::2], reply[1::2]))
    options = info.get(b"index_options", info.get("index_options"))
    assert b"NOOFFSETS" in options or "NOOFFSETS" in options, options
    # a Text() field is indexed once: as TEXT (no exact TAG copy of a long text)
    assert "description" not in attributes
    assert "TEXT" in attributes["description__txt"]


def test_text_only_field_exact_lookups_and_order_agree_with_the_twin(client: redis.Redis
                                                                    ) -> None:
    repo = RedisRepository(session=client, model=Gadget)
    twin = InternalRepository(model=Gadget)
    texts = ["red fox", "fox red", "red", "", "red-fox", "Red fox", "red fox jumps", "!!", "a b",
             "b a"]
    for i, text in enumerate(texts):
        entity = Gadget(id=f"g{i}", name=f"n{i % 3}", description=text)
        repo.save(entity)
        twin.save(entity)
    cases: list[list[Any]] = [
        [filter_(description="red fox")],
        [filter_(description="")],
        [filter_(description="!!")],
        [filter_(description__ne="red")],
        [filter_(description__in=["a b", "fox red"])],
        [filter_(description__startswith="red")],
        [filter_(description__contains="fox")],
        [filter_(description="red fox") | filter_(name="n1")],
        [filter_(description__search="fox")],
        [filter_(), order("description")],
        [filter_(), order("-description", "name")],
        [filter_(), order("description"), paginate(limit=3, offset=2)],
        [filter_(name="n0"), order("description"), only("name")],
    ]
    for specs in cases:
        got = [e.id for e in repo.filter(*specs)]
        want = [e.id for e in twin.filter(*specs)]
        if any(isinstance(s, type(order("x"))) for s in specs):
            assert got == want, specs
        else:
            assert sorted(got) == sorted(want), specs


# -- PERSIST only where a key may carry a TTL -------------------------------------------------


def _gadgets(n: int, prefix: str = "g") -> list[Gadget]:
    return [Gadget(id=f"{prefix}{i}", name=f"n{i}") for i in range(n)]


def test_a_large_save_clears_old_ttls_with_one_script(
        client: redis.Redis, monitor: MonitorLog) -> None:
    repo = RedisRepository(session=client, model=Gadget)
    repo.count()
    uow = RedisUnitOfWork(repository=repo)
    with monitor.record() as log, uow:
        for entity in _gadgets(40):
            uow.repository.save(entity)
        uow.commit()
    sent = names([entry for entry in log if entry.get("client_type") != "lua"])
    assert sent.count("JSON.SET") == 40
    assert "PERSIST" not in sent and sent.count("EVAL") == 1, sent
    by_script = names([entry for entry in log if entry.get("client_type") == "lua"])
    assert by_script == ["PERSIST"] * 40
    inside = sent[sent.index("MULTI"):sent.index("EXEC")]
    assert "EVAL" in inside  # in the same MULTI as the saves
    assert all(client.ttl(f"t:overhead-gadget:g{i}") == -1 for i in range(40))


def _old_ttls(client: redis.Redis, repo: RedisRepository[Gadget], entities: list[Gadget]
              ) -> None:
    repo.save(entities[0], expire_in=100)  # written by this library with a TTL
    client.execute_command("JSON.SET", "t:overhead-gadget:g1", "$",
                           entities[1].model_dump_json())
    client.expire("t:overhead-gadget:g1", 100)  # a TTL set by another program


def test_a_large_save_still_clears_old_ttls(client: redis.Redis) -> None:
    repo = RedisRepository(session=client, model=Gadget)
    first = _gadgets(40)
    _old_ttls(client, repo, first)
    uow = RedisUnitOfWork(repository=repo)
    with uow:
        for entity in first:
            uow.repository.save(entity)
        uow.commit()
    # save() has SET's meaning: the stored entity has no TTL any more
    assert [client.ttl(f"t:overhead-gadget:g{i}") for i in range(40)] == [-1] * 40


def test_a_ttl_set_later_in_the_same_commit_is_kept(client: redis.Redis) -> None:
    repo = RedisRepository(session=client, model=Gadget)
    entities = _gadgets(40)
    uow = RedisUnitOfWork(repository=repo)
    with uow:
        for entity in entities:
            uow.repository.save(entity)
        uow.repository.save(entities[3], expire_in=100)  # after its plain save
        uow.repository.save(entities[4], expire_in=100)
        uow.repository.save(entities[4])  # a plain save after the TTL: it clears it
        uow.commit()
    assert 0 < client.ttl("t:overhead-gadget:g3") <= 100
    assert client.ttl("t:overhead-gadget:g4") == -1
    assert client.ttl("t:overhead-gadget:g5") == -1


def test_without_scripts_the_old_ttls_are_cleared_key_by_key(
        client: redis.Redis, redis_stack_url: str) -> None:
    client.execute_command("ACL", "SETUSER", "noscripts", "on", ">pw", "~*", "&*", "+@all",
                           "-eval", "-evalsha")
    try:
        limited = redis.Redis.from_url(redis_stack_url, username="noscripts", password="pw")
        repo = RedisRepository(session=limited, model=Gadget)
        entities = _gadgets(40)
        _old_ttls(client, repo, entities)
        uow = RedisUnitOfWork(repository=repo)
        with uow:
            for entity in entities:
                uow.repository.save(entity)
            uow.commit()
        assert [client.ttl(f"t:overhead-gadget:g{i}") for i in range(40)] == [-1] * 40
        assert len(repo.filter()) == 40
        # refused once: the pool's later commits do not try again
        client.execute_command("ACL", "LOG", "RESET")
        _old_ttls(client, repo, entities)
        with uow:
            for entity in entities:
                uow.repository.save(entity)
            uow.commit()
        assert [client.ttl(f"t:overhead-gadget:g{i}") for i in range(40)] == [-1] * 40
        assert client.execute_command("ACL", "LOG") == []
        limited.close()
    finally:
        client.execute_command("ACL", "DELUSER", "noscripts")


# -- Python calls per operation ---------------------------------------------------------------

_LIBRARY = str(Path(assimilator_stack.__file__).parent)


@pytest.fixture
def count_calls() -> Iterator[Callable[[Callable[[], Any]], int]]:
    """``count_calls(fn)``: how many Python functions of the library ``fn()`` calls (a
    generator resumed counts again). Deterministic, unlike a timing."""

    def count(fn: Callable[[], Any]) -> int:
        calls = 0

        def profile(frame: Any, event: str, arg: Any) -> None:
            nonlocal calls
            if event == "call" and frame.f_code.co_filename.startswith(_LIBRARY):
                calls += 1

        sys.setprofile(profile)
        try:
            fn()
        finally:
            sys.setprofile(None)
        return calls

    yield count


class Item(RedisModel):
    name: str
    price: float
    stock: int
    created_at: dt.datetime
    description: Annotated[str, Text()]

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:overhead-item"


def _items(n: int) -> list[Item]:
    day = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    return [Item(id=f"i{k:04d}", name=f"item {k}", price=float(k % 500), stock=k % 7,
                 created_at=day + dt.timedelta(hours=k), description=f"thing number {k}")
            for k in range(n)]


def test_python_calls_per_operation_stay_within_budget(
        client: redis.Redis, count_calls: Callable[[Callable[[], Any]], int]) -> None:
    """Budgets for the library's own Python work per call (issue 9: CPU per call). A get by
    id is one plan with one request; a page of rows costs a few calls per row, whatever the
    reply's shape; a repeated filter is not compiled again."""
    repo = RedisRepository(session=client, model=Item)
    items = _items(300)
    uow = RedisUnitOfWork(repository=repo)
    with uow:
        for item in items:
            uow.repository.save(item)
        uow.commit()
    specs = repo.specs

    def get() -> Any:
        return repo.get(specs.filter(id="i0007"))

    def top() -> Any:
        return repo.filter(specs.filter(price__gte=10, price__lte=200, stock=3),
                           specs.order("-price"), specs.paginate(limit=20))

    def page() -> Any:
        return repo.filter(specs.filter(price__gte=0))

    def count() -> Any:
        return repo.count(specs.filter(price__gte=10, price__lte=200))

    for fn in (get, top, page, count):
        fn()  # what is asked once (index, server settings) is asked now
    assert len(page()) == 300 and len(top()) == 20
    # (before issue 9's work: 39, 347, 3,075 and 76 calls)
    assert count_calls(get) <= 25
    assert count_calls(top) <= 200
    assert count_calls(page) <= 300 * 5  # per row: its key, its document, its load
    assert count_calls(count) <= 50
