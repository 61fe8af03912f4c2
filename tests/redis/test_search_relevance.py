"""``search(text, fields=...)``, relevance order and ``repo.hits(...)`` (issue 11, search part).

Redis ranks by the server's score (FT.SEARCH WITHSCORES, exact), ties by id; the twin by its
own documented relevance (weight x matched words), ties by id. Both agree on which entities
match; highlights are defined once (ranking.matched_spans) and are the same in both.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Annotated, Any, ClassVar

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assimilator_stack import (
    AssimilatorConfig,
    AsyncInternalRepository,
    ConcurrencyError,
    Hit,
    InternalRepository,
    InvalidQueryError,
    RedisModel,
    Text,
    filter_,
    only,
    order,
    paginate,
    search,
)
from tests.support.concurrency_support import after_search
from tests.support.helpers import RepoFactory, UowFactory

pytestmark = pytest.mark.both_apis


class Product(RedisModel):
    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "srch11:product"

    name: Annotated[str, Text(weight=5, nostem=True)] = ""
    description: Annotated[str, Text(nostem=True)] = ""
    notes: Annotated[str, Text()] = ""  # stemmed
    category: str = ""
    price: int = 0


CATALOGUE = [
    Product(id="a", name="Red apple", description="a crisp fruit", category="fruit", price=3),
    Product(id="b", name="Banana", description="sweeter than an apple, says the apple grower",
            category="fruit", price=2),
    Product(id="c", name="Apple pie", description="baked with apple and cinnamon",
            category="bakery", price=9),
    Product(id="d", name="Pear", description="not an apple", category="fruit", price=4),
    Product(id="e", name="Cinnamon roll", description="baked daily", category="bakery",
            price=5),
    Product(id="f", name="Crab apple", description="sour", category="fruit", price=1),
]


@pytest.fixture(params=["redis", "twin"])
def repo(request: pytest.FixtureRequest, make_repo: RepoFactory) -> Any:
    made = InternalRepository(model=Product) if request.param == "twin" else make_repo(Product)
    for product in CATALOGUE:
        made.save(product)
    return made


def ids(found: list[Any]) -> list[str]:
    return [e.id for e in found]


def test_a_match_in_the_heavier_field_ranks_first(repo: Any) -> None:
    found = ids(repo.filter(search("apple")))
    # name (weight 5) matches: a, c, f; only the description: b, d
    assert set(found) == {"a", "b", "c", "d", "f"}
    assert set(found[:3]) == {"a", "c", "f"}, found
    assert set(found[3:]) == {"b", "d"}, found
    hits = repo.hits(search("apple"))
    scores = [h.score for h in hits]
    assert all(s is not None for s in scores)
    assert scores == sorted(scores, reverse=True)
    # ties by id
    for left, right in itertools.pairwise(hits):
        if left.score == right.score:
            assert left.entity.id < right.entity.id


def test_only_the_named_fields_are_searched(repo: Any) -> None:
    assert set(ids(repo.filter(search("apple", fields=["description"])))) == {"b", "c", "d"}
    assert set(ids(repo.filter(search("cinnamon", fields="name")))) == {"e"}
    assert set(ids(repo.filter(search("cinnamon")))) == {"c", "e"}


def test_every_part_matches_in_some_field(repo: Any) -> None:
    # "pie" only in c's name, "cinnamon" in its description: both match, in different fields
    assert ids(repo.filter(search("pie cinnamon"))) == ["c"]
    assert ids(repo.filter(search('"crab apple"'))) == ["f"]
    assert ids(repo.filter(search('"apple crab"'))) == []
    assert set(ids(repo.filter(search("*nnamon")))) == {"c", "e"}
    assert set(ids(repo.filter(search("%%cinamon%%")))) == {"c", "e"}
    assert set(ids(repo.filter(search("ban*")))) == {"b"}


def test_search_combines_with_the_other_specifications(repo: Any) -> None:
    assert set(ids(repo.filter(search("apple"), filter_(category="fruit")))) == {"a", "b", "d",
                                                                                 "f"}
    assert ids(repo.filter(search("apple"), order("price"))) == ["f", "b", "a", "d", "c"]
    assert ids(repo.filter(search("apple") & filter_(price__lt=4), order("-price"))) == [
        "a", "b", "f"]
    assert repo.count(search("apple")) == 5
    assert ids(repo.filter(repo.specs.search("apple"))) == ids(repo.filter(search("apple")))
    assert repo.count(search("*nnamon")) == 2
    whole = ids(repo.filter(search("apple")))
    paged = [e.id for n in range(3) for e in repo.filter(search("apple"), paginate(2, 2 * n))]
    assert paged == whole
    assert ids(list(repo.stream(search("apple"), batch_size=2))) == whole
    partial = repo.filter(search("apple"), only("price"))
    assert [p.id for p in partial] == whole
    assert ids(repo.filter(search("*pple"), paginate(2, 1))) == ids(
        repo.filter(search("*pple")))[1:3]


def test_bulk_update_and_delete_take_a_search(repo: Any) -> None:
    assert repo.update(search("cinnamon"), price=7) == 2
    assert {e.id for e in repo.filter(filter_(price=7))} == {"c", "e"}
    assert repo.delete(search("%%cinamon%%", fields="name")) == 1
    assert {e.id for e in repo.filter(search("cinnamon"))} == {"c"}


def test_search_inside_a_unit_of_work(make_uow: UowFactory) -> None:
    uow = make_uow(Product)
    with uow:
        for product in CATALOGUE:
            uow.repository.save(product)
        uow.commit()
    with uow:
        found = uow.repository.filter(search("apple"))
        assert set(ids(found[:3])) == {"a", "c", "f"}
        assert uow.repository.delete(search("cinnamon", fields="name")) == 1
        uow.commit()
    assert {e.id for e in uow.repository.filter(search("cinnamon"))} == {"c"}


def test_highlights_wrap_exactly_the_matched_words(repo: Any) -> None:
    hits = repo.hits(search("apple"), order("price"), highlight=["name", "description"])
    by_id = {h.entity.id: h for h in hits}
    assert by_id["c"].highlights == {
        "name": "<b>Apple</b> pie",
        "description": "baked with <b>apple</b> and cinnamon",
    }
    assert by_id["b"].highlights["description"] == (
        "sweeter than an <b>apple</b>, says the <b>apple</b> grower")
    assert by_id["b"].highlights["name"] == "Banana"
    tagged = repo.hits(search('"crab apple" *our'), highlight="description",
                       summarize="name", tags=("[", "]"))
    assert [(h.entity.id, h.highlights) for h in tagged] == [
        ("f", {"description": "[sour]", "name": "[Crab] [apple]... "})]
    plain = repo.hits(filter_(category="bakery"), order("id"), highlight="name")
    assert [(h.entity.id, h.score, h.highlights) for h in plain] == [
        ("c", None, {"name": "Apple pie"}), ("e", None, {"name": "Cinnamon roll"})]
    assert all(isinstance(h, Hit) for h in hits)
    partial = repo.hits(search("pie"), only("name"), highlight="name")
    assert [(h.entity.id, h.highlights) for h in partial] == [("c", {"name": "Apple <b>pie</b>"})]


def test_summaries_are_fragments_around_the_matches(repo: Any) -> None:
    long = " ".join(f"w{i}" for i in range(40))
    repo.save(Product(id="long", name="x", description=f"{long} needle {long} needle end"))
    [hit] = repo.hits(search("needle"), summarize="description")
    text = hit.highlights["description"]
    assert text == ("w35 w36 w37 w38 w39 <b>needle</b> w0 w1 w2 w3 w4... "
                    "w35 w36 w37 w38 w39 <b>needle</b> end... ")


def test_ordered_hits_still_carry_scores(repo: Any) -> None:
    ranked = {h.entity.id: h.score for h in repo.hits(search("apple"))}
    by_price = repo.hits(search("apple"), order("price"))
    assert [h.entity.id for h in by_price] == ["f", "b", "a", "d", "c"]
    assert {h.entity.id: h.score for h in by_price} == ranked


@pytest.mark.parametrize(("call", "message"), [
    (lambda r: r.filter(search("")), "at least one word"),
    (lambda r: r.filter(search("   ")), "at least one word"),
    (lambda r: r.filter(search("a*")), "too short"),
    (lambda r: r.filter(search(3)), "a str"),
    (lambda r: r.filter(search("apple", fields=["category"])), "Product.category"),
    (lambda r: r.filter(search("apple", fields=["nope"])), "nope"),
    (lambda r: r.filter(search("apple", fields=[])), "Text() field names"),
    (lambda r: r.count(search("apple", fields="price")), "price"),
    (lambda r: r.hits(search("apple"), highlight="category"), "category"),
    (lambda r: r.hits(search("apple"), tags="<b>"), "tags"),
    (lambda r: r.hits(search("apple"), only("price"), highlight="name"), "only"),
])
def test_bad_input_is_refused_before_anything_is_sent(repo: Any, call: Any,
                                                      message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(repo)


def test_user_text_is_never_query_syntax(repo: Any) -> None:
    repo.save(Product(id="z", name="weird @name:{x} | -apple (stuff) $p1"))
    assert ids(repo.filter(search("@name:{x} | -apple"))) == ["z"]
    assert ids(repo.filter(search("$p1 stuff"))) == ["z"]


def test_the_async_twin_gives_hits() -> None:
    repo = AsyncInternalRepository(model=Product)

    async def run() -> list[Hit[Product]]:
        for product in CATALOGUE:
            await repo.save(product)
        return await repo.hits(search("pie"), highlight="name")

    [hit] = asyncio.run(run())
    assert (hit.entity.id, hit.highlights) == ("c", {"name": "Apple <b>pie</b>"})
    assert hit.score == 5.0


WORDS = ["apple", "pie", "red", "crab", "sour", "baked"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
       st.sampled_from([None, ("name",), ("description",)]))
def test_redis_and_the_twin_find_the_same_entities(make_repo: RepoFactory, words: list[str],
                                                   fields: tuple[str, ...] | None) -> None:
    text = " ".join(words)
    redis_repo = make_repo(Product)
    if not redis_repo.count():
        for product in CATALOGUE:
            redis_repo.save(product)
    twin = InternalRepository(model=Product)
    for product in CATALOGUE:
        twin.save(product)
    spec = search(text, fields=fields)
    assert set(ids(redis_repo.filter(spec))) == set(ids(twin.filter(spec)))
    assert {(h.entity.id, tuple(h.highlights.items())) for h in redis_repo.hits(
        spec, highlight=["name", "description"])} == {
        (h.entity.id, tuple(h.highlights.items())) for h in twin.hits(
            spec, highlight=["name", "description"])}


def test_explain_shows_the_ranking_search(make_repo: RepoFactory) -> None:
    redis_repo = make_repo(Product)
    twin = InternalRepository(model=Product)
    ranked = redis_repo.explain(search("apple"))
    assert ranked[0] == "FT.SEARCH" and "WITHSCORES" in ranked
    assert twin.explain(search("apple")) == ranked
    assert redis_repo.explain(search("apple"), order("price"))[0] == "FT.AGGREGATE"


def test_a_unit_of_work_never_returns_an_entity_that_stopped_matching_before_its_watch(
        make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis) -> None:
    repo = make_repo(Product)
    for product in CATALOGUE:
        repo.save(product)

    def race() -> None:  # another client, between the ranking search and the WATCH
        client.execute_command("JSON.SET", "srch11:product:a", "$.name", '"Red plum"')

    uow = make_uow(Product)
    with uow:
        with after_search(race) as fired:
            found = uow.repository.filter(search("apple"))
        assert fired
        assert set(ids(found)) == {"b", "c", "d", "f"}
        for product in found:
            uow.repository.save(product, price=product.price + 1)
        uow.commit()
    assert repo.get(filter_(id="c")).price == 10


def test_a_change_after_the_watch_aborts_the_commit(
        make_repo: RepoFactory, make_uow: UowFactory, client: redis.Redis) -> None:
    repo = make_repo(Product)
    for product in CATALOGUE:
        repo.save(product)
    uow = make_uow(Product)
    with pytest.raises(ConcurrencyError), uow:
        [first, *_] = uow.repository.filter(search("pie"))
        client.execute_command("JSON.SET", "srch11:product:c", "$.price", "100")
        uow.repository.save(first, price=1)
        uow.commit()
    assert repo.get(filter_(id="c")).price == 100


class Flat(RedisModel):
    """Product's fields with equal weights."""

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "srch11:flat"

    name: Annotated[str, Text(nostem=True)] = ""
    description: Annotated[str, Text(nostem=True)] = ""


