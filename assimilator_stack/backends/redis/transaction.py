"""The state of one Redis unit of work, owned by RedisUnitOfWork / AsyncRedisUnitOfWork: the
writes queued for its commit and whether its reads WATCHed keys. The repository a unit of work
hands out (``uow.repository``) queues into it and notes its reads there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...core.unit_of_work import NESTED_BEGIN, OUTSIDE_COMMIT
from ...documents.writes import WriteOp
from ...exceptions import UnitOfWorkError


@dataclass
class Transaction:
    """What one unit of work has done since it began."""

    pending: list[WriteOp] | None = None  # the queued writes; None outside the ``with`` block
    reads_watched: bool = False  # a read WATCHed keys: a change to them fails the commit

    def begin(self) -> None:
        if self.pending is not None:
            raise UnitOfWorkError(NESTED_BEGIN)
        self.pending = []
        self.reads_watched = False

    def take(self) -> tuple[list[WriteOp], bool]:
        """The queued writes and whether reads were watched, for a commit (the queue starts
        afresh)."""
        if self.pending is None:
            raise UnitOfWorkError(OUTSIDE_COMMIT)
        ops, self.pending = self.pending, []
        watched, self.reads_watched = self.reads_watched, False
        return ops, watched

    def rollback(self) -> None:
        self.pending = [] if self.pending is not None else None
        self.reads_watched = False

    def close(self) -> None:
        self.rollback()
        self.pending = None


class RedisTransaction:
    """begin / commit / rollback / close of a Redis unit of work, sync and async: the state
    changes here, the repository runs what must reach the server (its connection given back,
    the commit); what it returns (None, or an awaitable) is returned."""

    repository: Any
    transaction: Transaction

    def begin(self) -> Any:
        self.transaction.begin()
        return self.repository._release()

    def commit(self) -> Any:
        ops, watched = self.transaction.take()
        return self.repository._commit(ops, watched)

    def rollback(self) -> Any:
        self.transaction.rollback()
        return self.repository._release()

    def close(self) -> Any:
        self.transaction.close()
        return self.repository._release()
