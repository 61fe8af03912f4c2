"""Geo points and vectors on Redis (issue 12), sync and async: storage, ``within`` (radius in
every unit, polygon, negated, combined), ``order(Distance(...))``, ``knn`` and hybrid KNN,
``hits`` scores, ``count`` / ``paginate`` with ``knn``, units of work, and the errors.

Expected answers come from the geometry of the data (points laid out at known distances,
vectors at known distances), not from the library's own functions.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Annotated, ClassVar

import pytest
import redis

from assimilator_stack import (
    AssimilatorConfig,
    Distance,
    GeoPoint,
    GeoPolygon,
    GeoRadius,
    InternalRepository,
    InvalidEntityError,
    InvalidQueryError,
    RedisModel,
    RedisRepository,
    Vector,
    filter_,
    knn,
    only,
    order,
    paginate,
)
from tests.support.helpers import RepoFactory, UowFactory

pytestmark = pytest.mark.both_apis

# Metres per degree of latitude on Redis' sphere (6372797.560856 m).
DEGREE_M = 6372797.560856 * math.pi / 180
STEP = 0.005  # degrees of latitude between neighbouring stores: ~556 m
LON0, LAT0 = 2.35, 48.85


class Shop(RedisModel):
    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "geo12:shop"

    name: str
    kind: str = "food"
    price: int = 0
    location: GeoPoint | None = None
    embedding: Annotated[list[float], Vector(dim=3, distance="l2")] | None = None


class Doc(RedisModel):
    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "geo12:doc"

    embedding: Annotated[list[float], Vector(dim=2, distance="cosine", algorithm="hnsw", m=8,
                                              ef_construction=50, ef_runtime=20)]


def shops() -> list[Shop]:
    """s0 .. s9 due north of (LON0, LAT0), s<i> i steps away; s10 has no location. Vectors:
    s<i> at [i, 0, 0] (squared l2 distance i**2 from the origin)."""
    out = [Shop(id=f"s{i}", name=f"shop {i}", kind="food" if i % 2 == 0 else "tools",
                price=10 * i, location=GeoPoint(lon=LON0, lat=LAT0 + i * STEP),
                embedding=[float(i), 0.0, 0.0]) for i in range(10)]
    out.append(Shop(id="s10", name="online", kind="food", price=5))
    return out


@pytest.fixture
def repo(make_repo: RepoFactory) -> RedisRepository[Shop]:
    r = make_repo(Shop)
    for shop in shops():
        r.save(shop)
    return r


def ids(found: list[Shop]) -> list[str]:
    return [s.id for s in found]


def test_a_geopoint_round_trips_and_is_stored_as_lon_lat(repo: RedisRepository[Shop],
                                                         client: redis.Redis) -> None:
    got = repo.get(filter_(id="s3"))
    assert got.location == GeoPoint(lon=LON0, lat=LAT0 + 3 * STEP)
    assert isinstance(got.location, GeoPoint)
    raw = json.loads(client.execute_command("JSON.GET", "geo12:shop:s3"))
    assert raw["location"] == f"{LON0!r},{LAT0 + 3 * STEP!r}"
    assert repo.get(filter_(id="s10")).location is None


@pytest.mark.parametrize(("radius", "unit"), [(1200, "m"), (1.2, "km"), (0.7457, "mi"),
                                              (3937, "ft")])
def test_within_a_radius_in_every_unit(repo: RedisRepository[Shop], radius: float,
                                       unit: str) -> None:
    # ~1.2 km: s0, s1 (556 m) and s2 (1112 m); s3 is 1668 m away
    found = repo.filter(filter_(location__within=GeoRadius(LON0, LAT0, radius, unit)))  # type: ignore[arg-type]
    assert sorted(ids(found)) == ["s0", "s1", "s2"]


def test_within_composes_and_negates(repo: RedisRepository[Shop]) -> None:
    near = filter_(location__within=GeoRadius(LON0, LAT0 + 5 * STEP, 1.2, "km"))  # s3 .. s7
    assert sorted(ids(repo.filter(near))) == ["s3", "s4", "s5", "s6", "s7"]
    assert sorted(ids(repo.filter(near & filter_(kind="food", price__lt=60)))) == ["s4"]
    assert sorted(ids(repo.filter(near | filter_(id="s0")))) == ["s0", "s3", "s4", "s5", "s6",
                                                                 "s7"]
    # not near: the rest, and the shop without a location
    assert sorted(ids(repo.filter(~near))) == ["s0", "s1", "s10", "s2", "s8", "s9"]
    assert repo.count(~near) == 6
    assert sorted(ids(repo.filter(filter_(location__isnull=True)))) == ["s10"]


def test_within_a_polygon(repo: RedisRepository[Shop]) -> None:
    # a triangle whose base holds s2 .. s6 on the meridian; its apex to the east
    triangle = GeoPolygon([(LON0 - 0.001, LAT0 + 1.5 * STEP), (LON0 - 0.001, LAT0 + 6.5 * STEP),
                           (LON0 + 0.05, LAT0 + 4 * STEP)])
    where = filter_(location__within=triangle)
    assert sorted(ids(repo.filter(where))) == ["s2", "s3", "s4", "s5", "s6"]
    assert repo.count(where) == 5
    assert ids(repo.filter(where, order("-price"), paginate(limit=2))) == ["s6", "s5"]
    assert sorted(ids(repo.filter(~where & filter_(kind="food")))) == ["s0", "s10", "s8"]
    # a west-of-the-meridian sliver holds nothing
    sliver = GeoPolygon([(LON0 - 0.01, LAT0), (LON0 - 0.001, LAT0), (LON0 - 0.001, LAT0 + 1)])
    assert repo.filter(filter_(location__within=sliver)) == []


def test_order_by_distance(repo: RedisRepository[Shop]) -> None:
    here = Distance("location", LON0, LAT0 + 4.1 * STEP)  # nearest: s4, s5, s3, s6, s2, ...
    assert ids(repo.filter(order(here))) == ["s4", "s5", "s3", "s6", "s2", "s7", "s1", "s8",
                                             "s0", "s9", "s10"]
    assert ids(repo.filter(order(-here))) == ["s9", "s0", "s8", "s1", "s7", "s2", "s6", "s3",
                                              "s5", "s4", "s10"]
    assert ids(repo.filter(filter_(kind="food"), order(here), paginate(limit=2, offset=1))) \
        == ["s6", "s2"]
    hits = repo.hits(order(here), paginate(limit=3))
    assert [h.entity.id for h in hits] == ["s4", "s5", "s3"]
    for hit, steps in zip(hits, (0.1, 0.9, 1.1)):  # metres, to the centimetre
        assert hit.score == pytest.approx(steps * STEP * DEGREE_M, abs=0.005)
        assert hit.score == round(hit.score, 2)
    # ties (two stores equally far) come by id
    tie = Distance("location", LON0, LAT0 + 4.5 * STEP)
    assert ids(repo.filter(order(tie), paginate(limit=2))) == ["s4", "s5"]
    assert ids(repo.filter(only("name"), order(here), paginate(limit=1))) == ["s4"]
    # a window past the shops with a position reaches the one without
    assert ids(repo.filter(order(here), paginate(limit=3, offset=9))) == ["s9", "s10"]
    assert ids(repo.filter(filter_(kind="food"), order(-here), paginate(limit=9))) == [
        "s0", "s8", "s2", "s6", "s4", "s10"]
    assert "geodistance(@location," in " ".join(repo.explain(order(here), paginate(limit=3)))


def test_knn_nearest_first_with_distances(repo: RedisRepository[Shop]) -> None:
    query = [3.2, 0.0, 0.0]  # squared distances: s3 0.04, s4 0.64, s2 1.44, s5 3.24, ...
    hits = repo.hits(knn("embedding", query, k=4))
    assert [h.entity.id for h in hits] == ["s3", "s4", "s2", "s5"]
    assert [h.score for h in hits] == pytest.approx([0.04, 0.64, 1.44, 3.24], rel=1e-6)
    assert ids(repo.filter(knn("embedding", query, k=4), paginate(limit=2, offset=1))) == [
        "s4", "s2"]
    assert repo.count(knn("embedding", query, k=4)) == 4
    # s10 has no vector: at most the 10 that have one
    assert len(repo.filter(knn("embedding", query, k=50))) == 10


def test_hybrid_knn_is_the_nearest_among_the_matches(repo: RedisRepository[Shop]) -> None:
    query = [3.2, 0.0, 0.0]
    tools = filter_(kind="tools", price__lt=80)  # s1, s3, s5, s7
    assert ids(repo.filter(tools, knn("embedding", query, k=3))) == ["s3", "s5", "s1"]
    assert ids(repo.filter(tools, knn("embedding", query, k=10))) == ["s3", "s5", "s1", "s7"]
    assert repo.count(tools, knn("embedding", query, k=10)) == 4
    # a filter checked in Python (a polygon) composes too: s2 .. s6, then the 2 nearest
    triangle = GeoPolygon([(LON0 - 0.001, LAT0 + 1.5 * STEP), (LON0 - 0.001, LAT0 + 6.5 * STEP),
                           (LON0 + 0.05, LAT0 + 4 * STEP)])
    near = filter_(location__within=triangle)
    assert ids(repo.filter(near, knn("embedding", [9.0, 0.0, 0.0], k=2))) == ["s6", "s5"]


def test_knn_in_a_unit_of_work(repo: RedisRepository[Shop], make_uow: UowFactory) -> None:
    uow = make_uow(Shop)
    with uow:
        nearest = uow.repository.filter(knn("embedding", [0.0, 0.0, 0.0], k=2))
        assert ids(nearest) == ["s0", "s1"]
        for shop in nearest:
            shop.price += 1
            uow.repository.save(shop)
        uow.commit()
    assert repo.get(filter_(id="s1")).price == 11


def test_hnsw_knn(make_repo: RepoFactory) -> None:
    docs = make_repo(Doc)
    for i in range(20):
        angle = i * math.pi / 40  # 0 .. 85.5 degrees
        docs.save(Doc(id=f"d{i:02}", embedding=[math.cos(angle), math.sin(angle)]))
    found = docs.filter(knn("embedding", [1.0, 0.0], k=3))
    assert [d.id for d in found] == ["d00", "d01", "d02"]
    assert [d.id for d in docs.filter(knn("embedding", [0.0, 1.0], k=2, ef_runtime=50))] == [
        "d19", "d18"]


def test_bad_values_are_refused_at_save(make_repo: RepoFactory) -> None:
    repo = make_repo(Shop)
    with pytest.raises(InvalidEntityError, match="embedding"):
        repo.save(name="x", embedding=[1.0, 2.0])
    with pytest.raises(InvalidEntityError, match="embedding"):
        repo.save(name="x", embedding=[1.0, math.inf, 2.0])
    with pytest.raises(InvalidEntityError, match="location"):
        repo.save(name="x", location={"lon": 200.0, "lat": 0.0})
    with pytest.raises(InvalidEntityError, match="location"):
        repo.save(name="x", location={"lon": 0.0, "lat": 86.0})
    assert repo.count() == 0


def test_bad_queries_are_refused(repo: RedisRepository[Shop]) -> None:
    bad = [
        lambda: repo.filter(knn("embedding", [1.0, 2.0], k=2)),
        lambda: repo.filter(knn("name", [1.0, 2.0, 3.0])),
        lambda: repo.filter(knn("embedding", [1.0, 2.0, 3.0]), order("price")),
        lambda: repo.filter(knn("embedding", [1.0, 2.0, 3.0], ef_runtime=5)),
        lambda: repo.filter(order(Distance("name", 0, 0))),
        lambda: repo.filter(filter_(location=GeoPoint(lon=0, lat=0))),
        lambda: repo.filter(filter_(location__within=(0, 0, 5))),
        lambda: repo.filter(filter_(price__within=GeoRadius(0, 0, 5))),
        lambda: repo.filter(order("location")),
    ]
    for call in bad:
        with pytest.raises(InvalidQueryError):
            call()
    for make in (lambda: GeoRadius(0, 0, 0), lambda: GeoRadius(0, 90, 1),
                 lambda: GeoRadius(0, 0, 1, "yd"),  # type: ignore[arg-type]
                 lambda: GeoPolygon([(0, 0), (1, 1)]), lambda: knn("e", [math.nan]),
                 lambda: knn("e", [1.0], k=0), lambda: order(Distance("location", 0, 0), "x"),
                 lambda: Distance("location", 181, 0)):
        with pytest.raises(InvalidQueryError):
            make()


def test_explain_shows_the_knn_query(repo: RedisRepository[Shop]) -> None:
    command = repo.explain(filter_(kind="food"), knn("embedding", [1.0, 0.0, 0.0], k=3))
    assert command[0] == "FT.SEARCH"
    assert "=>[KNN $knn_k @embedding $knn_vec AS __knn]" in command[2]
    twin = InternalRepository(model=Shop)
    assert twin.explain(knn("embedding", [1.0, 0.0, 0.0], k=3))[0] == "FT.SEARCH"


def test_knn_with_only_and_bulk_writes(repo: RedisRepository[Shop]) -> None:
    query = [9.0, 0.0, 0.0]
    names = repo.filter(knn("embedding", query, k=2), only("name"))
    assert [s.name for s in names] == ["shop 9", "shop 8"]
    assert repo.update(knn("embedding", query, k=3), price=0) == 3
    assert sorted(s.id for s in repo.filter(filter_(price=0))) == ["s0", "s7", "s8", "s9"]
    assert repo.delete(filter_(kind="food"), knn("embedding", query, k=2)) == 2  # s8, s6
    assert sorted(ids(repo.filter(filter_(kind="food")))) == ["s0", "s10", "s2", "s4"]


def test_stream_get_and_units_of_work_in_nearness_order(repo: RedisRepository[Shop],
                                                       make_uow: UowFactory) -> None:
    here = Distance("location", LON0, LAT0 + 4.1 * STEP)
    assert [s.id for s in repo.stream(order(here), batch_size=3)] == [
        "s4", "s5", "s3", "s6", "s2", "s7", "s1", "s8", "s0", "s9", "s10"]
    assert [s.id for s in repo.stream(knn("embedding", [2.2, 0.0, 0.0], k=4), batch_size=3)] \
        == ["s2", "s3", "s1", "s4"]
    assert repo.get(knn("embedding", [6.9, 0.0, 0.0], k=1)).id == "s7"
    assert repo.get(filter_(kind="tools"), order(here), paginate(limit=1)).id == "s5"
    uow = make_uow(Shop)
    with uow:  # every match read (WATCHed) and ordered in Python
        nearest = uow.repository.filter(order(here), paginate(limit=2))
        assert [s.id for s in nearest] == ["s4", "s5"]
        nearest[0].price = 1
        uow.repository.save(nearest[0])
        uow.commit()
    assert repo.get(filter_(id="s4")).price == 1


@pytest.mark.sync_only
def test_every_client_flavour(any_client: redis.Redis) -> None:
    """KNN rows (score and document) and distance rows parse the same on RESP2 / RESP3,
    bytes or str."""
    repo = RedisRepository(session=any_client, model=Shop)
    for shop in shops():
        repo.save(shop)
    hits = repo.hits(filter_(kind="tools"), knn("embedding", [4.0, 0.0, 0.0], k=2))
    assert [(h.entity.id, h.score) for h in hits] == [("s3", 1.0), ("s5", 1.0)]
    here = Distance("location", LON0, LAT0)
    assert ids(repo.filter(order(here), paginate(limit=3))) == ["s0", "s1", "s2"]
    assert sorted(ids(repo.filter(filter_(location__within=GeoRadius(LON0, LAT0, 600, "m"))))) == [
        "s0", "s1"]


def test_within_distance(repo: RedisRepository[Shop]) -> None:
    # squared l2 distances from [3, 0, 0]: s3 0, s2 / s4 1, s1 / s5 4, ...
    near = filter_(embedding__within_distance=([3.0, 0.0, 0.0], 4))
    assert sorted(ids(repo.filter(near))) == ["s1", "s2", "s3", "s4", "s5"]  # 4 is inside
    assert sorted(ids(repo.filter(~near))) == ["s0", "s10", "s6", "s7", "s8", "s9"]
    assert sorted(ids(repo.filter(near & filter_(kind="tools")))) == ["s1", "s3", "s5"]
    assert ids(repo.filter(near, knn("embedding", [6.0, 0.0, 0.0], k=2))) == ["s5", "s4"]
    assert repo.count(near) == 5
    for bad in (([3.0, 0.0], 4), ([3.0, 0.0, 0.0], -1), [3.0, 0.0, 0.0], ([math.nan] * 3, 1)):
        with pytest.raises(InvalidQueryError, match="embedding__within_distance"):
            repo.filter(filter_(embedding__within_distance=bad))


@pytest.mark.parametrize("log_values", [False, True])
def test_debug_lines_of_knn_queries(repo: RedisRepository[Shop], log_values: bool,
                                    caplog: pytest.LogCaptureFixture,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The query vector is binary (not UTF-8): command lines show it without failing."""
    from assimilator_stack.settings import settings

    monkeypatch.setattr(settings, "log_values", log_values)
    with caplog.at_level(logging.DEBUG, logger="assimilator_stack.commands"):
        assert ids(repo.filter(knn("embedding", [-0.5, 1e-3, 255.75], k=2))) == ["s0", "s1"]
    lines = [r.getMessage() for r in caplog.records if r.name == "assimilator_stack.commands"]
    assert any("FT.SEARCH" in m and "embedding" in m for m in lines), lines
