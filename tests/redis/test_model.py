"""RedisModel: ids, AssimilatorConfig, write options, plain pydantic models, key namespaces."""

from __future__ import annotations

import string
from typing import Any, ClassVar

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from assimilator_stack import (
    AssimilatorConfig,
    InvalidQueryError,
    NotFoundError,
    RedisModel,
    RedisRepository,
)
from tests.support.helpers import RepoFactory, raw_json
from tests.support.models import ACCOUNT_PREFIX, NOTE_PREFIX, PLAIN_PREFIX, Account, Note, PlainItem

WRITE_OPTIONS = ("expire_in", "expire_in_px", "only_create", "only_update", "keep_ttl")


# -- ids --------------------------------------------------------------------------------------

def test_id_is_generated_when_absent() -> None:
    a, b = Account(username="a"), Account(username="b")
    assert isinstance(a.id, str) and a.id
    assert a.id != b.id


def test_custom_id_is_kept(make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(Account)
    saved = repo.save(Account(username="x", id="custom-id"))
    assert saved.id == "custom-id"
    assert client.exists(f"{ACCOUNT_PREFIX}:custom-id") == 1
    assert repo.get(repo.specs.filter(id="custom-id")).username == "x"


class Strict(RedisModel):
    name: str

    class AssimilatorConfig(AssimilatorConfig):
        autogenerate_id: ClassVar[bool] = False


class StrictChild(Strict):
    """Inherits the parent's AssimilatorConfig (autogenerate_id=False)."""


class Relaxed(Strict):
    """Overrides the parent's AssimilatorConfig again."""

    class AssimilatorConfig(AssimilatorConfig):
        autogenerate_id: ClassVar[bool] = True


def test_autogenerate_id_false_requires_an_id() -> None:
    with pytest.raises(ValidationError) as info:
        Strict(name="x")
    message = str(info.value)
    assert "'id' is required" in message and "autogenerate_id" in message
    assert Strict(name="x", id="given").id == "given"


def test_autogenerate_id_false_through_the_repository(make_repo: RepoFactory,
                                                      client: redis.Redis) -> None:
    repo = make_repo(Strict)
    with pytest.raises(ValueError, match="autogenerate_id"):
        repo.save(name="x")
    assert client.dbsize() == 0
    assert repo.save(name="x", id="k").id == "k"


def test_assimilator_config_is_inherited_and_overridable() -> None:
    with pytest.raises(ValidationError, match="autogenerate_id"):
        StrictChild(name="x")
    assert StrictChild.AssimilatorConfig.autogenerate_id is False
    assert Relaxed(name="x").id  # generated again
    assert Relaxed.AssimilatorConfig.autogenerate_id is True
    assert Strict.AssimilatorConfig.autogenerate_id is False  # the override did not leak up


class SeedStyleConfig(RedisModel):
    """The seed writes AssimilatorConfig as a plain class holding only what it changes."""

    name: str = ""

    class AssimilatorConfig:
        key_prefix: ClassVar[str] = "t:seedstyle"


class SeedStyleNoId(RedisModel):
    name: str = ""

    class AssimilatorConfig:
        autogenerate_id: ClassVar[bool] = False


def test_a_plain_assimilator_config_keeps_the_other_defaults(make_repo: RepoFactory,
                                                           client: redis.Redis) -> None:
    # Only key_prefix is set: autogenerate_id keeps its default (True).
    entity = SeedStyleConfig(name="x")
    assert entity.id
    make_repo(SeedStyleConfig).save(entity)
    assert client.exists(f"t:seedstyle:{entity.id}") == 1
    # Only autogenerate_id is set: the key prefix keeps its default (the class name).
    with pytest.raises(ValidationError, match="autogenerate_id"):
        SeedStyleNoId(name="x")
    make_repo(SeedStyleNoId).save(id="n1")
    assert client.exists("SeedStyleNoId:n1") == 1


# -- write options ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "options",
    [
        {"expire_in": 100},
        {"expire_in_px": 100_000},
        {"only_create": True},
        {"keep_ttl": True},
    ],
    ids=lambda o: next(iter(o)),
)
def test_write_options_are_never_stored(make_repo: RepoFactory, client: redis.Redis,
                                        options: dict[str, Any]) -> None:
    repo = make_repo(Account)
    saved = repo.save(username="w", **options)
    document = raw_json(client, f"{ACCOUNT_PREFIX}:{saved.id}")
    assert document["username"] == "w"
    assert not set(WRITE_OPTIONS) & set(document)
    # and the entity read back has them at their defaults
    loaded = repo.get(repo.specs.filter(id=saved.id))
    assert (loaded.expire_in, loaded.expire_in_px, loaded.only_create, loaded.only_update,
            loaded.keep_ttl) == (None, None, False, False, False)


