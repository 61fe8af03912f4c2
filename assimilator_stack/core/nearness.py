"""Specifications that rank by nearness: ``order(Distance("location", lon, lat))`` (geo) and
``knn("embedding", vector, k=10)`` (vectors). Their meaning is in docs/queries.md ("Geo",
"Vectors"); both repositories read them from the :class:`~assimilator_stack.core.specs.Query`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


class KnnSpecification:
    """``knn(field, vector, k)``: the ``k`` entities whose ``field`` is nearest to ``vector``
    among those the other filters select (see :func:`knn`)."""

    def __init__(self, field: str, vector: Sequence[float], k: int,
                 ef_runtime: int | None = None) -> None:
        if not isinstance(field, str) or not field:
            raise InvalidQueryError(f"knn() takes a Vector field name, got {field!r}")
        if isinstance(vector, (str, bytes)) or not isinstance(vector, Sequence) or not vector:
            raise InvalidQueryError(f"knn({field!r}, ...) takes the query vector as a list of "
                                    f"numbers, got {type(vector).__name__}")
        values: list[float] = []
        for i, x in enumerate(vector):
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise InvalidQueryError(f"knn({field!r}, ...): element {i} of the vector must be "
                                        f"a finite number, got {x!r}")
            values.append(float(x))
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidQueryError(f"knn({field!r}, ..., k=...) must be an int >= 1, got {k!r}")
        if ef_runtime is not None and (isinstance(ef_runtime, bool)
                                       or not isinstance(ef_runtime, int) or ef_runtime < 1):
            raise InvalidQueryError(f"knn(ef_runtime=...) must be an int >= 1, got "
                                    f"{ef_runtime!r}")
        self.field = field.replace("__", ".")
        self.vector = tuple(values)
        self.k = k
        self.ef_runtime = ef_runtime

    def __repr__(self) -> str:
        return f"knn({self.field!r}, <{len(self.vector)} numbers>, k={self.k})"


def knn(field: str, vector: Sequence[float], k: int = 10, *,
        ef_runtime: int | None = None) -> KnnSpecification:
    """The ``k`` entities whose Vector ``field`` is nearest to ``vector``, nearest first (ties
    by id), among those every other filter of the same call selects (hybrid search): fewer
    only when fewer match. ``hits()`` gives each one's distance as its score. ``ef_runtime``
    (HNSW fields) overrides the field's search breadth for this query (more: better recall,
    slower)."""
    return KnnSpecification(field, vector, k, ef_runtime)
