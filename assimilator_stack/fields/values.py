"""Reading a field's values out of an entity, and the index form of a value.

Shared by the codec (which stores derived values for the index) and the in-memory twin (which
evaluates lookups on the same values), so both see a field the same way.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from .schema import FieldSchema

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_EPOCH_DATE = dt.date(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


def values_at(obj: Any, field: FieldSchema) -> list[Any]:
    """Every non-None value at ``field``'s path in an entity (lists are flattened)."""
    current: list[Any] = [obj]
    for i, part in enumerate(field.parts):
        found: list[Any] = []
        for item in current:
            value = item.get(part) if isinstance(item, dict) else getattr(item, part, None)
            if value is None:
                continue
            if i in field.list_after:
                found.extend(v for v in value if v is not None)
            else:
                found.append(value)
        current = found
    return current


def datetime_key(value: dt.datetime) -> int:
    """Exact epoch microseconds; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return (value - _EPOCH) // _MICROSECOND


def split_key(key: int) -> tuple[float, int]:
    """An exact int as (the double RediSearch keeps, the rest): ``key == int(d) + r``. Rounding
    is monotonic, so (d, r) in lexicographic order is the order of the keys, and ``r`` is 0
    within ±2**53 (beyond, at most half a step of the double: 16 at year 9999)."""
    d = float(key)
    return d, key - int(d)


def date_key(value: dt.date) -> int:
    """Days since 1970-01-01."""
    if isinstance(value, dt.datetime):
        value = value.date()
    return (value - _EPOCH_DATE).days


def index_value(field: FieldSchema, value: Any) -> Any:
    """The value as Redis indexes it: a number for NUMERIC fields, a string for TAG fields."""
    if isinstance(value, enum.Enum):
        value = value.value
    if field.kind == "datetime":
        return datetime_key(value)
    if field.kind == "date":
        return date_key(value)
    if field.kind == "bool":
        return "true" if value else "false"
    if field.kind == "uuid":
        return str(value)
    return value


def _number(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def extremes(field: FieldSchema, values: list[Any]) -> tuple[Any, Any]:
    """The smallest and largest of a list's values as ``__idx`` keeps them for ``order``
    (``<alias>__min`` / ``<alias>__max``): index forms, lower-cased for case-insensitive str
    fields, numbers compared as doubles and strings by code point (UTF-8 byte order)."""
    forms = [index_value(field, v) for v in values]
    if field.kind == "str" and not field.case_sensitive:
        forms = [lower(v) for v in forms]
    if field.numeric:
        return min(forms, key=_number), max(forms, key=_number)
    return min(forms), max(forms)


def lower(value: str) -> str:
    """The case folding used by case-insensitive lookups (Python's ``str.lower``)."""
    return value.lower()


