"""Names of the lookups (``field__lookup=value``) and how a keyword splits into field and lookup.

The meaning of each lookup is declared once, in :mod:`assimilator_stack.lookups_table`, which
both the RediSearch compiler and the in-memory twin consult.
"""

from __future__ import annotations

LOOKUPS: frozenset[str] = frozenset(
    {
        "eq", "not", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", "all", "is",
        "isnull", "like", "ilike", "startswith", "istartswith", "endswith", "iendswith",
        "contains", "icontains", "regex", "search",
    }
)


def split_lookup(keyword: str) -> tuple[str, str]:
    """``address__city__startswith`` -> (``address.city``, ``startswith``)."""
    parts = keyword.split("__")
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        return ".".join(parts[:-1]), parts[-1]
    return ".".join(parts), "eq"