@pytest.mark.parametrize("backend", ["redis", "twin"])
def test_the_weight_decides_which_match_ranks_first(make_repo: RepoFactory,
                                                    backend: str) -> None:
    rows = [dict(id="in-name", name="Kiwi", description="green"),
            dict(id="in-description", name="Fruit bowl",
                 description="kiwi, more kiwi and kiwi again")]
    order_of = {}
    for model in (Product, Flat):
        made = InternalRepository(model=model) if backend == "twin" else make_repo(model)
        for row in rows:
            made.save(**row)
        order_of[model] = ids(made.filter(search("kiwi")))
    assert order_of[Product] == ["in-name", "in-description"]
    assert order_of[Flat] == ["in-description", "in-name"]


def test_every_client_flavour_gets_exact_scores(make_repo: RepoFactory,
                                                any_client: redis.Redis) -> None:
    repo = make_repo(Product, any_client)
    for product in CATALOGUE:
        repo.save(product)
    # three words of different frequencies: scores that 12 digits would round
    repo.save(Product(id="g", description="apple " * 7 + "fig " * 3 + "date"))
    expected = repo.hits(search("apple"))  # the default client's
    assert [h.entity.id for h in expected][:3] == ["c", "a", "f"]
    raw = any_client.execute_command("FT.SEARCH", repo.plans.index.name,
                                     repo.explain(search("apple"))[2], "WITHSCORES",
                                     "NOCONTENT", "DIALECT", "2")
    if isinstance(raw, dict):
        server = {(r.get("id") or r.get(b"id")): float(r.get("score") or r.get(b"score"))
                  for r in raw.get("results", raw.get(b"results"))}
    else:
        server = {k: float(s) for k, s in zip(raw[1::2], raw[2::2])}
    server = {k.decode() if isinstance(k, bytes) else k: s for k, s in server.items()}
    assert {f"srch11:product:{h.entity.id}": h.score for h in expected} == server


def test_pages_tile_the_ranking_through_long_ties(make_repo: RepoFactory) -> None:
    repo = make_repo(Product)
    # 40 ties (saved in an order unlike their ids), 3 better, 3 worse
    for i in reversed(range(40)):
        repo.save(Product(id=f"t{i:02d}", name="kiwi"))
    for i in range(3):
        repo.save(Product(id=f"best{i}", name="kiwi kiwi kiwi"))
        repo.save(Product(id=f"worst{i}", description="kiwi"))
    whole = ids(repo.filter(search("kiwi")))
    assert whole == ([f"best{i}" for i in range(3)] + [f"t{i:02d}" for i in range(40)]
                     + [f"worst{i}" for i in range(3)])
    for size in (1, 4, 7):
        paged = [e.id for start in range(0, 50, size)
                 for e in repo.filter(search("kiwi"), paginate(size, start))]
        assert paged == whole, size
    assert ids(repo.filter(search("kiwi"), paginate(2, 41))) == ["t38", "t39"]
