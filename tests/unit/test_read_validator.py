"""read_validator: the validator of documents read back, without RedisModel's ``id``
before-validator (a Python call per document); what it refuses, the model's own reads."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from assimilator_stack import RedisModel
from assimilator_stack.model import read_validator


class Item(RedisModel):
    name: str
    price: float = 0.0


class OwnIdCheck(RedisModel):
    name: str

    @field_validator("id", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


def test_a_stored_document_reads_as_the_models_own_validator_reads_it() -> None:
    raw = '{"id": "a1", "name": "n", "price": 2.5, "__idx": {"__nulls": []}}'
    read = read_validator(Item).validate_json(raw)
    assert type(read) is Item
    assert read == Item.model_validate_json(raw)
    assert read.model_fields_set == Item.model_validate_json(raw).model_fields_set
    assert (read.expire_in, read.only_create, read.keep_ttl) == (None, False, False)


def test_the_id_before_validator_is_left_out() -> None:
    # The model's own validator turns a null id into a fresh one; the read validator refuses
    # it, so the codec reads that document the slow way (the key's id).
    assert Item.model_validate_json('{"id": null, "name": "n"}').id
    with pytest.raises(ValidationError) as refused:
        read_validator(Item).validate_json('{"id": null, "name": "n"}')
    assert refused.value.errors()[0]["loc"] == ("id",)


@pytest.mark.parametrize("model", [OwnIdCheck, BaseModel])
def test_other_models_keep_their_own_validator(model: type[BaseModel]) -> None:
    assert read_validator(model) is model.__pydantic_validator__


def test_a_rebuilt_model_reads_with_its_new_validator() -> None:
    class Rebuilt(RedisModel):
        name: str

    assert read_validator(Rebuilt) is not Rebuilt.__pydantic_validator__
    Rebuilt.model_rebuild(force=True)
    assert read_validator(Rebuilt) is Rebuilt.__pydantic_validator__
