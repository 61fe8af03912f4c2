"""order() with several keys, server-side, and paging: checked on the real server against the
Python meaning of docs/queries.md (``internal.evaluate.ordered``).

Most tests run on a private server whose MAXAGGREGATERESULTS is 7, so that even small data
sets go through keyset paging (rows after the last one read) and the jumps over offsets that
one query may not skip; the embedded server's 10000 is exercised in test_large_results.py.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar

import pytest
import redis
import redis.cluster
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field

from assimilator_stack import (
    AssimilatorConfig,
    Indexed,
    InvalidQueryError,
    MultipleResultsError,
    PartialResultError,
    RedisModel,
    RedisRepository,
    filter_,
    only,
    order,
    paginate,
)
from assimilator_stack.backends.redis.keyset import representable, string_literal
from assimilator_stack.fields.schema import schema_of
from assimilator_stack.query.python import ordered
from assimilator_stack.testing import RedisStackServer
from tests.support.cluster_support import ON_CLUSTER
from tests.support.execution_support import load, private_server, recording_client
from tests.support.query_models import Address, Color, Item, Size, Thing

TINY = 7  # MAXAGGREGATERESULTS of the private server

SORTABLE = ["name", "title", "body", "age", "score", "active", "nick", "rank", "color", "size",
            "born", "day", "ref", "address.city", "address.zip", "id",
            "tags", "nums", "items.qty", "items.sku"]  # lists: by their smallest / largest


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[RedisStackServer]:
    with private_server() as server:
        with server.client() as admin:
            admin.execute_command("FT.CONFIG", "SET", "MAXAGGREGATERESULTS", str(TINY))
        yield server


@pytest.fixture
def tiny(tiny_server: RedisStackServer) -> Iterator[redis.Redis]:
    client = tiny_server.client()
    client.flushall()
    yield client
    client.close()


# The shared test server, the private one (MAXAGGREGATERESULTS 7), and the Redis Cluster of
# REDIS_CLUSTER_URL (skipped without it): ordered reads mean the same on all three.
WHERE = ["shared", "tiny", ON_CLUSTER]


def client_at(where: str, request: pytest.FixtureRequest) -> redis.Redis:
    """A flushed client of ``where`` (looked up lazily: a cluster run needs no test server)."""
    if where == "cluster":
        return request.getfixturevalue("cluster_client_factory")()
    return request.getfixturevalue("redis_client" if where == "shared" else "tiny")


def ids(entities: list[Any]) -> list[Any]:
    return [e.id for e in entities]


def meaning(entities: list[Thing], *keys: str) -> list[str]:
    """The order docs/queries.md gives (the Python reading the in-memory twin uses)."""
    parsed = [(k.lstrip("-").replace("__", "."), k.startswith("-")) for k in keys]
    return ids(ordered(schema_of(Thing), entities, parsed))


# -- the plain cases, spelled out ---------------------------------------------------------------


def plain_things() -> list[Thing]:
    return [
        Thing(id="a", rank=2, name="x", age=1),
        Thing(id="b", rank=None, name="y", age=1),
        Thing(id="c", rank=1, name="x", age=2),
        Thing(id="d", rank=2, name="w", age=2),
        Thing(id="e", rank=None, name="x", age=1),
        Thing(id="f", rank=1, name="x", age=1),
    ]


@pytest.mark.parametrize("where", WHERE)
def test_missing_values_come_last_in_both_directions(where: str,
                                                     request: pytest.FixtureRequest) -> None:
    client = client_at(where, request)
    repo = RedisRepository(client, Thing)
    for thing in plain_things():
        repo.save(thing)
    # ties by id ascending, entities without a rank last either way
    assert ids(repo.filter(order("rank"))) == ["c", "f", "a", "d", "b", "e"]
    assert ids(repo.filter(order("-rank"))) == ["a", "d", "c", "f", "b", "e"]


@pytest.mark.parametrize("where", WHERE)
def test_several_keys_then_id(where: str, request: pytest.FixtureRequest) -> None:
    client = client_at(where, request)
    repo = RedisRepository(client, Thing)
    things = plain_things()
    for thing in things:
        repo.save(thing)
    assert ids(repo.filter(order("name", "-age"))) == ["d", "c", "a", "e", "f", "b"]
    assert ids(repo.filter(order("-name", "age", "-rank"))) == ["b", "a", "f", "e", "c", "d"]
    for keys in [("name", "-age"), ("-name", "age", "-rank"), ("age", "rank", "-id")]:
        assert ids(repo.filter(order(*keys))) == meaning(things, *keys)


def test_order_by_id_alone_and_repeated_keys(tiny: redis.Redis) -> None:
    repo = RedisRepository(tiny, Thing)
    for thing in plain_things():
        repo.save(thing)
    assert ids(repo.filter(order("-id"))) == ["f", "e", "d", "c", "b", "a"]
    assert ids(repo.filter(order("name", "name", "-name"))) == ids(repo.filter(order("name")))


def test_case_insensitive_fields_sort_by_their_lower_case(tiny: redis.Redis) -> None:
    repo = RedisRepository(tiny, Thing)
    for i, title in enumerate(["beta", "Alpha", "alpha", "BETA", "Gamma", "" , "ähnlich"]):
        repo.save(Thing(id=f"t{i}", title=title, name=title))
    # title is Indexed(case_sensitive=False): by str.lower(), then id; name is case-sensitive
    assert ids(repo.filter(order("title"))) == ["t5", "t1", "t2", "t0", "t3", "t4", "t6"]
    assert ids(repo.filter(order("name"))) == ["t5", "t1", "t3", "t4", "t2", "t0", "t6"]


def test_nested_enum_bool_date_uuid_keys(tiny: redis.Redis) -> None:
    repo = RedisRepository(tiny, Thing)
    things = [
        Thing(id=f"n{i}", address=None if i % 4 == 0 else Address(city=c, zip=z),
              color=color, size=size, active=bool(i % 2),
              born=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
              + dt.timedelta(microseconds=i % 3),
              day=dt.date(2020, 1, 1) + dt.timedelta(days=-(i % 5)),
              ref=uuid.UUID(int=(i * 7919) % 11))
        for i, (c, z, color, size) in enumerate([
            ("Oslo", None, Color.RED, Size.L), ("oslo", "0150", Color.SHOUT, None),
            ("Bergen", "5003", Color.DARK_BLUE, Size.S), ("Oslo", "0150", Color.GREEN, Size.M),
            ("", None, Color.RED, Size.S), ("Bergen", "", Color.SHOUT, Size.L),
            ("Ålesund", "6002", Color.GREEN, None), ("Oslo", "0001", Color.RED, Size.M),
            ("Bergen", "5003", Color.DARK_BLUE, Size.S),
        ])
    ]
    load(tiny, things)
    for keys in [("address.city", "-address.zip"), ("-address__city",), ("color", "-size"),
                 ("-active", "born"), ("day", "-ref"), ("-born", "-day", "color"),
                 ("size", "address.zip", "-id")]:
        assert ids(repo.filter(order(*keys))) == meaning(things, *keys), keys


# -- the meaning, on random data -------------------------------------------------------------

_text = st.one_of(
    st.sampled_from(["", "a", "A", "b", "ab", "é", "Z z", "ß", "😀", "a b"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=4),
)
_number = st.one_of(st.sampled_from([0, 1, -1, 2]), st.integers(-(2**53), 2**53))
# At most 15 significant digits: RedisJSON 2.8 stores some 17-digit doubles one unit in the last
# place off (README, Known limits), so their order in Redis is not their order here.
_float = st.one_of(st.sampled_from([0.0, -0.0, 0.5, -1.25, 1e-300]),
                   st.floats(allow_nan=False, allow_infinity=False).map(
                       lambda x: float(f"{x:.15g}")).filter(math.isfinite))
_moment = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                       timezones=st.sampled_from([None, dt.timezone.utc,
                                                  dt.timezone(dt.timedelta(hours=-5))]))


@st.composite
def things(draw: st.DrawFn) -> list[Thing]:
    count = draw(st.integers(0, 18))
    raw_ids = draw(st.lists(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\\"),
                min_size=1, max_size=6),
        min_size=count, max_size=count, unique=True))
    out = []
    for entity_id in raw_ids:
        optional = st.one_of(st.none(), _number)
        out.append(Thing(
            id=entity_id,
            name=draw(_text), title=draw(_text), body=draw(_text),
            age=draw(_number), score=draw(_float), active=draw(st.booleans()),
            nick=draw(st.one_of(st.none(), _text)), rank=draw(optional),
            color=draw(st.sampled_from(list(Color))),
            size=draw(st.one_of(st.none(), st.sampled_from(list(Size)))),
            born=draw(st.one_of(st.none(), _moment)),
            day=draw(st.one_of(st.none(), st.dates(dt.date(1800, 1, 1), dt.date(2300, 1, 1)))),
            ref=draw(st.one_of(st.none(), st.uuids())),
            address=draw(st.one_of(st.none(), st.builds(
                Address, city=_text, zip=st.one_of(st.none(), _text)))),
            tags=draw(st.lists(_text, max_size=3)),
            nums=draw(st.lists(_float, max_size=3)),
            items=draw(st.lists(st.builds(Item, sku=_text, qty=_number), max_size=3)),
        ))
    return out


_keys = st.lists(st.sampled_from(SORTABLE), min_size=1, max_size=3).flatmap(
    lambda names: st.tuples(*[st.sampled_from([n, "-" + n]) for n in names]))


def fresh_client(where: str, request: pytest.FixtureRequest) -> Any:
    """A new client of ``where`` ("tiny" or "cluster") on emptied servers: each example starts
    from nothing (FLUSHALL drops the index too; a new client learns that afresh)."""
    if where == "cluster":
        url = request.getfixturevalue("redis_cluster_url")
        cluster = redis.cluster.RedisCluster.from_url(url)
        cluster.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
        return cluster
    client = request.getfixturevalue("tiny_server").client()
    client.flushall()
    return client


@pytest.mark.slow
@pytest.mark.parametrize("where", ["tiny", ON_CLUSTER])
@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(data=things(), keys=_keys, page=st.tuples(st.integers(0, 30), st.integers(0, 12)))
def test_order_and_pages_mean_what_the_docs_say(where: str, request: pytest.FixtureRequest,
                                                data: list[Thing], keys: tuple[str, ...],
                                                page: tuple[int, int]) -> None:
    client = fresh_client(where, request)
    try:
        repo = RedisRepository(client, Thing)
        load(client, data)
        want = meaning(data, *keys)
        assert ids(repo.filter(order(*keys))) == want
        offset, limit = page
        assert ids(repo.filter(order(*keys), paginate(limit=limit, offset=offset))) == \
            want[offset:offset + limit]
        assert ids(repo.filter(order(*keys), paginate(offset=offset))) == want[offset:]
        assert ids(list(repo.stream(order(*keys), batch_size=3))) == want
    finally:
        client.close()


# -- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", WHERE)
def test_pages_never_repeat_or_skip_while_entities_are_rewritten(
        where: str, request: pytest.FixtureRequest) -> None:
    client = client_at(where, request)
    repo = RedisRepository(client, Thing)
    rng = random.Random(7)
    things = [Thing(id=f"p{i:02d}", age=i % 3, name=rng.choice("xyz")) for i in range(40)]
    load(client, things)
    want = meaning(things, "age", "-name")
    seen: list[str] = []
    offset = 0
    while True:
        page = repo.filter(order("age", "-name"), paginate(limit=6, offset=offset))
        if not page:
            break
        seen += ids(page)
        offset += 6
        # every write gives a document a new internal id (moves it in index order): pages
        # ordered by keys + id do not care
        for thing in rng.sample(things, 5):
            repo.save(thing)
    assert seen == want


def test_index_order_without_order_is_write_order(tiny: redis.Redis) -> None:
    repo = RedisRepository(tiny, Thing)
    for i in range(12):
        repo.save(Thing(id=f"w{11 - i:02d}"))  # written in descending id order
    written = [f"w{11 - i:02d}" for i in range(12)]
    assert ids(repo.filter()) == written
    assert ids(repo.filter(paginate(limit=3, offset=4))) == written[4:7]
    assert ids(repo.filter(paginate(offset=9))) == written[9:]
    assert ids(list(repo.stream(batch_size=5))) == written
    repo.save(Thing(id="w05"))  # a write moves it to the end
    assert ids(repo.filter())[-1] == "w05"


def test_offsets_past_the_server_limit_jump_ahead(tiny: redis.Redis) -> None:
    repo = RedisRepository(tiny, Thing)
    things = [Thing(id=f"j{i:03d}", age=i % 5) for i in range(60)]
    load(tiny, things)
    want = meaning(things, "-age")
    for offset, limit in [(0, 60), (7, 7), (6, 2), (20, 5), (53, 10), (59, 1), (60, 3), (99, 1)]:
        assert ids(repo.filter(order("-age"), paginate(limit=limit, offset=offset))) == \
            want[offset:offset + limit]
    unordered = ids(repo.filter())
    assert sorted(unordered) == sorted(t.id for t in things)
    assert ids(repo.filter(paginate(limit=4, offset=33))) == unordered[33:37]


def test_get_reads_at_most_two_rows(redis_stack_url: str, redis_client: redis.Redis) -> None:
    client, recorder = recording_client(redis_stack_url)
    repo = RedisRepository(client, Thing)
    load(client, [Thing(id=f"g{i}", age=1) for i in range(50)])
    repo.filter(paginate(limit=1))  # the index exists, the server's limits are known
    recorder.clear()
    with pytest.raises(MultipleResultsError):
        repo.get(filter_(age=1))
    aggregate = [c for c in recorder.commands if c[0] == "FT.AGGREGATE"]
    assert len(aggregate) == 1 and aggregate[0][-3:] == ("LIMIT", "0", "2")
    # the two rows carry their documents: nothing else is read
    assert [c[0] for c in recorder.commands] == ["FT.AGGREGATE"]
    client.close()


# -- sort strings a FILTER literal cannot hold -----------------------------------------------


def test_strings_that_cannot_anchor_a_page_are_passed_over(tiny: redis.Redis) -> None:
    # a backslash before punctuation or whitespace cannot be written in a FILTER literal: such
    # rows cannot anchor the next page, an earlier row does and the rest are skipped
    # in sort order no more than 6 rows (< TINY) in a row are unusable
    names = ["a", "a\\!", "a\\x", "a\\\\", "b", "b\\ ", "b\\x", "c\\,", "c", "d\\", "d\\x",
             "e\x00z"]
    assert not all(representable(n) for n in names)
    repo = RedisRepository(tiny, Thing)
    things = [Thing(id=f"u{i:02d}", name=names[i % len(names)]) for i in range(30)]
    load(tiny, things)
    for keys in [("name",), ("-name",), ("name", "-id")]:
        assert ids(repo.filter(order(*keys))) == meaning(
            [t.model_copy(update={"name": t.name.split("\x00")[0]}) for t in things], *keys)
        assert ids(list(repo.stream(order(*keys), batch_size=2))) == ids(
            repo.filter(order(*keys)))


def test_too_many_unanchorable_rows_in_a_row_is_an_error_not_a_short_answer(
        tiny: redis.Redis) -> None:
    repo = RedisRepository(tiny, Thing)
    load(tiny, [Thing(id=f"v{i:02d}", name="same\\!") for i in range(3 * TINY)])
    with pytest.raises(PartialResultError, match="MAXAGGREGATERESULTS"):
        repo.filter(order("name"))
    # the id alone anchors fine
    assert len(repo.filter(order("-id"))) == 3 * TINY


def test_filter_string_literals_read_back_exactly(tiny: redis.Redis) -> None:
    # the keyset FILTER compares with literals, several in one expression: each one must mean
    # exactly its string, whatever follows it
    values = ["", " ", "\"", "'", "\\a", "a\\b", "\n", "\t", "é", "😀", "a\"b", "\\é", "x\r",
              "\"\"", "'\"", "\\q\""]
    load(tiny, [Thing(id=f"l{i}", name=v) for i, v in enumerate(values)])
    repo = RedisRepository(tiny, Thing)
    repo.count()
    index = repo.plans.index.name
    for i, value in enumerate(values):
        assert representable(value), value
        lit = string_literal(value)
        expression = f'(@name == {lit} && @id != "x\\"") || (@name == "never" && @id == {lit})'
        # name is not SORTABLE (a plain str): read from the document, as the scans do
        reply = tiny.execute_command("FT.AGGREGATE", index, "*", "DIALECT", "2", "LOAD", "1",
                                     "@name", "FILTER", expression, "LOAD", "1", "@__key")
        keys = sorted(r[r.index(b"__key") + 1].decode() for r in reply[1:]) \
            if isinstance(reply, list) else sorted(
                r[b"extra_attributes"][b"__key"].decode() for r in reply[b"results"])
        assert keys == [f"q:thing:l{i}"], (value, keys)
    for bad in ["a\\", "a\\!", "a\\ b", "a\\\\", "a\x00b", "\\\""]:
        assert not representable(bad)


# -- refused before anything is sent ---------------------------------------------------------


class Sheet(RedisModel):
    title: str = ""
    hidden: Annotated[str, Indexed(sortable=False)] = ""
    tags: list[str] = Field(default_factory=list)
    blob: dict[str, Any] = Field(default_factory=dict)

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:order-sheet"


@pytest.mark.parametrize("field, fragment", [
    ("nope", "has no indexed field 'nope'"),
    ("tags", "is a list of str that is not declared sortable"),
    ("hidden", "is not sortable"),
    ("blob", "has no indexed field 'blob'"),
])
def test_bad_order_fields_are_refused_before_redis(redis_stack_url: str, redis_client: redis.Redis,
                                                   field: str, fragment: str) -> None:
    client, recorder = recording_client(redis_stack_url)
    repo = RedisRepository(client, Sheet)
    for call in (lambda: repo.filter(order("title", f"-{field}")),
                 lambda: repo.get(order(field)),
                 lambda: list(repo.stream(order(field))),
                 lambda: repo.count(order(field)),
                 lambda: repo.explain(order(field))):
        with pytest.raises(InvalidQueryError, match=fragment) as caught:
            call()
        assert "sortable fields: id, title" in str(caught.value)
    assert recorder.commands == []
    client.close()


def test_a_zero_limit_reads_nothing(redis_stack_url: str, redis_client: redis.Redis) -> None:
    client, recorder = recording_client(redis_stack_url)
    repo = RedisRepository(client, Thing)
    load(client, [Thing(id=f"z{i}", age=i) for i in range(5)])
    repo.count()
    recorder.clear()
    for specs in [(), (order("age"),), (filter_(lambda e: True),), (only("age"),),
                  (filter_(lambda e: True), order("-age"), only("age"))]:
        assert repo.filter(*specs, paginate(limit=0)) == []
        assert repo.filter(*specs, paginate(limit=0, offset=2)) == []
        assert list(repo.stream(*specs, paginate(limit=0))) == []
    assert recorder.commands == []
    client.close()


def test_numeric_ids_break_ties_by_number(tiny: redis.Redis) -> None:
    from tests.support.query_models import IntKeyed
    repo = RedisRepository(tiny, IntKeyed)
    ids_in = [5, -3, 100, 7, 2**52 + 1, 0, 31, 64, 9, 10, 11, 12, 13, -40, 77, 78]
    for i in ids_in:
        repo.save(IntKeyed(id=i, label="same" if i % 2 else "other"))
    want = sorted(ids_in, key=lambda i: ("same" if i % 2 else "other", i))
    assert [e.id for e in repo.filter(order("label"))] == want
    assert [e.id for e in repo.stream(order("label"), batch_size=3)] == want
    assert [e.id for e in repo.filter(order("-id"), paginate(limit=4, offset=9))] == \
        sorted(ids_in, reverse=True)[9:13]


def test_python_checked_filters_keep_order_pages_and_counts_exact(tiny: redis.Redis) -> None:
    repo = RedisRepository(tiny, Thing)
    things = [Thing(id=f"x{i:02d}", age=i % 5, name=f"n{i % 4}", rank=i) for i in range(50)]
    load(tiny, things)
    keep = [t for t in things if t.rank % 3 != 0]
    check = filter_(lambda e: e.rank % 3 != 0)
    want = meaning(keep, "-name", "age")
    assert ids(repo.filter(check, order("-name", "age"))) == want
    for offset, limit in [(0, 5), (6, 7), (20, 30), (33, 1), (40, 5)]:
        assert ids(repo.filter(check, order("-name", "age"),
                               paginate(limit=limit, offset=offset))) == \
            want[offset:offset + limit]
    assert ids(repo.stream(check, order("-name", "age"), batch_size=4)) == want
    assert repo.count(check) == len(keep)
    regex = filter_(name__regex="^n[13]$", age__gte=1)
    want = meaning([t for t in things if t.name in ("n1", "n3") and t.age >= 1], "rank")
    assert ids(repo.filter(regex, order("rank"), paginate(offset=2))) == want[2:]
