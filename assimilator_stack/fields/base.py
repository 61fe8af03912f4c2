"""What a kind of field is (:class:`FieldKind`) and the registry that finds the kind of a type.

Every kind-specific decision lives on the kind: how a lookup argument is checked, how values
compare (their key), what Redis indexes (the value and the FT.CREATE attribute type), how
values sort, and which families of lookups apply. The schema (schema.py) gives each field the
kind that claims its type; the rest of the package asks ``field.kind_obj`` instead of
comparing kind names. Adding a kind: subclass :class:`FieldKind` in a module of this folder,
decorate it with :func:`register` and import that module in ``fields/__init__.py``
(CONTRIBUTING.md, "A new field kind").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, get_origin

# Lookup families a kind takes (a lookup names the family it needs, query/lookups/base.py).
# "isnull" (and ``is=None``) applies to every field; "search" to Text() fields.
EQUALITY = "equality"  # eq, ne, not, in, not_in, all, is
ORDER = "order"  # gt, gte, lt, lte, between
PATTERN = "pattern"  # like, ilike, startswith, endswith, contains, regex (and i- variants)
SEARCH = "search"  # full-text search (a Text() field, whatever its kind)

# RediSearch keeps numbers as doubles: integers past 2**53 cannot be told apart.
MAX_EXACT_INT = 2**53


class ArgumentError(Exception):
    """An argument a lookup cannot take (turned into InvalidQueryError with the context: the
    field, the lookup and what is allowed)."""


def as_double(value: int | float) -> float:
    """A number as RediSearch keeps it (huge ints become infinities instead of failing)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def is_subtype(python_type: Any, base: type | tuple[type, ...]) -> bool:
    """``issubclass`` for annotations: False for generics (``list[int]``) and non-types."""
    return (isinstance(python_type, type) and get_origin(python_type) is None
            and issubclass(python_type, base))


class FieldKind:
    """One kind of indexed field. Instances are per Python type (an enum kind knows its enum
    class); the defaults describe an exact, case-sensitive TAG kind."""

    name: ClassVar[str]  # shown in errors ("a list of number field") and metric kinds
    abilities: ClassVar[frozenset[str]] = frozenset({EQUALITY})
    numeric: ClassVar[bool] = False  # indexed NUMERIC: keys are doubles, ranges apply
    stringy: ClassVar[bool] = False  # holds text: string patterns, case folding, Text()
    boolean: ClassVar[bool] = False  # True / False (``is=True``), TAG "true" / "false"
    # The index reads a value derived from the stored one, kept under ``__idx``
    # (``index_value``): the document keeps the user's form (an ISO date, say).
    in_extras: ClassVar[bool] = False
    # Keys are exact ints that a double may round (datetimes as epoch µs): equality and
    # ranges go through the residual attribute (query/lookups/comparisons.py).
    wide_keys: ClassVar[bool] = False
    # Values have an order ``order()`` can sort by (a vector has none): otherwise the field is
    # never sortable, and declaring it so is refused.
    sortable: ClassVar[bool] = True

    def __init__(self, python_type: Any) -> None:
        self.python_type = python_type

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        """The kind of a field of ``python_type`` (annotations stripped of Optional and
        Annotated; ``markers`` are the Annotated / Field metadata), or None when this kind
        does not apply. Claims of registered kinds must not overlap."""
        return None

    # -- lookups ------------------------------------------------------------------------

    def describe(self) -> str:
        """How errors name the kind (``number``, ``enum Color``)."""
        return self.name

    def check(self, value: Any) -> Any:
        """A lookup argument (never None) checked against the kind, as its key; raises
        ArgumentError saying what is allowed."""
        raise ArgumentError(f"fields of kind {self.name} cannot be compared")

    def value_key(self, value: Any) -> Any:
        """A stored value as lookups compare it (the form ``check`` returns)."""
        return value

    def order_key(self, value: Any) -> Any:
        """The exact order of stored values (groups in aggregations): the key, unless the
        key loses precision."""
        return self.value_key(value)

    # -- the index ----------------------------------------------------------------------

    def index_value(self, value: Any) -> Any:
        """The value as Redis indexes it (a number for NUMERIC, a str for TAG)."""
        return value

    def tag_text(self, key: Any) -> str:
        """The TAG text of a key (what equality matches in the index)."""
        return str(key)

    def index_type(self) -> tuple[str, ...]:
        """The FT.CREATE attribute type and its options (before SORTABLE)."""
        return ("TAG", "CASESENSITIVE", "INDEXEMPTY")

    def sort_vector(self, declared: bool, optional: bool, is_id: bool,
                    max_length: int | None) -> bool:
        """Whether a sortable single value is kept SORTABLE in the index (see
        ``FieldSchema.sort_vector``): yes for small fixed-size values."""
        return True

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, FieldKind) and type(other) is type(self)
                and other.python_type == self.python_type)

    def __hash__(self) -> int:
        return hash((type(self), self.python_type))

    def __repr__(self) -> str:
        return f"<field kind {self.describe()}>"


# Registered kinds, asked in order; their claims are disjoint, so the order only matters for
# speed.
KINDS: list[type[FieldKind]] = []


def register(kind: type[FieldKind]) -> type[FieldKind]:
    """Class decorator: make ``kind`` one the schema assigns."""
    if kind not in KINDS:
        KINDS.append(kind)
    return kind


def kind_of(python_type: Any, markers: Sequence[Any] = ()) -> FieldKind | None:
    """The registered kind that claims ``python_type``; None: stored, not indexed."""
    for kind in KINDS:
        found = kind.claims(python_type, markers)
        if found is not None:
            return found
    return None
