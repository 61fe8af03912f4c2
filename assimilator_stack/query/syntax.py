"""RediSearch query syntax (DIALECT 2), built from parts: pure string building, no meaning.

Every user value goes into PARAMS (``$p0``, ``$p1``, ...) or, for full-text words, is a
token that holds no syntax character (see ``lookups/fulltext.py``). Attribute names come
from the model schema (``[A-Za-z0-9_]``). So a value never changes the shape of a query.

Fragments fold constants: :data:`ALL` (matches every document) and :data:`NONE` (matches
none) never appear inside a query, because RediSearch cannot combine ``*`` with anything
(``* @a:{x}`` is a syntax error) and has no literal for "nothing".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Op = Literal["atom", "and", "or", "not", "all", "none"]


@dataclass(frozen=True)
class Frag:
    """A piece of query. ``depth`` counts the parentheses nested inside it."""

    text: str
    op: Op
    depth: int = 0
    negated: Frag | None = None  # for "not": the fragment it negates

    @property
    def is_all(self) -> bool:
        return self.op == "all"

    @property
    def is_none(self) -> bool:
        return self.op == "none"


ALL = Frag("*", "all")
NONE = Frag("", "none")


class Params:
    """Collects PARAMS values; the same value is sent once."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self._by_value: dict[str, str] = {}

    def add(self, value: str) -> str:
        """The ``$name`` that stands for ``value`` in the query."""
        name = self._by_value.get(value)
        if name is None:
            name = f"p{len(self.values)}"
            self.values[name] = value
            self._by_value[value] = name
        return "$" + name


def _wrapped(frag: Frag) -> tuple[str, int]:
    if frag.op in ("atom", "not"):
        return frag.text, frag.depth
    return f"({frag.text})", frag.depth + 1


def conj(parts: Iterable[Frag]) -> Frag:
    """AND (juxtaposition), flattened."""
    return _join(parts, "and", " ", absorbing=NONE, neutral=ALL)


def disj(parts: Iterable[Frag]) -> Frag:
    """OR (``|``), flattened."""
    return _join(parts, "or", " | ", absorbing=ALL, neutral=NONE)


def _join(parts: Iterable[Frag], op: Op, separator: str, absorbing: Frag, neutral: Frag
          ) -> Frag:
    """AND / OR of ``parts``: ``absorbing`` decides it alone (nothing AND x, everything OR x),
    ``neutral`` parts drop out, nested groups of the same operator are flattened."""
    kept: list[Frag] = []
    for part in parts:
        if part.op == absorbing.op:
            return absorbing
        if part.op != neutral.op:
            kept.append(part)
    if not kept:
        return neutral
    if len(kept) == 1:
        return kept[0]
    texts: list[str] = []
    depth = 0
    for part in kept:
        if part.op == op:
            text, d = part.text, part.depth
        else:
            text, d = _wrapped(part)
        texts.append(text)
        depth = max(depth, d)
    return Frag(separator.join(texts), op, depth)


def neg(part: Frag) -> Frag:
    """NOT (``-``). Documents without the attribute match a negated condition."""
    if part.is_all:
        return NONE
    if part.is_none:
        return ALL
    if part.negated is not None:
        return part.negated
    if part.op == "atom":
        return Frag("-" + part.text, "not", part.depth, negated=part)
    return Frag(f"-({part.text})", "not", part.depth + 1, negated=part)


# -- leaves -----------------------------------------------------------------------------------


def tag(attribute: str, values: Sequence[str], params: Params,
        wildcard: Literal["", "prefix", "suffix", "infix"] = "") -> Frag:
    """``@attr:{$a|$b}``: some tag equals one of ``values`` (or starts with / ends with /
    contains it)."""
    if not values:
        return NONE
    before = "*" if wildcard in ("suffix", "infix") else ""
    after = "*" if wildcard in ("prefix", "infix") else ""
    alternatives = "|".join(f"{before}{params.add(tag_param(v))}{after}" for v in values)
    return Frag(f"@{attribute}:{{{alternatives}}}", "atom")


def tag_param(value: str) -> str:
    """A TAG value as a parameter. The query parser still unescapes parameters: a backslash
    before punctuation or a space is dropped (``a\\-b`` matches ``a-b``), so every backslash
    is doubled."""
    return value.replace("\\", "\\\\")


def number(value: float, params: Params) -> str:
    """A bound: finite numbers as parameters, infinities as literals (a parameter holding
    ``inf`` is refused as a lower bound)."""
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return params.add(repr(float(value)))


def numeric(attribute: str, params: Params, low: float = -math.inf, high: float = math.inf,
            low_open: bool = False, high_open: bool = False) -> Frag:
    """``@attr:[low high]``; an open bound is written ``(low``."""
    lo = ("(" if low_open else "") + number(low, params)
    hi = ("(" if high_open else "") + number(high, params)
    return Frag(f"@{attribute}:[{lo} {hi}]", "atom")


def text_group(attribute: str, parts: Sequence[str]) -> Frag:
    """``@attr:(part part ...)``: every part (a word, ``"a phrase"`` or ``prefix*``) is in the
    field. Parts are built by the caller from tokens that hold no syntax characters."""
    if not parts:
        return ALL
    if len(parts) == 1:
        # RediSearch 2.10 drops matches when a negated single term of one TEXT field (of
        # several) is intersected with anything (``-@x:w @n:[1 2]``): a union of the term
        # with itself is negated correctly (tests/differential/test_lookups_redis.py shows both).
        return Frag(f"@{attribute}:({parts[0]}|{parts[0]})", "atom", 1)
    return Frag(f"@{attribute}:({' '.join(parts)})", "atom", 1)
