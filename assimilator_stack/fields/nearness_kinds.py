"""Which model fields are geo points or vectors (kinds "geo" and "vector"), recognised before
the general rules of schema.py (a GeoPoint is a pydantic model, a vector a list of floats,
but neither is indexed as those)."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from ..markers import Vector
from .geo import GeoPoint


@dataclass(frozen=True)
class NearnessKind:
    kind: Literal["geo", "vector"]
    python_type: Any
    optional: bool
    vector: Vector | None = None


def nearness_kind(owner: str, annotation: Any, metadata: list[Any]) -> NearnessKind | None:
    """The kind of a field declared ``GeoPoint`` (optionally ``| None``) or
    ``Annotated[list[float], Vector(...)]``; None for every other field. ``owner`` names the
    field in errors."""
    vectors = [m for m in metadata if isinstance(m, Vector)]
    inner, optional = _unwrap(annotation, vectors)
    if len(vectors) > 1:
        raise TypeError(f"{owner}: one Vector() marker per field")
    if vectors:
        element = get_args(inner)[0] if get_origin(inner) in (list, tuple) else None
        if element not in (float, int):
            raise TypeError(f"{owner}: Vector() applies to list[float] fields, got {inner!r}")
        return NearnessKind("vector", list, optional, vectors[0])
    if isinstance(inner, type) and issubclass(inner, GeoPoint):
        return NearnessKind("geo", GeoPoint, optional)
    if get_origin(inner) in (list, set, frozenset, tuple) and any(
            isinstance(a, type) and issubclass(a, GeoPoint) for a in get_args(inner)):
        raise TypeError(f"{owner}: lists of GeoPoint are not indexed; declare one GeoPoint "
                        "per field")
    return None


def _unwrap(annotation: Any, markers: list[Any]) -> tuple[Any, bool]:
    """``annotation`` without ``Annotated`` (collecting its Vector markers into ``markers``)
    and without ``| None``."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            args = get_args(annotation)
            markers += [m for m in args[1:] if isinstance(m, Vector)]
            annotation = args[0]
            continue
        if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                optional = optional or len(members) != len(get_args(annotation))
                annotation = members[0]
                continue
        return annotation, optional
