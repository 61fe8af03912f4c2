"""``update(*specs, **values)`` and ``delete(*specs)`` as plans: the keys of every match,
then the writes (queued in a unit of work, else in checked MULTI/EXEC batches: watching.py)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel

from ...documents.updates import build_update
from ...documents.writes import WriteOp
from ...exceptions import InvalidQueryError
from .commands import (
    delete,
    write_commands,
)
from .facts import ServerFacts
from .protocol import Plan
from .queries import LIST_PAGE
from .reads import ReadPlans
from .replies import row_key
from .watching import checked_writes, watched_keys

M = TypeVar("M", bound=BaseModel)


class BulkPlans(ReadPlans[M]):
    """Bulk updates and deletes of a model's entities."""

    def matching_keys(self, specs: Sequence[Any], facts: ServerFacts, watch: bool
                      ) -> Plan[list[str]]:
        """The keys of every entity ``specs`` select. Exact filters read no document. With
        ``watch`` (a unit of work) each key is WATCHed before the search that returns it
        (watching.py), as for every read of a unit of work."""
        read = self.read(specs, page=LIST_PAGE)
        near = read.query.knn is not None or read.query.distance is not None
        if watch and read.keys is None and not near:  # (nearness reads WATCH as reads do)
            return (yield from watched_keys(self, read, facts))
        return (yield from self._matching_keys(specs, facts, watch))

    def _matching_keys(self, specs: Sequence[Any], facts: ServerFacts, watch: bool
                       ) -> Plan[list[str]]:
        read = self.read(specs, page=LIST_PAGE)
        if not read.query.offset and read.limit is None:
            # Which entities match does not depend on the order: read them unsorted, which is
            # complete also for entities whose sort values change meanwhile.
            read.sort = None
        compiled = read.compiled
        near = read.query.knn is not None or read.query.distance is not None
        if read.keys is not None or near or (compiled is not None and not compiled.exact):
            found = yield from self.read_all(read, facts, watch)
            return [self.key_of_entity(e) for e in found]
        assert compiled is not None
        if compiled.matches_nothing:
            return []
        scan = yield from self.open_scan(compiled, read.sort, facts, read.page,
                                         offset=read.query.offset, limit=read.limit)
        run = partial(self.run_query, facts)
        keys: list[str] = []
        try:
            while rows := (yield from scan.next_page(run)):
                keys += [row_key(row) for row in rows]
        finally:
            yield from scan.close()
        return list(dict.fromkeys(keys))

    def update_matches(self, specs: Sequence[Any], values: dict[str, Any],
                       facts: ServerFacts, queue: bool
                       ) -> Plan[tuple[int, list[WriteOp]]]:
        """Set ``values`` on every match. ``queue`` (a unit of work): return the write ops
        for its commit; otherwise write now, in MULTI/EXEC batches. Returns (how many, ops)."""
        if not specs:
            raise InvalidQueryError(
                f"update(**values) of {self.model.__name__} needs a specification of what to "
                "update (filter_() for every entity)"
            )
        update = build_update(self.schema, values)
        read = self.read(specs)  # check the specifications before anything is sent
        keys = yield from self.matching_keys(specs, facts, watch=queue)
        if queue:
            return len(keys), [update.op(key) for key in keys]
        per_key = len(update.steps)

        def written(batch: Sequence[str], replies: Sequence[Any]) -> int:
            firsts = (replies[i * per_key] for i in range(len(batch)))
            return sum(1 for r in firsts if r is not None and not isinstance(r, Exception))

        done = yield from checked_writes(
            self, read, keys, facts,
            lambda batch: tuple(args for key in batch for args in write_commands(update.op(key))),
            written)
        return done, []

    def delete_matches(self, specs: Sequence[Any], facts: ServerFacts, queue: bool
                       ) -> Plan[tuple[int, list[WriteOp]]]:
        """Delete every match (none without a specification); see update_matches."""
        if not specs:
            return 0, []
        read = self.read(specs)
        keys = yield from self.matching_keys(specs, facts, watch=queue)
        if queue:
            return len(keys), [self.delete_op(key) for key in keys]
        done = yield from checked_writes(self, read, keys, facts,
                                         lambda batch: (delete(*batch),),
                                         lambda batch, replies: int(replies[0]))
        return done, []
