"""The life of a model's indexes (``repo.index``): status, migration without downtime, and
pruning of the indexes an older definition of the model left behind. README, "Operations".

Every definition of a model has its own index, named after a hash of its FT.CREATE arguments
(``{prefix}:idx:{hash}``, index.py), so a process running an older version keeps querying the
index of its own definition while a newer one is built beside it. ``migrate`` builds the
current definition's index and then points the alias ``{prefix}:idx`` at it (FT.ALIASUPDATE),
for tools and raw FT.SEARCH users. ``prune`` drops the others once no process has used them
(uses.py) for ``idle`` seconds. Only indexes named and defined as this library makes them
(that name pattern, ON JSON, exactly this prefix) are ever looked at or dropped; documents
never are (FT.DROPINDEX without DD).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from ... import logs
from ...exceptions import InvalidQueryError, RedisCommandError
from . import uses
from .building import BuildLog, percent, progress
from .commands import (
    forget_use,
    ft_aliasupdate,
    ft_dropindex,
    ft_info,
    ft_list,
    read_uses,
    record_first_use,
)
from .facts import ServerFacts
from .health import IndexHealth, UnindexedDocument
from .index import IndexSpec, create
from .protocol import Batch, Call, Pause, Plan
from .replies import IndexInfo, index_info, index_names, index_uses, is_unknown_index

Progress = Callable[[int, int], object]

# How often migrate asks FT.INFO while the index builds.
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class StaleIndex:
    """An index over the model's keys that the current definition does not use."""

    name: str
    num_docs: int
    memory_bytes: int
    indexing: bool
    aliased: bool  # the alias ``{prefix}:idx`` points at it
    last_used: datetime | None  # as a process last recorded it (None: never recorded)


@dataclass(frozen=True)
class IndexState:
    """``repo.index.status()``: the current definition's index and the stale ones."""

    name: str  # the index of the current definition
    alias: str  # ``{prefix}:idx``
    exists: bool
    aliased: bool  # the alias points at this index
    num_docs: int
    indexing: bool  # still scanning keys that existed before it
    percent: float  # indexing progress, 0 to 100
    indexing_failures: int  # since it was created (the server never lowers the count)
    last_failure_key: str | None
    last_failure_error: str | None
    # The last failing document when it still cannot be indexed (health.py).
    unindexed: tuple[UnindexedDocument, ...]
    memory_bytes: int
    last_used: datetime | None
    stale: tuple[StaleIndex, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (datetimes as ISO 8601 text): the CLI's ``--json``."""
        out: dict[str, Any] = _jsonable(asdict(self))
        return out


@dataclass(frozen=True)
class PruneResult:
    """``repo.index.prune()``: the indexes dropped and those kept, each with the reason."""

    dropped: tuple[str, ...]
    kept: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"dropped": list(self.dropped), "kept": dict(self.kept)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _when(stamp: float | None) -> datetime | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, timezone.utc)


