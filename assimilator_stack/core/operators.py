"""PyAssimilator's filtering helpers, for code written against it:
``filter_(eq("username", "Andrey"))``, ``filter_(find_attribute(operator.gt, "balance", 10))``.

Each returns a filter specification that means the same as the keyword form
(``eq("balances__balance", 10)`` is ``filter_(balances__balance__eq=10)``), so it runs in Redis
like any lookup. ``find_attribute`` with another function than the ``operator`` comparisons is
a Python predicate, as PyAssimilator reads it: ``func(value_of_field, value)`` (for some
element when a dotted path goes through a list), checked in Python on what Redis selects.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from .specs import FilterSpecification, filter_

_LOOKUP_OF: dict[Callable[..., Any], str] = {
    operator.eq: "eq",
    operator.ne: "ne",
    operator.gt: "gt",
    operator.ge: "gte",
    operator.lt: "lt",
    operator.le: "lte",
}


def _condition(field: str, lookup: str, value: Any) -> FilterSpecification:
    return filter_(**{f"{field.replace('.', '__')}__{lookup}": value})


def eq(field: str, value: Any) -> FilterSpecification:
    return _condition(field, "eq", value)


def gt(field: str, value: Any) -> FilterSpecification:
    return _condition(field, "gt", value)


def gte(field: str, value: Any) -> FilterSpecification:
    return _condition(field, "gte", value)


def lt(field: str, value: Any) -> FilterSpecification:
    return _condition(field, "lt", value)


def lte(field: str, value: Any) -> FilterSpecification:
    return _condition(field, "lte", value)


def find_attribute(func: Callable[[Any, Any], Any], field: str, value: Any
                   ) -> FilterSpecification:
    """``func(entity.<field>, value)``; the ``operator`` comparisons become lookups."""
    lookup = _LOOKUP_OF.get(func)
    if lookup is not None:
        return _condition(field, lookup, value)
    parts = field.replace(".", "__").split("__")

    def holds(entity: Any) -> bool:  # PyAssimilator's reading of a path
        current: Any = entity
        for part in parts:
            if isinstance(current, (list, tuple, set)):
                current = [getattr(item, part) for item in current]
            else:
                current = getattr(current, part)
        if len(parts) > 1 and isinstance(current, (list, tuple, set)):
            return any(func(member, value) for member in current)
        return bool(func(current, value))

    return filter_(holds)


__all__ = ["eq", "find_attribute", "gt", "gte", "lt", "lte"]
