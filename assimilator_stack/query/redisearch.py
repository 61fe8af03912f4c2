"""Filter tree -> RediSearch query (DIALECT 2) with PARAMS. Pure: no I/O.

Each condition is compiled by its lookup (assimilator_stack.query.lookups). A condition RediSearch
cannot decide exactly (regex, a Python predicate, a pattern whose expansion is not trusted)
compiles to a *superset* and leaves a *residual*: a Python check that the repository applies to
the candidates Redis returns. Conjuncts keep their own residuals; under OR / NOT an inexact
part makes the whole OR / NOT a Python check (a negated superset is not a superset).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import InvalidQueryError
from ..fields.schema import ModelSchema
from ..fields.values import values_at
from . import syntax
from .filters import And, Condition, Node, Not, Or, Predicate, TextSearch
from .lookups import (
    LOOKUPS,
    MAX_TOKEN_BYTES,
    CompileContext,
    Compiled,
    Resolved,
    SearchQuery,
    index_tokens,
    keys_of,
    resolve,
    superset,
)
from .python import matcher
from .syntax import ALL, Frag, Params

Residual = Callable[[Any], bool]

SEARCH = LOOKUPS["search"]
# RediSearch's parser overflows past ~125 nested groups; deeper parts are checked in Python.
MAX_DEPTH = 60


def _always(entity: Any) -> bool:
    return True


@dataclass(frozen=True)
class CompiledFilter:
    """``query`` (with ``$pN`` placeholders for ``params``) selects the matches, or when not
    ``exact`` a superset of them that ``residual(entity)`` narrows down."""

    query: str
    params: dict[str, str | bytes] = field(default_factory=dict)  # bytes: query vectors
    exact: bool = True
    residual: Residual = _always
    matches_nothing: bool = False

    def params_args(self) -> tuple[str | bytes, ...]:
        """``("PARAMS", n, name, value, ...)`` for FT.SEARCH / FT.AGGREGATE (empty if none)."""
        if not self.params:
            return ()
        flat: list[str | bytes] = []
        for name, value in self.params.items():
            flat += [name, value]
        return ("PARAMS", str(len(flat)), *flat)


def compile_filter(schema: ModelSchema, node: Node | None, *,
                   redis_wildcards: bool = False) -> CompiledFilter:
    """Compile ``node`` (None or ``And(())`` = every entity).

    ``redis_wildcards``: let RediSearch expand prefix / suffix / infix patterns (startswith,
    endswith, contains, like, ``search`` prefixes). Only exact when the server's
    MAXPREFIXEXPANSIONS exceeds the distinct values of the field: it silently truncates the
    expansion otherwise. By default those patterns are checked in Python.
    """
    ctx = CompileContext(Params(), redis_wildcards=redis_wildcards)
    frag, residual = _compile(schema, node, ctx) if node is not None else (ALL, None)
    if frag.is_none:
        return CompiledFilter(
            _nothing(schema, ctx.params), ctx.params.values, True, _always, matches_nothing=True
        )
    if residual is None:
        return CompiledFilter(frag.text, ctx.params.values)
    return CompiledFilter(frag.text, ctx.params.values, False, residual)


_SCALARS = frozenset({str, int, float, bool, type(None)})
_COLLECTIONS = frozenset({list, tuple, set, frozenset})


def _value_key(value: Any) -> Any:
    kind = type(value)
    if kind in _COLLECTIONS:
        return (kind, tuple(_value_key(v) for v in value))
    if kind in _SCALARS:
        return (kind, value)
    hash(value)  # TypeError: not a key
    return (kind, value)


def filter_key(node: Node | None) -> Any:
    """A dict key for ``node`` under which its compiled form may be kept: equal keys compile
    alike (values are keyed with their types: ``1``, ``1.0`` and ``True`` differ). TypeError
    when there is none (a Python predicate, an unhashable value)."""
    if node is None:
        return None
    kind = type(node)
    if kind is Condition:
        assert isinstance(node, Condition)
        return (node.field, node.lookup, _value_key(node.value))
    if kind is And or kind is Or:
        assert isinstance(node, (And, Or))
        return (kind, tuple(filter_key(child) for child in node.children))
    if kind is Not:
        assert isinstance(node, Not)
        return (Not, filter_key(node.child))
    raise TypeError(f"no cache key for {node!r}")


def _nothing(schema: ModelSchema, params: Params) -> str:
    """A query that matches no document (RediSearch has no literal for it)."""
    id_field = schema.id_field
    if id_field.numeric:
        return f"@{id_field.alias}:[(0 (0]"
    name = params.add("")
    return f"@{id_field.alias}:{{{name}}} -@{id_field.alias}:{{{name}}}"


def _compile(schema: ModelSchema, node: Node, ctx: CompileContext
             ) -> tuple[Frag, Residual | None]:
    if isinstance(node, Condition):
        resolved = resolve(schema, node)
        if resolved.field.tag_indexed or resolved.lookup.name in _TEXT_LOOKUPS:
            compiled = resolved.lookup.compile(resolved.field, resolved.arg, ctx)
        else:  # a Text()-only field: its words narrow the candidates, Python decides
            compiled = text_candidates(resolved, ctx)
        if compiled.exact:
            return compiled.frag, None
        f, lookup, arg = resolved.field, resolved.lookup, compiled.residual
        def check(entity: Any) -> bool:
            return lookup.test(f, keys_of(f, values_at(entity, f)), arg)

        return compiled.frag, check
    if isinstance(node, Predicate):  # the user's own Python test
        return ALL, matcher(schema, node)
    if isinstance(node, TextSearch):
        from .ranking import expand_search

        return _compile(schema, expand_search(schema, node), ctx)
    if isinstance(node, And):
        children, ranges = _split_ranges(schema, node.children)
        parts = [_compile(schema, child, ctx) for child in children]
        parts += [(_range(group, ctx), None) for group in ranges.values()]
        frag = syntax.conj(p[0] for p in parts)
        checks: list[Residual] = [p[1] for p in parts if p[1] is not None]
        residual: Residual | None = None
        if len(checks) == 1:
            residual = checks[0]
        elif checks:
            residual = lambda entity: all(check(entity) for check in checks)  # noqa: E731
        return _bounded(schema, node, frag, residual)
    if isinstance(node, Or):
        parts = [_compile(schema, child, ctx) for child in node.children]
        frag = syntax.disj(p[0] for p in parts)
        if any(p[1] is not None for p in parts):
            return _bounded(schema, node, frag, matcher(schema, node))
        return _bounded(schema, node, frag, None)
    if isinstance(node, Not):
        inner, inner_check = _compile(schema, node.child, ctx)
        if inner_check is not None:
            return ALL, matcher(schema, node)
        return _bounded(schema, node, syntax.neg(inner), None)
    raise InvalidQueryError(f"not a filter: {node!r}")


def _bounded(schema: ModelSchema, node: Node, frag: Frag, residual: Residual | None
             ) -> tuple[Frag, Residual | None]:
    """Keep the query within the parser's nesting limit: a part nested too deeply is
    checked in Python instead."""
    if frag.depth > MAX_DEPTH:
        return ALL, matcher(schema, node)
    return frag, residual


_RANGES = frozenset({"gt", "gte", "lt", "lte", "between"})
# What a Text()-only field (no TAG) answers from its TEXT index and its __nulls entry.
_TEXT_LOOKUPS = frozenset({"search", "isnull"})


def text_candidates(resolved: Resolved, ctx: CompileContext) -> Compiled:
    """An exact lookup on a field indexed as TEXT only: the documents holding every word of
    the wanted value (``eq``; each indexed word of an equal value is in it) or, for other
    lookups, every document; the lookup itself is checked in Python."""
    field, lookup, arg = resolved.field, resolved.lookup, resolved.arg
    frag: Frag = ALL
    if lookup.name == "eq" and isinstance(arg, str):
        words = [t.decode() for t in index_tokens(arg)
                 if t.isascii() and len(t) < MAX_TOKEN_BYTES and t.isalnum()]
        if words:
            frag = SEARCH.compile(field, SearchQuery(tuple(dict.fromkeys(words))), ctx).frag
    return superset(frag, arg)


def _split_ranges(schema: ModelSchema, children: tuple[Node, ...]
                  ) -> tuple[list[Node], dict[str, list[Resolved]]]:
    """ANDed bounds on one single-valued numeric field, apart from the other conditions: they
    become one range (``@price:[10 20]``, not ``@price:[10 +inf] @price:[-inf 20]``, which
    makes the server intersect two large sets). Not for lists: "some element > a and some
    element < b" is not "some element between a and b"."""
    rest: list[Node] = []
    ranges: dict[str, list[Resolved]] = {}
    for child in children:
        if isinstance(child, Condition) and child.lookup in _RANGES:
            resolved = resolve(schema, child)
            # Datetimes keep what their double loses apart (``__r``): their own lookups
            # compare the pair, so they are not merged here.
            if resolved.field.numeric and not resolved.field.multi \
                    and not resolved.field.has_residual and resolved.lookup.name in _RANGES:
                ranges.setdefault(resolved.field.alias, []).append(resolved)
                continue
        rest.append(child)
    return rest, ranges


def _range(bounds: list[Resolved], ctx: CompileContext) -> Frag:
    """The tightest single range that all ``bounds`` (on one field) describe."""
    low, low_open, high, high_open = -math.inf, False, math.inf, False
    for bound in bounds:
        name, arg = bound.lookup.name, bound.arg
        lows: list[tuple[Any, bool]] = []
        highs: list[tuple[Any, bool]] = []
        if name == "between":
            lows, highs = [(arg[0], False)], [(arg[1], False)]
        elif name in ("gt", "gte"):
            lows = [(arg, name == "gt")]
        else:
            highs = [(arg, name == "lt")]
        for value, is_open in lows:
            if value > low or (value == low and is_open):
                low, low_open = value, is_open
        for value, is_open in highs:
            if value < high or (value == high and is_open):
                high, high_open = value, is_open
    if low > high or (low == high and (low_open or high_open)):
        return syntax.NONE
    alias = bounds[0].field.alias
    return syntax.numeric(alias, ctx.params, low=low, high=high, low_open=low_open,
                          high_open=high_open)
