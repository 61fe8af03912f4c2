"""Entity <-> RedisJSON document.

The document is pydantic's JSON of the entity (by alias, write options excluded). When the
schema needs it, one more top-level key ``__idx`` holds values derived for the index: dates as
exact integers, lower-cased copies of strings, and the names of fields that hold no value.
"""

from __future__ import annotations

import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from .exceptions import InvalidDocumentError
from .schema import INDEX_EXTRAS_KEY, NULLS_ATTRIBUTE, ModelSchema
from .values import index_value, lower, values_at

M = TypeVar("M", bound=BaseModel)


class Codec(Generic[M]):
    def __init__(self, schema: ModelSchema) -> None:
        self.schema = schema
        self.model: type[M] = schema.model  # type: ignore[assignment]
        self._extras = schema.needs_extras
        # Models that keep unknown keys would keep __idx too: strip it before validating.
        self._strip = schema.model.model_config.get("extra") in ("allow", "forbid")

    def dump(self, entity: M) -> str:
        body = entity.model_dump_json(by_alias=True)
        if not self._extras:
            return body
        extras = json.dumps(self.extras(entity), ensure_ascii=False, separators=(",", ":"))
        sep = "" if body == "{}" else ","
        return f'{body[:-1]}{sep}"{INDEX_EXTRAS_KEY}":{extras}}}'

    def extras(self, entity: M) -> dict[str, Any]:
        out: dict[str, Any] = {}
        nulls: list[str] = []
        for field in self.schema.fields.values():
            values = values_at(entity, field)
            if (field.optional or field.multi) and not values:
                nulls.append(field.alias)
            if field.stored_as_extra:
                converted = [index_value(field, v) for v in values]
                if converted:
                    out[field.alias] = converted if field.multi else converted[0]
            if field.stringy:
                lowered = [lower(v) for v in values]
                if lowered:
                    out[field.lower_alias] = lowered if field.multi else lowered[0]
        out[NULLS_ATTRIBUTE] = nulls
        return out

    def load(self, key: str, raw: str | bytes) -> M:
        try:
            if self._strip:
                data = json.loads(raw)
                if isinstance(data, dict):
                    data.pop(INDEX_EXTRAS_KEY, None)
                return self.model.model_validate(data)
            return self.model.model_validate_json(raw)
        except ValidationError as exc:
            fields = tuple(
                ".".join(str(p) for p in err["loc"]) or "(document)" for err in exc.errors()
            )
            raise InvalidDocumentError(key, str(exc), fields) from exc
        except ValueError as exc:  # not JSON at all
            raise InvalidDocumentError(key, f"not a JSON document: {exc}") from exc
