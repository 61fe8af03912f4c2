"""Every lookup (``field__lookup=value``), declared once.

A lookup says which fields it takes, how it checks and normalises its argument, what it means
in Python (the in-memory twin, and the residual check of inexact Redis queries) and how it is
written in RediSearch (a query fragment whose values are PARAMS). docs/queries.md is the
meaning; this file is that meaning in code. Adding a lookup means adding a class here and an
entry in :data:`LOOKUPS`.

Values are compared as *keys*: numbers (and numeric enums) as IEEE doubles, as RediSearch keeps
them; datetimes as exact epoch microseconds (ints: the index keeps a double and the rest it
lost, see :func:`datetime_condition`); dates as days (doubles, like the NUMERIC index); enums by
their value; UUIDs as their canonical string; bools as bools.
"""

from __future__ import annotations

import enum
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..exceptions import InvalidQueryError
from ..fields.base import EQUALITY, ORDER, PATTERN, SEARCH
from ..fields.base import MAX_EXACT_INT as MAX_EXACT_INT
from ..fields.base import ArgumentError as ArgumentError
from ..fields.schema import NULLS_ATTRIBUTE, FieldSchema, ModelSchema
from ..fields.text import str_arg
from ..fields.values import lower, split_key
from . import syntax
from .filters import Condition
from .syntax import ALL, NONE, Frag, Params

# The server's MINPREFIX (default 2, in bytes): a shorter prefix/suffix/infix matches nothing.
MIN_WILDCARD_BYTES = 2
# RediSearch keeps the first 128 bytes of a full-text word.
MAX_TOKEN_BYTES = 128
_REPR_LIMIT = 60


@dataclass
class CompileContext:
    """What a lookup needs to write its fragment."""

    params: Params
    # Trust the server to expand prefix / suffix / infix patterns completely (its
    # MAXPREFIXEXPANSIONS exceeds the distinct values of the field). When False, such patterns
    # are checked in Python on a superset that Redis selects without expansion.
    redis_wildcards: bool = False


@dataclass(frozen=True)
class Compiled:
    """A condition in RediSearch: ``frag`` selects a superset of its matches; when not
    ``exact``, ``lookup.test(field, keys, residual)`` must also hold (checked in Python)."""

    frag: Frag
    exact: bool = True
    residual: Any = None


def exact(frag: Frag) -> Compiled:
    return Compiled(frag)


def superset(frag: Frag, residual: Any) -> Compiled:
    return Compiled(frag, False, residual)


# -- values as keys ---------------------------------------------------------------------------


def value_key(field: FieldSchema, value: Any) -> Any:
    """A stored value as lookups compare it (see the module docstring)."""
    if isinstance(value, enum.Enum):
        value = value.value
    return field.kind_obj.value_key(value)


def order_key(field: FieldSchema, value: Any) -> Any:
    """A stored value in its exact order (numbers exactly: as doubles 2**53 and 2**53 + 1
    would tie)."""
    if isinstance(value, enum.Enum):
        value = value.value
    return field.kind_obj.order_key(value)


def keys_of(field: FieldSchema, values: Iterable[Any]) -> list[Any]:
    return [value_key(field, v) for v in values]


def _short(value: Any) -> str:
    text = repr(value)
    if len(text) <= _REPR_LIMIT:
        return text
    return f"{text[:_REPR_LIMIT]}... ({len(text)} characters)"


def describe(field: FieldSchema) -> str:
    """``str``, ``list of number``, ``Text() str``, ``enum Color`` ..."""
    return field.describe()


def scalar_arg(field: FieldSchema, value: Any) -> Any:
    """Check one value against the field's kind; return its key."""
    if value is None:
        raise ArgumentError("None is not a value here (use isnull=True)")
    return field.kind_obj.check(value)


def _collection(value: Any) -> list[Any]:
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise ArgumentError("expected a collection (list, tuple, set) of values")
    return list(value)


def _fold(field: FieldSchema, key: Any) -> Any:
    """Case-insensitive str fields compare lower-cased strings."""
    return lower(key) if field.lower_copy else key


# -- RediSearch fragments shared by lookups ---------------------------------------------------


