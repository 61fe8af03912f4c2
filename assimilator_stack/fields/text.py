"""The str kind: an exact, case-sensitive TAG (a lower-cased copy when declared
``Indexed(case_sensitive=False)``), string patterns, and full text when marked ``Text()``
(the TEXT attribute and its options are the field's: ``FieldSchema.text``)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from .base import EQUALITY, PATTERN, ArgumentError, FieldKind, is_subtype, register

# Strings at most this long (declared max_length) are kept SORTABLE by default.
SHORT_STRING = 64


def lower(value: str) -> str:
    """The case folding used by case-insensitive lookups (Python's ``str.lower``)."""
    return value.lower()


def str_arg(value: Any) -> str:
    """A str argument RediSearch can match (a str enum member gives its value)."""
    if isinstance(value, enum.Enum) and isinstance(value.value, str):
        value = value.value
    if not isinstance(value, str):
        raise ArgumentError(f"expected a str, got {type(value).__name__}")
    if "\x00" in value:
        raise ArgumentError("a NUL character cannot be matched by RediSearch")
    return value


@register
class StrKind(FieldKind):
    name = "str"
    abilities = frozenset({EQUALITY, PATTERN})
    stringy = True

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        if is_subtype(python_type, str) and not is_subtype(python_type, enum.Enum):
            return cls(python_type)
        return None

    def check(self, value: Any) -> Any:
        return str_arg(value)

    def sort_vector(self, declared: bool, optional: bool, is_id: bool,
                    max_length: int | None) -> bool:
        # Long strings would cost the index their whole value per document: only short ones
        # (a Literal, max_length <= 64), the id (every sort's tie-break), declared ones and
        # optional ones (read from a document, a JSON null and an absent value do not sort
        # alike) are SORTABLE; other str fields still sort, from the documents, more slowly.
        return declared or optional or is_id or (
            max_length is not None and max_length <= SHORT_STRING)
