"""The model schema: which field is indexed how, at which JSON path. Derived once per class.

The compiler, the index manager, the codec and the in-memory twin all read it, so a field means
the same thing everywhere.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import types
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from ..exceptions import InvalidQueryError
from ..markers import Indexed, NotIndexed, Text, Vector
from ..model import WRITE_OPTIONS, RedisModel
from .nearness_kinds import nearness_kind

Kind = Literal["str", "number", "bool", "datetime", "date", "uuid", "enum", "geo", "vector"]

# Top-level document key that holds values derived for the index (never part of the entity).
INDEX_EXTRAS_KEY = "__idx"
NULLS_ATTRIBUTE = "__nulls"

_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Strings at most this long (declared max_length) are kept SORTABLE by default.
_SHORT_STRING = 64
_MAX_DEPTH = 8


@dataclass(frozen=True)
class FieldSchema:
    """One indexed field (or an element of a list, or a field of a nested model)."""

    name: str  # dotted Python path, e.g. "address.city"
    parts: tuple[str, ...]  # Python attribute names along the path
    json_parts: tuple[str, ...]  # document keys along the path (pydantic aliases)
    list_after: frozenset[int]  # indexes in parts whose value is a list (elements are walked)
    alias: str  # RediSearch attribute name ([A-Za-z0-9_])
    kind: Kind
    python_type: Any  # the scalar type: str, int, float, bool, datetime, an Enum class, ...
    multi: bool  # the path may hold several values
    optional: bool  # the value may be None or absent
    sortable: bool
    case_sensitive: bool
    text: Text | None  # full-text options when the field is also TEXT
    sort_declared: bool = False  # Indexed(sortable=True)
    exact_declared: bool = False  # an Indexed(...) marker (keeps a Text() field's TAG)
    max_length: int | None = None  # a declared max_length (pydantic / annotated-types)
    vector: Vector | None = None  # kind "vector": its Vector(...) settings

    @property
    def json_path(self) -> str:
        """JSONPath of the value(s), e.g. ``$.address.city`` or ``$.items[*].sku``."""
        out = "$"
        for i, key in enumerate(self.json_parts):
            out += f".{key}" if _SAFE_NAME.match(key) else '["' + key.replace('"', '\\"') + '"]'
            if i in self.list_after:
                out += "[*]"
        return out

    @property
    def lower_alias(self) -> str:
        """Attribute of the lower-cased copy (case-insensitive lookups)."""
        return f"{self.alias}__lc"

    @property
    def lower_copy(self) -> bool:
        """A lower-cased copy is stored and indexed (``<alias>__lc``): only for str fields
        declared ``Indexed(case_sensitive=False)``, which compare and sort by it. The
        case-insensitive lookups on other fields are checked in Python, like other wildcards."""
        return self.stringy and not self.case_sensitive

    @property
    def extremes(self) -> bool:
        """A sortable list: its smallest and largest values are kept under ``__idx``
        (``<alias>__min`` / ``<alias>__max``) and indexed SORTABLE."""
        return self.multi and self.sortable

    def sort_alias(self, descending: bool) -> str:
        """The attribute ``order`` sorts on: a list by its smallest value ascending and its
        largest descending (MongoDB's rule)."""
        if self.multi:
            return f"{self.alias}__max" if descending else f"{self.alias}__min"
        if self.lower_copy:
            return self.lower_alias
        return self.alias if self.tag_indexed else self.text_alias

    @property
    def text_alias(self) -> str:
        """Attribute of the full-text (TEXT) index of a ``Text()`` field."""
        return f"{self.alias}__txt"

    @property
    def residual_alias(self) -> str:
        """Attribute of a datetime's rounding residual (see ``has_residual``)."""
        return f"{self.alias}__r"

    @property
    def has_residual(self) -> bool:
        """A single-valued datetime: the index holds its epoch microseconds as a double (exact
        only within ±2**53, until about 2255) and, in ``<alias>__r``, what the double lost
        (``values.split_key``), so that equality, ranges and order stay exact everywhere."""
        return self.kind == "datetime" and not self.multi

    @property
    def tag_indexed(self) -> bool:
        """Exactly indexed (TAG / NUMERIC). A ``Text()`` str field is indexed once, as TEXT,
        unless also marked ``Indexed(...)``: its exact lookups are then checked in Python on
        candidates its words select."""
        return self.text is None or self.exact_declared

    @property
    def sort_vector(self) -> bool:
        """SORTABLE in the index (each document's value kept in the index's memory, so sorting
        reads no document): for numbers, dates, bools, enums, UUIDs, the id (every sort's
        tie-break), short strings (a Literal, or max_length <= 64), fields declared
        ``Indexed(sortable=True)`` and fields that may hold no value (read from a document,
        a JSON null and an absent value do not sort alike). Other str fields still sort (the
        server reads their values from the documents), more slowly. Never a list (it would
        keep only its first value): lists sort by their __min / __max (``extremes``)."""
        if not self.sortable or self.multi:
            return False
        if self.kind != "str":
            return True
        return self.sort_declared or self.optional or self.name == "id" or (
            self.max_length is not None and self.max_length <= _SHORT_STRING)

    @property
    def stored_as_extra(self) -> bool:
        """True when Redis indexes a derived number kept under ``__idx`` (dates)."""
        return self.kind in ("datetime", "date")

    @property
    def numeric(self) -> bool:
        return self.kind in ("number", "datetime", "date") or (
            self.kind == "enum" and _enum_value_type(self.python_type) is not str
        )

    @property
    def stringy(self) -> bool:
        """Holds text that string lookups (like, startswith, ...) apply to."""
        return self.kind == "str"


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


def path_step(key: str) -> str:
    """One step of a JSONPath: ``.key``, or ``["key"]`` for keys that need quoting."""
    return f".{key}" if _SAFE_NAME.match(key) else '["' + key.replace('"', '\\"') + '"]'


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
    for f in _walk(model, (), (), frozenset(), False, False, 0):
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


def _alias_of(parts: tuple[str, ...]) -> str:
    joined = "__".join(parts)
    if _SAFE_NAME.match(joined) and joined.isascii():
        return joined
    return "f_" + joined.encode().hex()


def _walk(
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
        special = nearness_kind(f"{model.__name__}.{name}", annotation, list(info.metadata))
        if special is not None:  # a GeoPoint or a Vector: never walked as a model or a list
            yield FieldSchema(
                name=".".join((*parts, name)), parts=(*parts, name),
                json_parts=(*json_parts, info.serialization_alias or info.alias or name),
                list_after=list_after, alias=_alias_of((*parts, name)), kind=special.kind,
                python_type=special.python_type, multi=multi,
                optional=optional or special.optional, sortable=False, case_sensitive=True,
                text=None, vector=special.vector,
            )
            continue
        text = next((m for m in markers if isinstance(m, Text)), None)
        override = next((m for m in markers if isinstance(m, Indexed)), None)
        json_key = info.serialization_alias or info.alias or name
        here = (*parts, name)
        here_json = (*json_parts, json_key)
        inner, is_optional = _strip_optional(_strip_annotated(annotation))
        is_list = False
        origin = get_origin(inner)
        if origin in (list, set, frozenset, tuple) or inner in (list, set, frozenset):
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
        override = _merged(override, inherited)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            if text is not None:
                raise TypeError(f"{model.__name__}.{name}: Text() applies to str fields only "
                                "(declare it on the str fields of the nested model)")
            # Indexed(...) on a nested model (or a list of them) applies to its fields
            yield from _walk(
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
        kind = _kind_of(inner)
        if kind is None:  # dict, Any, bytes, unions of several types: stored, not indexed
            if text is not None or (override is not None and override is not inherited):
                raise TypeError(
                    f"{model.__name__}.{name}: Indexed() / Text() has no effect here: fields "
                    f"of type {inner!r} are stored but not indexed"
                )
            continue
        if text is not None and kind != "str":
            raise TypeError(f"{model.__name__}.{name}: Text() applies to str fields only")
        # A list sorts by its smallest element ascending and its largest descending (kept
        # under __idx): by default for numbers and dates (two numbers per document); lists of
        # other kinds when declared Indexed(sortable=True).
        sortable_default = not field_multi or kind in ("number", "datetime", "date") or (
            kind == "enum" and _enum_value_type(inner) is not str
        )
        sortable = sortable_default if override is None or override.sortable is None else (
            override.sortable
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
            kind=kind,
            python_type=inner,
            multi=field_multi,
            optional=field_optional,
            sortable=sortable,
            case_sensitive=case_sensitive if kind == "str" else True,
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


def _enum_value_type(enum_cls: Any) -> type:
    values = [m.value for m in enum_cls]
    if values and all(isinstance(v, str) for v in values):
        return str
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return float
    return object


def _kind_of(tp: Any) -> Kind | None:
    if not isinstance(tp, type):
        return None
    if issubclass(tp, enum.Enum):
        return "enum" if _enum_value_type(tp) in (str, float) else None
    if issubclass(tp, bool):
        return "bool"
    if issubclass(tp, (int, float)):
        return "number"
    if issubclass(tp, str):
        return "str"
    if issubclass(tp, dt.datetime):
        return "datetime"
    if issubclass(tp, dt.date):
        return "date"
    if issubclass(tp, uuid.UUID):
        return "uuid"
    return None
