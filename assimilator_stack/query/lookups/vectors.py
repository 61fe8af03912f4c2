"""``field__within_distance=(vector, radius)`` on Vector fields: the entities whose vector is at
most ``radius`` from ``vector`` under the field's distance (docs/queries.md "Vectors").

Redis selects the candidates with ``@f:[VECTOR_RANGE $radius $blob]`` and Python checks them
with the twin's float32 distance (fields/vectors.py): ``distance <= radius``. Not exact in
Redis alone: RediSearch 2.10 negates a range wrongly (``-@f:[VECTOR_RANGE 0 $v]`` returned
the one document at distance 0, among documents without a vector), so a negated range is
checked in Python, as every inexact condition under NOT is. On HNSW fields the server's range
search is approximate, as its KNN is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...fields.base import ArgumentError
from ...fields.schema import FieldSchema
from ...fields.vectors import VECTOR, distance, pack, vector_spec
from .. import syntax
from .base import CompileContext, Compiled, Lookup, register, superset


class WithinDistance(Lookup):
    name = "within_distance"
    allowed = "Vector() fields"
    needs = VECTOR

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        spec = vector_spec(field.kind_obj)
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise ArgumentError("expected a pair (vector, radius)")
        vector, radius = value
        if isinstance(vector, (str, bytes)) or not isinstance(vector, Sequence) \
                or len(vector) != spec.dim:
            raise ArgumentError(f"expected a vector of {spec.dim} numbers")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                   for x in vector):
            raise ArgumentError("the vector holds finite numbers only")
        if spec.distance == "cosine" and not any(vector):
            raise ArgumentError("a cosine vector cannot be all zeros")
        if isinstance(radius, bool) or not isinstance(radius, (int, float)) \
                or not math.isfinite(radius) or radius < 0:
            raise ArgumentError("the radius is a finite number >= 0")
        return tuple(float(x) for x in vector), float(radius)

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        vector, radius = arg
        spec = vector_spec(field.kind_obj)
        return any(distance(spec, key, vector) <= radius for key in keys)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        vector, radius = arg
        r, blob = ctx.params.add(repr(radius)), ctx.params.add(pack(vector))
        return superset(syntax.Frag(f"@{field.alias}:[VECTOR_RANGE {r} {blob}]", "atom"), arg)


WITHIN_DISTANCE = register(WithinDistance())
