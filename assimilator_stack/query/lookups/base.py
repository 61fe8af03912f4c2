"""The base of every lookup: :class:`Lookup` (its four steps), what compiling gives
(:class:`Compiled`, :class:`CompileContext`), the registry :data:`LOOKUPS` and :func:`resolve`,
which checks a condition against the model and picks the lookup that applies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ...exceptions import InvalidQueryError
from ...fields.base import ArgumentError
from ...fields.schema import NULLS_ATTRIBUTE, FieldSchema, ModelSchema
from .. import syntax
from ..filters import Condition
from ..syntax import ALL, Frag, Params
from .arguments import keys_of

_REPR_LIMIT = 60


@dataclass
class CompileContext:
    """What a lookup needs to write its fragment."""

    params: Params
    # Trust the server to expand prefix / suffix / infix patterns completely (its
    # MAXPREFIXEXPANSIONS exceeds the distinct values of the field). When False, such patterns
    # are checked in Python on a superset that Redis selects without expansion.
    redis_wildcards: bool = False


@dataclass(frozen=True)
class Compiled:
    """A condition in RediSearch: ``frag`` selects a superset of its matches; when not
    ``exact``, ``lookup.test(field, keys, residual)`` must also hold (checked in Python)."""

    frag: Frag
    exact: bool = True
    residual: Any = None


def exact(frag: Frag) -> Compiled:
    return Compiled(frag)


def superset(frag: Frag, residual: Any) -> Compiled:
    return Compiled(frag, False, residual)


def compiled(frag: Frag, is_exact: bool, residual: Any) -> Compiled:
    return exact(frag) if is_exact else superset(frag, residual)


def has_value(field: FieldSchema, params: Params) -> Frag:
    """Documents where the field holds at least one value."""
    if field.optional or field.multi:
        return syntax.neg(syntax.tag(NULLS_ATTRIBUTE, [field.alias], params))
    return ALL


def no_value(field: FieldSchema, params: Params) -> Frag:
    return syntax.neg(has_value(field, params))


def _short(value: Any) -> str:
    text = repr(value)
    if len(text) <= _REPR_LIMIT:
        return text
    return f"{text[:_REPR_LIMIT]}... ({len(text)} characters)"


def describe(field: FieldSchema) -> str:
    """``str``, ``list of number``, ``Text() str``, ``enum Color`` ..."""
    return field.describe()


# -- the lookups ------------------------------------------------------------------------------


class Lookup:
    """One lookup. Subclasses set ``name``/``allowed`` and implement the four steps."""

    name: str
    allowed: str = "every field"
    # The lookup family (fields/base.py) a field's kind must take; None: every field.
    needs: str | None = None

    def allows(self, field: FieldSchema) -> bool:
        return self.needs is None or self.needs in field.abilities

    def resolve(self, field: FieldSchema, value: Any) -> tuple[Lookup, Any]:
        """The lookup that really applies (``eq=None`` is ``isnull=True``) and its argument."""
        return self, self.prepare(field, value)

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        """Check and normalise the argument (raise ArgumentError)."""
        raise NotImplementedError

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        """The meaning: does an entity whose field holds ``keys`` match?"""
        raise NotImplementedError

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        """The RediSearch form."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<lookup {self.name}>"


# Every lookup by name, in the order errors list them; each module registers its lookups beside
# their classes (``register(Eq())``), and ``query/lookups/__init__.py`` imports the modules.
LOOKUPS: dict[str, Lookup] = {}

L = TypeVar("L", bound=Lookup)


def register(lookup: L) -> L:
    """Make ``lookup`` usable as ``field__<lookup.name>=...``."""
    if lookup.name in LOOKUPS:
        raise ValueError(f"a lookup named {lookup.name!r} is already registered")
    LOOKUPS[lookup.name] = lookup
    return lookup


def allowed_lookups(field: FieldSchema) -> list[str]:
    return [name for name, lookup in LOOKUPS.items() if lookup.allows(field)]


@dataclass(frozen=True)
class Resolved:
    """A condition checked against the schema: the field, the lookup that applies and its
    normalised argument."""

    field: FieldSchema
    lookup: Lookup
    arg: Any

    def test_values(self, values: Iterable[Any]) -> bool:
        return self.lookup.test(self.field, keys_of(self.field, values), self.arg)


def _unknown_field(schema: ModelSchema, condition: Condition) -> str:
    """Why ``condition`` names no indexed field: a mistyped lookup (``age__gtt``), ``pk``
    (the id field is ``id``), or a field that is not indexed."""
    model = schema.model.__name__
    name = condition.field.replace("__", ".")
    head, _, last = name.rpartition(".")
    known = schema.fields.get(head) if head else None
    if known is not None and condition.lookup == "eq":
        return (
            f"{model}.{known.name}__{last}: unknown lookup {last!r}; lookups allowed on "
            f"{known.name} (a {describe(known)} field): {', '.join(allowed_lookups(known))}"
        )
    first = name.split(".", 1)[0]
    if first == "pk" and "pk" not in schema.model.model_fields:
        return (
            f"{model} has no field 'pk': its id field is 'id' (filter_(id=...), "
            f"filter_(id__in=[...]))"
        )
    allowed = ", ".join(sorted(schema.fields)) or "(none)"
    if first in schema.model.model_fields and "." not in name:
        annotation = schema.model.model_fields[first].annotation
        shown = annotation.__name__ if isinstance(annotation, type) else repr(annotation)
        return (
            f"{model} has no indexed field {name!r}: it is stored but not indexed (its type "
            f"{shown} cannot be filtered on: bytes, dict, Any, unions and Literals of several "
            f"kinds, NotIndexed() fields); indexed fields: {allowed}"
        )
    return f"{model} has no indexed field {name!r}; indexed fields: {allowed}"


def resolve(schema: ModelSchema, condition: Condition) -> Resolved:
    """Check ``condition`` against the model; raise InvalidQueryError naming the field, the
    lookup and what is allowed."""
    model = schema.model.__name__
    field = schema.fields.get(condition.field.replace("__", "."))
    if field is None:
        raise InvalidQueryError(_unknown_field(schema, condition))
    lookup = LOOKUPS.get(condition.lookup)
    where = f"{model}.{field.name}__{condition.lookup}"
    if lookup is None:
        raise InvalidQueryError(
            f"{where}: unknown lookup {condition.lookup!r}; lookups: {', '.join(LOOKUPS)}"
        )
    if not lookup.allows(field):
        raise InvalidQueryError(
            f"{where}: {lookup.name!r} applies to {lookup.allowed}, and {field.name} is a "
            f"{describe(field)} field; lookups allowed on {field.name}: "
            f"{', '.join(allowed_lookups(field))}"
        )
    try:
        effective, arg = lookup.resolve(field, condition.value)
    except ArgumentError as exc:
        raise InvalidQueryError(
            f"{where}={_short(condition.value)}: {exc} ({field.name} is a {describe(field)} "
            "field)"
        ) from None
    return Resolved(field, effective, arg)