def has_value(field: FieldSchema, params: Params) -> Frag:
    """Documents where the field holds at least one value."""
    if field.optional or field.multi:
        return syntax.neg(syntax.tag(NULLS_ATTRIBUTE, [field.alias], params))
    return ALL


def no_value(field: FieldSchema, params: Params) -> Frag:
    return syntax.neg(has_value(field, params))


def equal_any(field: FieldSchema, keys: Sequence[Any], params: Params) -> Frag:
    """Documents where some value of the field equals one of ``keys`` (already folded for
    case-insensitive fields)."""
    if not keys:
        return NONE
    if field.numeric:
        return syntax.disj(syntax.numeric(field.alias, params, k, k) for k in keys)
    alias = field.lower_alias if field.lower_copy else field.alias
    return syntax.tag(alias, [field.kind_obj.tag_text(k) for k in keys], params)


def compiled(frag: Frag, is_exact: bool, residual: Any) -> Compiled:
    return exact(frag) if is_exact else superset(frag, residual)


def datetime_condition(field: FieldSchema, op: Literal["eq", "gt", "gte", "lt", "lte"],
                       key: int, params: Params) -> tuple[Frag, bool]:
    """A datetime compared exactly with ``key`` (epoch µs), and whether the fragment is exact.

    The index keeps the value as a double ``d``, exact only within ±2**53 µs (about 1685 to
    2255), and, for single-valued fields, the rest ``r`` it lost (``values.split_key``; 0
    within that range). (d, r) compares like the exact key: ``gt`` is ``d > D``, or ``d == D``
    and ``r > R``. The conditions on ``r`` are written so that a document without ``r``
    (written before it existed; its key was within range) reads as ``r == 0``. A list of
    datetimes has no per-element pairs: past ±2**53 the double-only condition, widened to
    include ``D``, selects a superset that Python checks exactly."""
    d, r = split_key(key)
    if field.has_residual:
        rest = field.residual_alias
        same = syntax.numeric(field.alias, params, d, d)
        below = syntax.numeric(rest, params, high=r, high_open=True)  # r < R
        above = syntax.numeric(rest, params, low=r, low_open=True)  # r > R
        if op == "eq":
            return syntax.conj([same, syntax.neg(below), syntax.neg(above)]), True
        if op in ("gt", "gte"):
            beyond = syntax.numeric(field.alias, params, low=d, low_open=True)
            within = above if op == "gt" else syntax.neg(below)
        else:
            beyond = syntax.numeric(field.alias, params, high=d, high_open=True)
            within = below if op == "lt" else syntax.neg(above)
        return syntax.disj([beyond, syntax.conj([same, within])]), True
    # No stored value rounds onto or across D (2**53 + 1 rounds to 2**53: strictly below).
    is_exact = abs(key) < MAX_EXACT_INT
    strict = is_exact  # otherwise include D: a superset
    if op == "eq":
        return syntax.numeric(field.alias, params, d, d), is_exact
    if op in ("gt", "gte"):
        return syntax.numeric(field.alias, params, low=d,
                              low_open=op == "gt" and strict), is_exact
    return syntax.numeric(field.alias, params, high=d, high_open=op == "lt" and strict), is_exact


# -- the lookups ------------------------------------------------------------------------------


