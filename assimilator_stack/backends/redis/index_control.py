"""``repo.index``: status, migration and pruning of a model's indexes (lifecycle.py), on the
repository's own driver: values on RedisRepository, awaitables on AsyncRedisRepository."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .facts import ServerFacts
from .lifecycle import IndexState, Lifecycle, Progress, PruneResult
from .protocol import Plan
from .queries import QueryPlans


class IndexControl:
    """What ``repo.index`` does; RedisIndex and AsyncRedisIndex give its exact types."""

    def __init__(self, run: Callable[[Plan[Any], str], Any], plans: QueryPlans[Any],
                 facts: ServerFacts) -> None:
        self._run = run
        self._facts = facts
        self._plans = Lifecycle(plans.index, plans.health)

    @property
    def name(self) -> str:
        """The index of the model's current definition."""
        return self._plans.spec.name

    @property
    def alias(self) -> str:
        """``{prefix}:idx``: the alias ``migrate`` points at the current index."""
        return self._plans.alias

    def status(self) -> Any:
        """The current definition's index (exists, documents, progress, failures, memory)
        and the stale indexes over the model's keys, with when a process last used them."""
        return self._run(self._plans.status(), "index.status")

    def migrate(self, progress: Progress | None = None) -> Any:
        """Create the current definition's index if missing and return once it has indexed
        every existing document, calling ``progress(done, total)`` as it goes; then point
        the alias at it. Old indexes keep serving the processes that use them."""
        return self._run(self._plans.migrate(self._facts, progress), "index.migrate")

    def prune(self, idle: float = 3600, force: bool = False) -> Any:
        """Drop (never the documents) the indexes over the model's keys that the current
        definition does not use and no process used for ``idle`` seconds (``force``: all of
        them). Only indexes this library made are touched."""
        return self._run(self._plans.prune(idle, force), "index.prune")


class RedisIndex(IndexControl):
    """``RedisRepository.index``."""

    if TYPE_CHECKING:
        def status(self) -> IndexState: ...
        def migrate(self, progress: Progress | None = None) -> IndexState: ...
        def prune(self, idle: float = 3600, force: bool = False) -> PruneResult: ...


class AsyncRedisIndex(IndexControl):
    """``AsyncRedisRepository.index``: the same, awaited."""

    if TYPE_CHECKING:
        async def status(self) -> IndexState: ...
        async def migrate(self, progress: Progress | None = None) -> IndexState: ...
        async def prune(self, idle: float = 3600, force: bool = False) -> PruneResult: ...
