"""The model schema: which field is indexed how, at which JSON path. Derived once per class.

The compiler, the index manager, the codec and the in-memory twin all read it, so a field means
the same thing everywhere. A field is a :class:`FieldSchema` (field.py) holding its kind
(base.py and the kind modules); containers.py walks a model into its fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter

from ..exceptions import InvalidQueryError
from .containers import _strip_annotated, _strip_optional, walk
from .field import INDEX_EXTRAS_KEY, NULLS_ATTRIBUTE, FieldSchema, path_step

__all__ = [
    "INDEX_EXTRAS_KEY",
    "NULLS_ATTRIBUTE",
    "FieldSchema",
    "ModelSchema",
    "_strip_annotated",
    "_strip_optional",
    "field_adapter",
    "model_prefix",
    "path_step",
    "schema_of",
]


@dataclass(frozen=True)
class ModelSchema:
    model: type[BaseModel]
    prefix: str
    id_field: FieldSchema
    fields: dict[str, FieldSchema]  # by dotted name

    @property
    def needs_extras(self) -> bool:
        return any(
            f.stored_as_extra or f.lower_copy or f.optional or f.multi
            for f in self.fields.values()
        )

    def sort_field(self, name: str) -> FieldSchema:
        """The field ``order(name)`` sorts on; refuses unknown, list and unsortable fields,
        naming the sortable ones (the one rule for Redis and the in-memory twin)."""
        model = self.model.__name__
        allowed = ", ".join(sorted(f.name for f in self.fields.values() if f.sortable))
        allowed = allowed or "(none)"
        field = self.fields.get(name.replace("__", "."))
        if field is None:
            raise InvalidQueryError(
                f"order({name!r}): {model} has no indexed field {name!r}; sortable fields: "
                f"{allowed}"
            )
        if not field.kind_obj.sortable:
            raise InvalidQueryError(
                f"order({name!r}): {model}.{field.name} is a {field.describe()} field, which "
                f"has no order; sortable fields: {allowed}"
            )
        if not field.sortable and field.multi and not field.numeric:
            raise InvalidQueryError(
                f"order({name!r}): {model}.{field.name} is a list of {field.kind} that is not "
                "declared sortable (lists of numbers and dates sort by default; declare "
                f"Indexed(sortable=True) on other lists); sortable fields: {allowed}"
            )
        if not field.sortable:
            raise InvalidQueryError(
                f"order({name!r}): {model}.{field.name} is not sortable (declared "
                f"Indexed(sortable=False)); sortable fields: {allowed}"
            )
        return field

    def field(self, name: str) -> FieldSchema:
        """The indexed field called ``name`` (``address.city`` or ``address__city``)."""
        key = name.replace("__", ".")
        found = self.fields.get(key)
        if found is None:
            allowed = ", ".join(sorted(self.fields)) or "(none)"
            raise InvalidQueryError(
                f"{self.model.__name__} has no indexed field {name!r}; indexed fields: {allowed}"
            )
        return found


@cache
def field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    """Validates a value of ``model``'s field ``name`` (its type and constraints)."""
    info = model.model_fields[name]
    annotation: Any = info.annotation
    if info.metadata:
        parts = (annotation, *info.metadata)
        annotation = Annotated[parts]
    return TypeAdapter(annotation)


def model_prefix(model: type[BaseModel]) -> str:
    config = getattr(model, "AssimilatorConfig", None)
    prefix = getattr(config, "key_prefix", None) if config is not None else None
    return prefix or model.__name__


@cache
def schema_of(model: type[BaseModel]) -> ModelSchema:
    """Derive (once per class) the index schema of ``model``."""
    if "id" not in model.model_fields:
        raise TypeError(f"{model.__name__} needs an 'id' field to be stored in Redis")
    fields: dict[str, FieldSchema] = {}
    aliases: dict[str, str] = {}
    for f in walk(model, (), (), frozenset(), False, False, 0):
        if f.alias in aliases:
            raise TypeError(
                f"{model.__name__}: fields {aliases[f.alias]!r} and {f.name!r} "
                f"map to the same index attribute {f.alias!r}; rename one"
            )
        aliases[f.alias] = f.name
        fields[f.name] = f
    id_field = fields.get("id")
    if id_field is None or id_field.multi:
        raise TypeError(f"{model.__name__}.id must be a str, int or UUID")
    return ModelSchema(model=model, prefix=model_prefix(model), id_field=id_field, fields=fields)
