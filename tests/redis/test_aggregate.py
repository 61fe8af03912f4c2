"""repo.aggregate(...) and repo.suggest(...) on Redis (sync and async) and on the twin: the
meaning of each metric, group values, exact numbers, ordering and paging, filters checked in
Python, bad input refused before anything is sent, and more groups than the server's
MAXAGGREGATERESULTS. Expected values are worked out by hand from the data written here."""

from __future__ import annotations

import datetime as dt
import enum
import math
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar

import pytest
import redis
from pydantic import Field

from assimilator_stack import (
    AssimilatorConfig,
    AsyncInternalRepository,
    Avg,
    Count,
    CountDistinct,
    Indexed,
    InternalRepository,
    InvalidQueryError,
    Max,
    Min,
    RedisModel,
    Sum,
    filter_,
    only,
    order,
    paginate,
)
from tests.support.helpers import CommandCounter, RepoFactory
from tests.support.sync_facade import SyncFacade

pytestmark = pytest.mark.both_apis


class Shelf(str, enum.Enum):
    TOP = "top"
    LOW = "low"


class Book(RedisModel):
    title: str = ""
    category: str | None = None
    rating: float | None = None
    pages: int | None = None
    tags: list[str] = Field(default_factory=list)
    shelf: Shelf = Shelf.TOP
    out: dt.date | None = None
    at: dt.datetime | None = None
    ref: uuid.UUID | None = None
    signed: bool = False
    city: Annotated[str, Indexed(case_sensitive=False)] = ""  # a lower-cased copy is indexed

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "agg:book"


BOOKS = [
    Book(id="1", title="Dune", category="scifi", rating=4.5, pages=412, tags=["space", "sand"],
         shelf=Shelf.TOP, out=dt.date(1965, 8, 1), signed=True),
    Book(id="2", title="Hyperion", category="scifi", rating=None, pages=482,
         tags=["space", "space"], shelf=Shelf.LOW),
    Book(id="3", title="Emma", category="classic", rating=3.0, pages=None, tags=[],
         shelf=Shelf.LOW, out=dt.date(1815, 12, 23)),
    Book(id="4", title="Ulysses", category="classic", rating=2.0, pages=730, tags=["dublin"]),
    Book(id="5", title="Notes", category=None, rating=5.0, pages=10, tags=["sand"]),
]


@pytest.fixture(params=["redis", "twin"])
def repo(request: pytest.FixtureRequest, make_repo: RepoFactory, api: str) -> Any:
    if request.param == "twin" and api == "async":
        made: Any = SyncFacade(AsyncInternalRepository(model=Book),
                               request.getfixturevalue("bridge"))
    elif request.param == "twin":
        made = InternalRepository(model=Book)
    else:
        made = make_repo(Book)
    for book in BOOKS:
        made.save(book)
    return made


def test_group_by_one_field_with_every_metric(repo: Any) -> None:
    rows = repo.aggregate(
        group_by="category", n=Count(), avg=Avg("rating"), total=Sum("pages"),
        low=Min("rating"), high=Max("pages"), kinds=CountDistinct("tags"))
    assert rows == [
        # Hyperion has no rating: the mean is over Dune alone (RediSearch's AVG would halve it)
        {"category": "classic", "n": 2, "avg": 2.5, "total": 730, "low": 2.0, "high": 730,
         "kinds": 1},
        {"category": "scifi", "n": 2, "avg": 4.5, "total": 894, "low": 4.5, "high": 482,
         "kinds": 2},
        {"category": None, "n": 1, "avg": 5.0, "total": 10, "low": 5.0, "high": 10,
         "kinds": 1},  # no category: the group None, last
    ]
    assert type(rows[0]["total"]) is int


def test_no_values_sum_to_zero_and_average_to_none(repo: Any) -> None:
    rows = repo.aggregate(filter_(pages__isnull=True), total=Sum("pages"), avg=Avg("pages"),
                          low=Min("pages"), n=Count(), d=CountDistinct("pages"))
    assert rows == [{"total": 0, "avg": None, "low": None, "n": 1, "d": 0}]
    # nothing matches: without group_by still one row; with group_by no row
    assert repo.aggregate(filter_(title="nope"), n=Count(), total=Sum("pages")) == [
        {"n": 0, "total": 0}]
    assert repo.aggregate(filter_(title="nope"), group_by="category", n=Count()) == []


