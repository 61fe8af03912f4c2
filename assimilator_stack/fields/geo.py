"""Geo values and their meaning: ``GeoPoint`` (a field type), ``GeoRadius`` / ``GeoPolygon``
(arguments of ``field__within``), and the arithmetic RediSearch 2.10 uses for them, so that
the in-memory twin answers as the server does.

The server's facts (RediSearch 2.10 ``src/rs_geo.c``, ``deps/geohash``):
- a GEO value is the string ``"lon,lat"``; the index keeps a 52-bit geohash of it (26 bits of
  longitude and of latitude over -180..180 and -85.05112878..85.05112878), and a radius query
  compares the distance from the centre of that geohash cell (a position up to ~0.3 m from
  the stored one) with the radius: ``distance <= radius`` matches;
- distances are haversine great-circle distances on a sphere of radius 6372797.560856 m (the
  value Redis' GEO commands use, not the WGS84 6378137 m);
- units: m, km (1000 m), mi (1609.34 m: the server's factor, not 1609.344), ft (0.3048 m).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_serializer, model_validator

from ..exceptions import InvalidQueryError
from .base import ArgumentError, FieldKind, is_subtype, register

LON_MIN, LON_MAX = -180.0, 180.0
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
EARTH_RADIUS_M = 6372797.560856
_STEP = 26  # bits per coordinate (GEO_STEP_MAX)
_DEG_RAD = math.pi / 180.0

Unit = Literal["m", "km", "mi", "ft"]
UNITS: dict[str, float] = {"m": 1.0, "km": 1000.0, "mi": 1609.34, "ft": 0.3048}


class GeoValueError(InvalidQueryError):
    """A coordinate, radius or polygon that cannot be used (the message says which)."""


def check_coordinates(lon: Any, lat: Any, what: str = "a point") -> tuple[float, float]:
    """``(lon, lat)`` as floats, refused outside the range Redis can index."""
    for name, value in (("lon", lon), ("lat", lat)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GeoValueError(f"{what}: {name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise GeoValueError(f"{what}: {name} must be finite, got {value!r}")
    lon, lat = float(lon), float(lat)
    if not LON_MIN <= lon <= LON_MAX:
        raise GeoValueError(f"{what}: longitude {lon!r} is outside {LON_MIN:g}..{LON_MAX:g}")
    if not LAT_MIN <= lat <= LAT_MAX:
        raise GeoValueError(
            f"{what}: latitude {lat!r} is outside {LAT_MIN}..{LAT_MAX} (the range Redis "
            "indexes: its geohash cannot hold the poles)"
        )
    return lon, lat


class GeoPoint(BaseModel):
    """A position: ``GeoPoint(lon=2.35, lat=48.85)``. A model field of this type is stored
    as the string ``"lon,lat"`` (what a RediSearch GEO attribute reads) and indexed GEO; it
    reads back as a ``GeoPoint``. Longitude -180..180, latitude -85.05112878..85.05112878."""

    model_config = ConfigDict(frozen=True, strict=True)

    lon: float
    lat: float

    @model_validator(mode="before")
    @classmethod
    def _from_stored(cls, data: Any) -> Any:
        if isinstance(data, str):  # the stored form, "lon,lat"
            parts = data.split(",")
            if len(parts) != 2:
                raise GeoValueError(f"expected 'lon,lat', got {data!r}")
            try:
                return {"lon": float(parts[0]), "lat": float(parts[1])}
            except ValueError:
                raise GeoValueError(f"expected 'lon,lat', got {data!r}") from None
        if isinstance(data, (tuple, list)) and len(data) == 2:
            return {"lon": data[0], "lat": data[1]}
        return data

    @model_validator(mode="after")
    def _in_range(self) -> GeoPoint:
        check_coordinates(self.lon, self.lat, "GeoPoint")
        return self

    @model_serializer(mode="wrap", when_used="json")
    def _stored(self, handler: Any) -> Any:
        return stored_form(self.lon, self.lat)


def stored_form(lon: float, lat: float) -> str:
    """``"lon,lat"`` with each number written exactly (``repr``: the shortest text that
    reads back as the same double, as ``strtod`` does on the server)."""
    return f"{lon!r},{lat!r}"


# -- the server's arithmetic ------------------------------------------------------------------


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """``geohashGetDistance``: metres on Redis' sphere, in the server's order of operations."""
    lat1r, lon1r = lat1 * _DEG_RAD, lon1 * _DEG_RAD
    lat2r, lon2r = lat2 * _DEG_RAD, lon2 * _DEG_RAD
    u = math.sin((lat2r - lat1r) / 2)
    v = math.sin((lon2r - lon1r) / 2)
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(u * u + math.cos(lat1r) * math.cos(lat2r)
                                                      * v * v))


def indexed_position(lon: float, lat: float) -> tuple[float, float]:
    """Where the GEO index holds ``(lon, lat)``: the centre of its 52-bit geohash cell
    (``geohashEncodeWGS84`` then ``geohashDecodeToLongLatWGS84``)."""
    scale = float(1 << _STEP)
    ilat = int((lat - LAT_MIN) / (LAT_MAX - LAT_MIN) * scale)  # C's truncating cast
    ilon = int((lon - LON_MIN) / (LON_MAX - LON_MIN) * scale)

    def centre(i: int, low: float, high: float) -> float:
        span = high - low
        first = low + (i * 1.0 / scale) * span
        last = low + ((i + 1) * 1.0 / scale) * span
        return min(max((first + last) / 2, low), high)

    return centre(ilon, LON_MIN, LON_MAX), centre(ilat, LAT_MIN, LAT_MAX)


# -- lookup arguments ---------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class GeoRadius:
    """``field__within=GeoRadius(lon, lat, radius, unit="km")``: points at most ``radius``
    from the centre (units m, km, mi, ft). As the server decides it: the distance from the
    point's geohash cell centre (see the module docstring)."""

    lon: float
    lat: float
    radius: float
    unit: Unit

    def __init__(self, lon: float, lat: float, radius: float, unit: Unit = "km") -> None:
        lon, lat = check_coordinates(lon, lat, "GeoRadius centre")
        if isinstance(radius, bool) or not isinstance(radius, (int, float)) \
                or not math.isfinite(radius) or radius <= 0:
            raise GeoValueError(f"GeoRadius: radius must be a finite number > 0, got {radius!r}")
        if unit not in UNITS:
            raise GeoValueError(f"GeoRadius: unit must be one of {', '.join(UNITS)}, got "
                                f"{unit!r}")
        object.__setattr__(self, "lon", lon)
        object.__setattr__(self, "lat", lat)
        object.__setattr__(self, "radius", float(radius))
        object.__setattr__(self, "unit", unit)

    @property
    def metres(self) -> float:
        return self.radius * UNITS[self.unit]

    def contains(self, lon: float, lat: float) -> bool:
        x, y = indexed_position(lon, lat)
        return haversine_m(self.lon, self.lat, x, y) <= self.metres


