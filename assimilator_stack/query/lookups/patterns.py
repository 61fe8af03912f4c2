"""String patterns on str fields: like / ilike (SQL LIKE, and its parser), startswith,
endswith, contains and their ``i`` variants, regex. Redis answers them with TAG wildcards only
when it can do so completely; otherwise it selects candidates and Python decides."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ...fields.base import PATTERN, ArgumentError
from ...fields.schema import FieldSchema
from ...fields.text import str_arg
from ...fields.values import lower
from .. import syntax
from ..syntax import Frag, Params
from .base import CompileContext, Compiled, Lookup, exact, has_value, register, superset

# The server's MINPREFIX (default 2, in bytes): a shorter prefix/suffix/infix matches nothing.
MIN_WILDCARD_BYTES = 2


def _wildcard(field: FieldSchema, text: str, insensitive: bool, where: Literal[
        "prefix", "suffix", "infix"], ctx: CompileContext) -> Frag | None:
    """The TAG wildcard fragment for a pattern piece, or None when Redis cannot do it exactly:
    too short for MINPREFIX, expansion not trusted, or an infix. An infix (``*x*``) expands
    to every matching *suffix* of every value, so long values exceed MAXPREFIXEXPANSIONS
    quickly and the answer is silently cut (tests/differential/test_escaping.py shows it)."""
    if not ctx.redis_wildcards or where == "infix" or len(text.encode()) < MIN_WILDCARD_BYTES:
        return None
    if insensitive and not field.lower_copy:  # no lower-cased copy to match against
        return None
    attribute = field.lower_alias if insensitive else field.alias
    return syntax.tag(attribute, [text], ctx.params, wildcard=where)


class StringLookup(Lookup):
    allowed = "str fields"
    needs = PATTERN
    insensitive: bool = False

    def folds(self, field: FieldSchema) -> bool:
        return self.insensitive or not field.case_sensitive

    def fold(self, field: FieldSchema, text: str) -> str:
        return lower(text) if self.folds(field) else text


@dataclass(frozen=True)
class LikePattern:
    """A parsed LIKE pattern: literal runs, ``%`` (any run) and ``_`` (one character)."""

    items: tuple[str, ...]  # literal runs and the markers _ANY ("%") and _ONE ("_")
    regex: re.Pattern[str]
    source: str


_ANY, _ONE = "\x00%", "\x00_"  # markers (a NUL never appears in a checked argument)


def parse_like(pattern: str) -> LikePattern:
    items: list[str] = []
    literal = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            literal += pattern[i + 1]
            i += 2
            continue
        if ch in "%_":
            if literal:
                items.append(literal)
                literal = ""
            marker = _ANY if ch == "%" else _ONE
            if not (marker == _ANY and items and items[-1] == _ANY):
                items.append(marker)
        else:
            literal += ch
        i += 1
    if literal:
        items.append(literal)
    body = "".join(
        ".*" if it == _ANY else "." if it == _ONE else re.escape(it) for it in items
    )
    return LikePattern(tuple(items), re.compile(body, re.DOTALL), pattern)


class Like(StringLookup):
    """SQL LIKE: ``%`` any run, ``_`` one character, ``\\`` escapes the next character."""

    def __init__(self, name: str, insensitive: bool) -> None:
        self.name = name
        self.insensitive = insensitive

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        if isinstance(value, LikePattern):
            return value
        return parse_like(self.fold(field, str_arg(value)))

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        return any(arg.regex.fullmatch(self.fold(field, k)) for k in keys)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        items: tuple[str, ...] = arg.items
        p = ctx.params
        insensitive = self.folds(field)
        literals = [it for it in items if it not in (_ANY, _ONE)]
        if _ONE not in items:
            if not items:
                return exact(syntax.tag(field.alias, [""], p))  # "" is "" in any case
            if len(items) == 1 and literals and (not insensitive or field.lower_copy):
                return exact(self._eq(field, literals[0], p))
            if not literals:
                return exact(has_value(field, p))
            if len(literals) == 1:
                starts, ends = items[0] != _ANY, items[-1] != _ANY
                where: Literal["prefix", "suffix", "infix"] = (
                    "prefix" if starts else "suffix" if ends else "infix"
                )
                frag = _wildcard(field, literals[0], insensitive, where, ctx)
                if frag is not None:
                    return exact(frag)
        # Not expressible exactly: every literal run narrows the candidates; Python decides.
        parts: list[Frag] = [has_value(field, p)]
        last = len(items) - 1
        for i, it in enumerate(items):
            if it in (_ANY, _ONE):
                continue
            where = "prefix" if i == 0 else "suffix" if i == last else "infix"
            piece = _wildcard(field, it, insensitive, where, ctx)
            if piece is not None:
                parts.append(piece)
        return superset(syntax.conj(parts), arg)

    def _eq(self, field: FieldSchema, text: str, params: Params) -> Frag:
        attribute = field.lower_alias if self.folds(field) else field.alias
        return syntax.tag(attribute, [text], params)


register(Like("like", insensitive=False))
register(Like("ilike", insensitive=True))


class Affix(StringLookup):
    """startswith / endswith / contains and their case-insensitive ``i`` variants."""

    def __init__(self, name: str, where: Literal["prefix", "suffix", "infix"],
                 insensitive: bool) -> None:
        self.name = name
        self.where: Literal["prefix", "suffix", "infix"] = where
        self.insensitive = insensitive

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        return self.fold(field, str_arg(value))

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        for key in keys:
            text = self.fold(field, key)
            if self.where == "prefix":
                if text.startswith(arg):
                    return True
            elif self.where == "suffix":
                if text.endswith(arg):
                    return True
            elif arg in text:
                return True
        return False

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        if arg == "":
            return exact(has_value(field, ctx.params))
        frag = _wildcard(field, arg, self.folds(field), self.where, ctx)
        if frag is None:
            return superset(has_value(field, ctx.params), arg)
        return exact(frag)


register(Affix("startswith", "prefix", insensitive=False))
register(Affix("istartswith", "prefix", insensitive=True))
register(Affix("endswith", "suffix", insensitive=False))
register(Affix("iendswith", "suffix", insensitive=True))
register(Affix("contains", "infix", insensitive=False))
register(Affix("icontains", "infix", insensitive=True))


class Regex(StringLookup):
    name = "regex"

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        if isinstance(value, re.Pattern):
            if not isinstance(value.pattern, str):
                raise ArgumentError("expected a str pattern, not bytes")
            return value
        if not isinstance(value, str):
            raise ArgumentError("expected a regular expression (str or re.Pattern)")
        try:
            return re.compile(value)
        except re.error as exc:
            raise ArgumentError(f"not a valid regular expression: {exc}") from None

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        return any(arg.search(k) for k in keys)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        return superset(has_value(field, ctx.params), arg)


register(Regex())
