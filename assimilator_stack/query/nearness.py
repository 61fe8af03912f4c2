"""The Python meaning of ``knn(...)`` and ``order(Distance(...))`` (docs/queries.md "Geo",
"Vectors"): which field they name (checked against the schema, the one rule for Redis and the
twin), each entity's distance, and the order. The in-memory twin ranks with these; the Redis
repository ranks KNN on the server and distances here."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

from ..exceptions import InvalidQueryError
from ..fields.geo import haversine_m, point_of
from ..fields.schema import FieldSchema, ModelSchema
from ..fields.values import values_at
from ..fields.vectors import distance, vector_spec
from .python import id_key

E = TypeVar("E")


class DistanceOrder(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def lon(self) -> float: ...
    @property
    def lat(self) -> float: ...
    @property
    def descending(self) -> bool: ...


class Nearest(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def vector(self) -> tuple[float, ...]: ...
    @property
    def k(self) -> int: ...
    @property
    def ef_runtime(self) -> int | None: ...


def _named(schema: ModelSchema, name: str, kind: str, what: str) -> FieldSchema:
    model = schema.model.__name__
    found = schema.fields.get(name)
    if found is None or found.kind != kind or found.multi:
        fields = [f.name for f in schema.fields.values() if f.kind == kind and not f.multi]
        shown = "not an indexed field" if found is None else f"a {found.kind} field"
        raise InvalidQueryError(
            f"{what}: {model}.{name} is {shown}; it takes "
            f"{'GeoPoint' if kind == 'geo' else 'Vector()'} fields: "
            f"{', '.join(fields) or '(none)'}"
        )
    return found


def distance_field(schema: ModelSchema, spec: DistanceOrder) -> FieldSchema:
    return _named(schema, spec.field, "geo", f"order(Distance({spec.field!r}, ...))")


def knn_field(schema: ModelSchema, spec: Nearest) -> FieldSchema:
    """The Vector field of ``spec``, checked: known, a vector, the query of its dimension (and
    not all zeros for cosine)."""
    field = _named(schema, spec.field, "vector", repr(spec))
    settings = vector_spec(field.kind_obj)
    if len(spec.vector) != settings.dim:
        raise InvalidQueryError(
            f"{spec!r}: {schema.model.__name__}.{field.name} holds vectors of "
            f"{settings.dim} numbers; the query vector has {len(spec.vector)}"
        )
    if settings.distance == "cosine" and not any(spec.vector):
        raise InvalidQueryError(f"{spec!r}: a cosine query vector cannot be all zeros")
    if spec.ef_runtime is not None and settings.algorithm != "hnsw":
        raise InvalidQueryError(f"{spec!r}: ef_runtime applies to Vector(algorithm='hnsw') "
                                f"fields; {field.name} is flat (exact)")
    return field


def geo_distance(field: FieldSchema, spec: DistanceOrder, entity: Any) -> float | None:
    """Metres from the entity's stored position to the spec's point, rounded to the
    centimetre as the server's ``geodistance()`` rounds it (None: no position)."""
    values = values_at(entity, field)
    if not values:
        return None
    lon, lat = point_of(values[0])
    return centimetres(haversine_m(lon, lat, spec.lon, spec.lat))


def centimetres(metres: float) -> float:
    """C's ``round(metres * 100) / 100`` (halves away from zero; ``metres`` >= 0)."""
    scaled = metres * 100
    whole = math.floor(scaled)
    if scaled - whole >= 0.5:  # exact: a double minus its floor
        whole += 1
    return whole / 100


def vector_distance(field: FieldSchema, spec: Nearest, entity: Any) -> float | None:
    values = values_at(entity, field)
    if not values:
        return None
    return distance(vector_spec(field.kind_obj), values[0], spec.vector)


def by_distance(schema: ModelSchema, spec: DistanceOrder, entities: Iterable[E]
                ) -> list[tuple[E, float | None]]:
    """``entities`` with their distance, nearest first (farthest with ``descending``),
    those without a position last, ties by id."""
    field = distance_field(schema, spec)
    scored = sorted(((e, geo_distance(field, spec, e)) for e in entities),
                    key=lambda pair: id_key(pair[0]))
    present = [(e, d) for e, d in scored if d is not None]
    present.sort(key=lambda pair: pair[1], reverse=spec.descending)
    return present + [(e, d) for e, d in scored if d is None]


def nearest(schema: ModelSchema, spec: Nearest, entities: Iterable[E]
            ) -> list[tuple[E, float]]:
    """The ``k`` of ``entities`` nearest to the vector (brute force), nearest first, ties by
    id; entities without a vector are left out, as the server's vector index holds none."""
    field = knn_field(schema, spec)
    scored = [(e, d) for e in entities
              if (d := vector_distance(field, spec, e)) is not None]
    scored.sort(key=lambda pair: id_key(pair[0]))
    scored.sort(key=lambda pair: pair[1])
    return scored[:spec.k]


def ordered_ids(pairs: Sequence[tuple[str, float]], id_of_key: Any) -> list[tuple[str, float]]:
    """(key, distance) pairs nearest first, ties by the id ``id_of_key(key)``."""
    out = sorted(pairs, key=lambda pair: id_of_key(pair[0]))
    out.sort(key=lambda pair: pair[1])
    return out
