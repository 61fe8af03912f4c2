"""The scalar kinds: bool, number (int / float), UUID and enum (of str or of numbers)."""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Sequence
from typing import Any

from .base import (
    EQUALITY,
    MAX_EXACT_INT,
    ORDER,
    ArgumentError,
    FieldKind,
    as_double,
    is_subtype,
    register,
)


@register
class BoolKind(FieldKind):
    """True / False, indexed as the TAGs ``true`` / ``false``."""

    name = "bool"
    boolean = True

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        return cls(python_type) if is_subtype(python_type, bool) else None

    def check(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ArgumentError(f"expected True or False, got {type(value).__name__}")
        return value

    def value_key(self, value: Any) -> Any:
        return bool(value)

    def index_value(self, value: Any) -> Any:
        return "true" if value else "false"

    def tag_text(self, key: Any) -> str:
        return "true" if key else "false"

    def index_type(self) -> tuple[str, ...]:
        return ("TAG",)


def number_arg(value: Any) -> float:
    """A number a NUMERIC attribute can compare exactly (as a double)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentError("expected a number (int or float; not bool)")
    if isinstance(value, float) and math.isnan(value):
        raise ArgumentError("NaN is not allowed (it equals nothing)")
    if isinstance(value, int) and abs(value) > MAX_EXACT_INT:
        raise ArgumentError(
            "ints beyond ±2**53 are not allowed: RediSearch keeps numbers as doubles and "
            "could not tell them apart"
        )
    return float(value)


@register
class NumberKind(FieldKind):
    """int and float, indexed NUMERIC; compared as doubles, as RediSearch keeps them."""

    name = "number"
    abilities = frozenset({EQUALITY, ORDER})
    numeric = True

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        if is_subtype(python_type, (int, float)) and not issubclass(python_type, (bool, enum.Enum)):
            return cls(python_type)
        return None

    def check(self, value: Any) -> Any:
        return number_arg(value)

    def value_key(self, value: Any) -> Any:
        return as_double(value)

    def order_key(self, value: Any) -> Any:
        return value  # exactly: doubles 2**53 and 2**53 + 1 would tie

    def index_type(self) -> tuple[str, ...]:
        return ("NUMERIC",)


@register
class UuidKind(FieldKind):
    """UUIDs, compared and indexed as their canonical string."""

    name = "uuid"

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        return cls(python_type) if is_subtype(python_type, uuid.UUID) else None

    def check(self, value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, str):
            try:
                return str(uuid.UUID(value))
            except ValueError:
                raise ArgumentError("expected a UUID or its string") from None
        raise ArgumentError("expected a UUID or its string")

    def value_key(self, value: Any) -> Any:
        return str(value)

    def index_value(self, value: Any) -> Any:
        return str(value)


def enum_value_type(enum_cls: Any) -> type:
    """str when every member's value is a str, float when every one is a number, else
    object (such enums are stored, not indexed)."""
    values = [m.value for m in enum_cls]
    if values and all(isinstance(v, str) for v in values):
        return str
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return float
    return object


class EnumKind(FieldKind):
    """An enum, compared and indexed by its members' values (see the two kinds below)."""

    name = "enum"

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        if not is_subtype(python_type, enum.Enum):
            return None
        value_type = enum_value_type(python_type)
        if value_type is str:
            return StrEnumKind(python_type)
        if value_type is float:
            return NumberEnumKind(python_type)
        return None

    def describe(self) -> str:
        return f"enum {self.python_type.__name__}"

    def check(self, value: Any) -> Any:
        enum_cls: type[enum.Enum] = self.python_type
        member: enum.Enum | None = None
        if isinstance(value, enum_cls):
            member = value
        elif not isinstance(value, (enum.Enum, bool)):
            for candidate in enum_cls:
                same_type = type(candidate.value) is type(value) or (
                    isinstance(candidate.value, (int, float)) and isinstance(value, (int, float))
                )
                if same_type and candidate.value == value:
                    member = candidate
                    break
        if member is None:
            allowed = ", ".join(repr(m.value) for m in enum_cls)
            raise ArgumentError(
                f"expected a member of {enum_cls.__name__} or one of its values ({allowed})"
            )
        return self.value_key(member)

    def index_value(self, value: Any) -> Any:
        return value.value if isinstance(value, enum.Enum) else value


class StrEnumKind(EnumKind):
    """An enum of str values: a case-sensitive TAG of the value."""

    def value_key(self, value: Any) -> Any:
        return value.value if isinstance(value, enum.Enum) else value


class NumberEnumKind(EnumKind):
    """An enum of numbers: NUMERIC, ordered by value."""

    abilities = frozenset({EQUALITY, ORDER})
    numeric = True

    def value_key(self, value: Any) -> Any:
        return as_double(value.value if isinstance(value, enum.Enum) else value)

    def index_type(self) -> tuple[str, ...]:
        return ("NUMERIC",)


register(EnumKind)