def test_only_update_is_never_stored(make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(Account)
    saved = repo.save(username="w")
    repo.save(saved.model_copy(update={"username": "v", "only_update": True}))
    document = raw_json(client, f"{ACCOUNT_PREFIX}:{saved.id}")
    assert document["username"] == "v"
    assert not set(WRITE_OPTIONS) & set(document)


def test_write_options_on_the_model_instance(make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(Account)
    entity = Account(username="ttl", expire_in=50)
    repo.save(entity)
    key = f"{ACCOUNT_PREFIX}:{entity.id}"
    assert 0 < client.ttl(key) <= 50
    assert "expire_in" not in raw_json(client, key)


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"only_create": True, "only_update": True}, "only_create and only_update"),
        ({"expire_in": 1, "expire_in_px": 1000}, "expire_in or expire_in_px"),
        ({"keep_ttl": True, "expire_in": 1}, "keep_ttl"),
        ({"expire_in": 0}, "expire_in"),
        ({"expire_in_px": -5}, "expire_in_px"),
    ],
)
def test_contradictory_write_options_are_refused(make_repo: RepoFactory, client: redis.Redis,
                                                 options: dict[str, Any], fragment: str) -> None:
    repo = make_repo(Account)
    with pytest.raises(ValueError, match=fragment):
        repo.save(username="x", **options)
    assert client.dbsize() == 0


# -- plain pydantic models --------------------------------------------------------------------

