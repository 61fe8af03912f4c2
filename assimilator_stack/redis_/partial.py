"""``only(...)``: which JSON paths to read, and the read-only partial entities built from them.

``only("name", "address.city")`` reads ``JSON.GET key $.id $.name $.address.city`` (exact JSON,
not the rounded values RETURN gives) and builds an instance of a per-model subclass flagged
read-only: the repository refuses to save it (ReadOnlyEntityError), and reading a field that
was not loaded raises AttributeError saying so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..exceptions import InvalidDocumentError, InvalidQueryError, ReadOnlyEntityError
from ..model import WRITE_OPTIONS, RedisModel
from ..schema import field_adapter, model_prefix, path_step

READ_ONLY_FLAG = "__assimilator_read_only__"


def is_read_only(obj: Any) -> bool:
    return bool(getattr(type(obj), READ_ONLY_FLAG, False))


def refuse_read_only(obj: Any, action: str) -> None:
    if is_read_only(obj):
        base = type(obj).__mro__[1].__name__
        raise ReadOnlyEntityError(
            f"cannot {action} this {base}: it was loaded with only(...) and holds only some of "
            "its fields, so writing it would lose the others. Load it without only() (or "
            "repository.get(filter_(id=...))) to change it"
        )


def _not_loaded(self: BaseModel, name: str) -> Any:
    cls = type(self)
    if name in cls.model_fields:
        raise AttributeError(
            f"{cls.__mro__[1].__name__}.{name} was not loaded: this entity was read with "
            "only(...) and holds only the fields named there (and the id)"
        )
    fallback = BaseModel.__dict__.get("__getattr__")  # pydantic's: private attributes, extras
    if fallback is None:
        raise AttributeError(name)
    return fallback(self, name)


@cache
def partial_class(model: type[BaseModel]) -> type[BaseModel]:
    """The read-only subclass of ``model`` that only() entities are instances of."""
    namespace: dict[str, Any] = {
        "__module__": model.__module__,
        "__qualname__": f"{model.__qualname__}Partial",
        "model_config": ConfigDict(validate_assignment=False),
        READ_ONLY_FLAG: True,
        "__getattr__": _not_loaded,
    }
    return type(f"{model.__name__}Partial", (model,), namespace)


def _json_key(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    return info.serialization_alias or info.alias or name





def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``Model`` or ``Model | None``), else None."""
    from ..schema import _strip_annotated, _strip_optional  # the schema's own reading of types

    inner, _ = _strip_optional(_strip_annotated(annotation))
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner
    return None


@dataclass(frozen=True)
class _Node:
    """A field to load: whole (``children`` empty) or only some of its nested fields."""

    model: type[BaseModel]
    name: str
    path: str
    children: tuple[_Node, ...] = ()


def _select(model: type[BaseModel], names: list[tuple[str, ...]], prefix: str,
            shown: str) -> tuple[_Node, ...]:
    skip = WRITE_OPTIONS if issubclass(model, RedisModel) else ()
    fields = [n for n, info in model.model_fields.items() if n not in skip and not info.exclude]
    groups: dict[str, list[tuple[str, ...]]] = {}
    for parts in names:
        head = parts[0]
        if head not in fields:
            raise InvalidQueryError(
                f"only({shown + head!r}): {model.__name__} has no stored field {head!r}; "
                f"fields: {', '.join(fields)}"
            )
        groups.setdefault(head, []).append(parts[1:])
    nodes: list[_Node] = []
    for head, rests in groups.items():
        path = prefix + path_step(_json_key(model, head))
        if any(not rest for rest in rests):  # the whole field
            nodes.append(_Node(model, head, path))
            continue
        nested = _nested_model(model.model_fields[head].annotation)
        if nested is None:
            raise InvalidQueryError(
                f"only({shown + head + '.' + '.'.join(rests[0])!r}): {model.__name__}.{head} "
                "is not a nested model (or is a list of them); select it whole"
            )
        children = _select(nested, [tuple(r) for r in rests], path, f"{shown}{head}.")
        nodes.append(_Node(model, head, path, children))
    return tuple(nodes)


class Projection:
    """What ``only(*fields)`` of ``model`` reads, and how it builds partial entities."""

    def __init__(self, model: type[BaseModel], fields: tuple[str, ...]) -> None:
        self.model = model
        names = [tuple(f.replace("__", ".").split(".")) for f in (*fields, "id")]
        self.nodes = _select(model, names, "$", "")
        self.paths: tuple[str, ...] = tuple(dict.fromkeys(self._leaf_paths(self.nodes)))
        self._key_start = f"{model_prefix(model)}:"
        self._id = field_adapter(model, "id")

    def _leaf_paths(self, nodes: tuple[_Node, ...]) -> list[str]:
        out: list[str] = []
        for node in nodes:
            out += self._leaf_paths(node.children) if node.children else [node.path]
        return out

    def command(self, key: str) -> tuple[str, ...]:
        return ("JSON.GET", key, *self.paths)

    def build(self, key: str, reply: Any) -> BaseModel | None:
        """The partial entity from ``JSON.GET key <paths>`` (None when the key is gone)."""
        if reply is None:
            return None
        data = json.loads(reply)
        by_path: dict[str, Any] = data if len(self.paths) > 1 else {self.paths[0]: data}
        try:
            entity = self._build(self.model, self.nodes, by_path)
            # The key is the identity (as Codec.load): the id is the key's, whatever the
            # document holds (or lacks).
            key_id = self._id.validate_python(key[len(self._key_start):])
        except ValidationError as exc:
            raise InvalidDocumentError(key, str(exc)) from exc
        if f"{self._key_start}{key_id}" != key:
            raise InvalidDocumentError(key, f"the id in the key reads as {key_id!r}, whose key "
                                       f"is {self._key_start}{key_id}", ("id",))
        entity.__dict__["id"] = key_id
        entity.__pydantic_fields_set__.add("id")
        return entity

    def _build(self, model: type[BaseModel], nodes: tuple[_Node, ...],
               by_path: dict[str, Any]) -> BaseModel:
        values: dict[str, Any] = {}
        for node in nodes:
            if node.children:
                if all(not by_path.get(p) for p in self._leaf_paths(node.children)):
                    values[node.name] = None  # the nested object is None or absent
                    continue
                nested = _nested_model(model.model_fields[node.name].annotation)
                assert nested is not None
                values[node.name] = self._build(nested, node.children, by_path)
                continue
            found = by_path.get(node.path) or []
            if found:
                values[node.name] = field_adapter(model, node.name).validate_python(found[0])
        return _instance(partial_class(model), values)


def _instance(cls: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    """An instance holding exactly ``values`` (no defaults for what was not loaded)."""
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


@cache
def projection(model: type[BaseModel], fields: tuple[str, ...]) -> Projection:
    """The (cached) projection of ``only(*fields)``; InvalidQueryError for a bad field."""
    return Projection(model, fields)


def project(entity: BaseModel, fields: tuple[str, ...]) -> BaseModel:
    """The partial view of a whole entity (when it had to be loaded whole anyway)."""
    model: type[BaseModel] = type(entity)
    return _project(entity, projection(model, fields).nodes)


def _project(entity: Any, nodes: tuple[_Node, ...]) -> BaseModel:
    values: dict[str, Any] = {}
    for node in nodes:
        value = getattr(entity, node.name, None)
        if node.children and value is not None:
            value = _project(value, node.children)
        values[node.name] = value
    model: type[BaseModel] = type(entity)
    return _instance(partial_class(model), values)
