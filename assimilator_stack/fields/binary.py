"""``bytes`` fields in JSON documents: stored as standard base64 text, whatever the model's
``ser_json_bytes`` says (pydantic's default, UTF-8, cannot hold arbitrary binary).

Only models that hold bytes somewhere (a field, an Optional, a list or dict of them, a nested
model) take this path; the user's model config is not changed. The codec dumps such an entity
in pydantic's python mode, turns every bytes value into base64 text and writes the JSON; loading
decodes the same places before validating.
"""

from __future__ import annotations

import base64
import binascii
import json
import types
from collections.abc import Callable, Mapping
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import to_json

Transform = Callable[[Any], Any]


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError(f"a bytes field holds {value[:40]!r}, which is not base64") from None
    return value


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _transform(annotation: Any, leaf: Transform, seen: frozenset[type]) -> Transform | None:
    """How to apply ``leaf`` to every bytes value inside a value of ``annotation`` (None: it
    holds no bytes)."""
    annotation = _strip(annotation)
    if annotation in (bytes, bytearray):
        return leaf
    origin = get_origin(annotation)
    args = [a for a in get_args(annotation) if a is not Ellipsis]
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        inner = [t for a in args if a is not type(None)
                 if (t := _transform(a, leaf, seen)) is not None]
        if not inner:
            return None
        if len(inner) == 1 and len([a for a in args if a is not type(None)]) == 1:
            one = inner[0]
            return lambda v: None if v is None else one(v)
        return None  # bytes in a union of several types: ambiguous, left to pydantic
    if origin in (list, set, frozenset, tuple) and args:
        if origin is tuple and len(args) > 1 and len(set(args)) > 1:
            parts = [_transform(a, leaf, seen) for a in args]
            if all(p is None for p in parts):
                return None
            return lambda v: [x if p is None else p(x) for p, x in zip(parts, v)]
        element = _transform(args[0], leaf, seen)
        if element is None:
            return None
        return lambda v: [element(x) for x in v]
    if origin in (dict, Mapping) and len(args) == 2:
        value_t = _transform(args[1], leaf, seen)
        if value_t is None:
            return None
        return lambda v: {k: value_t(x) for k, x in v.items()}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return None  # a recursive model: its bytes (if any) are handled at the first level
        fields = _fields(annotation, leaf, seen | {annotation})
        if not fields:
            return None
        return lambda v: _apply(fields, v)
    return None


def _fields(model: type[BaseModel], leaf: Transform, seen: frozenset[type]
            ) -> dict[str, Transform]:
    out: dict[str, Transform] = {}
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        transform = _transform(info.annotation, leaf, seen)
        if transform is not None:
            out[info.serialization_alias or info.alias or name] = transform
    return out


def _apply(fields: dict[str, Transform], value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for key, transform in fields.items():
        if out.get(key) is not None:
            out[key] = transform(out[key])
    return out


@cache
def encoder(model: type[BaseModel]) -> Transform | None:
    """dumped (python mode, by alias) document -> the same with bytes as base64 text; None
    when ``model`` holds no bytes."""
    fields = _fields(model, _encode, frozenset({model}))
    return (lambda data: _apply(fields, data)) if fields else None


@cache
def decoder(model: type[BaseModel]) -> Transform | None:
    """JSON document -> the same with base64 text turned back into bytes (None: no bytes)."""
    fields = _fields(model, _decode, frozenset({model}))
    return (lambda data: _apply(fields, data)) if fields else None


@cache
def field_decoder(model: type[BaseModel], name: str) -> Transform | None:
    """The decoder of one field's stored JSON value (None: it holds no bytes)."""
    info = model.model_fields[name]
    return _transform(info.annotation, _decode, frozenset({model}))


def dump_json(model: type[BaseModel], entity: BaseModel, **options: Any) -> str:
    """``entity.model_dump_json(by_alias=True, **options)``, with bytes as base64 text."""
    encode = encoder(model)
    if encode is None:
        return entity.model_dump_json(by_alias=True, **options)
    data = entity.model_dump(mode="python", by_alias=True, **options)
    return to_json(encode(data)).decode()


def load_data(model: type[BaseModel], raw: str | bytes) -> Any:
    """The parsed document of a model that holds bytes, decoded (ValueError if it is not)."""
    data = json.loads(raw)
    decode = decoder(model)
    return decode(data) if decode is not None else data