def test_plain_basemodel_with_id_works(make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(PlainItem)
    saved = repo.save(id=7, name="bolt", qty=3)
    assert isinstance(saved, PlainItem) and saved == PlainItem(id=7, name="bolt", qty=3)
    assert raw_json(client, f"{PLAIN_PREFIX}:7")["name"] == "bolt"
    loaded = repo.get(repo.specs.filter(id=7))
    assert loaded == saved
    assert loaded.model_extra == {}  # nothing of the index bookkeeping leaks into extras
    assert repo.get(repo.specs.filter(id="7")) == saved  # the key is the id's text
    assert repo.count() == 1
    repo.save(PlainItem(id=8, name="nut"))
    assert [i.name for i in repo.filter(repo.specs.filter(id__in=[8, 7]))] == ["nut", "bolt"]
    repo.delete(saved)
    with pytest.raises(NotFoundError):
        repo.get(repo.specs.filter(id=7))


def test_plain_basemodel_takes_write_options_as_keywords(make_repo: RepoFactory,
                                                         client: redis.Redis) -> None:
    repo = make_repo(PlainItem)
    repo.save(id=1, name="a", expire_in=100)
    key = f"{PLAIN_PREFIX}:1"
    assert 0 < client.ttl(key) <= 100
    assert not set(WRITE_OPTIONS) & set(raw_json(client, key))  # extra="allow" stores extras
    repo.save(PlainItem(id=1, name="b"), keep_ttl=True)
    assert 0 < client.ttl(key) <= 100
    repo.save(PlainItem(id=1, name="c"))
    assert client.ttl(key) == -1
    repo.save(id=2, name="x", expire_in_px=100_000)
    assert 0 < client.pttl(f"{PLAIN_PREFIX}:2") <= 100_000
    with pytest.raises(Exception, match="already exists"):
        repo.save(id=2, name="y", only_create=True)
    assert repo.get(repo.specs.filter(id=2)).name == "x"
    with pytest.raises(NotFoundError, match="does not exist"):
        repo.save(id=3, name="z", only_update=True)
    assert client.exists(f"{PLAIN_PREFIX}:3") == 0


def test_plain_basemodel_instance_is_validated_on_save(make_repo: RepoFactory,
                                                      client: redis.Redis) -> None:
    repo = make_repo(PlainItem)
    item = PlainItem(id=1, name="a")
    item.qty = "many"  # type: ignore[assignment]  # plain models do not validate assignment
    with pytest.raises(ValueError, match="qty"):
        repo.save(item)
    assert client.exists(f"{PLAIN_PREFIX}:1") == 0


def test_model_without_id_is_refused(client: redis.Redis) -> None:
    class NoId(BaseModel):
        name: str

    with pytest.raises(TypeError, match="'id'"):
        RedisRepository(session=client, model=NoId)


# -- key namespaces ---------------------------------------------------------------------------

def test_each_model_has_its_own_namespace(make_repo: RepoFactory, client: redis.Redis) -> None:
    accounts, notes = make_repo(Account), make_repo(Note)
    accounts.save(username="a", id="same")
    notes.save(text="n", id="same")
    assert sorted(client.keys("*")) == sorted(
        [f"{ACCOUNT_PREFIX}:same".encode(), f"{NOTE_PREFIX}:same".encode()]
    )
    assert accounts.get(accounts.specs.filter(id="same")).username == "a"
    assert notes.get(notes.specs.filter(id="same")).text == "n"
    notes.delete(notes.get(notes.specs.filter(id="same")))
    assert accounts.get(accounts.specs.filter(id="same")).username == "a"


def test_default_prefix_is_the_class_name(make_repo: RepoFactory, client: redis.Redis) -> None:
    make_repo(PlainItem).save(id=1, name="x")
    assert client.keys("*") == [f"{PLAIN_PREFIX}:1".encode()]


class ShopOrder(RedisModel):
    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:shop"


class ShopOrderLine(RedisModel):
    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:shop:line"


class ShopTwin(RedisModel):
    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:shop"


class ShopSibling(RedisModel):
    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:shopping"


def test_overlapping_prefixes_are_refused(client: redis.Redis) -> None:
    RedisRepository(session=client, model=ShopOrder)
    # "t:shop:line:1" could be ShopOrder "line:1" or ShopOrderLine "1"
    with pytest.raises(ValueError) as info:
        RedisRepository(session=client, model=ShopOrderLine)
    message = str(info.value)
    assert "'t:shop:line'" in message and "'t:shop'" in message
    assert "ShopOrder" in message and "key_prefix" in message
    with pytest.raises(ValueError, match=r"'t:shop'.*ShopTwin.*ShopOrder"):
        RedisRepository(session=client, model=ShopTwin)
    # a prefix that merely starts with the same letters is fine
    RedisRepository(session=client, model=ShopSibling)
    # and the owner can still make repositories
    RedisRepository(session=client, model=ShopOrder)


def test_same_class_name_in_another_module_needs_its_own_prefix(client: redis.Redis) -> None:
    class Gadget(RedisModel):
        name: str

    class OtherGadget(RedisModel):
        name: str

    # Same class name, another module: by default both would live under "Gadget:".
    OtherGadget.__name__ = "Gadget"
    OtherGadget.__module__ = "another_app.models"
    RedisRepository(session=client, model=Gadget)
    with pytest.raises(ValueError, match=r"'Gadget'.*another_app\.models\.Gadget.*key_prefix"):
        RedisRepository(session=client, model=OtherGadget)

    # The same class defined again in the same module takes its prefix over.
    class Gadget(RedisModel):  # type: ignore[no-redef]
        name: str

    RedisRepository(session=client, model=Gadget)


# -- ids that need care: stored and found exactly, never colliding ----------------------------

AWKWARD = [":", "*", " ", "\\", '"', "'", "é", "日本", "😀", "{", "}", "|", "-", "@", "$", "\t",
           "\n", "%", "?", "[", "]", "t:note:", "t:account:"]

awkward_ids = st.one_of(
    # (NUL is refused: RediSearch cannot read such a key; see test_count.py)
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            min_size=1, max_size=24),
    st.lists(st.sampled_from(AWKWARD + list(string.ascii_letters[:6])), min_size=1,
             max_size=8).map("".join),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(account_id=awkward_ids, note_id=awkward_ids)
def test_awkward_ids_are_stored_and_found_exactly(client: redis.Redis, account_id: str,
                                                  note_id: str) -> None:
    client.flushall()
    accounts = RedisRepository(session=client, model=Account)
    notes = RedisRepository(session=client, model=Note)
    accounts.save(username="a", id=account_id)
    accounts.save(username="other", id=account_id + "-2")
    notes.save(text="n", id=note_id)

    assert sorted(client.keys("*")) == sorted(
        k.encode() for k in (f"{ACCOUNT_PREFIX}:{account_id}",
                             f"{ACCOUNT_PREFIX}:{account_id}-2", f"{NOTE_PREFIX}:{note_id}")
    )
    found = accounts.get(accounts.specs.filter(id=account_id))
    assert (found.id, found.username) == (account_id, "a")
    assert notes.get(notes.specs.filter(id=note_id)).id == note_id
    both = accounts.filter(accounts.specs.filter(id__in=[account_id, account_id + "-2"]))
    assert [(e.id, e.username) for e in both] == [(account_id, "a"),
                                                  (account_id + "-2", "other")]
    assert accounts.count() == 2 and notes.count() == 1

    accounts.delete(found)
    with pytest.raises(NotFoundError):
        accounts.get(accounts.specs.filter(id=account_id))
    assert accounts.get(accounts.specs.filter(id=account_id + "-2")).username == "other"
    assert notes.get(notes.specs.filter(id=note_id)).text == "n"
    assert accounts.count() == 1 and notes.count() == 1


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(awkward_ids, min_size=1, max_size=5, unique=True))
def test_awkward_ids_with_id_in(client: redis.Redis, ids: list[str]) -> None:
    client.flushall()
    accounts = RedisRepository(session=client, model=Account)
    for i, entity_id in enumerate(ids):
        accounts.save(username=f"u{i}", id=entity_id)
    found = accounts.filter(accounts.specs.filter(id__in=[*reversed(ids), "never-saved"]))
    assert [e.id for e in found] == list(reversed(ids))
    assert accounts.count(accounts.specs.filter(id__in=ids)) == len(ids)


def test_id_none_matches_nothing(make_repo: RepoFactory) -> None:
    # eq=None means "no value" (docs/queries.md); no entity lacks an id, even one saved as "None"
    repo = make_repo(Account)
    repo.save(username="n", id="None")
    with pytest.raises(NotFoundError):
        repo.get(repo.specs.filter(id=None))
    assert repo.filter(repo.specs.filter(id__in=[None])) == []


def test_id_in_needs_a_collection(make_repo: RepoFactory) -> None:
    repo = make_repo(Account)
    with pytest.raises(InvalidQueryError, match="id__in"):
        repo.filter(repo.specs.filter(id__in="abc"))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_refused_not_stored_as_null(make_repo: RepoFactory,
                                                          client: redis.Redis,
                                                          value: float) -> None:
    # JSON has no NaN/Infinity: stored, they would come back as null and never load again
    repo = make_repo(Account)
    with pytest.raises(ValueError, match="balance"):
        repo.save(username="x", balance=value)
    entity = repo.save(username="x", balance=1)
    with pytest.raises(ValueError, match="balance"):
        entity.balance = value
    assert client.dbsize() == 1
    assert repo.get(repo.specs.filter(id=entity.id)).balance == 1
