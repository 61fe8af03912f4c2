"""Every lookup (``field__lookup=value``), declared once.

A lookup says which fields it takes, how it checks and normalises its argument, what it means
in Python (the in-memory twin, and the residual check of inexact Redis queries) and how it is
written in RediSearch (a query fragment whose values are PARAMS). docs/queries.md is the
meaning; this package is that meaning in code: base.py (the Lookup base, the registry,
``resolve``), arguments.py (argument checks and keys common to every kind), comparisons.py,
patterns.py and fulltext.py (the lookups, each registered beside its class). Adding a lookup:
CONTRIBUTING.md, "A new lookup".

Values are compared as *keys*: numbers (and numeric enums) as IEEE doubles, as RediSearch keeps
them; datetimes as exact epoch microseconds (ints: the index keeps a double and the rest it
lost, see :func:`datetime_condition`); dates as days (doubles, like the NUMERIC index); enums by
their value; UUIDs as their canonical string; bools as bools.
"""

from __future__ import annotations

from ...fields.base import MAX_EXACT_INT, ArgumentError

# isort: off
# Importing a module registers its lookups; errors list them in this order.
from . import comparisons  # noqa: F401
from . import patterns  # noqa: F401
from . import fulltext  # noqa: F401
# isort: on
from .arguments import keys_of, order_key, scalar_arg, value_key
from .base import (
    LOOKUPS,
    CompileContext,
    Compiled,
    Lookup,
    Resolved,
    allowed_lookups,
    describe,
    exact,
    has_value,
    no_value,
    register,
    resolve,
    superset,
)
from .comparisons import EQ, ISNULL, datetime_condition, equal_any
from .fulltext import (
    MAX_TOKEN_BYTES,
    SearchQuery,
    fold_ascii,
    fuzzy_match,
    index_tokens,
    parse_search,
)
from .patterns import MIN_WILDCARD_BYTES, LikePattern, parse_like

__all__ = [
    "EQ",
    "ISNULL",
    "LOOKUPS",
    "MAX_EXACT_INT",
    "MAX_TOKEN_BYTES",
    "MIN_WILDCARD_BYTES",
    "ArgumentError",
    "CompileContext",
    "Compiled",
    "LikePattern",
    "Lookup",
    "Resolved",
    "SearchQuery",
    "allowed_lookups",
    "datetime_condition",
    "describe",
    "equal_any",
    "exact",
    "fold_ascii",
    "fuzzy_match",
    "has_value",
    "index_tokens",
    "keys_of",
    "no_value",
    "order_key",
    "parse_like",
    "parse_search",
    "register",
    "resolve",
    "scalar_arg",
    "superset",
    "value_key",
]
