"""One indexed field of a model: where its values are, how it is indexed (its kind, see
base.py, and the options declared with Indexed() / Text()) and the index attributes derived
from it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..markers import Text
from .base import SEARCH, FieldKind

# Top-level document key that holds values derived for the index (never part of the entity).
INDEX_EXTRAS_KEY = "__idx"
NULLS_ATTRIBUTE = "__nulls"

_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def path_step(key: str) -> str:
    """One step of a JSONPath: ``.key``, or ``["key"]`` for keys that need quoting."""
    return f".{key}" if _SAFE_NAME.match(key) else '["' + key.replace('"', '\\"') + '"]'


@dataclass(frozen=True)
class FieldSchema:
    """One indexed field (or an element of a list, or a field of a nested model)."""

    name: str  # dotted Python path, e.g. "address.city"
    parts: tuple[str, ...]  # Python attribute names along the path
    json_parts: tuple[str, ...]  # document keys along the path (pydantic aliases)
    list_after: frozenset[int]  # indexes in parts whose value is a list (elements are walked)
    alias: str  # RediSearch attribute name ([A-Za-z0-9_])
    kind_obj: FieldKind  # what the values are: checks, keys, index form (fields/base.py)
    multi: bool  # the path may hold several values
    optional: bool  # the value may be None or absent
    sortable: bool
    case_sensitive: bool
    text: Text | None  # full-text options when the field is also TEXT
    sort_declared: bool = False  # Indexed(sortable=True)
    exact_declared: bool = False  # an Indexed(...) marker (keeps a Text() field's TAG)
    max_length: int | None = None  # a declared max_length (pydantic / annotated-types)

    @property
    def kind(self) -> str:
        """The kind's name (``str``, ``number``, ``enum``, ...), as errors show it."""
        return self.kind_obj.name

    @property
    def python_type(self) -> Any:
        """The scalar type: str, int, float, bool, datetime, an Enum class, ..."""
        return self.kind_obj.python_type

    @property
    def json_path(self) -> str:
        """JSONPath of the value(s), e.g. ``$.address.city`` or ``$.items[*].sku``."""
        out = "$"
        for i, key in enumerate(self.json_parts):
            out += path_step(key)
            if i in self.list_after:
                out += "[*]"
        return out

    @property
    def lower_alias(self) -> str:
        """Attribute of the lower-cased copy (case-insensitive lookups)."""
        return f"{self.alias}__lc"

    @property
    def lower_copy(self) -> bool:
        """A lower-cased copy is stored and indexed (``<alias>__lc``): only for str fields
        declared ``Indexed(case_sensitive=False)``, which compare and sort by it. The
        case-insensitive lookups on other fields are checked in Python, like other wildcards."""
        return self.stringy and not self.case_sensitive

    @property
    def extremes(self) -> bool:
        """A sortable list: its smallest and largest values are kept under ``__idx``
        (``<alias>__min`` / ``<alias>__max``) and indexed SORTABLE."""
        return self.multi and self.sortable

    def sort_alias(self, descending: bool) -> str:
        """The attribute ``order`` sorts on: a list by its smallest value ascending and its
        largest descending (MongoDB's rule)."""
        if self.multi:
            return f"{self.alias}__max" if descending else f"{self.alias}__min"
        if self.lower_copy:
            return self.lower_alias
        return self.alias if self.tag_indexed else self.text_alias

    @property
    def text_alias(self) -> str:
        """Attribute of the full-text (TEXT) index of a ``Text()`` field."""
        return f"{self.alias}__txt"

    @property
    def residual_alias(self) -> str:
        """Attribute of a datetime's rounding residual (see ``has_residual``)."""
        return f"{self.alias}__r"

    @property
    def has_residual(self) -> bool:
        """A single-valued datetime: the index holds its epoch microseconds as a double (exact
        only within ±2**53, until about 2255) and, in ``<alias>__r``, what the double lost
        (``values.split_key``), so that equality, ranges and order stay exact everywhere."""
        return self.kind_obj.wide_keys and not self.multi

    @property
    def tag_indexed(self) -> bool:
        """Exactly indexed (TAG / NUMERIC). A ``Text()`` str field is indexed once, as TEXT,
        unless also marked ``Indexed(...)``: its exact lookups are then checked in Python on
        candidates its words select."""
        return self.text is None or self.exact_declared

    @property
    def sort_vector(self) -> bool:
        """SORTABLE in the index (each document's value kept in the index's memory, so sorting
        reads no document): for numbers, dates, bools, enums, UUIDs, the id (every sort's
        tie-break), short strings (a Literal, or max_length <= 64), fields declared
        ``Indexed(sortable=True)`` and fields that may hold no value (read from a document,
        a JSON null and an absent value do not sort alike). Other str fields still sort (the
        server reads their values from the documents), more slowly. Never a list (it would
        keep only its first value): lists sort by their __min / __max (``extremes``)."""
        if not self.sortable or self.multi:
            return False
        return self.kind_obj.sort_vector(self.sort_declared, self.optional, self.name == "id",
                                         self.max_length)

    @property
    def stored_as_extra(self) -> bool:
        """True when Redis indexes a derived value kept under ``__idx`` (dates)."""
        return self.kind_obj.in_extras

    @property
    def numeric(self) -> bool:
        """Indexed NUMERIC (numbers, numeric enums, dates)."""
        return self.kind_obj.numeric

    @property
    def stringy(self) -> bool:
        """Holds text that string lookups (like, startswith, ...) apply to."""
        return self.kind_obj.stringy

    @property
    def abilities(self) -> frozenset[str]:
        """The lookup families the field takes: its kind's, and full-text search when it
        is a ``Text()`` field."""
        if self.text is None:
            return self.kind_obj.abilities
        return self.kind_obj.abilities | {SEARCH}

    def describe(self) -> str:
        """``str``, ``list of number``, ``Text() str``, ``enum Color`` ..."""
        kind = self.kind_obj.describe()
        if self.text is not None:
            kind = f"Text() {kind}"
        return f"list of {kind}" if self.multi else kind
