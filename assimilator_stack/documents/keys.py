"""Key namespaces: ``f"{prefix}:{id}"``, with a guard so that two models never share keys."""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel

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
