"""Keyset paging: the ``FILTER`` expression that seeks past the last row read.

A sorted read never asks for an offset past the server's MAXAGGREGATERESULTS: it continues
*after* the last row it read (scan.py), with a ``FILTER`` expression (built here) that compares
the sort attributes with that row's exact values.

Facts this relies on (verified on RediSearch 2.10, see tests/redis/test_ordering_paging.py):

- ``SORTBY`` puts rows without a value (absent or JSON null) last, for ASC and DESC alike;
  strings compare byte by byte (``strncmp``, then length), numbers as doubles.
- Rows show numbers with about 12 significant digits, strings exactly; exact numbers are read
  from the document (JSON.GET), never from a row. A string is indexed up to its first NUL.
- A FILTER string literal is unescaped by dropping every backslash that precedes ASCII
  punctuation or whitespace; a literal cannot hold NUL, nor a backslash followed by
  punctuation, whitespace or another backslash, nor end with a backslash (the lexer takes the
  longest match, so ``"a\\"`` followed by more quotes runs on); see :func:`representable`.
- Number literals with an exponent (``1e+16``) and ``inf`` are syntax errors: numbers are
  written positionally, infinity as a 1 followed by 309 zeros (which parses as infinity).
- Comparing an attribute that has no value fails the query ("has no value"), so every
  comparison is guarded by ``exists()`` (``&&`` and ``||`` short-circuit).
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from decimal import Decimal

from .replies import Row, row_value, text
from .sort_keys import Anchor, SortKey

_PUNCT_OR_SPACE = frozenset(string.punctuation) | frozenset(" \t\n\v\f\r")
_INFINITY_LITERAL = "1" + "0" * 309  # parses as +inf (the lexer has no exponent nor 'inf')


def representable(value: str) -> bool:
    """Can ``value`` be written as a FILTER string literal (see the module docstring)?"""
    if "\x00" in value:
        return False
    for i, char in enumerate(value):
        # the last character: '\"' would read as an escaped quote and the literal run on
        if char == "\\" and (i + 1 == len(value) or value[i + 1] in _PUNCT_OR_SPACE):
            return False
    return True


def string_literal(value: str) -> str:
    """A double-quoted FILTER literal that the server reads back as ``value``
    (``representable(value)`` must hold)."""
    body = value.replace('"', '\\"').replace("\n", "\\\n")
    return f'"{body}"'


def number_literal(value: float) -> str:
    if math.isinf(value):
        return _INFINITY_LITERAL if value > 0 else f"(-{_INFINITY_LITERAL})"
    written = format(Decimal(repr(float(value))), "f")
    return f"({written})" if written.startswith("-") else written


def literal(key: SortKey, value: str | float) -> str:
    if key.numeric:
        return number_literal(float(value))
    return string_literal(str(value))


def anchor_representable(keys: Sequence[SortKey], anchor: Anchor) -> bool:
    return all(
        not isinstance(value, str) or key.numeric or representable(value)
        for key, value in zip(keys, anchor)
    )


def after_expression(keys: Sequence[SortKey], anchor: Anchor) -> str:
    """A FILTER expression true for the rows that come after ``anchor`` (the sort values of
    one row) in the order of ``keys``; the last key is the id, which every row has."""
    expr: str | None = None
    for key, value in reversed(list(zip(keys, anchor))):
        attr = f"@{key.attribute}"
        if value is None:  # no value: only rows also without one follow, by the next keys
            if expr is None:
                raise ValueError(f"the last sort key {key.name!r} has no value")
            expr = f"((!exists({attr})) && {expr})"
            continue
        lit = literal(key, value)
        later = f"((!exists({attr})) || {attr} {'<' if key.desc else '>'} {lit})"
        if expr is not None:
            later = f"({later} || (exists({attr}) && {attr} == {lit} && {expr}))"
        expr = later
    assert expr is not None
    return expr


def row_matches_anchor(keys: Sequence[SortKey], row: Row, anchor: Anchor) -> bool:
    """Is ``anchor`` (read from the document) still what the server sorted ``row`` by?
    Strings must be equal; numbers, shown rounded in rows, close."""
    for key, value in zip(keys, anchor):
        shown = row_value(row, key.attribute)
        if shown is None or value is None:
            if (shown is None) != (value is None):
                return False
            continue
        if key.numeric:
            try:
                number = float(text(shown))
            except ValueError:
                return False
            assert isinstance(value, float)
            if not math.isclose(number, value, rel_tol=1e-9, abs_tol=1e-9) and not (
                math.isinf(number) and number == value
            ):
                return False
        elif text(shown) != value:
            return False
    return True


def row_strings_representable(keys: Sequence[SortKey], row: Row) -> bool:
    """Could this row anchor a keyset FILTER? (Its string sort values are shown exactly.)"""
    for key in keys:
        shown = row_value(row, key.attribute)
        if shown is not None and not key.numeric and not representable(text(shown)):
            return False
    return True
