"""Key namespaces: ``f"{prefix}:{id}"``, with a guard so that two models never share keys."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from ..exceptions import InvalidEntityError, InvalidQueryError

_lock = threading.Lock()
_owners: dict[str, str] = {}  # prefix -> "module.QualName" of the model that owns it


def _owner_name(model: type[BaseModel]) -> str:
    # Module and class name (not the qualified name): a class defined again in the same module
    # (a reload, a class made inside a function) keeps its keys; a same-named class elsewhere
    # is another model and must choose another prefix.
    return f"{model.__module__}.{model.__name__}"


def claim_prefix(prefix: str, model: type[BaseModel]) -> None:
    """Register ``prefix`` for ``model``; refuse one that overlaps another model's keys.

    Ids may contain ``:``, so prefixes ``app`` and ``app:user`` would share keys
    (``app:user:1`` could be either); both are refused, as is one prefix for two models.
    A class of the same module and name takes the prefix over (a reload, a re-definition).
    """
    if not prefix:
        raise ValueError(f"{model.__name__}: key prefix must not be empty")
    owner = _owner_name(model)
    with _lock:
        for other, other_owner in _owners.items():
            if other_owner == owner:
                continue
            if other == prefix or other.startswith(prefix + ":") or prefix.startswith(other + ":"):
                raise ValueError(
                    f"key prefix {prefix!r} of {owner} overlaps prefix {other!r} of "
                    f"{other_owner}: their keys could collide. Set AssimilatorConfig.key_prefix "
                    "to a distinct value on one of them"
                )
        _owners[prefix] = owner


def key_of(prefix: str, entity_id: Any) -> str:
    """The Redis key of an entity: the prefix, a colon, then the id exactly as given."""
    return f"{prefix}:{entity_id}"


def id_of(prefix: str, key: str) -> str:
    return key[len(prefix) + 1 :]


class KeyScheme:
    """Where an entity of a model is stored: ``{prefix}:{id}``, or with a hash tag
    (``AssimilatorConfig.hash_tag``) so that Redis Cluster puts keys of one tag in one slot:

    - ``hash_tag = "id"``: ``{prefix}:{{id}}`` (e.g. ``Customer:{customer-42}``);
    - a field name or a callable of the entity giving the tag:
      ``{prefix}:{{tag}}:{id}`` (e.g. ``Order:{customer-42}:o17``).

    With a tag from another field the id alone does not give the key (``of_id`` is None): a
    lookup by id is then a search (and reads of an entity use its tag).
    """

    def __init__(self, model: type[BaseModel], prefix: str) -> None:
        config = getattr(model, "AssimilatorConfig", None)
        tag = getattr(config, "hash_tag", None)
        if tag is not None and not callable(tag) and (
                not isinstance(tag, str) or tag not in model.model_fields):
            raise ValueError(
                f"{model.__name__}: AssimilatorConfig.hash_tag must be a field name of the "
                f"model ('id' included), a callable of the entity, or None; got {tag!r}")
        self.model = model
        self.prefix = prefix
        self.tag: str | Callable[[Any], Any] | None = tag
        self.start = f"{prefix}:"
        self.by_id = tag is None or tag == "id"  # the id alone gives the key

    def of_id(self, entity_id: Any) -> str | None:
        if self.tag is None:
            return f"{self.start}{entity_id}"
        if self.tag == "id":
            return f"{self.start}{{{self._checked(entity_id, 'id')}}}"
        return None

    def of_entity(self, obj: Any) -> str:
        entity_id = obj.get("id") if isinstance(obj, dict) else getattr(obj, "id", None)
        if entity_id is None:
            raise InvalidQueryError(f"{self.model.__name__}: the entity has no id")
        if self.by_id:
            return self.of_id(entity_id)  # type: ignore[return-value]
        if callable(self.tag):
            tag = self._checked(self.tag(obj), "hash_tag()")
        else:
            name = str(self.tag)
            value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
            tag = self._checked(value, name)
        return f"{self.start}{{{tag}}}:{entity_id}"

    def id_in(self, key: str) -> str:
        """The id part of a key of this scheme."""
        rest = key[len(self.start):]
        if self.tag is None:
            return rest
        if self.tag == "id":
            return rest[1:-1] if rest.startswith("{") and rest.endswith("}") else rest
        end = rest.find("}:") if rest.startswith("{") else -1
        return rest[end + 2:] if end >= 0 else rest

    def _checked(self, value: Any, what: str) -> str:
        text = "" if value is None else str(value)
        if not text or "}" in text:
            raise InvalidEntityError(
                f"{self.model.__name__}: the hash tag ({what}) is {value!r}; it must be a "
                "non-empty value without '}' (the tag is written between braces in the key)")
        return text
