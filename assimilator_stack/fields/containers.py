"""Walking a model into its indexed fields: lists (each element is a value of the field),
nested models (their fields are fields of the outer one, ``address.city``), Optional,
Annotated and Literal wrappers; the scalar at the end gets the kind that claims it
(base.py's registry)."""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from ..markers import Indexed, NotIndexed, Text
from ..model import WRITE_OPTIONS, RedisModel
from .base import kind_of
from .field import FieldSchema

_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_DEPTH = 8


def _alias_of(parts: tuple[str, ...]) -> str:
    joined = "__".join(parts)
    if _SAFE_NAME.match(joined) and joined.isascii():
        return joined
    return "f_" + joined.encode().hex()


def walk(
    model: type[BaseModel],
    parts: tuple[str, ...],
    json_parts: tuple[str, ...],
    list_after: frozenset[int],
    multi: bool,
    optional: bool,
    depth: int,
    inherited: Indexed | None = None,
) -> Iterator[FieldSchema]:
    if depth > _MAX_DEPTH:
        return
    skip = WRITE_OPTIONS if issubclass(model, RedisModel) else ()
    for name, info in model.model_fields.items():
        if name in skip or info.exclude:
            continue
        markers = [m for m in info.metadata if isinstance(m, (Text, NotIndexed, Indexed))]
        annotation = info.annotation
        markers += _markers_in(annotation)
        if any(isinstance(m, NotIndexed) for m in markers):
            continue
        text = next((m for m in markers if isinstance(m, Text)), None)
        override = next((m for m in markers if isinstance(m, Indexed)), None)
        json_key = info.serialization_alias or info.alias or name
        here = (*parts, name)
        here_json = (*json_parts, json_key)
        inner, is_optional = _strip_optional(_strip_annotated(annotation))
        # A registered kind may claim the whole type (a list of floats that is a vector, a
        # model that is a point) before it is walked into as a list or a nested model.
        metadata = [*info.metadata, *_metadata_in(annotation)]
        claimed = kind_of(inner, metadata)
        is_list = False
        origin = get_origin(inner)
        if claimed is not None:
            pass
        elif origin in (list, set, frozenset, tuple) or inner in (list, set, frozenset):
            args = [a for a in get_args(inner) if a is not Ellipsis]
            if len(set(args)) != 1:
                continue  # heterogeneous tuples / bare lists are not indexed
            inner, _ = _strip_optional(_strip_annotated(args[0]))
            markers = _markers_in(args[0])
            text = text or next((m for m in markers if isinstance(m, Text)), None)
            override = override or next((m for m in markers if isinstance(m, Indexed)), None)
            is_list = True
        new_list_after = list_after | {len(here) - 1} if is_list else list_after
        field_multi = multi or is_list
        field_optional = optional or is_optional
        own = override
        override = _merged(override, inherited)
        if claimed is None and isinstance(inner, type) and issubclass(inner, BaseModel):
            if text is not None:
                raise TypeError(f"{model.__name__}.{name}: Text() applies to str fields only "
                                "(declare it on the str fields of the nested model)")
            # Indexed(...) on a nested model (or a list of them) applies to its fields
            yield from walk(
                inner, here, here_json, new_list_after, field_multi, field_optional, depth + 1,
                override,
            )
            continue
        max_length = next((m.max_length for m in info.metadata
                           if isinstance(getattr(m, "max_length", None), int)), None)
        if get_origin(inner) is Literal:
            lengths = [len(v) for v in get_args(inner) if isinstance(v, str)]
            max_length = max(lengths) if lengths else max_length  # short by construction
            inner, literal_none = _literal_type(inner)
            field_optional = field_optional or literal_none
        kind = claimed or kind_of(inner, metadata)
        if kind is None:  # dict, Any, bytes, unions of several types: stored, not indexed
            if text is not None or (override is not None and override is not inherited):
                raise TypeError(
                    f"{model.__name__}.{name}: Indexed() / Text() has no effect here: fields "
                    f"of type {inner!r} are stored but not indexed"
                )
            continue
        if text is not None and not kind.stringy:
            raise TypeError(f"{model.__name__}.{name}: Text() applies to str fields only")
        # A list sorts by its smallest element ascending and its largest descending (kept
        # under __idx): by default for numbers and dates (two numbers per document); lists of
        # other kinds when declared Indexed(sortable=True).
        sortable_default = kind.sortable and (not field_multi or kind.numeric)
        if not kind.sortable and own is not None and own.sortable:
            raise TypeError(f"{model.__name__}.{name}: {kind.describe()} fields cannot be "
                            "sorted (remove sortable=True)")
        sortable = sortable_default if override is None or override.sortable is None else (
            override.sortable and kind.sortable
        )
        case_sensitive = (
            True if override is None or override.case_sensitive is None
            else override.case_sensitive
        )
        yield FieldSchema(
            name=".".join(here),
            parts=here,
            json_parts=here_json,
            list_after=new_list_after,
            alias=_alias_of(here),
            kind_obj=kind,
            multi=field_multi,
            optional=field_optional,
            sortable=sortable,
            case_sensitive=case_sensitive if kind.stringy else True,
            text=text,
            sort_declared=bool(override is not None and override.sortable) or bool(
                text is not None and text.sortable),
            exact_declared=override is not None,
            max_length=None if is_list else max_length,
        )


def _merged(own: Indexed | None, inherited: Indexed | None) -> Indexed | None:
    """A field's own Indexed() settings, the rest from the one on an enclosing model field."""
    if inherited is None:
        return own
    if own is None:
        return inherited
    return Indexed(
        sortable=inherited.sortable if own.sortable is None else own.sortable,
        case_sensitive=(inherited.case_sensitive if own.case_sensitive is None
                        else own.case_sensitive),
    )


def _metadata_in(annotation: Any) -> list[Any]:
    out: list[Any] = []
    while get_origin(annotation) is Annotated:
        args = get_args(annotation)
        out += args[1:]
        annotation = args[0]
    return out


def _markers_in(annotation: Any) -> list[Any]:
    out: list[Any] = []
    while get_origin(annotation) is Annotated:
        args = get_args(annotation)
        out += [m for m in args[1:] if isinstance(m, (Text, NotIndexed, Indexed))]
        annotation = args[0]
    return out


def _strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) != len(get_args(annotation))
        if len(args) == 1:
            return _strip_annotated(args[0]), optional
        if all(a in (int, float) for a in args):
            return float, optional
        return typing.Any, optional
    return annotation, False


def _literal_type(literal: Any) -> tuple[Any, bool]:
    """The type a ``Literal[...]`` field is indexed as (its values' common kind: str, bool, int,
    float or one enum class; mixed kinds are not indexed) and whether it allows None."""
    values = [v for v in get_args(literal) if v is not None]
    has_none = len(values) != len(get_args(literal))
    if not values:
        return typing.Any, has_none
    if all(isinstance(v, enum.Enum) for v in values):
        classes = {type(v) for v in values}
        return (classes.pop() if len(classes) == 1 else typing.Any), has_none
    if all(isinstance(v, bool) for v in values):
        return bool, has_none
    if all(isinstance(v, str) for v in values):
        return str, has_none
    if all(isinstance(v, int) and not isinstance(v, (bool, enum.Enum)) for v in values):
        return int, has_none
    return typing.Any, has_none  # str and int mixed, bytes: stored, not indexed
