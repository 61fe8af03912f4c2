"""``order(Distance("location", lon, lat))``: the order key that ranks by nearness to a point
(docs/queries.md "Geo"); ``knn(...)`` is in specs.py. Both repositories read them from the
:class:`~assimilator_stack.core.specs.Query`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..exceptions import InvalidQueryError
from ..fields.geo import check_coordinates


@dataclass(frozen=True, init=False)
class Distance:
    """An ``order()`` key: nearest to (lon, lat) first; ``-Distance(...)`` farthest first.
    Entities without a position come last either way; ties by id. The distance is the
    haversine distance (metres, Redis' sphere) from the stored position."""

    field: str
    lon: float
    lat: float
    descending: bool

    def __init__(self, field: str, lon: float, lat: float, *, descending: bool = False) -> None:
        if not isinstance(field, str) or not field:
            raise InvalidQueryError(f"Distance() takes a GeoPoint field name, got {field!r}")
        lon, lat = check_coordinates(lon, lat, f"Distance({field!r}, ...)")
        object.__setattr__(self, "field", field.replace("__", "."))
        object.__setattr__(self, "lon", lon)
        object.__setattr__(self, "lat", lat)
        object.__setattr__(self, "descending", descending)

    def __neg__(self) -> Distance:
        return replace(self, descending=not self.descending)
