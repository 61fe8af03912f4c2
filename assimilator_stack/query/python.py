"""The Python reading of a specification: does an entity match a filter tree, and in which
order do entities come (docs/queries.md). Used by the in-memory twin, and by the Redis
repository for what RediSearch cannot decide exactly (``CompiledFilter.residual``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..exceptions import InvalidQueryError
from ..fields.schema import FieldSchema, ModelSchema
from ..fields.values import lower, values_at
from .filters import And, Condition, Node, Not, Or, Predicate, TextSearch
from .lookups import keys_of, resolve, value_key

E = TypeVar("E")
Matcher = Callable[[Any], bool]


def matcher(schema: ModelSchema, node: Node | None) -> Matcher:
    """A function ``entity -> bool`` for ``node`` (checked against the schema now, so a bad
    specification fails here, once)."""
    if node is None:
        return _always
    if isinstance(node, Condition):
        resolved = resolve(schema, node)
        field, lookup, arg = resolved.field, resolved.lookup, resolved.arg

        def condition(entity: Any) -> bool:
            return lookup.test(field, keys_of(field, values_at(entity, field)), arg)

        return condition
    if isinstance(node, And):
        parts = [matcher(schema, child) for child in node.children]
        if not parts:
            return _always
        return lambda entity: all(part(entity) for part in parts)
    if isinstance(node, Or):
        parts = [matcher(schema, child) for child in node.children]
        return lambda entity: any(part(entity) for part in parts)
    if isinstance(node, Not):
        inner = matcher(schema, node.child)
        return lambda entity: not inner(entity)
    if isinstance(node, TextSearch):
        from .ranking import expand_search

        return matcher(schema, expand_search(schema, node))
    if isinstance(node, Predicate):
        func = node.func
        return lambda entity: bool(func(entity))
    raise InvalidQueryError(f"not a filter: {node!r}")


def _always(entity: Any) -> bool:
    return True


def matches(schema: ModelSchema, node: Node | None, entity: Any) -> bool:
    """Does ``entity`` match the filter tree ``node`` (None matches everything)?"""
    return matcher(schema, node)(entity)


# -- order ------------------------------------------------------------------------------------


def order_fields(schema: ModelSchema, keys: Sequence[tuple[str, bool]]
                 ) -> list[tuple[FieldSchema, bool]]:
    """Check ``order`` keys (dotted field, descending): known, single-valued, sortable fields
    (the same rule as the Redis repository)."""
    fields: list[tuple[FieldSchema, bool]] = []
    for name, descending in keys:
        field = schema.sort_field(name)
        fields.append((field, descending))
    return fields


def sort_key(field: FieldSchema, entity: Any, descending: bool = False) -> Any:
    """The value ``entity`` sorts by on ``field``; None when it has none (sorted last). A
    list sorts by its smallest value ascending and its largest descending (an empty list has
    none)."""
    values = values_at(entity, field)
    if not values:
        return None
    keys = [value_key(field, v) for v in values]
    if field.lower_copy:
        keys = [lower(k) for k in keys]
    if not field.multi:
        return keys[0]
    return max(keys) if descending else min(keys)


def id_key(entity: Any) -> Any:
    return entity.get("id") if isinstance(entity, dict) else entity.id


def ordered(schema: ModelSchema, entities: Iterable[E], keys: Sequence[tuple[str, bool]]
            ) -> list[E]:
    """``entities`` in the order ``order(*keys)`` means: each key ascending or descending,
    entities without a value for a key after those with one (either direction), then by id
    ascending. Strings by code point (case-insensitive fields by ``str.lower``)."""
    fields = order_fields(schema, keys)
    result = sorted(entities, key=id_key)
    for field, descending in reversed(fields):
        present: list[tuple[Any, E]] = []
        missing: list[E] = []
        for entity in result:
            key = sort_key(field, entity, descending)
            if key is None:
                missing.append(entity)
            else:
                present.append((key, entity))
        present.sort(key=lambda pair: pair[0], reverse=descending)  # stable either way
        result = [entity for _, entity in present] + missing
    return result
