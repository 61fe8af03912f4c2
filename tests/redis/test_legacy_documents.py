"""Documents stored without an id, or with another id than their key's (written by other
programs or older versions): the key is the identity (issue 9, item 4). Every read path gives
the key's id, so delete / save / refresh address that key. Redis (sync, async) and the twin."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
import redis
from pydantic import BaseModel

from assimilator_stack import (
    AssimilatorConfig,
    InternalRepository,
    InternalUnitOfWork,
    InvalidDocumentError,
    RedisModel,
    filter_,
    only,
    order,
)
from assimilator_stack.backends.memory.store import StoredDocument
from tests.support.helpers import RepoFactory, UowFactory

pytestmark = pytest.mark.both_apis

PREFIX = "t:legacy"


class LegacyModel(RedisModel):
    name: str
    n: int = 0

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = PREFIX


class StrictLegacy(RedisModel):
    name: str

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "t:legacy-strict"
        autogenerate_id: ClassVar[bool] = False


class IntLegacy(BaseModel):
    id: int
    name: str


class Store:
    """Raw documents written behind the library's back, and repositories over them."""

    def __init__(self, kind: str, client: redis.Redis, make_repo: RepoFactory,
                 make_uow: UowFactory) -> None:
        self.kind, self.client = kind, client
        self.dict: dict[str, Any] = {}
        self._make_repo, self._make_uow = make_repo, make_uow

    def put(self, key: str, document: dict[str, Any]) -> None:
        if self.kind == "twin":
            self.dict[key] = StoredDocument(json.dumps(document), None, 1)
        else:
            self.client.execute_command("JSON.SET", key, "$", json.dumps(document))

    def keys(self, prefix: str) -> list[str]:
        if self.kind == "twin":
            return sorted(k for k in self.dict if k.startswith(prefix + ":"))
        return sorted(k.decode() for k in self.client.keys(prefix + ":*"))

    def repo(self, model: type[BaseModel] = LegacyModel) -> Any:
        if self.kind == "twin":
            return InternalRepository(self.dict, model)
        return self._make_repo(model)

    def uow(self) -> Any:
        if self.kind == "twin":
            return InternalUnitOfWork(InternalRepository(self.dict, LegacyModel))
        return self._make_uow(LegacyModel)


@pytest.fixture(params=["redis", "twin"])
def store(request: pytest.FixtureRequest, client: redis.Redis, make_repo: RepoFactory,
          make_uow: UowFactory) -> Store:
    made = Store(request.param, client, make_repo, make_uow)
    made.put(f"{PREFIX}:existing-pk", {"name": "old", "n": 1})
    return made


def first(entities: Any) -> Any:
    """The first entity of a stream, read to its end (an async one is then closed)."""
    everything = list(entities)
    return everything[0]


READS: dict[str, Callable[[Any], Any]] = {
    "get-by-id": lambda repo: repo.get(filter_(id="existing-pk")),
    "get-by-field": lambda repo: repo.get(filter_(name="old")),
    "filter": lambda repo: repo.filter()[0],
    "filter-ordered": lambda repo: repo.filter(order("n"))[0],
    "stream": lambda repo: first(repo.stream(batch_size=1)),
    "only": lambda repo: repo.get(only("name")),
    "only-by-id": lambda repo: repo.get(filter_(id="existing-pk"), only("n")),
}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_every_read_gives_the_keys_id(store: Store, read: Callable[[Any], Any]) -> None:
    repo = store.repo()
    first, second = read(repo), read(repo)
    assert first.id == second.id == "existing-pk"


def test_delete_save_refresh_address_the_key(store: Store) -> None:
    repo = store.repo()
    entity = repo.get(filter_(name="old"))
    entity.n = 2
    repo.save(entity)
    assert store.keys(PREFIX) == [f"{PREFIX}:existing-pk"]  # no duplicate
    other = repo.get(filter_(id="existing-pk"))
    assert other.n == 2
    other.n = 3
    repo.update(other)
    repo.refresh(entity)
    assert entity.n == 3
    assert repo.is_modified(entity) is False
    repo.delete(entity)
    assert store.keys(PREFIX) == []


def test_reads_in_a_unit_of_work(store: Store) -> None:
    with store.uow() as uow:
        entity = uow.repository.get(filter_(name="old"))
        assert entity.id == "existing-pk"
        entity.n = 9
        uow.repository.save(entity)
        uow.commit()
    assert store.keys(PREFIX) == [f"{PREFIX}:existing-pk"]
    assert store.repo().get(filter_(id="existing-pk")).n == 9


def test_a_document_holding_another_id_takes_its_keys(store: Store) -> None:
    store.put(f"{PREFIX}:copy", {"id": "existing-pk", "name": "copied", "n": 5})
    repo = store.repo()
    copied = repo.get(filter_(name="copied"))
    assert copied.id == "copy"
    repo.delete(copied)
    assert store.keys(PREFIX) == [f"{PREFIX}:existing-pk"]  # the original is untouched


def test_an_id_required_by_the_model_comes_from_the_key(store: Store) -> None:
    store.put("t:legacy-strict:s1", {"name": "strict"})
    assert store.repo(StrictLegacy).get(filter_(name="strict")).id == "s1"


@pytest.mark.parametrize(("key_id", "words"), [
    ("007", "'007', reads as 7, whose key is 'IntLegacy:7'"),
    ("abc", "'IntLegacy:abc' does not fit the model"),
])
def test_a_key_whose_id_does_not_fit_the_id_type(store: Store, key_id: str, words: str
                                                  ) -> None:
    store.put("IntLegacy:8", {"name": "fine"})
    repo = store.repo(IntLegacy)
    assert repo.get(filter_(id=8)).id == 8
    store.put(f"IntLegacy:{key_id}", {"name": "odd"})
    with pytest.raises(InvalidDocumentError, match=words):
        repo.get(filter_(name="odd"))


@pytest.mark.parametrize("model", [LegacyModel, StrictLegacy], ids=["autogenerate", "strict"])
def test_a_null_id_comes_from_the_key(store: Store, model: type[RedisModel]) -> None:
    prefix = model.AssimilatorConfig.key_prefix
    store.put(f"{prefix}:n1", {"id": None, "name": "nulled"})
    store.put(f"{prefix}:n2", {"id": None, "name": "nulled"})
    repo = store.repo(model)
    assert sorted(e.id for e in repo.filter(filter_(name="nulled"))) == ["n1", "n2"]
    assert repo.get(filter_(id="n1")).id == "n1"
