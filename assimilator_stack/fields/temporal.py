"""The temporal kinds: datetime (exact epoch microseconds) and date (days since 1970-01-01).

Both are indexed as numbers kept under ``__idx`` (the document keeps the ISO text pydantic
writes), NUMERIC, so ranges and order run in the index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .base import EQUALITY, ORDER, ArgumentError, FieldKind, as_double, is_subtype, register

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_EPOCH_DATE = dt.date(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


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


@register
class DatetimeKind(FieldKind):
    """Compared as exact epoch microseconds (ints). The index keeps a double and, for a single
    value, what the double lost (``<alias>__r``), so equality, ranges and order stay exact."""

    name = "datetime"
    abilities = frozenset({EQUALITY, ORDER})
    numeric = True
    in_extras = True
    wide_keys = True

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        if is_subtype(python_type, dt.datetime):
            return cls(python_type)
        return None

    def check(self, value: Any) -> Any:
        if not isinstance(value, dt.datetime):
            raise ArgumentError("expected a datetime (a naive one is taken as UTC)")
        return datetime_key(value)

    def value_key(self, value: Any) -> Any:
        return datetime_key(value)

    def index_value(self, value: Any) -> Any:
        return datetime_key(value)

    def index_type(self) -> tuple[str, ...]:
        return ("NUMERIC",)


@register
class DateKind(FieldKind):
    """Compared as days since 1970-01-01 (doubles, like the NUMERIC index)."""

    name = "date"
    abilities = frozenset({EQUALITY, ORDER})
    numeric = True
    in_extras = True

    @classmethod
    def claims(cls, python_type: Any, markers: Sequence[Any]) -> FieldKind | None:
        if is_subtype(python_type, dt.date) and not is_subtype(python_type, dt.datetime):
            return cls(python_type)
        return None

    def check(self, value: Any) -> Any:
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise ArgumentError("expected a date (not a datetime)")
        return self.value_key(value)

    def value_key(self, value: Any) -> Any:
        return as_double(date_key(value))

    def index_value(self, value: Any) -> Any:
        return date_key(value)

    def index_type(self) -> tuple[str, ...]:
        return ("NUMERIC",)
