"""RedisModel: a pydantic v2 model with an id and the seed's special write values."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


def new_id() -> str:
    """A fresh random id (uuid4, 32 hex characters)."""
    return uuid.uuid4().hex


class RedisModel(BaseModel):
    """Base class for entities stored as RedisJSON documents.

    ``id`` is generated when absent unless ``AssimilatorConfig.autogenerate_id`` is False.
    The write options (``expire_in``, ``expire_in_px``, ``only_create``, ``only_update``,
    ``keep_ttl``) are ordinary attributes for one save and are excluded from the document.
    """

    # JSON has no NaN / Infinity: pydantic would store them as null, which no longer validates.
    model_config = ConfigDict(validate_assignment=True, allow_inf_nan=False)

    AssimilatorConfig: ClassVar[type[AssimilatorConfig]] = AssimilatorConfig

    id: str
    expire_in: int | None = Field(default=None, exclude=True, repr=False, gt=0)
    expire_in_px: int | None = Field(default=None, exclude=True, repr=False, gt=0)
    only_create: bool = Field(default=False, exclude=True, repr=False)
    only_update: bool = Field(default=False, exclude=True, repr=False)
    keep_ttl: bool = Field(default=False, exclude=True, repr=False)

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

    @model_validator(mode="before")
    @classmethod
    def _fill_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("id") is None:
            if not cls.AssimilatorConfig.autogenerate_id:
                raise ValueError(
                    f"{cls.__name__}: 'id' is required because "
                    "AssimilatorConfig.autogenerate_id is False"
                )
            id_field = cls.model_fields["id"]
            annotation = id_field.annotation
            data = {**data, "id": uuid.uuid4().int >> 65 if annotation is int else new_id()}
        return data

    @model_validator(mode="after")
    def _check_write_options(self) -> RedisModel:
        if self.only_create and self.only_update:
            raise ValueError("only_create and only_update cannot both be set")
        if self.expire_in is not None and self.expire_in_px is not None:
            raise ValueError("set expire_in or expire_in_px, not both")
        if self.keep_ttl and (self.expire_in is not None or self.expire_in_px is not None):
            raise ValueError("keep_ttl cannot be combined with expire_in / expire_in_px")
        return self
