"""Filter tree -> RediSearch query (DIALECT 2) with PARAMS. Pure: no I/O.

Each condition is compiled by its lookup (assimilator_stack.lookups). A condition RediSearch
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

from ..core.filters import And, Condition, Node, Not, Or, Predicate, TextSearch
from ..exceptions import InvalidQueryError
from ..internal.evaluate import matcher
from ..lookups import CompileContext, Resolved, keys_of, resolve
from ..schema import ModelSchema
from ..values import values_at
from . import syntax
from .syntax import ALL, Frag, Params

Residual = Callable[[Any], bool]

# RediSearch's parser overflows past ~125 nested groups; deeper parts are checked in Python.
MAX_DEPTH = 60


def _always(entity: Any) -> bool:
    return True


@dataclass(frozen=True)
class CompiledFilter:
    """``query`` (with ``$pN`` placeholders for ``params``) selects the matches, or when not
    ``exact`` a superset of them that ``residual(entity)`` narrows down."""

    query: str
    params: dict[str, str] = field(default_factory=dict)
    exact: bool = True
    residual: Residual = _always
    matches_nothing: bool = False

    def params_args(self) -> tuple[str, ...]:
        """``("PARAMS", n, name, value, ...)`` for FT.SEARCH / FT.AGGREGATE (empty if none)."""
        if not self.params:
            return ()
        flat: list[str] = []
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
        compiled = resolved.lookup.compile(resolved.field, resolved.arg, ctx)
        if compiled.exact:
            return compiled.frag, None
        f, lookup, arg = resolved.field, resolved.lookup, compiled.residual
        def check(entity: Any) -> bool:
            return lookup.test(f, keys_of(f, values_at(entity, f)), arg)

        return compiled.frag, check
    if isinstance(node, Predicate):  # the user's own Python test
        return ALL, matcher(schema, node)
    if isinstance(node, TextSearch):
        from ..ranking import expand_search

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
            if resolved.field.numeric and not resolved.field.multi \
                    and resolved.lookup.name in _RANGES:
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