class Lookup:
    """One lookup. Subclasses set ``name``/``allowed`` and implement the four steps."""

    name: str
    allowed: str = "every field"
    # The lookup family (fields/base.py) a field's kind must take; None: every field.
    needs: str | None = None

    def allows(self, field: FieldSchema) -> bool:
        return self.needs is None or self.needs in field.abilities

    def resolve(self, field: FieldSchema, value: Any) -> tuple[Lookup, Any]:
        """The lookup that really applies (``eq=None`` is ``isnull=True``) and its argument."""
        return self, self.prepare(field, value)

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        """Check and normalise the argument (raise ArgumentError)."""
        raise NotImplementedError

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        """The meaning: does an entity whose field holds ``keys`` match?"""
        raise NotImplementedError

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        """The RediSearch form."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<lookup {self.name}>"


class Eq(Lookup):
    name = "eq"
    needs = EQUALITY

    def resolve(self, field: FieldSchema, value: Any) -> tuple[Lookup, Any]:
        if value is None:
            return ISNULL, True
        return self, self.prepare(field, value)

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        if isinstance(value, (list, tuple, set, frozenset)):
            raise ArgumentError(
                "expected one value; for several use __in (any of them) or __all (every one)"
            )
        return _fold(field, scalar_arg(field, value))

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        return any(_fold(field, k) == arg for k in keys)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        if field.kind_obj.wide_keys:
            return compiled(*datetime_condition(field, "eq", arg, ctx.params), arg)
        return exact(equal_any(field, [arg], ctx.params))


class Negated(Lookup):
    """``ne`` / ``not_in``: the entities the base lookup does not match (including those
    without the field)."""

    def __init__(self, name: str, base: Lookup, none_means: bool) -> None:
        self.name = name
        self.base = base
        self.none_means = none_means  # ne=None means isnull=False

    def allows(self, field: FieldSchema) -> bool:
        return self.base.allows(field)

    def resolve(self, field: FieldSchema, value: Any) -> tuple[Lookup, Any]:
        if value is None and isinstance(self.base, Eq):
            return ISNULL, self.none_means
        return self, self.base.prepare(field, value)

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        return self.base.prepare(field, value)

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        return not self.base.test(field, keys, arg)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        inner = self.base.compile(field, arg, ctx)
        if inner.exact:
            return exact(syntax.neg(inner.frag))
        return superset(ALL, arg)


class Compare(Lookup):
    allowed = "number, datetime, date and numeric enum fields"
    needs = ORDER

    def __init__(self, name: Literal["gt", "gte", "lt", "lte"]) -> None:
        self.name = name
        self.op = name

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        return scalar_arg(field, value)

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        op = self.name
        if op == "gt":
            return any(k > arg for k in keys)
        if op == "gte":
            return any(k >= arg for k in keys)
        if op == "lt":
            return any(k < arg for k in keys)
        return any(k <= arg for k in keys)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        op, p = self.name, ctx.params
        if field.kind_obj.wide_keys:
            return compiled(*datetime_condition(field, self.op, arg, p), arg)
        if op in ("gt", "gte"):
            frag = syntax.numeric(field.alias, p, low=arg, low_open=op == "gt")
        else:
            frag = syntax.numeric(field.alias, p, high=arg, high_open=op == "lt")
        return exact(frag)


class Between(Lookup):
    name = "between"
    allowed = Compare.allowed
    needs = ORDER

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        if isinstance(value, (set, frozenset)):
            raise ArgumentError("expected a pair (low, high), not a set (it has no order)")
        items = _collection(value)
        if len(items) != 2:
            raise ArgumentError("expected a pair (low, high)")
        return scalar_arg(field, items[0]), scalar_arg(field, items[1])

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        low, high = arg
        return any(low <= k <= high for k in keys)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        low, high = arg
        if field.kind_obj.wide_keys:
            if field.multi:  # one value must be in both bounds: one range (see Compare)
                frag = syntax.numeric(field.alias, ctx.params, low=float(low), high=float(high))
                in_range = max(abs(low), abs(high)) < MAX_EXACT_INT
                return compiled(frag, in_range, arg)
            lo, _ = datetime_condition(field, "gte", low, ctx.params)
            hi, _ = datetime_condition(field, "lte", high, ctx.params)
            return exact(syntax.conj([lo, hi]))
        return exact(syntax.numeric(field.alias, ctx.params, low=low, high=high))


@dataclass(frozen=True)
class InArg:
    keys: tuple[Any, ...]
    with_none: bool  # None in the collection: entities without a value match too


class In(Lookup):
    name = "in"
    needs = EQUALITY

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        keys: list[Any] = []
        with_none = False
        for item in _collection(value):
            if item is None:
                with_none = True
            else:
                keys.append(_fold(field, scalar_arg(field, item)))
        return InArg(tuple(dict.fromkeys(keys)), with_none)

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        if arg.with_none and not keys:
            return True
        wanted = set(arg.keys)
        return any(_fold(field, k) in wanted for k in keys)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        is_exact = True
        if field.kind_obj.wide_keys:
            frags = []
            for key in arg.keys:
                frag, key_exact = datetime_condition(field, "eq", key, ctx.params)
                frags.append(frag)
                is_exact &= key_exact
        else:
            frags = [equal_any(field, list(arg.keys), ctx.params)]
        if arg.with_none:
            frags.append(no_value(field, ctx.params))
        return compiled(syntax.disj(frags), is_exact, arg)


class All(Lookup):
    name = "all"
    needs = EQUALITY

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        return tuple(dict.fromkeys(_fold(field, scalar_arg(field, v)) for v in _collection(value)))

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        have = {_fold(field, k) for k in keys}
        return all(a in have for a in arg)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        if field.kind_obj.wide_keys:
            parts = [datetime_condition(field, "eq", a, ctx.params) for a in arg]
            return compiled(syntax.conj(f for f, _ in parts), all(e for _, e in parts), arg)
        return exact(syntax.conj(equal_any(field, [a], ctx.params) for a in arg))


class Is(Lookup):
    name = "is"
    needs = EQUALITY

    def resolve(self, field: FieldSchema, value: Any) -> tuple[Lookup, Any]:
        if value is None:
            return ISNULL, True
        if isinstance(value, bool):
            if not field.kind_obj.boolean:
                raise ArgumentError("is=True/False applies to bool fields; use is=None here")
            return EQ, value
        raise ArgumentError("expected True, False or None")

    def prepare(self, field: FieldSchema, value: Any) -> Any:  # pragma: no cover (resolved)
        raise NotImplementedError


class IsNull(Lookup):
    name = "isnull"

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ArgumentError("expected True (no value) or False (has a value)")
        return value

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        return bool((not keys) == arg)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        return exact(no_value(field, ctx.params) if arg else has_value(field, ctx.params))


# -- string patterns --------------------------------------------------------------------------


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


# -- full-text search -------------------------------------------------------------------------

# RediSearch splits text on ASCII whitespace and punctuation, except "_"; a backslash makes the
# next character part of the word. It lower-cases ASCII letters only.
_SEPARATORS = frozenset(string.whitespace[:6] + string.punctuation) - {"_", "\\"}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# Words of a search query: runs of characters that are not ASCII punctuation, whitespace or
# control characters (so a word never holds query syntax).
_QUERY_WORD = re.compile(r"([^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]+)(\*?)")


def fold_ascii(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def index_tokens(text: str) -> list[bytes]:
    """The words RediSearch indexes for a TEXT value (ASCII-folded, cut at 128 bytes).

    Control characters are not modelled (RediSearch's handling of them is irregular).
    """
    tokens: list[bytes] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            token = fold_ascii("".join(current)).encode()[:MAX_TOKEN_BYTES]
            if token:
                tokens.append(token)
            current.clear()

    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 < len(text):
                current.append(text[i + 1])
            i += 2
            continue
        if ch in _SEPARATORS:
            flush()
        else:
            current.append(ch)
        i += 1
    flush()
    return tokens


@dataclass(frozen=True)
class SearchQuery:
    """A parsed ``search`` argument; an entity matches when every part does: words (some word
    is it), phrases (consecutive words), prefixes, suffixes and infixes (some word starts,
    ends with or holds it) and fuzzy terms (some word within the edit distance, see
    :func:`fuzzy_match`)."""

    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    infixes: tuple[str, ...] = ()
    fuzzy: tuple[tuple[str, int], ...] = ()  # (term, distance 1..3)

    def parts(self, with_prefixes: bool = True) -> list[str]:
        out = list(self.words)
        out += ['"' + " ".join(p) + '"' for p in self.phrases]
        if with_prefixes:
            out += [p + "*" for p in self.prefixes]
        out += ["*" + x for x in self.suffixes] + ["*" + x + "*" for x in self.infixes]
        out += ["%" * d + t + "%" * d for t, d in self.fuzzy]
        return out


# A word with the pattern marks attached to it: ``*`` and ``%`` runs right before and after.
_QUERY_TERM = re.compile(r"([*%]*)([^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]+)([*%]*)")
_FUZZY = {"%": 1, "%%": 2, "%%%": 3}
_PATTERN_HELP = ("a search term is word, prefix*, *suffix, *infix* (at least 2 characters) or "
                 "%fuzzy% / %%fuzzy%% / %%%fuzzy%%% (edit distance 1, 2, 3)")


def parse_search(text: str) -> SearchQuery:
    """Words, ``"quoted phrases"``, ``prefix*``, ``*suffix``, ``*infix*`` and ``%fuzzy%`` (up
    to ``%%%fuzzy%%%``); everything that is not a word character separates words. A ``*`` or
    ``%`` attached to a word in any other way is refused, never dropped."""
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    prefixes: list[str] = []
    suffixes: list[str] = []
    infixes: list[str] = []
    fuzzy: list[tuple[str, int]] = []
    for i, segment in enumerate(text.split('"')):
        if i % 2 == 1:  # inside quotes
            phrase: list[str] = []
            for before, word, after in _QUERY_TERM.findall(segment):
                if before or after:
                    raise ArgumentError(
                        f"{before + word + after!r} inside the phrase \"{segment}\": a phrase "
                        "holds plain words (patterns and fuzzy terms go outside quotes)"
                    )
                phrase.append(fold_ascii(word))
            if len(phrase) == 1:
                words.append(phrase[0])
            elif phrase:
                phrases.append(tuple(phrase))
            continue
        for before, word, after in _QUERY_TERM.findall(segment):
            term = before + word + after
            if before in _FUZZY and after == before:
                fuzzy.append((word, _FUZZY[before]))
                continue
            word = fold_ascii(word)
            shape = (before, after)
            if shape == ("", ""):
                words.append(word)
                continue
            if shape not in (("", "*"), ("*", ""), ("*", "*")):
                raise ArgumentError(f"{term!r} is not a search term: {_PATTERN_HELP}")
            if len(word) < 2:
                raise ArgumentError(
                    f"the pattern {term!r} is too short: a prefix, suffix or infix needs at "
                    "least 2 characters"
                )
            {("", "*"): prefixes, ("*", ""): suffixes, ("*", "*"): infixes}[shape].append(word)
    query = SearchQuery(
        tuple(dict.fromkeys(words)), tuple(dict.fromkeys(phrases)),
        tuple(dict.fromkeys(prefixes)), tuple(dict.fromkeys(suffixes)),
        tuple(dict.fromkeys(infixes)), tuple(dict.fromkeys(fuzzy)),
    )
    if not query.parts():
        raise ArgumentError("expected at least one word to search for")
    return query


def _fold_rune(ch: str) -> str:
    # RediSearch folds each character of a fuzzy term and of the indexed words to the first
    # character of its Unicode case folding (so "ß" is "s" and "İ" is "i").
    return ch.casefold()[0]


def _distances(query: str, word: str) -> list[int]:
    """Levenshtein distances between every prefix of ``query`` and the whole ``word``."""
    column = list(range(len(query) + 1))
    for w in word:
        previous, column = column, [column[0] + 1]
        for i, q in enumerate(query, 1):
            column.append(min(previous[i] + 1, column[i - 1] + 1,
                              previous[i - 1] + (q != w)))
    return column


def fuzzy_match(term: str, word: str, distance: int) -> bool:
    """Whether ``%term%`` (``distance`` 1; 2 for ``%%term%%``, 3 for ``%%%term%%%``) finds
    ``word``, exactly as RediSearch 2.10 does on a TEXT field without stemming.

    Both are compared character by character, folded (:func:`_fold_rune`). The word matches
    when its Levenshtein distance to the term is at most ``distance``, and also (RediSearch's
    automaton decides a word at its last character from the states before and after it) when
    the word without its last character is within ``distance`` while the whole word is still
    within ``distance`` of some prefix of the term: so ``%abc%`` finds ``acb``. A word holding
    a character outside the Basic Multilingual Plane is never found (RediSearch's 16-bit
    automaton skips it).
    """
    if any(ord(ch) > 0xFFFF for ch in word):
        return False
    q = "".join(_fold_rune(ch) for ch in term)
    w = "".join(_fold_rune(ch) for ch in word)
    whole = _distances(q, w)
    if whole[-1] <= distance:
        return True
    return bool(w) and _distances(q, w[:-1])[-1] <= distance and min(whole) <= distance


def _has_phrase(tokens: list[bytes], phrase: tuple[bytes, ...]) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i:i + n]) == phrase for i in range(len(tokens) - n + 1))


class Search(Lookup):
    """Full-text search on ``Text()`` fields.

    In Redis the field's TEXT index answers it, with stemming unless ``Text(nostem=True)``.
    In Python (the in-memory twin) words must match exactly: there is no stemming, so the two
    agree on ``nostem`` fields and Redis may find more on stemmed ones.
    """

    name = "search"
    allowed = "Text() fields"
    needs = SEARCH

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        if isinstance(value, SearchQuery):
            return value
        if not isinstance(value, str):
            raise ArgumentError("expected the text to search for (a str)")
        return parse_search(value)

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        query: SearchQuery = arg
        per_value = [index_tokens(k) for k in keys]
        every = {t for tokens in per_value for t in tokens}
        if any(w.encode() not in every for w in query.words):
            return False
        for prefix in query.prefixes:
            wanted = prefix.encode()
            if not any(t.startswith(wanted) for t in every):
                return False
        # (UTF-8 is self-synchronising: a match of the bytes is a match of the characters)
        for suffix in query.suffixes:
            wanted = suffix.encode()
            if not any(t.endswith(wanted) for t in every):
                return False
        for infix in query.infixes:
            wanted = infix.encode()
            if not any(wanted in t for t in every):
                return False
        if query.fuzzy:
            texts = [t.decode(errors="ignore") for t in every]
            for term, distance in query.fuzzy:
                if not any(fuzzy_match(term, t, distance) for t in texts):
                    return False
        for phrase in query.phrases:
            encoded = tuple(w.encode() for w in phrase)
            if not any(_has_phrase(tokens, encoded) for tokens in per_value):
                return False
        return True

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        query: SearchQuery = arg
        assert field.text is not None
        # On a NOSTEM field a bare word is still expanded to its stem at query time (``running``
        # finds ``run``): quoted, it is matched as it is.
        verbatim = field.text.nostem

        def word(w: str) -> str:
            return f'"{w}"' if verbatim else w

        parts = [word(w) for w in query.words]
        # RediSearch's phrase check goes wrong when words repeat: ``"a a"`` finds a single
        # ``a``, and ``"a gamma"`` finds "gamma gamma a" (adjacent, but out of order). So the
        # words of a phrase narrow the candidates and Python checks the phrase itself.
        left_phrases = list(query.phrases)
        for phrase in query.phrases:
            parts += [word(w) for w in phrase]
        left_prefixes: list[str] = []
        for prefix in query.prefixes:
            # A prefix is lower-cased by RediSearch with Unicode rules, while indexed words
            # only had their ASCII letters lowered: such prefixes are checked in Python.
            if ctx.redis_wildcards and prefix.lower() == prefix:
                parts.append(prefix + "*")
            else:
                left_prefixes.append(prefix)
        frag = syntax.text_group(field.text_alias, list(dict.fromkeys(parts)))
        if frag.is_all:
            frag = has_value(field, ctx.params)
        # Suffixes, infixes and fuzzy terms are checked in Python: RediSearch expands them to
        # at most MAXEXPANSIONS / MAXPREFIXEXPANSIONS words and silently drops the rest (and
        # a suffix would also find the stems it indexed on a stemmed field).
        patterns = SearchQuery(suffixes=query.suffixes, infixes=query.infixes,
                               fuzzy=query.fuzzy)
        if not left_phrases and not left_prefixes and not patterns.parts():
            return exact(frag)
        return superset(frag, SearchQuery(phrases=tuple(left_phrases),
                                          prefixes=tuple(left_prefixes),
                                          suffixes=query.suffixes, infixes=query.infixes,
                                          fuzzy=query.fuzzy))


# -- the registry -----------------------------------------------------------------------------

EQ = Eq()
ISNULL = IsNull()
_IN = In()

LOOKUPS: dict[str, Lookup] = {
    lookup.name: lookup
    for lookup in (
        EQ,
        Negated("ne", EQ, none_means=False),
        Negated("not", EQ, none_means=False),
        Compare("gt"), Compare("gte"), Compare("lt"), Compare("lte"),
        Between(),
        _IN,
        Negated("not_in", _IN, none_means=False),
        All(),
        Is(),
        ISNULL,
        Like("like", insensitive=False), Like("ilike", insensitive=True),
        Affix("startswith", "prefix", False), Affix("istartswith", "prefix", True),
        Affix("endswith", "suffix", False), Affix("iendswith", "suffix", True),
        Affix("contains", "infix", False), Affix("icontains", "infix", True),
        Regex(),
        Search(),
    )
}


def allowed_lookups(field: FieldSchema) -> list[str]:
    return [name for name, lookup in LOOKUPS.items() if lookup.allows(field)]


@dataclass(frozen=True)
class Resolved:
    """A condition checked against the schema: the field, the lookup that applies and its
    normalised argument."""

    field: FieldSchema
    lookup: Lookup
    arg: Any

    def test_values(self, values: Iterable[Any]) -> bool:
        return self.lookup.test(self.field, keys_of(self.field, values), self.arg)


def _unknown_field(schema: ModelSchema, condition: Condition) -> str:
    """Why ``condition`` names no indexed field: a mistyped lookup (``age__gtt``), ``pk``
    (the id field is ``id``), or a field that is not indexed."""
    model = schema.model.__name__
    name = condition.field.replace("__", ".")
    head, _, last = name.rpartition(".")
    known = schema.fields.get(head) if head else None
    if known is not None and condition.lookup == "eq":
        return (
            f"{model}.{known.name}__{last}: unknown lookup {last!r}; lookups allowed on "
            f"{known.name} (a {describe(known)} field): {', '.join(allowed_lookups(known))}"
        )
    first = name.split(".", 1)[0]
    if first == "pk" and "pk" not in schema.model.model_fields:
        return (
            f"{model} has no field 'pk': its id field is 'id' (filter_(id=...), "
            f"filter_(id__in=[...]))"
        )
    allowed = ", ".join(sorted(schema.fields)) or "(none)"
    if first in schema.model.model_fields and "." not in name:
        annotation = schema.model.model_fields[first].annotation
        shown = annotation.__name__ if isinstance(annotation, type) else repr(annotation)
        return (
            f"{model} has no indexed field {name!r}: it is stored but not indexed (its type "
            f"{shown} cannot be filtered on: bytes, dict, Any, unions and Literals of several "
            f"kinds, NotIndexed() fields); indexed fields: {allowed}"
        )
    return f"{model} has no indexed field {name!r}; indexed fields: {allowed}"


def resolve(schema: ModelSchema, condition: Condition) -> Resolved:
    """Check ``condition`` against the model; raise InvalidQueryError naming the field, the
    lookup and what is allowed."""
    model = schema.model.__name__
    field = schema.fields.get(condition.field.replace("__", "."))
    if field is None:
        raise InvalidQueryError(_unknown_field(schema, condition))
    lookup = LOOKUPS.get(condition.lookup)
    where = f"{model}.{field.name}__{condition.lookup}"
    if lookup is None:
        raise InvalidQueryError(
            f"{where}: unknown lookup {condition.lookup!r}; lookups: {', '.join(LOOKUPS)}"
        )
    if not lookup.allows(field):
        raise InvalidQueryError(
            f"{where}: {lookup.name!r} applies to {lookup.allowed}, and {field.name} is a "
            f"{describe(field)} field; lookups allowed on {field.name}: "
            f"{', '.join(allowed_lookups(field))}"
        )
    try:
        effective, arg = lookup.resolve(field, condition.value)
    except ArgumentError as exc:
        raise InvalidQueryError(
            f"{where}={_short(condition.value)}: {exc} ({field.name} is a {describe(field)} "
            "field)"
        ) from None
    return Resolved(field, effective, arg)
