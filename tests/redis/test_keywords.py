"""Keywords of save(**fields) and update(entity, **values): applied, or refused with an error
naming the keyword; never dropped (issue 9, item 2). On Redis (sync and async) and the twin."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field

from assimilator_stack import (
    AssimilatorConfig,
    InternalRepository,
    InvalidEntityError,
    InvalidQueryError,
    RedisModel,
    filter_,
)
from tests.support.helpers import RepoFactory

pytestmark = pytest.mark.both_apis


class Geo(BaseModel):
    lat: float = 0.0
    lon: float = 0.0


class Address(BaseModel):
    city: str
    street: str = ""
    geo: Geo = Geo()


class Resident(RedisModel):
    name: str
    address: Address
    previous: Address | None = None
    tags: list[str] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    nick: str = Field(default="", alias="nickName")

    model_config = ConfigDict(populate_by_name=True)

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:kw-resident"


class Open(RedisModel):
    model_config = ConfigDict(extra="allow")
    name: str = ""

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:kw-open"


@pytest.fixture(params=["redis", "twin"])
def repo(request: pytest.FixtureRequest, make_repo: RepoFactory, api: str) -> Any:
    if request.param == "twin":
        return InternalRepository(model=Resident)
    return make_repo(Resident)


def stored(repo: Any, entity_id: str) -> Resident:
    got: Resident = repo.get(filter_(id=entity_id))
    return got


def test_update_a_nested_field_by_keyword(repo: Any) -> None:
    saved = repo.save(id="r", name="Ann", address=Address(city="Oslo", street="Main"))
    repo.update(saved, address__city="Happy Valley")
    got = stored(repo, "r")
    assert (got.address.city, got.address.street) == ("Happy Valley", "Main")
    repo.update(got, address__geo__lat=1.5, name="Anna")
    again = stored(repo, "r")
    assert (again.name, again.address.geo.lat, again.address.city) == (
        "Anna", 1.5, "Happy Valley")


def test_save_with_nested_keywords_over_an_entity_and_over_a_whole_field(repo: Any) -> None:
    base = Resident(id="s", name="Bo", address=Address(city="Rome"))
    repo.save(base, address__street="Via Appia")
    assert stored(repo, "s").address == Address(city="Rome", street="Via Appia")
    # the whole field first, then the nested keyword inside it, whatever the order given
    repo.save(address__street="Elm", id="t", name="Cy", address={"city": "Kyiv"})
    assert stored(repo, "t").address == Address(city="Kyiv", street="Elm")


def test_a_nested_value_is_validated(repo: Any) -> None:
    saved = repo.save(id="v", name="Di", address=Address(city="Oslo"))
    with pytest.raises(InvalidEntityError, match="lat"):
        repo.update(saved, address__geo__lat="north")
    assert stored(repo, "v").address.geo.lat == 0.0


@pytest.mark.parametrize(("keyword", "words"), [
    ("typo", "'typo' is not a field"),
    ("address__town", "'town', not a field of Address"),
    ("previous__city", "'previous', which holds no model"),
    ("tags__x", "'tags', which does not hold one nested model"),
    ("meta__k", "'meta', which does not hold one nested model"),
    ("name__first", "'name', which does not hold one nested model"),
])
def test_unknown_or_unclear_keywords_are_refused(repo: Any, keyword: str, words: str) -> None:
    saved = repo.save(id="u", name="Ed", address=Address(city="Oslo"))
    with pytest.raises(InvalidQueryError, match=words):
        repo.update(saved, **{keyword: 1})
    with pytest.raises(InvalidQueryError, match=words):
        repo.save(saved, **{keyword: 1})
    with pytest.raises(InvalidQueryError, match=words):
        repo.save(id="w", name="Fi", address=Address(city="Oslo"), **{keyword: 1})
    assert stored(repo, "u") == saved
    assert repo.count() == 1


def test_fields_by_alias_and_name_are_both_applied(repo: Any) -> None:
    saved = repo.save(id="a", name="Gu", address=Address(city="X"), nickName="g")
    assert stored(repo, "a").nick == "g"
    repo.update(saved, nick="gg")
    assert stored(repo, "a").nick == "gg"


def test_a_model_that_keeps_extra_keys_keeps_unknown_keywords(make_repo: RepoFactory) -> None:
    repo = make_repo(Open)
    saved = repo.save(id="o", name="x", colour="red")
    got = repo.get(filter_(id="o"))
    assert got.model_extra == {"colour": "red"} and saved.model_extra == {"colour": "red"}
