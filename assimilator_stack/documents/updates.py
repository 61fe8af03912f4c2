"""``update(*specs, **values)`` as per-key write steps (pure: no I/O; documents/writes.py).

Each value is validated against its field's type first (a TypeAdapter of the annotation with
its constraints), serialised as the model would serialise it, and written with one
``SetPath`` at ``$.<field>``; the index companions under ``__idx`` follow in the same commit:
date numbers, lower-cased copies (``<alias>__lc``) and membership of ``__idx.__nulls`` (a
JSONPath filter delete, then an append when the field has no value).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from ..exceptions import InvalidEntityError, InvalidQueryError, UnstorableValueError
from ..fields import binary
from ..fields.schema import (
    INDEX_EXTRAS_KEY,
    NULLS_ATTRIBUTE,
    ModelSchema,
    field_adapter,
    path_step,
)
from ..fields.values import extremes, index_value, lower, split_key, values_at
from ..model import WRITE_OPTIONS, RedisModel
from .storable import check_value
from .writes import AppendPath, DeletePath, SetPath, WriteOp

PathStep = SetPath | DeletePath | AppendPath


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Update:
    """The steps of one update, the same for every entity it changes."""

    steps: tuple[PathStep, ...]  # applied to every key in order

    def op(self, key: str) -> WriteOp:
        return WriteOp(key=key, steps=self.steps)


def updatable_fields(model: type[BaseModel]) -> list[str]:
    skip = WRITE_OPTIONS if issubclass(model, RedisModel) else ()
    return [n for n, info in model.model_fields.items()
            if n not in skip and n != "id" and not info.exclude]


def build_update(schema: ModelSchema, values: Mapping[str, Any]) -> Update:
    """Validate ``values`` (field name -> new value) and plan the writes; InvalidQueryError
    names the field and what is allowed."""
    model = schema.model
    name_of = model.__name__
    if not values:
        raise InvalidQueryError(
            f"update(*specs, **values) of {name_of} needs at least one field=value"
        )
    allowed = updatable_fields(model)
    steps: list[PathStep] = []
    extras: list[PathStep] = []
    for name, raw in values.items():
        if name == "id":
            raise InvalidQueryError(
                f"update(): the id of a {name_of} cannot be changed (it is its key); save a "
                "new entity and delete the old one"
            )
        if name not in allowed:
            what = "a write option, not a stored field" if name in WRITE_OPTIONS else \
                "not a stored field"
            raise InvalidQueryError(
                f"update(): {name!r} is {what} of {name_of}; fields that can be updated: "
                f"{', '.join(allowed) or '(none)'} (nested fields: update the whole top-level "
                "field)"
            )
        try:
            value = field_adapter(model, name).validate_python(raw)
        except ValidationError as exc:
            raise InvalidEntityError(
                f"update(): {raw!r} is not a valid value for {name_of}.{name}: {exc}"
            ) from exc
        # What RedisJSON would refuse inside EXEC is refused before anything is sent.
        check_value(value, f"{schema.prefix}:*", name)
        # Serialise as the model does (field serializers, aliases, JSON modes; bytes as base64)
        try:
            dumped = json.loads(binary.dump_json(
                model, model.model_construct(**{name: value}), include={name}))
        except (PydanticSerializationError, ValueError, TypeError) as exc:
            raise UnstorableValueError(
                f"{schema.prefix}:*", name, f"{raw!r} cannot be stored as JSON: {exc}"
            ) from exc
        (json_key, json_value), = dumped.items()
        steps.append(SetPath("$" + path_step(json_key), _dumps(json_value)))
        if schema.needs_extras:
            extras += _extras_steps(schema, name, value)
    return Update(tuple(steps + extras))


def _extras_steps(schema: ModelSchema, name: str, value: Any) -> list[PathStep]:
    """Keep ``__idx`` right for every indexed field under the top-level field ``name``."""
    steps: list[PathStep] = []
    root = {name: value}
    base = f"$.{INDEX_EXTRAS_KEY}"
    for field in schema.fields.values():
        if field.parts[0] != name:
            continue
        found = values_at(root, field)
        if field.stored_as_extra:
            converted = [index_value(field, v) for v in found]
            steps.append(_set_or_delete(f"{base}.{field.alias}", converted, field.multi))
            if field.has_residual:
                residual = [split_key(k)[1] for k in converted]
                steps.append(_set_or_delete(f"{base}.{field.residual_alias}", residual, False))
        if field.lower_copy:
            lowered = [lower(v) for v in found]
            steps.append(_set_or_delete(f"{base}.{field.lower_alias}", lowered, field.multi))
        if field.extremes:
            ends = list(extremes(field, found)) if found else []
            for alias, end in zip((field.sort_alias(False), field.sort_alias(True)), (0, 1)):
                steps.append(_set_or_delete(f"{base}.{alias}", ends[end:end + 1], False))
        if field.optional or field.multi:
            nulls = f"{base}.{NULLS_ATTRIBUTE}"
            steps.append(DeletePath(f'{nulls}[?(@=="{field.alias}")]'))
            if not found:
                steps.append(AppendPath(nulls, _dumps(field.alias)))
    return steps


def _set_or_delete(path: str, values: list[Any], multi: bool) -> PathStep:
    if not values:
        return DeletePath(path)
    return SetPath(path, _dumps(values if multi else values[0]))


# -- keywords of save(**fields) and update(entity, **values) ---------------------------------

def _field_named(model: type[BaseModel], name: str) -> str | None:
    """The field ``name`` designates (by name or by alias), or None."""
    if name in model.model_fields:
        return name
    for field_name, info in model.model_fields.items():
        if name in (info.alias, info.validation_alias):
            return field_name
    return None


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model class of a field holding one nested model (``X`` or ``X | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _nested_model(members[0])
    return None


def _refuse(model: type[BaseModel], keyword: str, why: str) -> InvalidQueryError:
    names = [n for n in model.model_fields if n not in WRITE_OPTIONS]
    return InvalidQueryError(
        f"{model.__name__}: keyword {keyword!r} {why}; its fields: {', '.join(names)}"
    )


def apply_keywords(model: type[BaseModel], data: dict[str, Any], fields: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """``data`` (an entity as field -> value) with the keywords of save()/update(entity)
    applied: a field by name or alias, or ``a__b`` for field ``b`` of the nested model in field
    ``a`` (which must hold one). Anything else is refused, never dropped (a model with
    ``extra="allow"`` keeps unknown top-level names, as pydantic does)."""
    out = dict(data)
    nested: list[tuple[str, Any]] = []
    for keyword, value in fields.items():
        if _field_named(model, keyword) is not None or keyword in WRITE_OPTIONS:
            out[keyword] = value
        elif "__" in keyword and _field_named(model, keyword.split("__", 1)[0]) is not None:
            nested.append((keyword, value))  # after the whole fields they may refer to
        elif model.model_config.get("extra") == "allow":
            out[keyword] = value
        else:
            raise _refuse(model, keyword, "is not a field")
    for keyword, value in nested:
        _set_nested(model, out, keyword, keyword.split("__"), value)
    return out


def _set_nested(model: type[BaseModel], container: dict[str, Any], keyword: str,
                parts: list[str], value: Any) -> None:
    name = _field_named(model, parts[0])
    if name is None:
        raise _refuse(model, keyword, f"names {parts[0]!r}, not a field of {model.__name__}")
    info = model.model_fields[name]
    slot = name if name in container or info.alias not in container else info.alias
    if len(parts) == 1:
        container[slot] = value
        return
    inner_model = _nested_model(info.annotation)
    if inner_model is None:
        raise _refuse(model, keyword, f"goes inside {name!r}, which does not hold one nested "
                      "model (set the whole field)")
    current = container.get(slot)
    if not isinstance(current, (BaseModel, dict)):
        raise _refuse(model, keyword, f"goes inside {name!r}, which holds no model "
                      f"({current!r}; set the whole field)")
    inner = dict(current)
    _set_nested(inner_model, inner, keyword, parts[1:], value)
    container[slot] = inner