@dataclass(frozen=True, init=False)
class GeoPolygon:
    """``field__within=GeoPolygon([(lon, lat), ...])``: points inside a simple polygon (3 or
    more corners; closing it again is optional), its edges straight lines in (lon, lat)
    coordinates, points on an edge inside. It may not span 180 degrees of longitude or more
    (no polygon across the antimeridian). Checked on the stored coordinates."""

    corners: tuple[tuple[float, float], ...]

    def __init__(self, corners: Iterable[Sequence[float]]) -> None:
        if isinstance(corners, (str, bytes)):
            raise GeoValueError("GeoPolygon takes a list of (lon, lat) pairs")
        points: list[tuple[float, float]] = []
        for corner in corners:
            if isinstance(corner, GeoPoint):
                corner = (corner.lon, corner.lat)
            if isinstance(corner, (str, bytes)) or len(corner) != 2:
                raise GeoValueError(f"GeoPolygon: a corner is a (lon, lat) pair, got {corner!r}")
            points.append(check_coordinates(corner[0], corner[1], "GeoPolygon corner"))
        if len(points) > 1 and points[0] == points[-1]:
            points.pop()
        if len(set(points)) < 3:
            raise GeoValueError("GeoPolygon needs at least 3 distinct corners")
        lons = [p[0] for p in points]
        if max(lons) - min(lons) >= 180:
            raise GeoValueError("GeoPolygon may not span 180 degrees of longitude or more")
        object.__setattr__(self, "corners", tuple(points))

    def contains(self, lon: float, lat: float) -> bool:
        return point_in_polygon(lon, lat, self.corners)

    def bounding_circle(self) -> tuple[float, float, float]:
        """(lon, lat, metres): a circle holding every point of the polygon's bounding box
        and then some, so that a radius query there selects a superset of its points."""
        lons = [p[0] for p in self.corners]
        lats = [p[1] for p in self.corners]
        west, east, south, north = min(lons), max(lons), min(lats), max(lats)
        clon, clat = (west + east) / 2, (south + north) / 2
        # The farthest point of a lon/lat box from its centre is on its edge; edge samples,
        # plus half the sample spacing (triangle inequality), bound every point of the box.
        steps = 64
        farthest = spacing = 0.0
        for i in range(steps + 1):
            t = i / steps
            for x, y in ((west + (east - west) * t, south), (west + (east - west) * t, north),
                         (west, south + (north - south) * t), (east, south + (north - south) * t)):
                farthest = max(farthest, haversine_m(clon, clat, x, y))
        for x0, y0, x1, y1 in ((west, south, west + (east - west) / steps, south),
                               (west, north, west + (east - west) / steps, north),
                               (west, south, west, south + (north - south) / steps)):
            spacing = max(spacing, haversine_m(x0, y0, x1, y1))
        # 1 m more for the index's geohash cells (a point sits up to ~0.3 m from its cell
        # centre), and a relative margin for rounding.
        return clon, clat, (farthest + spacing / 2) * 1.001 + 1.0


