"""Models with a hash tag (AssimilatorConfig.hash_tag) on one server and in the in-memory twin:
the keys carry the tag, and every read and write finds the entity at that key — by id, by
entity, by a filter — as for a model without one."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from assimilator_stack import (
    InternalRepository,
    InvalidEntityError,
    NotFoundError,
    RedisModel,
    filter_,
    order,
)
from tests.support.helpers import RepoFactory, UowFactory

pytestmark = pytest.mark.both_apis


class TaggedAccount(RedisModel):
    name: str

    class AssimilatorConfig:
        hash_tag = "id"


class TaggedInvoice(RedisModel):
    account_id: str
    total: int = 0

    class AssimilatorConfig:
        hash_tag = "account_id"


def test_tag_from_the_id(make_repo: RepoFactory, client: redis.Redis) -> None:
    repo = make_repo(TaggedAccount)
    repo.save(TaggedAccount(id="a1", name="Ada"))
    repo.save(TaggedAccount(id="a2", name="Bob"))
    assert client.exists("TaggedAccount:{a1}", "TaggedAccount:{a2}") == 2
    assert repo.get(filter_(id="a1")).name == "Ada"
    assert [a.id for a in repo.filter(filter_(id__in=["a2", "a1"]))] == ["a2", "a1"]
    assert [a.id for a in repo.filter(order("-name"))] == ["a2", "a1"]
    repo.delete(repo.get(filter_(name="Bob")))
    assert client.exists("TaggedAccount:{a2}") == 0


def test_tag_from_another_field(make_repo: RepoFactory, make_uow: UowFactory,
                                client: redis.Redis) -> None:
    repo = make_repo(TaggedInvoice)
    repo.save(TaggedInvoice(id="i1", account_id="a1", total=5))
    repo.save(TaggedInvoice(id="i2", account_id="a1", total=7))
    assert client.exists("TaggedInvoice:{a1}:i1", "TaggedInvoice:{a1}:i2") == 2
    # by id: a search (the id alone does not give the key)
    assert repo.get(filter_(id="i2")).total == 7
    assert sorted(i.id for i in repo.filter(filter_(id__in=["i1", "i2", "nope"]))) == \
        ["i1", "i2"]
    with pytest.raises(NotFoundError):
        repo.get(filter_(id="nope"))
    assert [i.id for i in repo.filter(filter_(total__gt=5))] == ["i2"]
    stale = TaggedInvoice(id="i1", account_id="a1")
    repo.refresh(stale)
    assert stale.total == 5
    with make_uow(TaggedInvoice) as uow:
        found = uow.repository.get(filter_(id="i1"))
        found.total = 50
        uow.repository.save(found)
        uow.commit()
    assert repo.update(filter_(account_id="a1"), total=1) == 2
    assert repo.delete(filter_(id="i2")) == 1
    assert client.keys("TaggedInvoice:*") == [b"TaggedInvoice:{a1}:i1"]
    with pytest.raises(InvalidEntityError, match="account_id"):
        repo.save(TaggedInvoice(id="i3", account_id="a}b"))


@pytest.mark.sync_only
def test_the_twin_agrees() -> None:
    twin: InternalRepository[Any] = InternalRepository(model=TaggedInvoice)
    twin.save(TaggedInvoice(id="i1", account_id="a1", total=5))
    assert twin.get(filter_(id="i1")).total == 5
    assert twin.documents.key_of_entity(twin.get(filter_(id="i1"))) == "TaggedInvoice:{a1}:i1"
    assert "TaggedInvoice:{a1}:i1" in twin.session
    twin.delete(filter_(id="i1"))
    assert twin.count() == 0
