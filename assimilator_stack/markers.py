"""``typing.Annotated`` markers that steer how a field is indexed.

    class Product(RedisModel):
        description: Annotated[str, Text(weight=2.0)]      # full-text (TEXT) + equality (TAG)
        notes: Annotated[str, NotIndexed()]                 # stored, never indexed
        title: Annotated[str, Indexed(case_sensitive=False)]
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """Index a ``str`` field for full-text ``search`` (stemming, phrases, prefixes).

    ``weight`` scales its score; ``nostem`` turns stemming off; ``sortable`` allows ``order``.
    Equality and string lookups still work: the field is also indexed as a TAG.
    """

    weight: float = 1.0
    nostem: bool = False
    sortable: bool = False


@dataclass(frozen=True)
class NotIndexed:
    """Store the field, but do not index it (it cannot be filtered or sorted on in Redis)."""


@dataclass(frozen=True)
class Indexed:
    """Override the defaults for an indexed field.

    ``sortable``: keep a sort key (default True for scalar fields).
    ``case_sensitive``: for str TAG fields, whether equality is case-sensitive (default True).
    """

    sortable: bool | None = None
    case_sensitive: bool | None = None
