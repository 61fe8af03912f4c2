"""RedisModel: a pydantic v2 model with an id and the seed's special write values."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from copy import copy
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .exceptions import InvalidEntityError

# Write options: they steer one save and are never stored in the document.
WRITE_OPTIONS: tuple[str, ...] = (
    "expire_in",
    "expire_in_px",
    "only_create",
    "only_update",
    "keep_ttl",
)


class AssimilatorConfig:
    """Per-model settings; subclass it inside a model to override (it is inherited)."""

    autogenerate_id: ClassVar[bool] = True
    # Key namespace: keys are ``f"{key_prefix}:{id}"``. None means the class name.
    key_prefix: ClassVar[str | None] = None
    # Redis Cluster: a hash tag in the key, so entities of one tag share a hash slot and can
    # change in one unit of work: a field name ("id": ``Customer:{42}``; another field:
    # ``Order:{<its value>}:<id>``) or a callable of the entity giving the tag. None: no tag.
    hash_tag: ClassVar[str | Callable[[Any], Any] | None] = None


def new_id() -> str:
    """A fresh random id (uuid4, 32 hex characters)."""
    return uuid.uuid4().hex


_MISSING_ID: Any = type("MissingId", (), {"__repr__": lambda self: "<no id>"})()


def new_int_id() -> int:
    """A fresh random positive int id (63 random bits)."""
    return uuid.uuid4().int >> 65


class RedisModel(BaseModel):
    """Base class for entities stored as RedisJSON documents.

    ``id`` is generated when absent unless ``AssimilatorConfig.autogenerate_id`` is False.
    The write options (``expire_in``, ``expire_in_px``, ``only_create``, ``only_update``,
    ``keep_ttl``) are ordinary attributes for one save and are excluded from the document.
    """

    # JSON has no NaN / Infinity: pydantic would store them as null, which no longer validates.
    model_config = ConfigDict(validate_assignment=True, allow_inf_nan=False)

    AssimilatorConfig: ClassVar[type[AssimilatorConfig]] = AssimilatorConfig

    id: str = Field(default_factory=new_id)
    expire_in: int | None = Field(default=None, exclude=True, repr=False, gt=0)
    expire_in_px: int | None = Field(default=None, exclude=True, repr=False, gt=0)
    only_create: bool = Field(default=False, exclude=True, repr=False)
    only_update: bool = Field(default=False, exclude=True, repr=False)
    keep_ttl: bool = Field(default=False, exclude=True, repr=False)

    def __setattr__(self, name: str, value: Any) -> None:
        # The one error type for a value that does not fit the model, here as on save.
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise InvalidEntityError(
                f"{type(self).__name__}.{name} = {value!r:.60}: not a valid value: {exc}"
            ) from exc

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # A nested ``class AssimilatorConfig:`` (as the seed writes it) overrides only what it
        # sets: the settings it leaves out still come from the parent's config.
        own = cls.__dict__.get("AssimilatorConfig")
        parent = next(
            base.__dict__["AssimilatorConfig"]
            for base in cls.__mro__[1:]
            if "AssimilatorConfig" in base.__dict__
        )
        if isinstance(own, type) and not issubclass(own, parent):
            cls.AssimilatorConfig = type(
                "AssimilatorConfig",
                (own, parent),
                {"__module__": own.__module__, "__qualname__": own.__qualname__},
            )
        cls._configure_id()

    @classmethod
    def _configure_id(cls) -> None:
        """Give ``id`` the default its config asks for: a factory fitting its type, or none.

        Done once per class (not in a validator) so that loading documents stays on pydantic's
        fast path."""
        field = cls.__pydantic_fields__["id"]
        changed: FieldInfo = copy(field)
        if cls.AssimilatorConfig.autogenerate_id:
            changed.default = PydanticUndefined
            changed.default_factory = new_int_id if field.annotation is int else new_id
            changed.validate_default = None
        else:  # a marker default, refused by _id_given with a message naming the setting
            changed.default = _MISSING_ID
            changed.default_factory = None
            changed.validate_default = True
        if (changed.default, changed.default_factory, changed.validate_default) == (
                field.default, field.default_factory, field.validate_default):
            return
        cls.__pydantic_fields__["id"] = changed
        cls.model_rebuild(force=True)

    @field_validator("id", mode="before")
    @classmethod
    def _id_given(cls, value: Any) -> Any:
        # One identity test per load; no custom __init__, which would validate every load twice.
        if value is None or value is _MISSING_ID:
            if not cls.AssimilatorConfig.autogenerate_id:
                raise ValueError(
                    f"{cls.__name__}: 'id' is required because "
                    "AssimilatorConfig.autogenerate_id is False"
                )
            return new_int_id() if cls.__pydantic_fields__["id"].annotation is int else new_id()
        return value

    # Checked when set (field validators do not run on defaults, so loading pays nothing).
    @field_validator("only_update")
    @classmethod
    def _only_one_condition(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("only_create"):
            raise ValueError("only_create and only_update cannot both be set")
        return value

    @field_validator("expire_in_px")
    @classmethod
    def _only_one_expiry(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("expire_in") is not None:
            raise ValueError("set expire_in or expire_in_px, not both")
        return value

    @field_validator("keep_ttl")
    @classmethod
    def _keep_or_expire(cls, value: bool, info: ValidationInfo) -> bool:
        if value and (info.data.get("expire_in") is not None
                      or info.data.get("expire_in_px") is not None):
            raise ValueError("keep_ttl cannot be combined with expire_in / expire_in_px")
        return value
