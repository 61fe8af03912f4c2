"""``field__within=GeoRadius(...)`` / ``GeoPolygon(...)`` on GeoPoint fields (docs/queries.md
"Geo").

A radius is answered by the GEO index exactly (``@f:[lon lat radius m]``), and in Python by
the same arithmetic (fields/geo.py). A polygon selects candidates with a radius query around
it, then is checked in Python on the stored coordinates, on Redis and on the twin alike (the
rule of regex): a GEO attribute holds ``"lon,lat"``, which a GEOSHAPE attribute cannot read
(it takes WKT), and a second, WKT copy of every point is not worth its memory for this.
"""

from __future__ import annotations

from typing import Any

from ...fields.base import ArgumentError
from ...fields.geo import GEO, GeoPolygon, GeoRadius
from ...fields.schema import FieldSchema
from .. import syntax
from .base import CompileContext, Compiled, Lookup, exact, register, superset


def radius_frag(alias: str, lon: float, lat: float, metres: float,
                params: syntax.Params) -> syntax.Frag:
    """``@alias:[$lon $lat $radius m]`` (every number a parameter)."""
    parts = " ".join(params.add(repr(float(v))) for v in (lon, lat, metres))
    return syntax.Frag(f"@{alias}:[{parts} m]", "atom")


class Within(Lookup):
    name = "within"
    allowed = "GeoPoint fields"
    needs = GEO

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        if not isinstance(value, (GeoRadius, GeoPolygon)):
            raise ArgumentError("expected GeoRadius(lon, lat, radius, unit) or "
                                "GeoPolygon([(lon, lat), ...])")
        return value

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        return any(arg.contains(lon, lat) for lon, lat in keys)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        if isinstance(arg, GeoRadius):
            # In metres, as the server converts units (its mile is 1609.34 m).
            return exact(radius_frag(field.alias, arg.lon, arg.lat, arg.metres, ctx.params))
        lon, lat, metres = arg.bounding_circle()
        return superset(radius_frag(field.alias, lon, lat, metres, ctx.params), arg)


WITHIN = register(Within())
