"""Types and specifications new users reach for (issue 9, items 6-11): Literal fields, bytes
fields, a mistyped lookup / ``pk``, one error type for invalid entities, ``only`` and ``order``
on fields inside lists. Every test runs on the four repositories (Redis and the in-memory twin,
sync and async); expected answers are computed here from the data, not by the library."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any, ClassVar, Literal, Optional

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from assimilator_stack import (
    AssimilatorConfig,
    AsyncInternalRepository,
    AsyncInternalUnitOfWork,
    AsyncRedisRepository,
    AsyncRedisUnitOfWork,
    DataLayerError,
    Indexed,
    InternalRepository,
    InternalUnitOfWork,
    InvalidEntityError,
    InvalidQueryError,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    filter_,
    only,
    order,
    paginate,
)
from tests.support.execution_support import private_server
from tests.support.sync_facade import LoopBridge, SyncFacade

IMPLEMENTATIONS = ["redis-sync", "redis-async", "twin-sync", "twin-async"]


class Stores:
    """Repositories / units of work of one implementation over one shared database."""

    def __init__(self, kind: str, client: redis.Redis, bridge: LoopBridge | None) -> None:
        self.kind = kind
        self.client = client
        self.bridge = bridge
        self.data: dict[str, dict[str, Any]] = {}

    def repo(self, model: type[BaseModel]) -> Any:
        data = self.data.setdefault(model.__name__, {})
        if self.kind == "redis-sync":
            return RedisRepository(self.client, model)
        if self.kind == "twin-sync":
            return InternalRepository(data, model)
        assert self.bridge is not None
        if self.kind == "redis-async":
            return SyncFacade(AsyncRedisRepository(self.bridge.twin(self.client), model),
                              self.bridge)
        return SyncFacade(AsyncInternalRepository(data, model), self.bridge)

    def uow(self, model: type[BaseModel]) -> Any:
        repo = self.repo(model)
        if isinstance(repo, SyncFacade):
            inner = repo.inner
            made = (AsyncRedisUnitOfWork(repository=inner)
                    if isinstance(inner, AsyncRedisRepository)
                    else AsyncInternalUnitOfWork(repository=inner))
            return SyncFacade(made, repo._bridge)
        if isinstance(repo, RedisRepository):
            return RedisUnitOfWork(repository=repo)
        return InternalUnitOfWork(repository=repo)


@pytest.fixture(params=IMPLEMENTATIONS)
def stores(request: pytest.FixtureRequest, client: redis.Redis) -> Iterator[Stores]:
    bridge = request.getfixturevalue("bridge") if "async" in request.param else None
    yield Stores(request.param, client, bridge)


def ids(entities: Any) -> list[str]:
    return [e.id for e in entities]


# -- 6. Literal fields ------------------------------------------------------------------------


class Pie(RedisModel):
    flavor: Literal["apple", "pumpkin", "cherry"]
    size: Optional[Literal[1, 2, 3]] = None  # noqa: UP045
    toppings: list[Literal["cream", "nuts"]] = Field(default_factory=list)
    crust: Literal["thin", None] = None
    mixed: Literal["a", 1] = "a"

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t9:pie"


PIES = [Pie(id="p1", flavor="apple", size=2, toppings=["cream"], crust="thin"),
        Pie(id="p2", flavor="pumpkin", size=None, toppings=["cream", "nuts"]),
        Pie(id="p3", flavor="cherry", size=3),
        Pie(id="p4", flavor="apple", size=1, toppings=["nuts"])]


def test_literal_fields_are_indexed_as_their_values_kind(stores: Stores) -> None:
    repo = stores.repo(Pie)
    for pie in PIES:
        repo.save(pie)

    def want(keep: Callable[[Pie], bool]) -> list[str]:
        return sorted(p.id for p in PIES if keep(p))

    cases: list[tuple[Any, Callable[[Pie], bool]]] = [
        (filter_(flavor="apple"), lambda p: p.flavor == "apple"),
        (filter_(flavor__in=["cherry", "pumpkin"]), lambda p: p.flavor in ("cherry", "pumpkin")),
        (filter_(flavor__ne="apple"), lambda p: p.flavor != "apple"),
        (filter_(flavor__startswith="pu"), lambda p: p.flavor.startswith("pu")),
        (filter_(size__gte=2), lambda p: p.size is not None and p.size >= 2),
        (filter_(size__isnull=True), lambda p: p.size is None),
        (filter_(size=1), lambda p: p.size == 1),
        (filter_(toppings="nuts"), lambda p: "nuts" in p.toppings),
        (filter_(toppings__all=["cream", "nuts"]), lambda p: {"cream", "nuts"} <= set(p.toppings)),
        (filter_(crust="thin"), lambda p: p.crust == "thin"),
        (filter_(crust=None), lambda p: p.crust is None),
    ]
    for spec, keep in cases:
        assert sorted(ids(repo.filter(spec))) == want(keep), spec
        assert repo.count(spec) == len(want(keep)), spec
    # str literals sort as str, int literals as numbers (missing last)
    assert ids(repo.filter(order("flavor", "id"))) == ["p1", "p4", "p3", "p2"]
    assert ids(repo.filter(order("-size"))) == ["p3", "p1", "p4", "p2"]
    # a value of the wrong kind is refused like on any str / number field
    with pytest.raises(InvalidQueryError, match="expected a str"):
        repo.filter(filter_(flavor=3))
    with pytest.raises(InvalidQueryError, match="expected a number"):
        repo.filter(filter_(size="2"))
    # a Literal of several kinds is stored, not indexed: the message says so
    with pytest.raises(InvalidQueryError, match="'mixed': it is stored but not indexed"):
        repo.filter(filter_(mixed="a"))


# -- 7. bytes fields --------------------------------------------------------------------------


class Chunk(BaseModel):
    data: bytes
    note: Optional[bytes] = None  # noqa: UP045


class Blob(RedisModel):
    name: str = ""
    payload: bytes = b""
    maybe: Optional[bytes] = None  # noqa: UP045
    chunk: Optional[Chunk] = None  # noqa: UP045
    chunks: list[Chunk] = Field(default_factory=list)
    anything: Any = None

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t9:blob"


binary = st.binary(max_size=40)
blobs = st.builds(
    Blob, id=st.text("abc123", min_size=1, max_size=4), name=st.text(max_size=3),
    payload=binary, maybe=st.one_of(st.none(), binary),
    chunk=st.one_of(st.none(), st.builds(Chunk, data=binary,
                                         note=st.one_of(st.none(), binary))),
    chunks=st.lists(st.builds(Chunk, data=binary), max_size=3),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(entities=st.lists(blobs, max_size=4, unique_by=lambda b: b.id))
def test_bytes_round_trip_exactly(stores: Stores, entities: list[Blob]) -> None:
    repo = stores.repo(Blob)
    repo.delete(filter_(id__in=[b.id for b in repo.filter()]))
    with stores.uow(Blob) as uow:
        for entity in entities:
            uow.repository.save(entity)
        uow.commit()
    for entity in entities:
        got = repo.get(filter_(id=entity.id))
        assert got == entity
        assert got.payload == entity.payload and got.chunks == entity.chunks
        part = repo.get(filter_(id=entity.id), only("payload", "chunk.data", "chunks.data"))
        assert part.payload == entity.payload
        assert (part.chunk.data if part.chunk else None) == \
            (entity.chunk.data if entity.chunk else None)
        assert [c.data for c in part.chunks] == [c.data for c in entity.chunks]
    if entities:  # a bulk update writes bytes the same way
        assert repo.update(filter_(), payload=b"\xff\x00\xfe", chunks=[Chunk(data=b"\x80")]) \
            == len(entities)
        for got in repo.filter():
            assert got.payload == b"\xff\x00\xfe" and got.chunks == [Chunk(data=b"\x80")]


def test_bytes_are_base64_in_the_document(client: redis.Redis) -> None:
    repo = RedisRepository(client, Blob)
    repo.save(Blob(id="b1", payload=b"\xff\x00", chunk=Chunk(data=b"\x80")))
    stored = json.loads(client.execute_command("JSON.GET", "t9:blob:b1"))
    assert stored["payload"] == "/wA=" and stored["chunk"]["data"] == "gA=="
    assert Blob.model_validate(Blob(payload=b"x").model_dump()) is not None  # config untouched
    assert "ser_json_bytes" not in Blob.model_config


def test_bytes_cannot_be_filtered_on_and_unstorable_values_are_data_layer_errors(
        stores: Stores) -> None:
    repo = stores.repo(Blob)
    with pytest.raises(InvalidQueryError, match="'payload': it is stored but not indexed"):
        repo.filter(filter_(payload=b"x"))
    with pytest.raises(InvalidQueryError, match="payload"):
        repo.filter(order("payload"))
    # a value pydantic cannot serialise, anywhere: a DataLayerError, nothing written
    with pytest.raises(InvalidEntityError, match="cannot be stored") as caught:
        repo.save(Blob(id="odd", anything=object()))
    assert isinstance(caught.value, DataLayerError) and caught.value.__cause__ is not None
    with pytest.raises(InvalidEntityError):
        repo.update(filter_(), anything=object())
    assert repo.filter() == []


# -- 8. a mistyped lookup, pk -----------------------------------------------------------------


class Person(RedisModel):
    name: str = ""
    age: int = 0

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t9:person"


def test_a_mistyped_lookup_is_named_with_the_lookups_the_field_allows(stores: Stores) -> None:
    repo = stores.repo(Person)
    with pytest.raises(InvalidQueryError) as caught:
        repo.filter(filter_(age__gtt=3))
    message = str(caught.value)
    assert "unknown lookup 'gtt'" in message
    assert "gt, gte, lt, lte, between" in message and "startswith" not in message
    with pytest.raises(InvalidQueryError, match=r"unknown lookup 'startwith'.*startswith"):
        repo.count(filter_(name__startwith="A"))
    with pytest.raises(InvalidQueryError, match="has no field 'pk': its id field is 'id'"):
        repo.get(filter_(pk="x"))


# -- 9. one error type for entities that do not fit -------------------------------------------


class Plain(BaseModel):  # a plain pydantic model: assignment is not validated
    id: str
    age: int = 0


@pytest.mark.parametrize("model", [Person, Plain])
def test_invalid_entities_raise_one_documented_error(stores: Stores,
                                                      model: type[BaseModel]) -> None:
    repo = stores.repo(model)
    good = repo.save(model(id="a1", age=3))

    def check(call: Callable[[], Any]) -> None:
        with pytest.raises(InvalidEntityError) as caught:
            call()
        assert isinstance(caught.value, (DataLayerError, ValueError))
        assert isinstance(caught.value.__cause__, ValidationError)

    check(lambda: repo.save(id="a2", age="old"))
    check(lambda: repo.update(filter_(id="a1"), age="old"))
    if model is Person:  # a RedisModel validates assignment: the same error, at once
        check(lambda: setattr(good, "age", "old"))
    else:  # a plain model takes it; save / update validate it again
        good.age = "old"  # type: ignore[assignment]
        check(lambda: repo.save(good))
        check(lambda: repo.update(good))

    def in_uow() -> None:
        with stores.uow(model) as uow:
            uow.repository.save(id="a3", age=[1])
            uow.commit()

    check(in_uow)
    assert [(e.id, e.age) for e in repo.filter()] == [("a1", 3)]


# -- 10. only() of sub-fields of a list of models ---------------------------------------------


class Currency(BaseModel):
    code: str
    country: str


class Balance(BaseModel):
    amount: float
    currency: Currency
    memo: str = ""


class Account(RedisModel):
    username: str
    email: str = ""
    balances: list[Balance] = Field(default_factory=list)
    spare: Optional[list[Balance]] = None  # noqa: UP045

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t9:account"


def _balance(amount: float, code: str = "USD", memo: str = "") -> Balance:
    return Balance(amount=amount, currency=Currency(code=code, country=code[:2]), memo=memo)


ACCOUNTS = [
    Account(id="a", username="ann", balances=[_balance(5, "EUR", "x"), _balance(-2)],
            spare=[_balance(1)]),
    Account(id="b", username="bob", balances=[]),
    Account(id="c", username="cid", balances=[_balance(7.25, "HKD"), _balance(7.25),
                                              _balance(0.5, "EUR")]),
    Account(id="d", username="dan", balances=[_balance(3)]),
]


def test_only_sub_fields_of_a_list_of_models(stores: Stores) -> None:
    repo = stores.repo(Account)
    for account in ACCOUNTS:
        repo.save(account)
    found = repo.filter(only("username", "balances.amount", "balances.currency.code",
                             "spare.memo"), order("id"))
    assert ids(found) == [a.id for a in ACCOUNTS]
    for got, account in zip(found, ACCOUNTS):
        assert set(got.__dict__) == {"id", "username", "balances", "spare"}
        assert got.username == account.username
        assert [b.amount for b in got.balances] == [b.amount for b in account.balances]
        assert [b.currency.code for b in got.balances] == \
            [b.currency.code for b in account.balances]
        for element in got.balances:  # each element holds only the named sub-fields
            assert set(element.__dict__) == {"amount", "currency"}
            assert set(element.currency.__dict__) == {"code"}
        want_spare = None if account.spare is None else [b.memo for b in account.spare]
        assert (None if got.spare is None else [b.memo for b in got.spare]) == want_spare
    # what only() left out: loaded on access (sync), refused saying how (async)
    first = found[0]
    if stores.kind.endswith("async"):
        with pytest.raises(AttributeError, match="memo was not loaded"):
            _ = first.balances[0].memo
        repo.refresh(first)  # loads it all
    assert first.balances[0].memo == ACCOUNTS[0].balances[0].memo
    assert first.email == ACCOUNTS[0].email and first == ACCOUNTS[0]
    # a partial entity changed and saved keeps every field it did not load
    part = repo.get(filter_(id="c"), only("balances.amount"))
    part.balances[0].amount = 99.0
    repo.update(part)
    want = ACCOUNTS[2].model_copy(deep=True)
    want.balances[0].amount = 99.0
    assert repo.get(filter_(id="c")) == want


def test_only_of_a_list_reads_each_sub_field_by_path(redis_stack_url: str,
                                                     client: redis.Redis) -> None:
    from tests.support.execution_support import recording_client

    RedisRepository(client, Account).save(ACCOUNTS[2])
    recorded, recorder = recording_client(redis_stack_url)
    repo = RedisRepository(recorded, Account)
    repo.get(only("username", "balances.amount"))
    reads = [c for c in recorder.commands if c[0] == "JSON.GET"]
    assert reads == [("JSON.GET", "t9:account:c", "$.username", "$.balances[*].amount", "$.id")]
    recorded.close()


# -- 11. order() by a field inside a list -----------------------------------------------------


class Series(RedisModel):
    nums: list[float] = Field(default_factory=list)
    words: Annotated[list[str], Indexed(sortable=True)] = Field(default_factory=list)
    lowered: Annotated[list[str], Indexed(sortable=True, case_sensitive=False)] = \
        Field(default_factory=list)
    moments: list[dt.datetime] = Field(default_factory=list)
    balances: list[Balance] = Field(default_factory=list)
    unsorted: Annotated[list[int], Indexed(sortable=False)] = Field(default_factory=list)
    plain_words: list[str] = Field(default_factory=list)

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t9:series"


UTC = dt.timezone.utc
_small_floats = st.sampled_from([-3.5, -1.0, 0.0, 0.25, 2.0, 7.0, 1e16])
_words = st.sampled_from(["", "a", "B", "b", "ab", "é", "Zed", "zed", "日本"])
_moments = st.sampled_from([dt.datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
                            dt.datetime(2024, 1, 1, tzinfo=UTC),
                            dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
                            dt.datetime(2030, 5, 5, 12)])
series = st.builds(
    Series, id=st.text("abcdef", min_size=1, max_size=3),
    nums=st.lists(_small_floats, max_size=3), words=st.lists(_words, max_size=3),
    lowered=st.lists(_words, max_size=3), moments=st.lists(_moments, max_size=3),
    balances=st.lists(st.builds(_balance, _small_floats), max_size=3),
)


def _values(entity: Series, name: str) -> list[Any]:
    if name == "balances.amount":
        return [b.amount for b in entity.balances]
    if name == "lowered":
        return [w.lower() for w in entity.lowered]
    if name == "moments":  # as instants (naive = UTC)
        return [m if m.tzinfo else m.replace(tzinfo=UTC) for m in entity.moments]
    return list(getattr(entity, name))


def mongo_order(entities: list[Series], keys: list[tuple[str, bool]]) -> list[str]:
    """MongoDB's rule, written out: ascending by the smallest element, descending by the
    largest, an empty list after every entity with a value (either direction), then id."""
    result = sorted(entities, key=lambda e: e.id)
    for name, desc in reversed(keys):
        with_value = [e for e in result if _values(e, name)]
        without = [e for e in result if not _values(e, name)]
        with_value.sort(key=lambda e: (max if desc else min)(_values(e, name)), reverse=desc)
        result = with_value + without
    return ids(result)


_list_keys = st.lists(st.sampled_from(["nums", "words", "lowered", "moments",
                                       "balances.amount"]),
                      min_size=1, max_size=2, unique=True).flatmap(
    lambda names: st.tuples(*[st.tuples(st.just(n), st.booleans()) for n in names]))


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[Any]:
    with private_server() as server:  # MAXAGGREGATERESULTS 3: keyset paging on tiny data
        with server.client() as admin:
            admin.execute_command("FT.CONFIG", "SET", "MAXAGGREGATERESULTS", "3")
        yield server


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.lists(series, max_size=9, unique_by=lambda s: s.id), keys=_list_keys,
       limit=st.integers(1, 4))
def test_order_by_a_list_follows_mongodb_rule(tiny_server: Any, data: list[Series],
                                              keys: tuple[tuple[str, bool], ...],
                                              limit: int) -> None:
    spec = order(*[("-" if desc else "") + name for name, desc in keys])
    want = mongo_order(data, list(keys))
    with tiny_server.client() as client:
        client.flushall()
        repo = RedisRepository(client, Series)
        twin = InternalRepository({}, Series)
        for entity in data:
            repo.save(entity)
            twin.save(entity)
        assert ids(twin.filter(spec)) == want
        assert ids(repo.filter(spec)) == want  # past MAXAGGREGATERESULTS: keyset pages
        pages = [ids(repo.filter(spec, paginate(limit=limit, offset=o)))
                 for o in range(0, len(data), limit)]
        assert [i for page in pages for i in page] == want
        assert ids(repo.stream(spec, batch_size=2)) == want


def test_order_by_a_list_on_every_repository(stores: Stores) -> None:
    repo = stores.repo(Series)
    data = [Series(id="a", nums=[5, -1], balances=[_balance(3), _balance(9)]),
            Series(id="b", nums=[], balances=[]),
            Series(id="c", nums=[2], balances=[_balance(4)]),
            Series(id="d", nums=[0, 9.5], balances=[_balance(-8), _balance(1)])]
    for entity in data:
        repo.save(entity)
    assert ids(repo.filter(order("nums"))) == ["a", "d", "c", "b"]  # by min: -1, 0, 2, none
    assert ids(repo.filter(order("-nums"))) == ["d", "a", "c", "b"]  # by max: 9.5, 5, 2, none
    assert ids(repo.filter(order("balances.amount"))) == ["d", "a", "c", "b"]
    assert ids(repo.filter(order("-balances.amount"))) == ["a", "c", "d", "b"]
    # a bulk update keeps the sort values right
    assert repo.update(filter_(id="b"), nums=[-50], balances=[_balance(100)]) == 1
    assert repo.update(filter_(id="a"), nums=[], balances=[]) == 1
    assert ids(repo.filter(order("nums"))) == ["b", "d", "c", "a"]
    assert ids(repo.filter(order("-balances.amount"))) == ["b", "c", "d", "a"]
    # saving a changed entity too
    changed = repo.get(filter_(id="c"))
    changed.nums = [-100.0, 100.0]
    repo.save(changed)
    assert ids(repo.filter(order("nums"))) == ["c", "b", "d", "a"]
    assert ids(repo.filter(order("-nums"))) == ["c", "d", "b", "a"]


def test_list_sortability_is_declared_never_ignored(stores: Stores) -> None:
    repo = stores.repo(Series)
    with pytest.raises(InvalidQueryError, match=r"plain_words is a list of str that is not "
                                                r"declared sortable.*Indexed\(sortable=True\)"):
        repo.filter(order("plain_words"))
    with pytest.raises(InvalidQueryError, match="unsorted is not sortable"):
        repo.filter(order("-unsorted"))


class Labelled(RedisModel):
    # Indexed(sortable=True) on a list of models applies to its fields: labels.code sorts
    labels: Annotated[list[Currency], Indexed(sortable=True)] = Field(default_factory=list)

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t9:labelled"


def test_indexed_on_a_list_of_models_applies_to_its_fields(stores: Stores) -> None:
    repo = stores.repo(Labelled)
    for key, codes in {"a": ["m", "z"], "b": ["k"], "c": [], "d": ["n", "a"]}.items():
        repo.save(Labelled(id=key, labels=[Currency(code=c, country="") for c in codes]))
    assert ids(repo.filter(order("labels.code"))) == ["d", "b", "a", "c"]  # a, k, m; none
    assert ids(repo.filter(order("-labels.code"))) == ["a", "d", "b", "c"]  # z, n, k; none


def test_indexed_where_it_cannot_apply_is_refused() -> None:
    from assimilator_stack.fields.schema import schema_of

    class Odd(RedisModel):
        blob: Annotated[bytes, Indexed(sortable=True)] = b""

    with pytest.raises(TypeError, match=r"Odd.blob: Indexed\(\) / Text\(\) has no effect"):
        schema_of(Odd)
