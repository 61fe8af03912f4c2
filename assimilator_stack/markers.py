"""``typing.Annotated`` markers that steer how a field is indexed.

    class Product(RedisModel):
        description: Annotated[str, Text(weight=2.0)]      # full-text (TEXT)
        notes: Annotated[str, NotIndexed()]                 # stored, never indexed
        title: Annotated[str, Indexed(case_sensitive=False)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Text:
    """Index a ``str`` field for full-text ``search`` (stemming, phrases, prefixes).

    ``weight`` scales its score; ``nostem`` turns stemming off; ``sortable`` keeps its values
    in the index (SORTABLE), so ``order`` on it reads no document.
    The field is indexed once, as TEXT. Equality and the other string lookups still work, and
    answer the same: they are checked in Python on the documents its words (or the rest of the
    filter) select. Add ``Indexed()`` to also index it exactly (a TAG: faster exact lookups on
    long texts, at the memory of a second copy).
    """

    weight: float = 1.0
    nostem: bool = False
    sortable: bool = False


@dataclass(frozen=True)
class NotIndexed:
    """Store the field, but do not index it (it cannot be filtered or sorted on in Redis)."""


@dataclass(frozen=True)
class Indexed:
    """Override the defaults for an indexed field.

    ``sortable``: ``True`` keeps the field's values in the index (SORTABLE); ``False`` refuses
    ``order`` on it. By default every single-valued field sorts, and numbers, dates, bools,
    enums, UUIDs, the id, short strings (a ``Literal`` or ``max_length`` <= 64) and fields that
    may hold no value keep their values in the index; other strings are read from the
    documents when sorted on (slower for large sorts, no memory per document).
    ``case_sensitive``: for str TAG fields, whether equality is case-sensitive (default True).
    """

    sortable: bool | None = None
    case_sensitive: bool | None = None


_METRICS = ("cosine", "l2", "ip")
_ALGORITHMS = ("flat", "hnsw")


@dataclass(frozen=True)
class Vector:
    """Index a ``list[float]`` field as a RediSearch VECTOR (FLOAT32) for ``knn(...)``:

        embedding: Annotated[list[float], Vector(dim=384, distance="cosine")]

    ``distance``: "cosine" (1 - cosine similarity), "l2" (the *squared* Euclidean distance,
    as RediSearch reports it) or "ip" (1 - inner product). ``algorithm``: "flat" (exact
    brute force) or "hnsw" (approximate; ``m``, ``ef_construction`` and ``ef_runtime`` are
    its graph and search sizes). A value must hold exactly ``dim`` finite numbers (and not
    only zeros for "cosine"); anything else is refused when the entity is validated, naming
    the field."""

    dim: int
    distance: str = "cosine"
    algorithm: str = "flat"
    m: int = 16
    ef_construction: int = 200
    ef_runtime: int = 10

    def __post_init__(self) -> None:
        for name in ("dim", "m", "ef_construction", "ef_runtime"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TypeError(f"Vector({name}=...) must be an int >= 1, got {value!r}")
        if self.distance not in _METRICS:
            raise TypeError(f"Vector(distance=...) must be one of {', '.join(_METRICS)}, got "
                            f"{self.distance!r}")
        if self.algorithm not in _ALGORITHMS:
            raise TypeError(f"Vector(algorithm=...) must be one of {', '.join(_ALGORITHMS)}, "
                            f"got {self.algorithm!r}")

    def check(self, value: Any) -> Any:
        """The pydantic check of a value (a ValueError says what is wrong)."""
        if value is None:
            return value
        if len(value) != self.dim:
            raise ValueError(f"a Vector(dim={self.dim}) holds exactly {self.dim} numbers, got "
                             f"{len(value)}")
        # (C loops first: this runs for every entity read; elements are floats by now, each
        # at most float32's maximum, so their sum cannot overflow)
        if value and not (math.isfinite(sum(value)) and max(map(abs, value)) <= _FLOAT32_MAX):
            for i, x in enumerate(value):
                if not math.isfinite(x):
                    raise ValueError(f"a vector holds finite numbers; element {i} is {x!r}")
                if abs(x) > _FLOAT32_MAX:
                    raise ValueError(f"element {i} ({x!r}) does not fit in a 32-bit float")
        if self.distance == "cosine" and not any(value):
            raise ValueError("a cosine vector cannot be all zeros (it has no direction)")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(self.check, handler(source))


_FLOAT32_MAX = 3.4028234663852886e38
