"""Equality, order and presence: eq, ne / not, gt / gte / lt / lte, between, in, not_in, all,
is, isnull (and their RediSearch fragments, exact for datetimes past 2**53)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ...fields.base import EQUALITY, MAX_EXACT_INT, ORDER, ArgumentError
from ...fields.schema import FieldSchema
from ...fields.values import split_key
from .. import syntax
from ..syntax import ALL, NONE, Frag, Params
from .arguments import collection, fold, scalar_arg
from .base import (
    CompileContext,
    Compiled,
    Lookup,
    compiled,
    exact,
    has_value,
    no_value,
    register,
    superset,
)


def equal_any(field: FieldSchema, keys: Sequence[Any], params: Params) -> Frag:
    """Documents where some value of the field equals one of ``keys`` (already folded for
    case-insensitive fields)."""
    if not keys:
        return NONE
    if field.numeric:
        return syntax.disj(syntax.numeric(field.alias, params, k, k) for k in keys)
    alias = field.lower_alias if field.lower_copy else field.alias
    return syntax.tag(alias, [field.kind_obj.tag_text(k) for k in keys], params)


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
        return fold(field, scalar_arg(field, value))

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        return any(fold(field, k) == arg for k in keys)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        if field.kind_obj.wide_keys:
            return compiled(*datetime_condition(field, "eq", arg, ctx.params), arg)
        return exact(equal_any(field, [arg], ctx.params))


EQ = register(Eq())


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


register(Negated("ne", EQ, none_means=False))
register(Negated("not", EQ, none_means=False))


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


for _op in ("gt", "gte", "lt", "lte"):
    register(Compare(_op))


class Between(Lookup):
    name = "between"
    allowed = Compare.allowed
    needs = ORDER

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        if isinstance(value, (set, frozenset)):
            raise ArgumentError("expected a pair (low, high), not a set (it has no order)")
        items = collection(value)
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


register(Between())


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
        for item in collection(value):
            if item is None:
                with_none = True
            else:
                keys.append(fold(field, scalar_arg(field, item)))
        return InArg(tuple(dict.fromkeys(keys)), with_none)

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        if arg.with_none and not keys:
            return True
        wanted = set(arg.keys)
        return any(fold(field, k) in wanted for k in keys)

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


_IN = register(In())
register(Negated("not_in", _IN, none_means=False))


class All(Lookup):
    name = "all"
    needs = EQUALITY

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        return tuple(dict.fromkeys(fold(field, scalar_arg(field, v)) for v in collection(value)))

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        have = {fold(field, k) for k in keys}
        return all(a in have for a in arg)

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        if field.kind_obj.wide_keys:
            parts = [datetime_condition(field, "eq", a, ctx.params) for a in arg]
            return compiled(syntax.conj(f for f, _ in parts), all(e for _, e in parts), arg)
        return exact(syntax.conj(equal_any(field, [a], ctx.params) for a in arg))


register(All())


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


register(Is())


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


ISNULL = register(IsNull())