def test_a_list_groups_each_element_once_per_entity(repo: Any) -> None:
    rows = repo.aggregate(group_by="tags", n=Count(), pages=Sum("pages"))
    assert rows == [
        {"tags": "dublin", "n": 1, "pages": 730},
        {"tags": "sand", "n": 2, "pages": 422},
        {"tags": "space", "n": 2, "pages": 894},  # Hyperion's two "space" count once
        {"tags": None, "n": 1, "pages": 0},  # Emma: no tags
    ]


def test_two_group_fields_and_typed_group_values(repo: Any) -> None:
    rows = repo.aggregate(group_by=("shelf", "signed"), n=Count())
    assert rows == [
        {"shelf": Shelf.LOW, "signed": False, "n": 2},
        {"shelf": Shelf.TOP, "signed": False, "n": 2},
        {"shelf": Shelf.TOP, "signed": True, "n": 1},
    ]
    assert all(isinstance(r["shelf"], Shelf) and type(r["signed"]) is bool for r in rows)
    dates = repo.aggregate(group_by="out", n=Count(), first=Min("out"))
    assert dates == [
        {"out": dt.date(1815, 12, 23), "n": 1, "first": dt.date(1815, 12, 23)},
        {"out": dt.date(1965, 8, 1), "n": 1, "first": dt.date(1965, 8, 1)},
        {"out": None, "n": 3, "first": None},
    ]


def test_equal_instants_make_one_group_in_utc(repo: Any) -> None:
    utc = dt.timezone.utc
    ref = uuid.UUID(int=7)
    repo.save(Book(id="t1", category="t", at=dt.datetime(2024, 6, 30, 12, 30), ref=ref))
    repo.save(Book(id="t2", category="t", ref=ref,
                   at=dt.datetime(2024, 6, 30, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))))
    rows = repo.aggregate(filter_(category="t"), group_by=("at", "ref"), n=Count(),
                          last=Max("at"), d=CountDistinct("at"))
    instant = dt.datetime(2024, 6, 30, 12, 30, tzinfo=utc)
    assert rows == [{"at": instant, "ref": ref, "n": 2, "last": instant, "d": 1}]
    assert rows[0]["at"].tzinfo == utc and type(rows[0]["ref"]) is uuid.UUID


def test_order_by_a_metric_and_paginate_the_groups(repo: Any) -> None:
    by_count = repo.aggregate(order("-n"), group_by="tags", n=Count())
    assert [(r["tags"], r["n"]) for r in by_count] == [
        ("sand", 2), ("space", 2), ("dublin", 1), (None, 1)]  # ties by the group value
    page = repo.aggregate(order("-n"), paginate(limit=2, offset=1), group_by="tags", n=Count())
    assert page == by_count[1:3]
    # a metric without a value comes last in either direction; a group field may be named
    by_avg = repo.aggregate(order("avg"), group_by="title", avg=Avg("rating"))
    assert [r["title"] for r in by_avg] == ["Ulysses", "Emma", "Dune", "Notes", "Hyperion"]
    by_avg_desc = repo.aggregate(order("-avg"), group_by="title", avg=Avg("rating"))
    assert [r["title"] for r in by_avg_desc] == ["Notes", "Dune", "Emma", "Ulysses",
                                                 "Hyperion"]
    by_title = repo.aggregate(order("-title"), group_by="title", n=Count())
    assert [r["title"] for r in by_title] == ["Ulysses", "Notes", "Hyperion", "Emma", "Dune"]


def test_filters_checked_in_python_still_give_exact_aggregates(repo: Any) -> None:
    # regex and endswith are checked in Python over what Redis selects
    rows = repo.aggregate(filter_(title__regex="^[DH]"), filter_(title__endswith="e"),
                          group_by="category", n=Count(), pages=Sum("pages"))
    assert rows == [{"category": "scifi", "n": 1, "pages": 412}]
    rows = repo.aggregate(lambda b: b.pages is not None and b.pages > 450, n=Count(),
                          pages=Sum("pages"))
    assert rows == [{"n": 2, "pages": 1212}]


