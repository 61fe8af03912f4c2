"""A unit of work used outside its block is refused loudly (issue 9, item 3): commit() without
``with uow:``, writes through ``uow.repository`` outside the block, ``with uow:`` inside itself.
Reads through ``uow.repository`` outside the block stay plain reads. Redis (sync and async)
and the twin (sync and async)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from assimilator_stack import (
    AsyncInternalRepository,
    AsyncInternalUnitOfWork,
    DataLayerError,
    InternalRepository,
    InternalUnitOfWork,
    UnitOfWorkError,
    filter_,
)
from tests.support.helpers import UowFactory
from tests.support.models import Account
from tests.support.sync_facade import SyncFacade

pytestmark = pytest.mark.both_apis


@pytest.fixture(params=["redis", "twin"])
def new_uow(request: pytest.FixtureRequest, make_uow: UowFactory, api: str
            ) -> Callable[[], Any]:
    """Units of work over one store (Redis, or one dict for the twin)."""
    if request.param == "redis":
        return lambda: make_uow(Account)
    store: dict[str, Any] = {}
    if api == "async":
        bridge = request.getfixturevalue("bridge")
        return lambda: SyncFacade(AsyncInternalUnitOfWork(
            AsyncInternalRepository(store, Account)), bridge)
    return lambda: InternalUnitOfWork(InternalRepository(store, Account))


def stored_names(new_uow: Callable[[], Any]) -> list[str]:
    return sorted(e.username for e in new_uow().repository.filter())


def test_commit_outside_the_block_is_refused(new_uow: Callable[[], Any]) -> None:
    uow = new_uow()
    with pytest.raises(UnitOfWorkError, match="commit\\(\\) outside `with uow:`"):
        uow.commit()
    with uow:
        uow.repository.save(id="a", username="ann")
    with pytest.raises(UnitOfWorkError):
        uow.commit()  # after the block: what it queued was discarded, and stays so
    assert stored_names(new_uow) == []
    assert issubclass(UnitOfWorkError, DataLayerError)


@pytest.mark.parametrize("write", [
    lambda repo: repo.save(id="a", username="ann"),
    lambda repo: repo.save(id="b", username="bob"),
    lambda repo: repo.update(repo.get(filter_(id="k"))),
    lambda repo: repo.delete(repo.get(filter_(id="k"))),
    lambda repo: repo.update(filter_(id="k"), username="zed"),
    lambda repo: repo.delete(filter_(id="k")),
], ids=["save", "save-fields", "update", "delete", "bulk-update", "bulk-delete"])
def test_writes_through_uow_repository_outside_the_block_are_refused(
        new_uow: Callable[[], Any], write: Callable[[Any], Any]) -> None:
    with new_uow() as setup:
        setup.repository.save(id="k", username="kept")
        setup.commit()
    uow = new_uow()
    with pytest.raises(UnitOfWorkError, match="outside `with uow:`"):
        write(uow.repository)
    with uow:
        pass
    with pytest.raises(UnitOfWorkError):
        write(uow.repository)  # after the block too
    assert stored_names(new_uow) == ["kept"]


def test_reads_outside_the_block_are_plain_reads(new_uow: Callable[[], Any]) -> None:
    with new_uow() as uow:
        uow.repository.save(id="a", username="ann")
        uow.commit()
    reader = new_uow()
    assert reader.repository.get(filter_(id="a")).username == "ann"
    assert reader.repository.count() == 1


def test_a_block_inside_itself_is_refused(new_uow: Callable[[], Any]) -> None:
    uow = new_uow()
    with uow:
        uow.repository.save(id="a", username="ann")
        with pytest.raises(UnitOfWorkError, match="inside a block of the same"), uow:
            pass
        uow.commit()  # the outer block's queue was kept
    assert stored_names(new_uow) == ["ann"]


def test_the_block_still_works_after_a_refusal(new_uow: Callable[[], Any]) -> None:
    uow = new_uow()
    with pytest.raises(UnitOfWorkError):
        uow.commit()
    with uow:
        uow.repository.save(id="a", username="ann")
        uow.commit()
    assert stored_names(new_uow) == ["ann"]
