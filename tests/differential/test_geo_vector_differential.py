"""Geo and vector queries: Redis against the in-memory twin, on generated data.

- ``within`` (GeoRadius in every unit, GeoPolygon, negated, combined with a TAG and a number)
  and ``order(Distance(...))``: the same entities in the same order. Generated points are kept
  off the radius's boundary band (1 µm: the twin replays the server's geohash and haversine
  arithmetic, so only the last bits of libm may differ).
- ``knn`` on FLAT fields (l2, ip, cosine), alone and hybrid (with TAG, NUMERIC, geo and
  ``within_distance`` filters, negated too): the same entities in the same order, ties by
  id. Vectors are small integers, so l2 and ip are exact in float32 on both
  sides; cosine distances are kept apart by more than float32 rounding (or exactly equal:
  duplicated vectors), and their scores compared to float32 precision, since the server's
  SIMD sums may round differently in the last bit (fields/vectors.py).
"""

from __future__ import annotations

import itertools
import os
from typing import Annotated, Any, ClassVar

import pytest
import redis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from assimilator_stack import (
    AssimilatorConfig,
    Distance,
    GeoPoint,
    GeoPolygon,
    GeoRadius,
    InternalRepository,
    RedisModel,
    RedisRepository,
    Vector,
    filter_,
    knn,
    order,
    paginate,
)
from assimilator_stack.fields.geo import UNITS, haversine_m, indexed_position
from assimilator_stack.fields.vectors import distance

EXAMPLES = int(os.environ.get("GEO_VECTOR_EXAMPLES", "40"))
# Points and centres in a small box (a city), so radii of m .. km select some of them.
LON = (2.20, 2.40)
LAT = (48.80, 48.90)
BAND_M = 1e-6
DIM = 4


class Place(RedisModel):
    kind: str
    price: int
    where: GeoPoint | None = None
    l2: Annotated[list[float], Vector(dim=DIM, distance="l2")] | None = None
    ip: Annotated[list[float], Vector(dim=DIM, distance="ip")] | None = None
    cos: Annotated[list[float], Vector(dim=DIM, distance="cosine")] | None = None

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:place"


coordinate = st.tuples(st.floats(*LON), st.floats(*LAT))
small_vector = st.lists(st.integers(-4, 4), min_size=DIM, max_size=DIM)
nonzero_vector = small_vector.filter(any)


@st.composite
def places(draw: st.DrawFn) -> list[Place]:
    n = draw(st.integers(0, 25))
    pool = draw(st.lists(nonzero_vector, min_size=1, max_size=6))  # shared: exact ties
    out = []
    for i in range(n):
        point = draw(st.one_of(st.none(), coordinate))
        vec = draw(st.one_of(st.none(), st.sampled_from(pool), nonzero_vector))
        out.append(Place(
            id=f"p{i:02}", kind=draw(st.sampled_from("abc")), price=draw(st.integers(0, 9)),
            where=None if point is None else GeoPoint(lon=point[0], lat=point[1]),
            l2=None if vec is None else [float(x) for x in vec],
            ip=None if vec is None else [float(x) for x in vec],
            cos=None if vec is None else [float(x) for x in vec]))
    return out


radius = st.builds(GeoRadius, st.floats(*LON), st.floats(*LAT),
                   st.floats(0.001, 12.0), st.sampled_from(["km", "mi"])) | st.builds(
    GeoRadius, st.floats(*LON), st.floats(*LAT), st.floats(1.0, 9000.0),
    st.sampled_from(["m", "ft"]))
polygon = st.lists(coordinate, min_size=3, max_size=6, unique=True).map(GeoPolygon)


@st.composite
def geo_filters(draw: st.DrawFn) -> Any:
    where = filter_(where__within=draw(radius | polygon))
    shape = draw(st.integers(0, 3))
    if shape == 1:
        where = ~where
    elif shape == 2:
        where = where & filter_(kind=draw(st.sampled_from("abc")))
    elif shape == 3:
        where = where | filter_(price__lt=draw(st.integers(0, 9)))
    return where