def test_numbers_come_back_exactly(repo: Any) -> None:
    big = 2**53 + 1  # a double (the index, RediSearch's SUM) cannot hold it
    fine = 1732648529.123456  # RETURN / LOAD / reducers print 1732648529.12
    repo.save(Book(id="b1", title="big", category="exact", pages=big, rating=fine))
    repo.save(Book(id="b2", title="big2", category="exact", pages=2, rating=0.1))
    rows = repo.aggregate(filter_(category="exact"), total=Sum("pages"), top=Max("pages"),
                          low=Min("pages"), r=Max("rating"), s=Sum("rating"),
                          avg=Avg("pages"))
    assert rows == [{"total": big + 2, "top": big, "low": 2, "r": fine,
                     "s": math.fsum([fine, 0.1]), "avg": (big + 2) / 2}]
    assert type(rows[0]["total"]) is int
    # groups of ints a double cannot tell apart still come in their order
    repo.save(Book(id="b3", title="big3", category="exact", pages=big - 1))
    by_pages = repo.aggregate(filter_(category="exact"), group_by="pages", n=Count())
    assert [r["pages"] for r in by_pages] == [2, big - 1, big]


def test_bad_input_is_refused_before_anything_is_sent(repo: Any,
                                                      commands: CommandCounter) -> None:
    bad: list[tuple[tuple[Any, ...], dict[str, Any], str]] = [
        ((), {"group_by": "nope", "n": Count()}, "no indexed field 'nope'"),
        ((), {"s": Sum("title")}, "Sum applies to number fields"),
        ((), {"s": Avg("nope")}, "no indexed field 'nope'"),
        ((), {"s": Min("shelf")}, "Min applies to number, date and datetime fields"),
        ((), {"group_by": "category", "category": Count()}, "also a group_by field"),
        ((order("-m"),), {"group_by": "category", "n": Count()}, r"order\('m'\)"),
        ((only("title"),), {"n": Count()}, "no only()"),
        ((), {}, "needs group_by"),
        ((), {"n": 3}, "takes a metric"),
        ((), {"group_by": ("category", "category"), "n": Count()}, "twice"),
        ((), {"group_by": 3, "n": Count()}, "group_by takes"),
        ((), {"group_by": ("category", ""), "n": Count()}, "group_by takes"),
    ]
    with commands.count() as calls:
        for specs, kwargs, message in bad:
            with pytest.raises(InvalidQueryError, match=message):
                repo.aggregate(*specs, **kwargs)
        for args, kwargs, message in [
            (("pages", "a"), {}, "suggest applies to str fields"),
            (("nope", "a"), {}, "no indexed field"),
            (("title", 3), {}, "prefix"),
            (("title", "a"), {"limit": 0}, "limit"),
        ]:
            with pytest.raises(InvalidQueryError, match=message):
                repo.suggest(*args, **kwargs)
    assert not calls, calls


def test_suggest_most_frequent_first_ties_alphabetical(repo: Any) -> None:
    for i, city in enumerate(["Paris", "paris", "Parma", "Paris", "Pau", "Lyon", "PARMA"]):
        repo.save(Book(id=f"s{i}", title=city, tags=[city, city.lower()]))
    assert repo.suggest("title", "pa") == ["Paris", "PARMA", "Parma", "Pau", "paris"]
    assert repo.suggest("title", "PA", limit=2) == ["Paris", "PARMA"]
    assert repo.suggest("title", "ly") == ["Lyon"]
    assert repo.suggest("title", "zz") == []
    # a list: each distinct element once per entity ("paris" is in 3 entities' tags)
    assert repo.suggest("tags", "par") == ["paris", "Paris", "parma", "PARMA", "Parma"]


