"""``typing.Annotated`` markers that steer how a field is indexed.

    class Product(RedisModel):
        description: Annotated[str, Text(weight=2.0)]      # full-text (TEXT)
        notes: Annotated[str, NotIndexed()]                 # stored, never indexed
        title: Annotated[str, Indexed(case_sensitive=False)]
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """Index a ``str`` field for full-text ``search`` (stemming, phrases, prefixes).

    ``weight`` scales its score; ``nostem`` turns stemming off; ``sortable`` keeps its values
    in the index (SORTABLE), so ``order`` on it reads no document.
    The field is indexed once, as TEXT. Equality and the other string lookups still work, and
    answer the same: they are checked in Python on the documents its words (or the rest of the
    filter) select. Add ``Indexed()`` to also index it exactly (a TAG: faster exact lookups on
    long texts, at the memory of a second copy).
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

    ``sortable``: ``True`` keeps the field's values in the index (SORTABLE); ``False`` refuses
    ``order`` on it. By default every single-valued field sorts, and numbers, dates, bools,
    enums, UUIDs, the id, short strings (a ``Literal`` or ``max_length`` <= 64) and fields that
    may hold no value keep their values in the index; other strings are read from the
    documents when sorted on (slower for large sorts, no memory per document).
    ``case_sensitive``: for str TAG fields, whether equality is case-sensitive (default True).
    """

    sortable: bool | None = None
    case_sensitive: bool | None = None