def _off_the_band(data: list[Place], where: Any) -> bool:
    """No point within BAND_M of a radius boundary in ``where``."""
    from assimilator_stack.query.filters import conditions

    for condition in conditions(where.tree):
        arg = condition.value
        if isinstance(arg, GeoRadius):
            for p in data:
                if p.where is not None:
                    x, y = indexed_position(p.where.lon, p.where.lat)
                    if abs(haversine_m(arg.lon, arg.lat, x, y) - arg.metres) < BAND_M:
                        return False
    return True


def _fresh(client: redis.Redis) -> tuple[RedisRepository[Place], InternalRepository[Place]]:
    stale = list(client.scan_iter(match="t:place:*"))  # the previous dataset (set-up only)
    if stale:
        client.delete(*stale)
    return RedisRepository(session=client, model=Place), InternalRepository(model=Place)


def _ids(found: list[Place]) -> list[str]:
    return [p.id for p in found]


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=places(), wheres=st.lists(geo_filters(), min_size=3, max_size=3),
       centre=coordinate, descending=st.booleans(), limit=st.integers(1, 6))
def test_geo_queries_agree(data: list[Place], wheres: list[Any], centre: tuple[float, float],
                           descending: bool, limit: int, resp2: redis.Redis) -> None:
    assume(all(_off_the_band(data, w) for w in wheres))
    repo, twin = _fresh(resp2)
    for place in data:
        repo.save(place)
        twin.save(place)
    by = Distance("where", *centre)
    by = -by if descending else by
    for where in wheres:
        expected = twin.filter(where)
        assert sorted(_ids(repo.filter(where))) == sorted(_ids(expected)), where
        assert repo.count(where) == twin.count(where) == len(expected), where
        # every match ordered in Python; a window ordered by the server (geodistance)
        for specs in ((where, order(by)), (where, order(by), paginate(limit=limit, offset=1))):
            assert _ids(repo.filter(*specs)) == _ids(twin.filter(*specs)), specs
            got = [(h.entity.id, h.score) for h in repo.hits(*specs)]
            assert got == [(h.entity.id, h.score) for h in twin.hits(*specs)], specs
    # Python's own reading of a radius (independent of both repositories' code paths)
    arg = next((c.value for w in wheres for c in _radius_conditions(w)), None)
    if arg is not None:
        inside = {p.id for p in data if p.where is not None and haversine_m(
            arg.lon, arg.lat, *indexed_position(p.where.lon, p.where.lat))
            <= arg.radius * UNITS[arg.unit]}
        assert {p.id for p in repo.filter(filter_(where__within=arg))} == inside


def _radius_conditions(where: Any) -> list[Any]:
    from assimilator_stack.query.filters import conditions

    return [c for c in conditions(where.tree) if isinstance(c.value, GeoRadius)]


def _off_the_range(data: list[Place], centre: list[int], radius: float) -> bool:
    """No cosine distance within float32 rounding of ``radius`` (l2 and ip distances of
    small integers are exact, and radii are quarters: on the boundary counts)."""
    spec = Vector(dim=DIM, distance="cosine")
    return all(abs(distance(spec, p.cos, centre) - radius) > 1e-5
               for p in data if p.cos is not None)


def _separated(data: list[Place], query: list[int]) -> bool:
    """Cosine distances to ``query`` either equal (the same vector) or apart by far more
    than float32 rounding."""
    spec = Vector(dim=DIM, distance="cosine")
    found = sorted({tuple(p.cos) for p in data if p.cos is not None})
    values = sorted(distance(spec, list(v), query) for v in found)
    return all(b - a > 1e-5 for a, b in itertools.pairwise(values))


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=places(), query=nonzero_vector, k=st.integers(1, 8),
       metric=st.sampled_from(["l2", "ip", "cos"]),
       hybrid=st.sampled_from(["none", "tag", "range", "radius", "polygon", "vector range",
                               "not vector range"]),
       where=geo_filters(), kind=st.sampled_from("abc"), price=st.integers(0, 9),
       centre=nonzero_vector, radius=st.integers(0, 60).map(lambda r: r / 4))