def test_suggest_is_not_cut_by_prefix_expansion_limits(make_repo: RepoFactory) -> None:
    """More distinct values than MAXPREFIXEXPANSIONS (200): every one is suggested."""
    repo = make_repo(Book)
    for i in range(450):
        repo.save(Book(id=f"x{i}", title=f"pfx{i:04d}", city=f"pfx{i:04d}",
                       tags=["pfx-common"]))
    found = repo.suggest("title", "PFX", limit=1000)
    assert found == [f"pfx{i:04d}" for i in range(450)]
    inner = getattr(repo, "inner", repo)  # (the async repository behind the facade)
    inner.plans.redis_wildcards = True  # lets Redis expand filters' prefixes: not suggest's
    assert repo.suggest("city", "PFX", limit=1000) == found
    assert repo.suggest("tags", "pf") == ["pfx-common"]


@pytest.fixture
def max_rows(client: redis.Redis) -> Iterator[int]:
    """MAXAGGREGATERESULTS lowered to 100 for the test (restored after)."""
    before = client.execute_command("FT.CONFIG", "GET", "MAXAGGREGATERESULTS")
    client.execute_command("FT.CONFIG", "SET", "MAXAGGREGATERESULTS", "100")
    yield 100
    value = before[0][1] if isinstance(before, list) else next(iter(before.values()))
    value = value.decode() if isinstance(value, bytes) else str(value)
    if value.lower() == "unlimited":
        value = str(2**63 - 1)
    client.execute_command("FT.CONFIG", "SET", "MAXAGGREGATERESULTS", value)


def test_more_groups_than_maxaggregateresults(max_rows: int, make_repo: RepoFactory,
                                              client: redis.Redis) -> None:
    repo = make_repo(Book)
    pipe = client.pipeline(transaction=False)
    groups = 3 * max_rows + 7
    for i in range(4 * groups):  # written raw: the test is about reading
        book = Book(id=f"g{i}", category=f"c{i % groups:05d}", pages=i)
        pipe.execute_command("JSON.SET", f"agg:book:g{i}", "$", repo.plans.codec.dump(book))
    pipe.execute()
    rows = repo.aggregate(group_by="category", n=Count(), total=Sum("pages"))
    assert len(rows) == groups
    assert rows[0] == {"category": "c00000", "n": 4,
                       "total": 0 + groups + 2 * groups + 3 * groups}
    assert [r["category"] for r in rows] == [f"c{g:05d}" for g in range(groups)]
    assert all(r["n"] == 4 for r in rows)


@pytest.mark.slow
@pytest.mark.sync_only
def test_100k_entities_in_20k_groups(make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(Book)
    pipe = client.pipeline(transaction=False)
    for i in range(100_000):
        book = Book(id=f"h{i}", category=f"c{i % 20_000:05d}", rating=float(i % 5))
        pipe.execute_command("JSON.SET", f"agg:book:h{i}", "$", repo.plans.codec.dump(book))
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    repo.count()  # the index has scanned
    started = time.perf_counter()
    rows = repo.aggregate(group_by="category", n=Count(), avg=Avg("rating"))
    elapsed = time.perf_counter() - started
    print(f"aggregate over 100,000 entities into 20,000 groups: {elapsed:.2f} s")
    assert len(rows) == 20_000
    assert all(r["n"] == 5 for r in rows)


def test_the_twin_and_redis_agree_on_names_with_double_underscores(repo: Any) -> None:
    rows = repo.aggregate(order("-avg__r"), group_by="category", avg__r=Avg("rating"))
    assert [r["category"] for r in rows] == [None, "scifi", "classic"]


def test_every_client_flavour(any_client: redis.Redis, make_repo: RepoFactory) -> None:
    """RESP2 / RESP3, bytes or str replies: the same rows and suggestions as the twin."""
    repo = make_repo(Book, any_client)
    twin = InternalRepository(model=Book)
    for book in BOOKS:
        repo.save(book)
        twin.save(book)
    for kwargs in [{"group_by": "tags", "n": Count(), "avg": Avg("rating")},
                   {"group_by": ("shelf", "category"), "low": Min("pages")}]:
        assert repo.aggregate(**kwargs) == twin.aggregate(**kwargs)
    assert repo.suggest("tags", "S") == twin.suggest("tags", "S") == ["sand", "space"]
