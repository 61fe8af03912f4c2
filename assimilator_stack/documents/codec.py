"""Entity <-> RedisJSON document.

The document is pydantic's JSON of the entity (by alias, write options excluded). When the
schema needs it, one more top-level key ``__idx`` holds values derived for the index: dates as
exact integers, lower-cased copies of case-insensitive fields, and the names of fields that hold
no value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_json

from ..exceptions import InvalidDocumentError, InvalidEntityError
from ..fields import binary
from ..fields.schema import INDEX_EXTRAS_KEY, NULLS_ATTRIBUTE, FieldSchema, ModelSchema
from ..fields.values import extremes, index_value, split_key, values_at
from .keys import KeyScheme

M = TypeVar("M", bound=BaseModel)


class Codec(Generic[M]):
    def __init__(self, schema: ModelSchema) -> None:
        self.schema = schema
        self.model: type[M] = schema.model  # type: ignore[assignment]
        self._extras = schema.needs_extras
        # Every entity read is checked to have its key's id (the key is the identity).
        self._key_start = f"{schema.prefix}:"
        self.keys = KeyScheme(schema.model, schema.prefix)
        # with a hash tag the key is more than prefix and id (documents/keys.py)
        self._key_of = None if self.keys.tag is None else self.keys.of_entity
        id_info = schema.model.model_fields["id"]
        self._id_key = id_info.alias or "id"
        # Models that keep unknown keys would keep __idx too: strip it before validating.
        self._strip = schema.model.model_config.get("extra") in ("allow", "forbid")
        # bytes fields are stored as base64 text (binary.py); other models take the fast path.
        self._binary = binary.encoder(schema.model) is not None
        # Only fields that feed __idx, with their settings read once (this runs per save).
        self._derived = [
            (
                _reader(field),
                field,
                field.alias,
                field.optional or field.multi,  # may be listed in __nulls
                field.stored_as_extra,
                field.lower_alias if field.lower_copy else None,
                field.multi,
                field.residual_alias if field.has_residual else None,
                (field.sort_alias(False), field.sort_alias(True)) if field.extremes else None,
            )
            for field in schema.fields.values()
            if field.optional or field.multi or field.stored_as_extra or field.lower_copy
        ]

    def dump(self, entity: M) -> str:
        try:
            if self._binary:
                body = binary.dump_json(self.model, entity)
            else:  # model_dump_json(by_alias=True) without its Python wrapper (per save)
                body = entity.__pydantic_serializer__.to_json(entity, by_alias=True).decode()
        except (PydanticSerializationError, ValueError, TypeError) as exc:
            raise InvalidEntityError(
                f"{self.model.__name__} {getattr(entity, 'id', '')!r} cannot be stored as "
                f"JSON: {exc}"
            ) from exc
        if not self._extras:
            return body
        extras = to_json(self.extras(entity)).decode()
        sep = "" if body == "{}" else ","
        return f'{body[:-1]}{sep}"{INDEX_EXTRAS_KEY}":{extras}}}'

    def extras(self, entity: M) -> dict[str, Any]:
        out: dict[str, Any] = {}
        nulls: list[str] = []
        for (read, field, alias, nullable, derived, lower_alias, multi, residual,
             ends) in self._derived:
            values = read(entity)
            if not values:
                if nullable:
                    nulls.append(alias)
                continue
            if derived:
                converted = [index_value(field, v) for v in values]
                out[alias] = converted if multi else converted[0]
                if residual is not None:
                    out[residual] = split_key(converted[0])[1]
            if lower_alias is not None:
                # str.lower: the folding of values.lower, inlined (this runs per save)
                out[lower_alias] = [v.lower() for v in values] if multi else values[0].lower()
            if ends is not None:  # a sortable list: its smallest and largest value
                out[ends[0]], out[ends[1]] = extremes(field, values)
        out[NULLS_ATTRIBUTE] = nulls
        return out

    def load(self, key: str, raw: str | bytes) -> M:
        """The entity stored at ``key``. The key is its identity: a document without an id
        (written by another program) or with another one gets the key's id."""
        try:
            if self._binary:
                data = binary.load_data(self.model, raw)
                if isinstance(data, dict):
                    data.pop(INDEX_EXTRAS_KEY, None)
                entity = self.model.model_validate(data)
            elif self._strip:
                data = json.loads(raw)
                if isinstance(data, dict):
                    data.pop(INDEX_EXTRAS_KEY, None)
                entity = self.model.model_validate(data)
            else:
                # model_validate_json without its Python wrapper (a fifth of the time of a
                # small document): the same validator, with the same (default) options.
                entity = self.model.__pydantic_validator__.validate_json(raw)
        except ValidationError as exc:
            if not any(err["loc"][:1] == (self._id_key,) for err in exc.errors()):
                raise _invalid(key, exc) from exc
            return self._load_with_key_id(key, raw)  # the document's id is missing or wrong
        except ValueError as exc:  # not JSON at all (or a bytes field that is not base64)
            raise InvalidDocumentError(key, f"not a JSON document: {exc}") from exc
        if self._key_of is not None:
            if self._key_of(entity) != key:
                return self._load_with_key_id(key, raw)
        elif f"{self._key_start}{entity.id}" != key:  # type: ignore[attr-defined]
            return self._load_with_key_id(key, raw)
        return entity

    def load_all(self, pairs: Iterable[tuple[str, str | bytes]]) -> list[M]:
        """``[load(key, raw) for key, raw in pairs]``, its common case inlined (this runs per
        row of every page): a document that validates and holds its key's id."""
        if self._binary or self._strip or self._key_of is not None:
            return [self.load(key, raw) for key, raw in pairs]
        validate = self.model.__pydantic_validator__.validate_json
        start = self._key_start
        out: list[M] = []
        for key, raw in pairs:
            try:
                entity = validate(raw)
            except ValueError:  # ValidationError included: load says what is wrong
                entity = self.load(key, raw)
            else:
                if f"{start}{entity.id}" != key:
                    entity = self._load_with_key_id(key, raw)
            out.append(entity)
        return out

    def _load_with_key_id(self, key: str, raw: str | bytes) -> M:
        key_id = self.keys.id_in(key)
        try:
            data = binary.load_data(self.model, raw) if self._binary else json.loads(raw)
        except ValueError as exc:
            raise InvalidDocumentError(key, f"not a JSON document: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidDocumentError(key, f"not a JSON object: {raw!r}")
        data.pop(INDEX_EXTRAS_KEY, None)
        data[self._id_key] = key_id
        try:
            entity = self.model.model_validate(data)
        except ValidationError as exc:
            raise _invalid(key, exc) from exc
        read_id: Any = entity.id  # type: ignore[attr-defined]
        its_key = self.keys.of_entity(entity)
        if its_key != key:  # e.g. "007" for an int id
            raise InvalidDocumentError(
                key, f"the id in the key, {key_id!r}, reads as {read_id!r}, whose key is "
                f"{its_key!r}: an entity read from it could not "
                "be saved, refreshed or deleted at its key", ("id",))
        return entity


def _invalid(key: str, exc: ValidationError) -> InvalidDocumentError:
    fields = tuple(".".join(str(p) for p in err["loc"]) or "(document)" for err in exc.errors())
    return InvalidDocumentError(key, str(exc), fields)


def _reader(field: FieldSchema) -> Callable[[Any], list[Any]]:
    """``values_at`` for one field, specialised for the common top-level shapes."""
    if len(field.parts) == 1:
        name = field.parts[0]
        if not field.multi:
            return lambda entity: [] if (v := getattr(entity, name)) is None else [v]
        return lambda entity: [x for x in (getattr(entity, name) or ()) if x is not None]
    return lambda entity: values_at(entity, field)
