"""Vectors as RediSearch keeps them (FLOAT32) and the distances its FLAT index computes, so that
the in-memory twin's ``knn`` ranks as the server does. Standard library only.

The server's distances (RediSearch 2.10 / VecSim, FLOAT32): "l2" is the *squared* Euclidean
distance; "ip" is ``1 - a·b``; "cosine" is ``1 - a·b`` of the two vectors normalised. It
computes in 32-bit floats with SIMD partial sums, so its last bits depend on the order of
its additions: here each input is rounded to float32, the arithmetic is exact-or-double, and
the result is rounded to float32. Both agree exactly when the sums are exact in float32 (small
integers); otherwise within a few units in the last place of a float32 (docs/queries.md).
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Sequence
from typing import Any, get_args, get_origin

from ..markers import Vector
from .base import FieldKind, register

_F32 = struct.Struct("<f")


def float32(value: float) -> float:
    """``value`` rounded to the nearest 32-bit float (as a Python float)."""
    return _F32.unpack(_F32.pack(value))[0]  # type: ignore[no-any-return]


def as_float32(values: Sequence[float]) -> list[float]:
    return list(array("f", values))


def pack(values: Sequence[float]) -> bytes:
    """The FLOAT32 little-endian blob a KNN query takes."""
    return struct.pack(f"<{len(values)}f", *values)


def _dot(x: Sequence[float], y: Sequence[float]) -> float:
    f = float32
    total = 0.0
    for p, q in zip(x, y):
        total = f(total + f(p * q))
    return total


def _normalised(x: Sequence[float]) -> list[float]:
    f = float32
    norm = f(math.sqrt(_dot(x, x)))
    return [f(p / norm) for p in x]


def distance(spec: Vector, a: Sequence[float], b: Sequence[float]) -> float:
    """The server's distance between ``a`` and ``b`` under ``spec.distance`` (see above)."""
    x, y = as_float32(a), as_float32(b)
    if spec.distance == "l2":
        diff = [float32(p - q) for p, q in zip(x, y)]
        return _dot(diff, diff)
    if spec.distance == "ip":
        return float32(1.0 - _dot(x, y))
    return float32(1.0 - _dot(_normalised(x), _normalised(y)))


# -- the field kind -------------------------------------------------------------------------------

VECTOR = "vector"  # the lookup family of Vector fields: within_distance (query/lookups/vectors.py)


@register
class VectorKind(FieldKind):
    """A ``list[float]`` field marked ``Vector(...)``: one value (the whole list), indexed
    VECTOR FLOAT32 with the marker's settings; lookups ``within_distance`` and ``isnull``, no
    order (``knn(...)`` ranks by distance)."""

    name = "vector"
    abilities = frozenset({VECTOR})
    sortable = False

    def __init__(self, python_type: Any, spec: Vector) -> None:
        super().__init__(python_type)
        self.spec = spec

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        specs = [m for m in markers if isinstance(m, Vector)]
        if not specs:
            return None
        if len(specs) > 1:
            raise TypeError("one Vector() marker per field")
        if get_origin(python_type) not in (list, tuple) or get_args(python_type)[0] not in (
                float, int):
            raise TypeError(f"Vector() applies to list[float] fields, got {python_type!r}")
        return cls(list, specs[0])

    def describe(self) -> str:
        return f"Vector(dim={self.spec.dim})"

    def value_key(self, value: Any) -> Any:
        return tuple(value)

    def index_type(self) -> tuple[str, ...]:
        spec = self.spec
        options = ["TYPE", "FLOAT32", "DIM", str(spec.dim), "DISTANCE_METRIC",
                   spec.distance.upper()]
        if spec.algorithm == "hnsw":
            options += ["M", str(spec.m), "EF_CONSTRUCTION", str(spec.ef_construction),
                        "EF_RUNTIME", str(spec.ef_runtime)]
        return ("VECTOR", spec.algorithm.upper(), str(len(options)), *options)

    def sort_vector(self, declared: bool, optional: bool, is_id: bool,
                    max_length: int | None) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VectorKind) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash((VectorKind, self.spec))


def vector_spec(kind: FieldKind) -> Vector:
    """The ``Vector(...)`` settings of a vector field's kind."""
    assert isinstance(kind, VectorKind)
    return kind.spec
