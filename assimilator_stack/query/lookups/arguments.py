"""Checking lookup arguments and reading stored values as keys, for every kind: the per-kind
rules are the kinds' (``field.kind_obj.check`` / ``value_key``, fields/); here is what is the
same for all of them (None, collections, case folding, enum members)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from ...fields.base import ArgumentError
from ...fields.schema import FieldSchema
from ...fields.values import lower


def value_key(field: FieldSchema, value: Any) -> Any:
    """A stored value as lookups compare it (see the module docstring)."""
    if isinstance(value, enum.Enum):
        value = value.value
    return field.kind_obj.value_key(value)


def order_key(field: FieldSchema, value: Any) -> Any:
    """A stored value in its exact order (numbers exactly: as doubles 2**53 and 2**53 + 1
    would tie)."""
    if isinstance(value, enum.Enum):
        value = value.value
    return field.kind_obj.order_key(value)


def keys_of(field: FieldSchema, values: Iterable[Any]) -> list[Any]:
    return [value_key(field, v) for v in values]


def scalar_arg(field: FieldSchema, value: Any) -> Any:
    """Check one value against the field's kind; return its key."""
    if value is None:
        raise ArgumentError("None is not a value here (use isnull=True)")
    return field.kind_obj.check(value)


def collection(value: Any) -> list[Any]:
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise ArgumentError("expected a collection (list, tuple, set) of values")
    return list(value)


def fold(field: FieldSchema, key: Any) -> Any:
    """Case-insensitive str fields compare lower-cased strings."""
    return lower(key) if field.lower_copy else key