def test_flat_knn_agrees(data: list[Place], query: list[int], k: int, metric: str,
                         hybrid: str, where: Any, kind: str, price: int, centre: list[int],
                         radius: float, resp2: redis.Redis) -> None:
    if metric == "cos":
        assume(_separated(data, query))
        radius = radius / 30  # cosine distances are 0 .. 2
        assume(_off_the_range(data, centre, radius))
    assume(_off_the_band(data, where))
    repo, twin = _fresh(resp2)
    for place in data:
        repo.save(place)
        twin.save(place)
    near = filter_(**{f"{metric}__within_distance": ([float(x) for x in centre], radius)})
    others = {"none": [], "tag": [filter_(kind=kind)], "range": [filter_(price__gte=price)],
              "radius": [where], "polygon": [where], "vector range": [near],
              "not vector range": [~near | filter_(kind=kind)]}[hybrid]
    if hybrid.endswith("vector range"):  # the filter alone first
        assert sorted(_ids(repo.filter(*others))) == sorted(_ids(twin.filter(*others)))
    specs = [*others, knn(metric, [float(x) for x in query], k=k)]
    expected = [(h.entity.id, h.score) for h in twin.hits(*specs)]
    got = [(h.entity.id, h.score) for h in repo.hits(*specs)]
    assert [i for i, _ in got] == [i for i, _ in expected], specs
    if metric == "cos":  # float32 rounding may differ in the last bit (module docstring)
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-6)
    else:
        assert got == expected, specs
    assert _ids(repo.filter(*specs)) == [i for i, _ in expected]
    assert repo.count(*specs) == twin.count(*specs) == len(expected)
    window = [*specs, paginate(limit=2, offset=1)]
    assert _ids(repo.filter(*window)) == _ids(twin.filter(*window))
    # fewer than k only when fewer match: every match with a vector, up to k
    matching = [p for p in twin.filter(*others) if getattr(p, metric) is not None]
    assert len(expected) == min(k, len(matching))


@pytest.mark.parametrize("metric", ["l2", "ip", "cos"])
def test_knn_ties_at_the_kth_distance_go_by_id(metric: str, resp2: redis.Redis) -> None:
    """30 entities share one vector: the k nearest are the k smallest ids, on both."""
    repo, twin = _fresh(resp2)
    for i in reversed(range(30)):
        place = Place(id=f"p{i:02}", kind="a", price=1, l2=[1, 2, 3, 4], ip=[1, 2, 3, 4],
                      cos=[1, 2, 3, 4])
        repo.save(place)
        twin.save(place)
    spec = knn(metric, [1.0, 0.0, 0.0, 0.0], k=5)
    assert _ids(repo.filter(spec)) == _ids(twin.filter(spec)) == [f"p{i:02}" for i in range(5)]


def test_a_radius_decides_on_the_indexed_position(resp2: redis.Redis) -> None:
    """Radii between a point's stored position and its geohash cell centre: Redis decides on
    the cell centre (~0.3 m away), and so does the twin; the stored position would not."""
    import random

    rng = random.Random(7)
    repo, twin = _fresh(resp2)
    centre = (2.3, 48.85)
    cases = []
    for i in range(40):
        place = Place(id=f"p{i:02}", kind="a", price=1,
                      where=GeoPoint(lon=rng.uniform(*LON), lat=rng.uniform(*LAT)))
        repo.save(place)
        twin.save(place)
        assert place.where is not None
        raw = haversine_m(*centre, place.where.lon, place.where.lat)
        cell = haversine_m(*centre, *indexed_position(place.where.lon, place.where.lat))
        if abs(raw - cell) > 1e-4:
            cases.append((place.id, (raw + cell) / 2, cell <= (raw + cell) / 2))
    assert len(cases) > 30
    for place_id, metres, inside in cases:
        where = filter_(where__within=GeoRadius(*centre, metres, "m"))
        assert (place_id in _ids(repo.filter(where))) is inside, place_id
        assert (place_id in _ids(twin.filter(where))) is inside, place_id
