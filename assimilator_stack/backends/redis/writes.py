"""A commit as a plan: MULTI/EXEC of every write op (documents/writes.py), all or nothing,
with only_create / only_update checked first and the old TTLs of saved keys cleared."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel

from ...documents.writes import WriteOp, condition_failure, conflict
from ...exceptions import RedisCommandError
from .commands import (
    exists,
    persist,
    persist_all,
    write_commands,
)
from .facts import ServerFacts
from .protocol import Args, Batch, Exec, Plan, Watch, WatchFailed
from .queries import QueryPlans

M = TypeVar("M", bound=BaseModel)
# A commit whose only watched keys are its own only_create / only_update checks is retried
# this many times when another client touches one of those keys between check and EXEC.
_CONDITION_RETRIES = 5
# A commit saving at least this many keys clears their old TTLs with one EVAL, not a PERSIST
# per key (the same meaning, inside the same MULTI, at a fraction of the cost).
_PERSIST_IN_SCRIPT = 32


def _with_persist(ops: Sequence[WriteOp], script: bool = True
                  ) -> tuple[tuple[Args, ...], tuple[str, ...]]:
    """The commands of ``ops`` with their PERSISTs (a save clears the key's old TTL, as SET
    does), and the keys one EVAL at the end clears (empty: PERSIST after each save).

    At the end, a key's PERSIST must not undo a TTL a later op sets (EXPIRE / PEXPIRE): such
    keys are left to that op; any other later op (a partial update, a keep_ttl save, a
    delete) keeps or drops the key's TTL as it stands, so a PERSIST after it means the same."""
    persisting = sum(1 for op in ops if op.persist)
    if not script or persisting < _PERSIST_IN_SCRIPT:
        return tuple(args for op in ops
                     for args in (write_commands(op) + ((persist(op.key),) if op.persist else ()))
                     ), ()
    decided: set[str] = set()
    keys: list[str] = []
    for op in reversed(ops):
        if op.key in decided:
            continue
        if op.sets_ttl:
            decided.add(op.key)
        elif op.persist:
            decided.add(op.key)
            keys.append(op.key)
    commands = tuple(args for op in ops for args in write_commands(op))
    if not keys:
        return commands, ()
    keys.reverse()
    return (*commands, persist_all(keys)), tuple(keys)


class WritePlans(QueryPlans[M]):
    """Commits of a model's write ops."""

    def commit(self, ops: Sequence[WriteOp], reads_watched: bool,
               facts: ServerFacts | None = None) -> Plan[None]:
        """MULTI/EXEC of every op, all or nothing.

        only_create / only_update keys are WATCHed and checked first, so a failed condition
        writes nothing. If a key the unit of work read changed, nothing is written and
        ConcurrencyError is raised. With ``facts``, the index is created first if it does not
        exist yet, so entities are indexed as they are written (in write order).
        """
        if not ops:
            return
        if facts is not None:
            yield from self.create_index(facts)
        conditional = [op for op in ops if op.condition is not None]
        scripts = facts is None or not facts.scripts_refused
        commands, script_keys = _with_persist(ops, script=scripts)
        for attempt in range(_CONDITION_RETRIES):
            if conditional:
                keys = tuple(op.key for op in conditional)
                yield Watch(keys)
                found = yield Batch(tuple(exists(key) for key in keys))
                failed = condition_failure(conditional, found)
                if failed is not None:
                    if reads_watched:
                        # A key this unit of work read may have changed since (read, then
                        # deleted by another client): then the failure is a conflict to retry,
                        # not the caller's mistake. An empty MULTI/EXEC tells.
                        try:
                            yield Exec(())
                        except WatchFailed as exc:
                            raise conflict() from exc
                    raise failed
            try:
                replies = yield Exec(commands)
            except WatchFailed as exc:
                if reads_watched or attempt == _CONDITION_RETRIES - 1:
                    raise conflict() from exc
                continue
            except RedisCommandError:
                if not script_keys:
                    raise
                # EVAL refused when queued (an ACL, scripting turned off): nothing was
                # written; again with a PERSIST per key (and so from now on, for this pool)
                if facts is not None:
                    facts.scripts_refused = True
                commands, script_keys = _with_persist(ops, script=False)
                continue
            failures = [(args, r) for args, r in zip(commands, replies) if isinstance(r, Exception)]
            if script_keys and len(failures) == 1 and failures[0][0] is commands[-1]:
                # The script failed when run: the saves are in; clear the old TTLs one key
                # at a time (no longer in the same MULTI as the saves).
                yield Exec(tuple(persist(key) for key in script_keys))
                return
            if failures:
                args, reply = failures[0]
                raise RedisCommandError(
                    f"Redis rejected {args[0]} {args[1]!r} inside the commit: {reply}", args
                )
            return
