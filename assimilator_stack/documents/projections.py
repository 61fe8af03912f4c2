"""``only(...)``: which JSON paths to read, and the partial entities built from them.

``only("name", "address.city")`` reads ``JSON.GET key $.id $.name $.address.city`` (exact JSON,
not the rounded values RETURN gives) and builds an instance of a per-model subclass flagged
partial. Like a deferred load (Django's ``only``, SQLAlchemy's ``load_only``): ``save`` /
``update`` of a partial entity first read what was left out (its loaded values, changed or not,
stay), and with a sync repository reading a field that was not loaded loads the rest then; an
async repository cannot (attribute access cannot await) and raises AttributeError saying so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..exceptions import (
    ConcurrencyError,
    InvalidDocumentError,
    InvalidEntityError,
    InvalidQueryError,
    ReadOnlyEntityError,
)
from ..fields.binary import field_decoder
from ..fields.schema import field_adapter, model_prefix, path_step
from ..model import WRITE_OPTIONS, RedisModel

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


_LOADER = "__assimilator_load_rest__"


def _not_loaded(self: BaseModel, name: str) -> Any:
    cls = type(self)
    if name in cls.model_fields:
        private = object.__getattribute__(self, "__pydantic_private__") or {}
        load_rest = private.get(_LOADER)
        if load_rest is not None:  # a sync repository's entity: load the rest now (deferred)
            load_rest()
            return getattr(self, name)
        raise AttributeError(
            f"{cls.__mro__[1].__name__}.{name} was not loaded: this entity was read with "
            "only(...) and holds only the fields named there (and the id). An async "
            "repository cannot load the rest on attribute access: await "
            "repository.refresh(entity) first (save/update load the rest themselves)"
        )
    fallback = BaseModel.__dict__.get("__getattr__")  # pydantic's: private attributes, extras
    if fallback is None:
        raise AttributeError(name)
    return fallback(self, name)


def defer_loading(entity: Any, load_rest: Callable[[], None]) -> None:
    """Let a partial entity (and the partial models inside it) load what only() left out
    on first access of such a field: ``load_rest()`` completes the entity in place."""
    if isinstance(entity, (list, tuple)):
        for element in entity:
            defer_loading(element, load_rest)
        return
    if not is_read_only(entity):
        return
    object.__setattr__(entity, "__pydantic_private__", {_LOADER: load_rest})
    for value in entity.__dict__.values():
        if is_read_only(value) or isinstance(value, (list, tuple)):
            defer_loading(value, load_rest)


def complete(part: Any, whole: Any) -> None:
    """Fill in, in place, what only() did not load, from the stored entity ``whole``: the
    loaded values (changed since or not) stay. ``part`` then is an instance of its model
    like any other (it can be saved). ConcurrencyError when the stored entity no longer has
    the nested models or list elements the partial one holds."""
    if not is_read_only(part):
        return
    model: type[BaseModel] = type(part).__mro__[1]
    if not isinstance(whole, model):
        raise ConcurrencyError(
            f"{model.__name__}: the stored entity changed since it was read with only(...) "
            "(a nested model it holds is gone); read it again"
        )
    values = part.__dict__
    for name in model.model_fields:
        theirs = getattr(whole, name, None)
        if name not in values:
            values[name] = theirs
            continue
        mine = values[name]
        if is_read_only(mine):
            complete(mine, theirs)
        elif isinstance(mine, list) and any(is_read_only(e) for e in mine):
            if not isinstance(theirs, list) or len(theirs) != len(mine):
                raise ConcurrencyError(
                    f"{model.__name__}.{name}: the stored list changed length since it was "
                    "read with only(...); read it again"
                )
            for element, stored in zip(mine, theirs):
                complete(element, stored)
    fields_set = set(whole.__pydantic_fields_set__) | set(part.__pydantic_fields_set__)
    object.__setattr__(part, "__pydantic_fields_set__", fields_set)
    object.__setattr__(part, "__pydantic_extra__", whole.__pydantic_extra__)
    object.__setattr__(part, "__pydantic_private__", whole.__pydantic_private__)
    object.__setattr__(part, "__class__", model)


def revalidated(codec: Any, entity: Any) -> Any:
    """A completed partial entity, validated as a whole (its values were set without
    validation): what it would be stored as, read back. InvalidEntityError if it does not
    fit its model."""
    key = f"{codec.schema.prefix}:{getattr(entity, 'id', '')}"  # its key: the id is kept
    try:
        return codec.load(key, codec.dump(entity))
    except InvalidDocumentError as exc:
        raise InvalidEntityError(f"{type(entity).__name__} is not valid: {exc}") from (
            exc.__cause__ or exc)


def make_whole(entity: Any) -> None:
    """After ``refresh`` copied a whole entity into a partial one: it is whole now."""
    if is_read_only(entity):
        object.__setattr__(entity, "__pydantic_private__", None)
        object.__setattr__(entity, "__class__", type(entity).__mro__[1])


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
    from ..fields.schema import _strip_annotated, _strip_optional

    inner, _ = _strip_optional(_strip_annotated(annotation))
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner
    return None


def _listed_model(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """``(Model, exact)`` for a list of models (``list[Model]``, also Optional, of Optional
    elements); ``exact`` when each element's sub-fields can be read by a ``[*]`` path, one
    value per element (neither the list nor its elements may be None). Else None."""
    from typing import get_args, get_origin

    from ..fields.schema import _strip_annotated, _strip_optional

    outer, list_optional = _strip_optional(_strip_annotated(annotation))
    if get_origin(outer) not in (list, tuple) or not get_args(outer):
        return None
    args = [a for a in get_args(outer) if a is not Ellipsis]
    if len(set(args)) != 1:
        return None
    inner, element_optional = _strip_optional(_strip_annotated(args[0]))
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner, not (list_optional or element_optional)
    return None


@dataclass(frozen=True)
class _Node:
    """A field to load: whole (``children`` empty) or only some of its nested fields. A list
    of models (``listed``) holds each element with only its ``children``."""

    model: type[BaseModel]
    name: str
    path: str
    children: tuple[_Node, ...] = ()
    listed: type[BaseModel] | None = None  # the element model of a list of models
    by_element: bool = False  # read as ``path[*].child`` (one value per element)


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
        annotation = model.model_fields[head].annotation
        nested = _nested_model(annotation)
        if nested is not None:
            children = _select(nested, [tuple(r) for r in rests], path, f"{shown}{head}.")
            nodes.append(_Node(model, head, path, children))
            continue
        listed = _listed_model(annotation)
        if listed is None:
            raise InvalidQueryError(
                f"only({shown + head + '.' + '.'.join(rests[0])!r}): {model.__name__}.{head} "
                "is neither a nested model nor a list of them; select it whole"
            )
        element, by_element = listed
        # Each element's first-level sub-fields are read as ``path[*].field`` (one value per
        # element, in order); deeper selections are cut down in Python from that value.
        children = _select(element, [tuple(r) for r in rests], path + "[*]",
                           f"{shown}{head}.")
        nodes.append(_Node(model, head, path, children, element, by_element))
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
            if node.listed is not None:
                out += [c.path for c in node.children] if node.by_element else [node.path]
            elif node.children:
                out += self._leaf_paths(node.children)
            else:
                out.append(node.path)
        return out

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
        except ValueError as exc:  # a bytes value that is not base64, lists out of step
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
            if node.listed is not None and node.by_element:
                values[node.name] = self._elements(node, by_path)
                continue
            if node.children and node.listed is None:
                if all(not by_path.get(p) for p in self._leaf_paths(node.children)):
                    values[node.name] = None  # the nested object is None or absent
                    continue
                nested = _nested_model(model.model_fields[node.name].annotation)
                assert nested is not None
                values[node.name] = self._build(nested, node.children, by_path)
                continue
            found = by_path.get(node.path) or []
            if found:
                value = _validated(model, node.name, found[0])
                if node.children and value is not None:  # a list read whole (it or its
                    # elements may be None): cut each element down
                    value = _project(value, node.children)
                values[node.name] = value
        return _instance(partial_class(model), values)

    def _elements(self, node: _Node, by_path: dict[str, Any]) -> list[BaseModel]:
        """Each element of a list of models with only the selected sub-fields."""
        assert node.listed is not None
        columns = [by_path.get(child.path) or [] for child in node.children]
        count = len(columns[0])
        if any(len(column) != count for column in columns):
            raise ValueError(f"the elements of {node.name} do not all hold the selected fields")
        elements: list[BaseModel] = []
        for i in range(count):
            values: dict[str, Any] = {}
            for child, column in zip(node.children, columns):
                value = _validated(node.listed, child.name, column[i])
                values[child.name] = _project(value, child.children) if child.children \
                    and value is not None else value
            elements.append(_instance(partial_class(node.listed), values))
        return elements


def _validated(model: type[BaseModel], name: str, raw: Any) -> Any:
    """A stored JSON value of ``model.name`` validated as the field (bytes decoded)."""
    decode = field_decoder(model, name)
    if decode is not None and raw is not None:
        raw = decode(raw)
    return field_adapter(model, name).validate_python(raw)


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
    part: BaseModel = _project(entity, projection(model, fields).nodes)
    return part


def _project(entity: Any, nodes: tuple[_Node, ...]) -> Any:
    if isinstance(entity, (list, tuple)):  # a list of models: each element cut down
        return [None if e is None else _project(e, nodes) for e in entity]
    values: dict[str, Any] = {}
    for node in nodes:
        value = getattr(entity, node.name, None)
        if node.children and value is not None:
            value = _project(value, node.children)
        values[node.name] = value
    model: type[BaseModel] = type(entity)
    return _instance(partial_class(model), values)
