"""Reading a field's values out of an entity, and the index form of a value.

Shared by the codec (which stores derived values for the index) and the in-memory twin (which
evaluates lookups on the same values), so both see a field the same way.
"""

from __future__ import annotations

import enum
from typing import Any

from .field import FieldSchema
from .temporal import date_key, datetime_key, split_key
from .text import lower

__all__ = ["date_key", "datetime_key", "extremes", "index_value", "lower", "split_key",
           "values_at"]


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


def index_value(field: FieldSchema, value: Any) -> Any:
    """The value as Redis indexes it: a number for NUMERIC fields, a string for TAG fields."""
    if isinstance(value, enum.Enum):
        value = value.value
    return field.kind_obj.index_value(value)


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
    if field.lower_copy:
        forms = [lower(v) for v in forms]
    if field.numeric:
        return min(forms, key=_number), max(forms, key=_number)
    return min(forms), max(forms)
