"""The pure parts of geo and vectors (no server): GeoPoint's validation and stored form, the
server's arithmetic replayed (geohash cell, haversine on Redis' sphere, units), polygons,
float32 vectors and their distances, the specifications' argument checks."""

from __future__ import annotations

import math
import struct
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from assimilator_stack import (
    Distance,
    GeoPoint,
    GeoPolygon,
    GeoRadius,
    InvalidQueryError,
    RedisModel,
    Vector,
    knn,
    order,
)
from assimilator_stack.core.specs import collect
from assimilator_stack.fields.geo import (
    LAT_MAX,
    haversine_m,
    indexed_position,
    point_in_polygon,
)
from assimilator_stack.fields.schema import schema_of
from assimilator_stack.fields.vectors import distance, float32, pack


class Holder(BaseModel):
    where: GeoPoint | None = None


def test_geopoint_is_stored_as_lon_lat_and_reads_back() -> None:
    point = GeoPoint(lon=-73.98, lat=40.75)
    assert Holder(where=point).model_dump_json() == '{"where":"-73.98,40.75"}'
    assert Holder.model_validate_json('{"where":"-73.98,40.75"}').where == point
    assert Holder(where=point).model_dump() == {"where": {"lon": -73.98, "lat": 40.75}}
    tiny = GeoPoint(lon=0.1 + 0.2, lat=1e-300)  # every digit kept
    assert GeoPoint.model_validate_json(tiny.model_dump_json()) == tiny


@pytest.mark.parametrize("bad", [{"lon": 180.5, "lat": 0}, {"lon": 0, "lat": 85.1},
                                 {"lon": 0, "lat": -90}, {"lon": math.nan, "lat": 0},
                                 {"lon": True, "lat": 0}, "1,2,3", "a,b"])
def test_geopoint_refuses_what_redis_cannot_index(bad: Any) -> None:
    with pytest.raises(ValidationError):
        Holder(where=bad)


def test_haversine_on_redis_sphere() -> None:
    # one degree along a meridian is R * pi / 180 with R = 6372797.560856 m
    assert haversine_m(0, 0, 0, 1) == pytest.approx(6372797.560856 * math.pi / 180, rel=1e-12)
    # a quarter of the equator
    assert haversine_m(0, 0, 90, 0) == pytest.approx(6372797.560856 * math.pi / 2, rel=1e-12)
    assert haversine_m(13.4, 52.52, 2.35, 48.85) == haversine_m(2.35, 48.85, 13.4, 52.52)


@given(st.floats(-180, 180), st.floats(-LAT_MAX, LAT_MAX))
def test_the_geohash_cell_centre_is_within_its_cell(lon: float, lat: float) -> None:
    x, y = indexed_position(lon, lat)
    assert abs(x - lon) <= 360 / 2**26 and abs(y - lat) <= 2 * LAT_MAX / 2**26
    assert haversine_m(lon, lat, x, y) < 0.5  # metres


def test_radius_units_are_the_servers() -> None:
    assert GeoRadius(0, 0, 2, "mi").metres == 2 * 1609.34  # not 1609.344
    assert GeoRadius(0, 0, 10, "ft").metres == pytest.approx(3.048)
    assert GeoRadius(0, 0, 1.5).metres == 1500  # km by default


def test_point_in_polygon() -> None:
    square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
    assert point_in_polygon(1, 1, square)
    assert point_in_polygon(2, 1, square)  # on an edge
    assert point_in_polygon(0, 0, square)  # a corner
    assert not point_in_polygon(2.0001, 1, square)
    notch = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (2.0, 1.0), (0.0, 4.0)]  # concave
    assert point_in_polygon(1, 2, notch) and not point_in_polygon(2, 3, notch)


@given(st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1)), min_size=3, max_size=7,
                unique=True), st.floats(-1, 1), st.floats(-1, 1))
def test_a_polygons_bounding_circle_holds_its_points(corners: list[tuple[float, float]],
                                                      x: float, y: float) -> None:
    try:
        polygon = GeoPolygon(corners)
    except InvalidQueryError:
        return
    if polygon.contains(x, y):
        lon, lat, metres = polygon.bounding_circle()
        assert haversine_m(lon, lat, *indexed_position(x, y)) <= metres


def test_polygon_arguments() -> None:
    closed = GeoPolygon([(0, 0), (1, 0), (1, 1), (0, 0)])
    assert closed.corners == ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))
    for bad in ([(0, 0), (1, 1)], [(0, 0), (0, 0), (1, 1)], [(-100, 0), (100, 0), (0, 1)],
                [(0, 0, 0), (1, 1), (1, 0)], "POLYGON"):
        with pytest.raises(InvalidQueryError):
            GeoPolygon(bad)  # type: ignore[arg-type]


