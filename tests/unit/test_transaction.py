"""A unit of work owns its transaction state (backends/redis/transaction.py): the writes it
queued and whether its reads WATCHed keys; the repository it hands out queues into it. No
server: nothing here is sent (a save inside a unit of work is only queued)."""

from __future__ import annotations

from typing import ClassVar

import pytest
import redis

from assimilator_stack import (
    AssimilatorConfig,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    UnitOfWorkError,
)
from assimilator_stack.backends.redis.transaction import Transaction
from assimilator_stack.documents.writes import DeleteKey, WriteOp


class Note(RedisModel):
    text: str = ""

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "u:note"


def test_a_transaction_queues_between_begin_and_close() -> None:
    transaction = Transaction()
    with pytest.raises(UnitOfWorkError):
        transaction.take()  # a commit outside the block
    transaction.begin()
    with pytest.raises(UnitOfWorkError):
        transaction.begin()  # nested
    op = WriteOp(key="u:note:1", steps=(DeleteKey(),))
    assert transaction.pending is not None
    transaction.pending.append(op)
    transaction.reads_watched = True
    assert transaction.take() == ([op], True)
    assert (transaction.pending, transaction.reads_watched) == ([], False)  # still open
    transaction.pending.append(op)
    transaction.reads_watched = True
    transaction.rollback()
    assert (transaction.pending, transaction.reads_watched) == ([], False)
    transaction.close()
    assert transaction.pending is None
    transaction.begin()  # a closed transaction may begin again
    assert transaction.pending == []


def test_the_unit_of_work_owns_the_state_its_repository_writes_into() -> None:
    client = redis.Redis()  # never connects: the save below is only queued
    repo = RedisRepository(client, Note)
    uow = RedisUnitOfWork(repo)
    other = RedisUnitOfWork(repo)
    uow.transaction.begin()
    other.transaction.begin()
    uow.repository.save(Note(id="1", text="a"))
    assert uow.transaction.pending is not None
    assert [op.key for op in uow.transaction.pending] == ["u:note:1"]
    assert other.transaction.pending == []  # each unit of work has its own
    uow.transaction.close()
    with pytest.raises(UnitOfWorkError):
        uow.repository.save(Note(id="2"))  # writes only inside the block
