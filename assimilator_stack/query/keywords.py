"""How a keyword (``field__lookup``) splits into a field and a lookup name.

The lookups themselves (their meaning in Python and in RediSearch) are declared once, in
:mod:`assimilator_stack.query.lookups`; the names come from there.
"""

from __future__ import annotations

# The registry itself, not a copy of its names: a lookup registered later is known too.
from .lookups import LOOKUPS


def split_lookup(keyword: str) -> tuple[str, str]:
    """``address__city__startswith`` -> (``address.city``, ``startswith``)."""
    parts = keyword.split("__")
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        return ".".join(parts[:-1]), parts[-1]
    return ".".join(parts), "eq"