def point_in_polygon(x: float, y: float, corners: Sequence[tuple[float, float]]) -> bool:
    """Even-odd rule in the plane of (lon, lat); a point on an edge is inside."""
    inside = False
    n = len(corners)
    for i in range(n):
        x1, y1 = corners[i]
        x2, y2 = corners[(i + 1) % n]
        if _on_segment(x, y, x1, y1, x2, y2):
            return True
        if (y1 > y) != (y2 > y):
            cross_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross_x:
                inside = not inside
    return inside


def _on_segment(x: float, y: float, x1: float, y1: float, x2: float, y2: float) -> bool:
    if not (min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2)):
        return False
    return (x2 - x1) * (y - y1) == (y2 - y1) * (x - x1)


def point_of(value: Any) -> tuple[float, float]:
    """(lon, lat) of a stored value: a GeoPoint, its dict, or its ``"lon,lat"`` string."""
    if isinstance(value, GeoPoint):
        return value.lon, value.lat
    point = GeoPoint.model_validate(value)
    return point.lon, point.lat


# -- the field kind -------------------------------------------------------------------------------

GEO = "geo"  # the lookup family of GeoPoint fields: within (query/lookups/geo.py)


@register
class GeoKind(FieldKind):
    """A ``GeoPoint`` field (also a list of them): stored ``"lon,lat"``, indexed GEO, compared
    as ``(lon, lat)``; no order of its own (``order(Distance(...))`` ranks by nearness)."""

    name = "geo"
    abilities = frozenset({GEO})
    sortable = False

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        return cls(GeoPoint) if is_subtype(python_type, GeoPoint) else None

    def describe(self) -> str:
        return "GeoPoint"

    def check(self, value: Any) -> Any:
        raise ArgumentError("a GeoPoint field is compared with within=GeoRadius(...) or "
                            "GeoPolygon(...)")

    def value_key(self, value: Any) -> Any:
        return point_of(value)

    def index_value(self, value: Any) -> Any:
        lon, lat = point_of(value)
        return stored_form(lon, lat)

    def index_type(self) -> tuple[str, ...]:
        return ("GEO",)

    def sort_vector(self, declared: bool, optional: bool, is_id: bool,
                    max_length: int | None) -> bool:
        return False