def test_float32_packing() -> None:
    assert pack([1.0, -2.5]) == struct.pack("<2f", 1.0, -2.5)
    assert float32(0.1) == struct.unpack("<f", struct.pack("<f", 0.1))[0] != 0.1


def test_vector_distances_as_the_server_defines_them() -> None:
    l2, ip, cos = (Vector(dim=2, distance=d) for d in ("l2", "ip", "cosine"))
    assert distance(l2, [1, 2], [4, 6]) == 25.0  # squared
    assert distance(ip, [1, 2], [3, 4]) == 1 - 11
    assert distance(cos, [1, 0], [0, 5]) == 1.0
    assert distance(cos, [2, 0], [7, 0]) == 0.0


class Embedded(RedisModel):
    vec: Annotated[list[float], Vector(dim=3, distance="cosine")]


@pytest.mark.parametrize(("bad", "says"), [([1.0, 2.0], "exactly 3"),
                                           ([0.0, 0.0, 0.0], "all zeros"),
                                           ([1.0, 1e39, 1.0], "32-bit")])
def test_a_vector_is_checked_naming_the_field(bad: list[float], says: str) -> None:
    with pytest.raises(ValidationError, match=says) as caught:
        Embedded(vec=bad)
    assert caught.value.errors()[0]["loc"] == ("vec",)


def test_vector_marker_arguments() -> None:
    for kwargs in ({"dim": 0}, {"dim": 3, "distance": "dot"}, {"dim": 3, "algorithm": "ivf"},
                   {"dim": 3, "m": 0}):
        with pytest.raises(TypeError):
            Vector(**kwargs)
    with pytest.raises(TypeError, match="list\\[float\\]"):
        class Wrong(RedisModel):
            vec: Annotated[str, Vector(dim=3)]

        schema_of(Wrong)


def test_schema_kinds() -> None:
    class Thing(RedisModel):
        where: GeoPoint
        maybe: GeoPoint | None = None
        vec: Annotated[list[float], Vector(dim=2, algorithm="hnsw")] | None = None

    fields = schema_of(Thing).fields
    assert (fields["where"].kind, fields["maybe"].kind, fields["vec"].kind) == (
        "geo", "geo", "vector")
    assert fields["maybe"].optional and fields["vec"].optional and not fields["where"].optional
    assert "where.lon" not in fields  # not walked as a nested model


def test_specification_arguments() -> None:
    assert (-Distance("a__b", 1, 2)).descending and Distance("a__b", 1, 2).field == "a.b"
    assert collect([order(Distance("loc", 1, 2))]).distance == Distance("loc", 1, 2)
    query = collect([knn("vec", [1, 2], k=3)])
    assert query.knn is not None and query.knn.vector == (1.0, 2.0) and query.knn.k == 3
    for make in (lambda: knn("vec", "12"), lambda: knn("vec", []), lambda: knn("vec", [1], k=-1),
                 lambda: knn("vec", [1], ef_runtime=0), lambda: knn("", [1]),
                 lambda: collect([knn("v", [1]), knn("v", [1])]),
                 lambda: collect([knn("v", [1]), order(Distance("l", 0, 0))])):
        with pytest.raises(InvalidQueryError):
            make()  # type: ignore[no-untyped-call]


def test_the_geo_and_vector_kinds() -> None:
    from assimilator_stack.fields.base import kind_of
    from assimilator_stack.fields.geo import GeoKind
    from assimilator_stack.fields.vectors import VectorKind

    geo = kind_of(GeoPoint)
    assert isinstance(geo, GeoKind) and geo.index_type() == ("GEO",) and not geo.sortable
    assert geo.index_value(GeoPoint(lon=1.5, lat=-2.25)) == "1.5,-2.25"
    assert geo.value_key(GeoPoint(lon=1.5, lat=-2.25)) == (1.5, -2.25)
    hnsw = kind_of(list[float], [Vector(dim=8, distance="ip", algorithm="hnsw", m=4,
                                        ef_construction=40, ef_runtime=12)])
    assert isinstance(hnsw, VectorKind) and hnsw.describe() == "Vector(dim=8)"
    assert hnsw.index_type() == ("VECTOR", "HNSW", "12", "TYPE", "FLOAT32", "DIM", "8",
                                 "DISTANCE_METRIC", "IP", "M", "4", "EF_CONSTRUCTION", "40",
                                 "EF_RUNTIME", "12")
    flat = kind_of(list[float], [Vector(dim=2, distance="l2")])
    assert flat is not None and flat.index_type() == (
        "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2")
    assert kind_of(list[float]) is None  # a plain list of floats: a number field, per element


def test_a_list_of_geopoints_is_one_geo_field() -> None:
    class Route(RedisModel):
        stops: list[GeoPoint]

    field = schema_of(Route).fields["stops"]
    assert field.kind == "geo" and field.multi and field.json_path == "$.stops[*]"
