"""The entities of one model as documents: keys, validation and write ops (pure: no I/O).

What both backends share: the Redis plans (backends/redis/) and the in-memory twin
(backends/memory/) build, key and write entities the same way through this class.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from ..core.specs import Query
from ..exceptions import InvalidEntityError, InvalidQueryError, UnstorableValueError
from ..fields.schema import schema_of
from ..model import WRITE_OPTIONS
from ..query.filters import Condition
from .codec import Codec
from .keys import KeyScheme, claim_prefix
from .projections import refuse_read_only
from .storable import check_entity, unencodable_field
from .updates import apply_keywords
from .writes import DeleteKey, Expire, SetDocument, Step, WriteOp

M = TypeVar("M", bound=BaseModel)


class ModelDocuments(Generic[M]):
    """Keys, validation and write ops of the entities of ``model``."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.schema = schema_of(model)
        claim_prefix(self.schema.prefix, model)
        self.key_prefix = f"{self.schema.prefix}:"
        self.codec: Codec[M] = Codec(self.schema)
        self.keys: KeyScheme = self.codec.keys  # documents/keys.py (hash tags)
        self._option_fields = tuple(n for n in WRITE_OPTIONS if n in model.model_fields)
        self._validates_assignment = bool(model.model_config.get("validate_assignment"))

    # -- keys -------------------------------------------------------------------------------

    def key(self, entity_id: Any) -> str:
        """The key of the entity with this id (a model whose keys hold a hash tag taken from
        another field has no such key: its id_keys are None, so this is never asked)."""
        key = self.keys.of_id(entity_id)
        if key is None:
            raise InvalidQueryError(
                f"{self.model.__name__}: its keys hold a hash tag from another field, so an "
                "id alone does not give one")
        return key

    def key_of_entity(self, obj: Any) -> str:
        return self.keys.of_entity(obj)

    def id_keys(self, query: Query) -> list[str] | None:
        """Keys when the query is a plain lookup by id (read by key, nothing to search);
        None also when the id alone does not give the key (a hash tag from another field)."""
        node = query.filter
        if not self.keys.by_id or not isinstance(node, Condition) or node.field != "id" \
                or query.order or query.knn is not None or query.distance is not None:
            return None
        # None is "no value" (docs/queries.md), and every entity has an id: it matches nothing
        # (it must not become the key "prefix:None").
        if node.lookup == "eq":
            return [] if node.value is None else [self.key(node.value)]
        if node.lookup == "in":
            values = node.value
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise InvalidQueryError(f"id__in takes a collection of ids, got {values!r}")
            return list(dict.fromkeys(self.key(v) for v in values if v is not None))
        return None

    # -- entities ---------------------------------------------------------------------------

    def build(self, obj: Any = None, fields: dict[str, Any] | None = None
              ) -> tuple[M, dict[str, Any]]:
        """Validate ``obj`` and/or ``fields`` into an entity; return it with its write options."""
        refuse_read_only(obj, "save")
        if not fields and type(obj) is self.model and self._validates_assignment:
            # The common save(entity): valid as it stands (assignments were validated).
            return obj, {name: getattr(obj, name) for name in self._option_fields}
        fields = dict(fields or {})
        options = {name: fields.pop(name) for name in WRITE_OPTIONS
                   if name in fields and name not in self.model.model_fields}
        try:
            if obj is None:
                entity = self.model.model_validate(apply_keywords(self.model, {}, fields))
            elif isinstance(obj, self.model) and not fields:
                # A plain BaseModel does not validate assignment: it may hold a wrong value
                # set since it was made, so it is validated again before it is stored.
                validated = obj.model_config.get("validate_assignment")
                entity = obj if validated else self.model.model_validate(dict(obj))
            else:
                data = dict(obj) if isinstance(obj, (BaseModel, dict)) else obj
                if fields:
                    data = apply_keywords(self.model, data, fields)
                entity = self.model.model_validate(data)
        except ValidationError as exc:
            raise InvalidEntityError(f"{self.model.__name__} is not valid: {exc}") from exc
        for name in WRITE_OPTIONS:
            if name not in options and name in self.model.model_fields:
                options[name] = getattr(entity, name)
        return entity, options

    def same(self, a: M, b: M) -> bool:
        return a.model_dump(by_alias=True) == b.model_dump(by_alias=True)

    # -- write ops --------------------------------------------------------------------------

    def save_op(self, entity: M, options: dict[str, Any], force_update: bool = False) -> WriteOp:
        key = self.key_of_entity(entity)
        if "\x00" in key:
            # RediSearch reads a document by its key as a C string: it cannot load such a key
            # and treats it as expired, so the entity would be missing from every query.
            raise InvalidQueryError(
                f"{self.model.__name__}: the id {key[len(self.key_prefix):]!r} holds a "
                "NUL character; RediSearch cannot read such a key, so the entity would be "
                "missing from filter, count and stream. Use an id without NUL"
            )
        condition: Literal["nx", "xx"] | None = None
        if force_update or options.get("only_update"):
            condition = "xx"
        elif options.get("only_create"):
            condition = "nx"
        # Whatever RedisJSON would refuse inside EXEC is refused here, before anything is sent
        # (Redis does not roll back the rest of a commit).
        check_entity(entity, key)
        try:
            body = self.codec.dump(entity)
        except InvalidEntityError as exc:  # pydantic could not serialise it (codec.dump)
            cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
            raise UnstorableValueError(key, unencodable_field(entity), str(cause)) from cause
        steps: list[Step] = [SetDocument(body)]
        # TTL as with Redis SET: a new TTL, or keep the old one, or clear it (the document's
        # write keeps it).
        if options.get("expire_in") is not None:
            steps.append(Expire(int(options["expire_in"])))
        elif options.get("expire_in_px") is not None:
            steps.append(Expire(int(options["expire_in_px"]), "ms"))
        elif not options.get("keep_ttl") and condition != "nx":
            return WriteOp(key=key, steps=tuple(steps), condition=condition, persist=True)
        return WriteOp(key=key, steps=tuple(steps), condition=condition)

    def delete_op(self, obj: Any) -> WriteOp:
        key = obj if isinstance(obj, str) and obj.startswith(self.key_prefix) \
            else self.key_of_entity(obj)
        return WriteOp(key=key, steps=(DeleteKey(),))