class Lifecycle:
    """The plans behind ``repo.index`` for one model."""

    def __init__(self, spec: IndexSpec, health: IndexHealth) -> None:
        self.spec = spec
        self.health = health
        self.alias = f"{spec.schema.prefix}:idx"
        self._ours = re.compile(re.escape(self.alias + ":") + "[0-9a-f]{10}")
        self._registry = uses.registry_key(spec.key_prefix)

    # -- reading the server's state ----------------------------------------------------------

    def _over_prefix(self, info: IndexInfo) -> bool:
        """The definition is the library's: ON JSON, exactly the model's prefix."""
        return info.key_type == "JSON" and info.prefixes == (self.spec.key_prefix,)

    def indexes(self) -> Plan[dict[str, IndexInfo]]:
        """FT.INFO of every index of this model's keys that the library made."""
        ours = sorted(n for n in index_names((yield Call(ft_list())))
                      if self._ours.fullmatch(n))
        if not ours:
            return {}
        replies = yield Batch(tuple(ft_info(name) for name in ours))
        found: dict[str, IndexInfo] = {}
        for name, reply in zip(ours, replies):
            if isinstance(reply, Exception):
                continue  # dropped meanwhile
            info = index_info(reply)
            if self._over_prefix(info):
                found[name] = info
        return found

    def aliased(self) -> Plan[str | None]:
        """The index the alias points at (None: no alias)."""
        try:
            return index_info((yield Call(ft_info(self.alias)))).name
        except RedisCommandError as exc:
            if is_unknown_index(exc):
                return None
            raise

    def last_uses(self) -> Plan[dict[str, float]]:
        return index_uses((yield Call(read_uses(self._registry))))

    def status(self) -> Plan[IndexState]:
        infos = yield from self.indexes()
        target = yield from self.aliased()
        used = yield from self.last_uses()
        current = infos.pop(self.spec.name, None)
        stale = tuple(
            StaleIndex(name=name, num_docs=info.num_docs, memory_bytes=info.memory_bytes,
                       indexing=info.indexing, aliased=name == target,
                       last_used=_when(used.get(name)))
            for name, info in infos.items())
        if current is None:
            return IndexState(
                name=self.spec.name, alias=self.alias, exists=False, aliased=False, num_docs=0,
                indexing=False, percent=0.0, indexing_failures=0, last_failure_key=None,
                last_failure_error=None, unindexed=(), memory_bytes=0,
                last_used=_when(used.get(self.spec.name)), stale=stale)
        bad = (yield from self.health.diagnose(current)) if current.indexing_failures \
            else None
        return IndexState(
            name=self.spec.name, alias=self.alias, exists=True,
            aliased=target == self.spec.name, num_docs=current.num_docs,
            indexing=current.indexing, percent=percent(current),
            indexing_failures=current.indexing_failures,
            last_failure_key=current.last_failure_key,
            last_failure_error=current.last_failure_error,
            unindexed=(bad,) if bad is not None else (), memory_bytes=current.memory_bytes,
            last_used=_when(used.get(self.spec.name)), stale=stale)

    # -- migrate -----------------------------------------------------------------------------

    def migrate(self, facts: ServerFacts, report: Progress | None = None
                ) -> Plan[IndexState]:
        """Create the current definition's index if missing, wait until it has indexed every
        existing document (``report(done, total)`` as it goes), then point the alias at it.
        Other indexes are left as they are: the processes using them go on."""
        name = self.spec.name
        others = yield from self.indexes()
        # What a complete older index holds is the best count of the documents to index.
        known = max((i.num_docs for n, i in others.items() if n != name and not i.indexing),
                    default=0)
        if name not in others:
            logs.index.info("migrate: creating index %r over the keys %r* (about %d "
                            "documents to index)", name, self.spec.key_prefix, known)
            yield from create(self.spec)
        started = time.monotonic()
        wait = BuildLog(name, "migrate")
        last: tuple[int, int] | None = None
        while True:
            info = index_info((yield Call(ft_info(name))))
            done, total = progress(info)
            building = info.indexing
            if building:
                total = max(total, known)
                wait.seen(info)
            if report is not None and (done, total) != last:
                report(done, total)
                last = (done, total)
            if not building:
                break
            yield Pause(_POLL_SECONDS)
        wait.finished(info)
        yield Call(ft_aliasupdate(self.alias, name))
        facts.index_ready.add(name)  # this pool's queries need not wait or ask again
        yield from uses.record(facts, self.spec.key_prefix, name)
        logs.index.info("migrate: index %r holds %d documents (%.1f s); alias %r points at "
                        "it", name, done, time.monotonic() - started, self.alias)
        if info.indexing_failures:
            logs.index.warning(
                "migrate: index %r could not index %d document(s); the last one is %r (%s)",
                name, info.indexing_failures, info.last_failure_key, info.last_failure_error)
        return (yield from self.status())

    # -- prune -------------------------------------------------------------------------------

    def prune(self, idle: float, force: bool) -> Plan[PruneResult]:
        """Drop (FT.DROPINDEX, never the documents) the stale indexes no process has used for
        ``idle`` seconds; ``force``: every stale index. The alias is moved to the current
        index first when it points at one being dropped (kept, without ``force``, while the
        current index is missing or still building)."""
        if isinstance(idle, bool) or not isinstance(idle, (int, float)) or not idle >= 0:
            raise InvalidQueryError(f"prune(idle=...) must be a number of seconds >= 0, "
                                    f"got {idle!r}")
        infos = yield from self.indexes()
        target = yield from self.aliased()
        used = yield from self.last_uses()
        current = infos.pop(self.spec.name, None)
        current_ready = current is not None and not current.indexing
        now = time.time()
        dropped: list[str] = []
        kept: dict[str, str] = {}
        for name in infos:
            stamp = used.get(name)
            if not force and stamp is None:
                # Never recorded (made before uses were recorded, or only written through):
                # counted as used from now on, so a prune ``idle`` seconds later drops it.
                yield Call(record_first_use(self._registry, name, now))
                kept[name] = (f"no use recorded before; counted as used now: a prune after "
                              f"{idle:g} s drops it unless a process uses it")
                continue
            if not force and stamp is not None and now - stamp < idle:
                kept[name] = (f"used {now - stamp:.0f} s ago (idle={idle:g} s): a process "
                              "may still use it")
                continue
            if name == target:
                if current_ready:
                    yield Call(ft_aliasupdate(self.alias, self.spec.name))
                    logs.index.info("prune: alias %r moved to %r", self.alias, self.spec.name)
                    target = self.spec.name
                elif not force:
                    kept[name] = ("the alias points at it and the current index is missing "
                                  "or still building: run migrate first")
                    continue
            try:
                yield Call(ft_dropindex(name))
            except RedisCommandError as exc:
                if not is_unknown_index(exc):
                    raise
            yield Call(forget_use(self._registry, name))
            logs.index.info("prune: dropped index %r (%d documents; the documents stay)",
                            name, infos[name].num_docs)
            dropped.append(name)
        return PruneResult(dropped=tuple(dropped), kept=kept)
