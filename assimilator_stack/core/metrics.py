"""The metrics of ``repo.aggregate(...)`` (``n=Count()``, ``avg=Avg("rating")``) and how each
accumulates the values of a group (aggregation.py applies them; docs/queries.md says what
they mean)."""

from __future__ import annotations

import math
from typing import Any

from ..exceptions import InvalidQueryError


class Metric:
    """One column of ``aggregate(...)``: ``n=Count()``, ``avg=Avg("rating")``."""

    kinds: frozenset[str] = frozenset()  # field kinds it applies to (empty: any)
    allowed = "any indexed field"

    def __init__(self, field: str) -> None:
        if not isinstance(field, str) or not field:
            raise InvalidQueryError(
                f"{type(self).__name__}() takes a field name, got {field!r}")
        self.field: str | None = field.replace("__", ".")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.field!r})"

    def start(self) -> Any:
        raise NotImplementedError

    def add(self, state: Any, values: list[Any]) -> Any:
        raise NotImplementedError

    def result(self, state: Any) -> Any:
        return state


class Count(Metric):
    """How many entities the group holds."""

    def __init__(self) -> None:
        self.field = None

    def __repr__(self) -> str:
        return "Count()"

    def start(self) -> int:
        return 0


class CountDistinct(Metric):
    """How many distinct values ``field`` takes in the group (each element of a list; no
    value is not a value)."""

    def start(self) -> set[Any]:
        return set()

    def result(self, state: Any) -> int:
        return len(state)


# Every finite double is an integer multiple of 2**-1074: sums kept as that integer are exact.
_SHIFT = 1074


class _Total:
    """An exact running sum: ints as an int, floats as an integer count of 2**-1074."""

    __slots__ = ("count", "floats", "ints", "scaled")

    def __init__(self) -> None:
        self.count = 0
        self.ints = 0
        self.scaled = 0
        self.floats = False

    def add_all(self, values: list[Any]) -> _Total:
        for x in values:
            self.count += 1
            if isinstance(x, int):
                self.ints += x
            else:
                n, d = float(x).as_integer_ratio()
                self.scaled += n << (_SHIFT + 1 - d.bit_length())
                self.floats = True
        return self

    def value(self) -> int | float:
        if not self.floats:
            return self.ints
        return _ratio(self.scaled + (self.ints << _SHIFT), 1 << _SHIFT)

    def mean(self) -> float:
        if not self.floats:
            return _ratio(self.ints, self.count)
        return _ratio(self.scaled + (self.ints << _SHIFT), self.count << _SHIFT)


def _ratio(numerator: int, denominator: int) -> float:
    """``numerator / denominator`` correctly rounded (int division is); past the largest
    double, infinity."""
    try:
        return numerator / denominator
    except OverflowError:
        return math.copysign(math.inf, numerator)


class Sum(Metric):
    """The sum of ``field``'s values in the group (0 when none has one)."""

    kinds = frozenset({"number"})
    allowed = "number fields"

    def start(self) -> _Total:
        return _Total()

    def result(self, state: Any) -> Any:
        return state.value()


class Avg(Sum):
    """The mean of ``field``'s values in the group, over the entities that have one (None
    when none has)."""

    def result(self, state: Any) -> Any:
        if not state.count:
            return None
        return state.mean()


class Min(Metric):
    """The smallest of ``field``'s values in the group (None when none has one)."""

    kinds = frozenset({"number", "date", "datetime"})
    allowed = "number, date and datetime fields"
    largest = False

    def start(self) -> Any:
        return None


class Max(Min):
    """The largest of ``field``'s values in the group (None when none has one)."""

    largest = True


__all__ = ["Avg", "Count", "CountDistinct", "Max", "Metric", "Min", "Sum"]
