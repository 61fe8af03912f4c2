"""THE differential test: RedisRepository and InternalRepository must agree.

Hypothesis generates a dataset of the rich model (strings with punctuation, spaces and
unicode, ints, floats with negatives, bools, Optional fields, enums, datetimes, dates, uuids,
lists, a nested model, a list of nested models) and, for each dataset, a batch of random
specifications: every lookup on every kind of field, combined with &, | and ~ to any depth,
Python predicates, order by several keys, paginate, only. Both repositories must return the
same entities in the same order (without order(): the order the entities were last written
in, which the twin keeps too; on a cluster, where that order is each shard's, interleaved:
the same entities), the same count, and the same partial entities. Marked also_on_cluster:
with REDIS_CLUSTER_URL set it runs once more on that cluster.

On failure hypothesis prints the seed (``print_blob=True``): rerun with
``@reproduce_failure`` or ``--hypothesis-seed``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from functools import reduce
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assimilator_stack import (
    InternalRepository,
    RedisRepository,
    filter_,
    only,
    order,
    paginate,
    search,
)
from assimilator_stack.core.specs import FilterSpecification, collect
from assimilator_stack.query.filters import And, Or
from tests.support.cluster_support import is_cluster
from tests.support.query_models import Color, Size, Thing
from tests.support.strategies import (
    DAYS,
    REGEXES,
    UUIDS,
    WORDS,
    floats,
    instants,
    ints,
    strings,
    things,
)

# Datasets per run (each checks SPECS_PER_DATASET specifications); raise locally with
# DIFFERENTIAL_EXAMPLES=2000 for a long hunt.
EXAMPLES = int(os.environ.get("DIFFERENTIAL_EXAMPLES", "150"))
SPECS_PER_DATASET = 20

# -- conditions -------------------------------------------------------------------------------

STR_FIELDS = ["name", "title", "body", "nick", "tags", "address.city", "address.zip",
              "items.sku"]
NUMBER_FIELDS = {"age": ints, "score": floats, "rank": ints, "nums": floats,
                 "items.qty": st.sampled_from([0, 1, 2, 5, -1, 3])}
EQUALITY = ["eq", "ne", "not", "in", "not_in", "all", "isnull", "is"]
COMPARE = ["gt", "gte", "lt", "lte", "between"]
PATTERNS = ["like", "ilike", "startswith", "istartswith", "endswith", "iendswith", "contains",
            "icontains", "regex"]


def _like_of(text: str, draw: st.DrawFn) -> str:
    out = ""
    for ch in text:
        roll = draw(st.integers(0, 5))
        if roll == 0:
            out += "%"
        elif roll == 1:
            out += "_"
        else:
            out += "\\" + ch if ch in "%_\\" else ch
    if draw(st.booleans()):
        out = draw(st.sampled_from(["%", "", "_"])) + out + draw(st.sampled_from(["%", ""]))
    return out


@st.composite
def str_argument(draw: st.DrawFn, lookup: str) -> Any:
    if lookup in ("in", "not_in", "all"):
        items = draw(st.lists(strings, max_size=3))
        if lookup != "all" and draw(st.integers(0, 4)) == 0:
            items.append(None)
        return items
    if lookup == "isnull":
        return draw(st.booleans())
    if lookup == "is":
        return None
    if lookup in ("eq", "ne", "not"):
        return draw(st.one_of(strings, st.just(None))) if draw(st.integers(0, 9)) == 0 \
            else draw(strings)
    if lookup == "regex":
        return draw(st.sampled_from(REGEXES))
    base = draw(strings)
    start = draw(st.integers(0, len(base)))
    piece = base[start:draw(st.integers(start, len(base)))]
    if lookup in ("like", "ilike"):
        return _like_of(piece, draw)
    return piece


@st.composite
def _edited(draw: st.DrawFn, word: str) -> str:
    """``word`` with up to two random edits (so fuzzy terms land near stored words)."""
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(word)))
        edit = draw(st.sampled_from(["insert", "delete", "replace", "swap"]))
        letter = draw(st.sampled_from("aeRß"))
        if edit == "insert" or not word:
            word = word[:at] + letter + word[at:]
        elif edit == "swap" and len(word) >= 2:
            at = min(at, len(word) - 2)
            word = word[:at] + word[at + 1] + word[at] + word[at + 2:]
        else:
            at = min(at, len(word) - 1)
            word = word[:at] + ("" if edit == "delete" else letter) + word[at + 1:]
    return word or "a"


@st.composite
def search_argument(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=2))
    roll = draw(st.integers(0, 6))
    long_word = draw(st.sampled_from([w for w in WORDS if len(w) >= 2]))
    if roll == 0 and len(parts) == 2:
        return f'"{parts[0]} {parts[1]}"'
    if roll == 1:
        return long_word[:draw(st.integers(2, len(long_word)))] + "*"
    if roll == 2:  # a suffix
        return "*" + long_word[draw(st.integers(0, len(long_word) - 2)):]
    if roll == 3:  # an infix
        start = draw(st.integers(0, len(long_word) - 2))
        return "*" + long_word[start:draw(st.integers(start + 2, len(long_word)))] + "*"
    if roll == 4:  # a fuzzy term, maybe next to a word
        marks = "%" * draw(st.integers(1, 3))
        fuzzy = marks + draw(_edited(parts[0])) + marks
        return fuzzy if len(parts) == 1 else f"{fuzzy} {parts[1]}"
    return " ".join(parts)


def _values(kind: str) -> st.SearchStrategy[Any]:
    return {
        "bool": st.booleans(),
        "enum": st.one_of(st.sampled_from(list(Color)), st.sampled_from([c.value for c in Color])),
        "intenum": st.one_of(st.sampled_from(list(Size)), st.sampled_from([1, 2, 3])),
        "datetime": instants,
        "date": st.sampled_from(DAYS),
        "uuid": st.one_of(st.sampled_from(UUIDS), st.sampled_from([str(u) for u in UUIDS])),
    }[kind]


@st.composite
def scalar_argument(draw: st.DrawFn, values: st.SearchStrategy[Any], lookup: str) -> Any:
    if lookup in ("in", "not_in", "all"):
        items: list[Any] = draw(st.lists(values, max_size=3))
        if lookup != "all" and draw(st.integers(0, 4)) == 0:
            items.append(None)
        return items
    if lookup == "isnull":
        return draw(st.booleans())
    if lookup == "between":
        return (draw(values), draw(values))
    return draw(values)


OTHER_KINDS = {"active": "bool", "color": "enum", "size": "intenum", "born": "datetime",
               "day": "date", "ref": "uuid"}


@st.composite
def conditions(draw: st.DrawFn) -> FilterSpecification:
    group = draw(st.sampled_from(["str", "number", "other", "search"]))
    if group == "search":
        if draw(st.booleans()):  # the search(...) specification (body: the NOSTEM Text field)
            return search(draw(search_argument()), fields=["body"])
        return filter_(body__search=draw(search_argument()))
    if group == "str":
        field = draw(st.sampled_from(STR_FIELDS))
        lookup = draw(st.sampled_from(EQUALITY + PATTERNS))
        value = draw(str_argument(lookup))
    elif group == "number":
        field = draw(st.sampled_from(sorted(NUMBER_FIELDS)))
        lookup = draw(st.sampled_from(EQUALITY[:-1] + COMPARE))
        values = NUMBER_FIELDS[field]
        if lookup in ("gt", "gte", "lt", "lte") and draw(st.integers(0, 9)) == 0:
            value: Any = draw(st.sampled_from([math.inf, -math.inf]))
        else:
            value = draw(scalar_argument(values, lookup))
    else:
        field = draw(st.sampled_from(sorted(OTHER_KINDS)))
        kind = OTHER_KINDS[field]
        allowed = EQUALITY[:-1] + (COMPARE if kind in ("intenum", "datetime", "date") else [])
        if kind == "bool":
            allowed = [*allowed, "is"]
        lookup = draw(st.sampled_from([x for x in allowed if kind != "bool" or x != "all"]))
        value = draw(scalar_argument(_values(kind), lookup)) if lookup != "is" else draw(
            st.sampled_from([True, False, None]))
    return filter_(**{f"{field.replace('.', '__')}__{lookup}": value})


PREDICATES: list[Callable[[Any], bool]] = [
    lambda e: e.age % 2 == 0,
    lambda e: len(e.tags) >= 2,
    lambda e: e.address is not None and e.address.city.islower(),
]


def _combine(children: st.SearchStrategy[FilterSpecification]
             ) -> st.SearchStrategy[FilterSpecification]:
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: reduce(lambda a, b: a & b, xs)),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: reduce(lambda a, b: a | b, xs)),
        children.map(lambda x: ~x),
    )


leaves = st.one_of(
    conditions(),
    conditions(),
    conditions(),
    st.sampled_from(PREDICATES).map(filter_),
    st.sampled_from([filter_(), FilterSpecification(Or(())), FilterSpecification(And(()))]),
)
filters = st.recursive(leaves, _combine, max_leaves=6)

SORTABLE = ["id", "name", "title", "body", "age", "score", "active", "nick", "rank", "color",
            "size", "born", "day", "ref", "address.city", "address.zip",
            # lists: ascending by the smallest element, descending by the largest
            "tags", "nums", "items.qty", "items.sku"]


@st.composite
def queries(draw: st.DrawFn) -> list[Any]:
    specs: list[Any] = [draw(filters)]
    if draw(st.integers(0, 2)):
        keys = draw(st.lists(st.sampled_from(SORTABLE), min_size=1, max_size=3, unique=True))
        specs.append(order(*[("-" if draw(st.booleans()) else "") + k for k in keys]))
    if draw(st.integers(0, 2)) == 0:
        specs.append(paginate(limit=draw(st.one_of(st.none(), st.integers(0, 5))),
                              offset=draw(st.integers(0, 4))))
    if draw(st.integers(0, 9)) == 0:
        specs.append(only("name", "address.city"))
    return specs


# -- the test ---------------------------------------------------------------------------------


def _ids(entities: list[Any]) -> list[Any]:
    return [e.id for e in entities]


def _view(entities: list[Any], specs: list[Any]) -> list[Any]:
    if any(isinstance(s, type(only("x"))) for s in specs):
        return [(e.id, e.name, getattr(e.address, "city", None)) for e in entities]
    return [e.model_dump(mode="json") for e in entities]


@pytest.mark.slow
@pytest.mark.also_on_cluster
@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.lists(things, max_size=12, unique_by=lambda t: t.id),
       batch=st.lists(queries(), min_size=SPECS_PER_DATASET, max_size=SPECS_PER_DATASET),
       redis_wildcards=st.booleans())
def test_redis_and_the_twin_agree(data: list[Thing], batch: list[list[Any]],
                                  redis_wildcards: bool, resp2: redis.Redis) -> None:
    stale = list(resp2.scan_iter(match="q:thing:*"))  # the previous dataset (set-up only)
    if stale:
        resp2.delete(*stale)
    repo = RedisRepository(session=resp2, model=Thing)
    repo.plans.redis_wildcards = redis_wildcards
    on_cluster = is_cluster(resp2)
    twin = InternalRepository(model=Thing)
    for entity in data:
        repo.save(entity)
        twin.save(entity)
    for specs in batch:
        expected = twin.filter(*specs)
        got = repo.filter(*specs)
        if collect(specs).relevance:  # each ranks by its own relevance: the same matches
            if not any(isinstance(s, type(paginate())) for s in specs):
                assert sorted(_ids(got)) == sorted(_ids(expected)), specs
                by_id = {e.id: e for e in expected}
                assert _view(got, specs) == _view([by_id[e.id] for e in got], specs), specs
            else:
                assert len(got) == len(expected), specs
            assert repo.count(*specs) == twin.count(*specs), specs
            continue
        ordered = any(isinstance(s, type(order("x"))) for s in specs)
        paged = any(isinstance(s, type(paginate())) for s in specs)
        if not ordered and not paged and on_cluster:
            # unordered on a cluster: the coordinator interleaves each shard's index order
            # (README, "Redis Cluster"), so the same entities, in an order of its own
            assert sorted(_ids(got)) == sorted(_ids(expected)), specs
            by_id = {e.id: e for e in expected}
            assert _view(got, specs) == _view([by_id[e.id] for e in got], specs), specs
        elif ordered or not paged:
            assert _ids(got) == _ids(expected), specs
            assert _view(got, specs) == _view(expected, specs), specs
        else:  # a page of an unordered read: Redis' order is the write order, checked above
            assert len(got) == len(expected), specs
        assert repo.count(*specs) == twin.count(*specs), specs


def test_the_generator_covers_every_lookup() -> None:
    """Every lookup can come out of the generator (so the differential test exercises it)."""
    from assimilator_stack.query.lookups import LOOKUPS

    # (within, within_distance: geo and vector fields, test_geo_vector_differential.py)
    drawn = set(EQUALITY + COMPARE + PATTERNS + ["search", "within", "within_distance"])
    assert drawn == set(LOOKUPS)
    assert all(re.compile(pattern) for pattern in REGEXES)
