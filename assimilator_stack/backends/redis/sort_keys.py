"""Sort keys: what ``SORTBY`` sorts a query's rows on, and where each exact value is.

Every sorted read orders by the user's order keys, then by the id (so the order is total);
the commands are built in commands.py, keyset paging past the server's limits in keyset.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...fields.schema import INDEX_EXTRAS_KEY, FieldSchema, ModelSchema

Value = str | float | None  # a sort value: a string, a number, or None (no value)


Anchor = tuple[Value, ...]


@dataclass(frozen=True)
class SortKey:
    """One ``SORTBY`` key: the attribute the server sorts on and where its exact value is."""

    name: str  # the field as the user named it (dotted)
    attribute: str
    desc: bool
    numeric: bool
    boolean: bool
    path: str  # JSONPath of the exact sort value in the document
    in_index: bool = True  # SORTABLE: the value is in the index (else read from the document)


def _sort_key(field: FieldSchema, desc: bool) -> SortKey:
    if field.multi:  # a list: its smallest (ascending) or largest (descending) value
        alias = field.sort_alias(desc)
        return SortKey(field.name, alias, desc, field.numeric, field.kind_obj.boolean,
                       f"$.{INDEX_EXTRAS_KEY}.{alias}")
    if field.stored_as_extra:  # dates: exact integers under __idx
        return SortKey(field.name, field.alias, desc, True, False,
                       f"$.{INDEX_EXTRAS_KEY}.{field.alias}", field.sort_vector)
    if field.stringy and not field.case_sensitive:  # sorts by its lower-cased copy
        return SortKey(field.name, field.lower_alias, desc, False, False,
                       f"$.{INDEX_EXTRAS_KEY}.{field.lower_alias}", field.sort_vector)
    return SortKey(field.name, field.sort_alias(desc), desc, field.numeric,
                   field.kind_obj.boolean, field.json_path, field.sort_vector)


def sort_keys(schema: ModelSchema, order: Sequence[tuple[str, bool]]) -> tuple[SortKey, ...]:
    """The SORTBY keys of ``order`` (dotted name, descending), then the id ascending, so that
    the order is total. Unknown, multi-valued and unsortable fields are refused here."""
    keys: list[SortKey] = []
    seen: set[str] = set()
    for name, desc in order:
        field = schema.sort_field(name)
        if field.name in seen:  # a repeated key changes nothing
            continue
        seen.add(field.name)
        keys.append(_sort_key(field, desc))
        if field.has_residual:  # then what its double lost: exact order past 2**53 µs
            keys.append(SortKey(field.name, field.residual_alias, desc, True, False,
                                f"$.{INDEX_EXTRAS_KEY}.{field.residual_alias}"))
        if field is schema.id_field:  # ids are unique: later keys can never matter
            return tuple(keys)
    keys.append(_sort_key(schema.id_field, False))
    return tuple(keys)
