"""What RedisJSON would refuse (or silently change), found before anything is sent.

A unit of work is one MULTI/EXEC, and Redis does not roll back a command that fails inside EXEC:
a document JSON.SET refuses there would leave the rest of the commit written. So every
document (and every ``update(**values)`` value) is checked here first. Verified on RedisJSON
2.8 (tests/redis/test_storable.py):

- nesting: at most 127 containers (objects / arrays), the document itself counted as one;
  deeper, JSON.SET fails ("recursion limit exceeded");
- integers: exact from -2**63 to 2**64-1; beyond, RedisJSON stores a double (the value changes
  and no longer validates as an int);
- floats: NaN and +-inf are not JSON (JSON.SET refuses them; pydantic writes them as null by
  default, which changes the value);
- strings that are not valid UTF-8 (lone surrogates) cannot be serialised at all.

The check costs nothing for fields whose type cannot break a rule (str, bool, dates, enums,
lists of those, ...): their type is read once per model. int and float fields are checked by
value; fields that may nest freely (Any, dict, recursive models) are walked.
"""

from __future__ import annotations

import enum
import math
import types
import typing
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from ..exceptions import UnstorableValueError

#: Containers (objects and arrays) RedisJSON accepts nested in one document, the document
#: itself included.
MAX_NESTING = 127
#: Integers RedisJSON keeps exactly (i64 and u64).
MIN_INT = -(2**63)
MAX_INT = 2**64 - 1

_Plan = Literal["skip", "int", "float", "walk"]
_CONTAINERS = (list, tuple, set, frozenset, dict)


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _classify(tp: Any, seen: frozenset[Any] = frozenset()) -> tuple[_Plan, int]:
    """How values of type ``tp`` must be checked, and (for "skip") how many containers deep
    they can nest at most."""
    tp = _strip(tp)
    origin = get_origin(tp)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        parts = [_classify(a, seen) for a in get_args(tp) if a is not type(None)]
        if all(plan == "skip" for plan, _ in parts):
            return "skip", max((d for _, d in parts), default=0)
        return "walk", 0
    if origin is Literal:
        return "skip", 0
    if origin in _CONTAINERS or tp in _CONTAINERS:
        args = [a for a in get_args(tp) if a is not Ellipsis]
        if origin is dict or tp is dict:
            args = args[1:]  # keys are strings in JSON
        if not args:
            return "walk", 0
        inner = [_classify(a, seen) for a in args]
        if all(plan == "skip" for plan, _ in inner):
            return "skip", 1 + max(d for _, d in inner)
        return "walk", 0
    if not isinstance(tp, type) or tp is typing.Any or tp is object:
        return "walk", 0
    if issubclass(tp, (bool, enum.Enum, str, bytes)):
        return "skip", 0
    if issubclass(tp, int):
        return "int", 0
    if issubclass(tp, float):
        return "float", 0
    if issubclass(tp, BaseModel):
        if tp in seen or tp.model_config.get("extra") == "allow":
            return "walk", 0  # recursive, or holds anything
        inner = [_classify(f.annotation, seen | {tp}) for f in tp.model_fields.values()]
        if all(plan == "skip" for plan, _ in inner):
            return "skip", 1 + max((d for _, d in inner), default=0)
        return "walk", 0
    # datetime, date, UUID, Decimal, Path, ...: serialised as strings (or plain numbers)
    return "skip", 0


@cache
def _field_plans(model: type[BaseModel]) -> tuple[tuple[str, _Plan], ...]:
    """The top-level fields of ``model`` that need a check, with how."""
    out: list[tuple[str, _Plan]] = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        plan, depth = _classify(info.annotation)
        if plan == "skip" and 1 + depth <= MAX_NESTING:
            continue
        out.append((name, "walk" if plan == "skip" else plan))
    return tuple(out)


def check_entity(entity: BaseModel, key: str) -> None:
    """Raise UnstorableValueError (naming the key and the field) when RedisJSON would refuse or
    change ``entity``'s document."""
    model = type(entity)
    for name, plan in _field_plans(model):
        _check(getattr(entity, name, None), plan, key, name)
    extra = entity.__pydantic_extra__
    if extra:
        for name, value in extra.items():
            _check(value, "walk", key, str(name))


def unencodable_field(entity: BaseModel) -> str:
    """The field holding a str that is not valid UTF-8 (a lone surrogate), which pydantic
    cannot serialise; looked for only once serialising failed."""
    items = list(entity.__dict__.items()) + list((entity.__pydantic_extra__ or {}).items())
    for name, value in items:
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                try:
                    item.encode()
                except UnicodeEncodeError:
                    return str(name)
                continue
            children = _children(item)
            if children is not None:
                stack.extend(v for _, v in children)
    return "(document)"


def check_value(value: Any, key: str, field: str) -> None:
    """The same check for one top-level field's new value (``update(**values)``)."""
    _check(value, "walk", key, field)


def _check(value: Any, plan: _Plan, key: str, field: str) -> None:
    if value is None:
        return
    if plan in ("int", "float"):
        _scalar(value, key, field, field)
    else:
        _walk(value, key, field)


def _scalar(value: Any, key: str, field: str, path: str) -> None:
    where = "" if path == field else f" (at {_short(path)})"
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not MIN_INT <= value <= MAX_INT:
            raise UnstorableValueError(
                key, field, f"the int {value}{where} is outside what RedisJSON stores exactly "
                "(-2**63 .. 2**64-1); it would become a double"
            )
    elif isinstance(value, float) and not math.isfinite(value):
        raise UnstorableValueError(
            key, field, f"{value!r}{where} is not a JSON number (RedisJSON refuses NaN and "
            "infinities; pydantic would write null)"
        )


def _short(path: str) -> str:
    return path if len(path) <= 80 else path[:80] + "..."


def _children(value: Any) -> Iterator[tuple[str, Any]] | None:
    """The (name, value) items of a container, or None for a scalar."""
    if isinstance(value, BaseModel):
        items = [(n, v) for n, v in value.__dict__.items()]
        if value.__pydantic_extra__:
            items += list(value.__pydantic_extra__.items())
        return ((f".{n}", v) for n, v in items)
    if isinstance(value, dict):
        return ((f"[{k!r}]", v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ((f"[{i}]", v) for i, v in enumerate(value))
    return None


def _walk(value: Any, key: str, field: str) -> None:
    # Iterative: a value nested deeper than Python's recursion limit is refused, not crashed on.
    stack: list[tuple[Any, int, str]] = [(value, 1, field)]  # (value, depth of its parent, path)
    while stack:
        item, parent, path = stack.pop()
        if item is None or isinstance(item, (str, bool)):
            continue
        if isinstance(item, (int, float)):
            _scalar(item, key, field, path)
            continue
        children = _children(item)
        if children is None:
            continue
        depth = parent + 1
        if depth > MAX_NESTING:
            raise UnstorableValueError(
                key, field, f"it nests more than {MAX_NESTING} objects / lists deep (the "
                f"document counts as one; at {_short(path)}); "
                "RedisJSON refuses such a document"
            )
        for step, child in children:
            stack.append((child, depth, path + step))
