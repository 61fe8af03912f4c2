"""Reading every row of a query, page by page, as plans (no I/O here).

:class:`OrderedScan` reads rows in the order of its sort keys (the last is the id, so the order
is total). Each page is one FT.AGGREGATE with ``SORTBY ... LIMIT skip num``; after a page it
moves its *anchor* to the last row read (that row's exact sort values, read from the document)
so the next page is "the rows after the anchor" (keyset paging). So it never asks for an offset
past the server's MAXAGGREGATERESULTS and each page costs the same however deep it is. Each page
is one command: an entity whose sort values do not change during the scan is read exactly once
whatever others write; one whose sort values change is read by each page whose range holds them
when that page is read (twice, or never, if it moves across the scan's position; ``unique``
keeps only its first reading). ``offset``/``limit`` are applied on the way.

:class:`CursorScan` reads rows in no particular order with ``WITHCURSOR`` (the cheapest way to
read everything), checks that nothing was reindexed meanwhile or else completes the read with
an OrderedScan in id order; :meth:`CursorScan.close` deletes a cursor left open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Protocol

from ...exceptions import PartialResultError, RedisCommandError
from .commands import (
    aggregate,
    anchor_paths,
    cursor_delete,
    cursor_read,
    cursor_steps,
    ft_info,
    json_get,
    window_steps,
)
from .keyset import (
    after_expression,
    anchor_representable,
    row_matches_anchor,
    row_strings_representable,
)
from .protocol import Args, Call, Plan
from .replies import (
    KEY_BYTES,
    Row,
    aggregate_rows,
    anchor_from_json,
    check_complete,
    cursor_reply,
    index_generation,
    row_key,
)
from .sort_keys import Anchor, SortKey


class Runner(Protocol):
    """Runs one query command. With ``before``, those commands go first in the same round
    trip and the value is (their replies, errors as exceptions; the query's reply)."""

    def __call__(self, command: Args, before: tuple[Args, ...] = ()) -> Plan[Any]: ...


# How many rows of a page are tried as the next anchor (each try is one JSON.GET); only rows
# changed since the page was read, or with sort strings a FILTER literal cannot hold, fail.
_ANCHOR_TRIES = 4
# Rows a jump over an offset reads at least (candidates for its new anchor).
_JUMP_ROWS = 64


class OrderedScan:
    """The rows of ``where`` in ``keys`` order, from ``offset``, at most ``limit``.

    With ``keys`` None the rows come in index order, unsorted: then the scan must be one
    window (``offset + limit`` within ``max_rows``; ``page`` = ``limit``).
    """

    def __init__(self, index: str, where: str, params: Sequence[str | bytes],
                 keys: Sequence[SortKey] | None,
                 *, timeout_ms: int, max_rows: int | None, page: int, offset: int = 0,
                 limit: int | None = None, documents: bool = False,
                 unique: bool = False) -> None:
        self.documents = documents
        self.seen: set[str] | None = set() if unique else None  # keys returned (unique)
        self.index = index
        self.where = where
        self.params = tuple(params)
        self.keys = None if keys is None else tuple(keys)
        self.timeout_ms = timeout_ms
        self.max_rows = max_rows
        self.page = max(1, page if max_rows is None else min(page, max_rows))
        self.anchor: Anchor | None = None
        self.skip = offset  # rows after the anchor that are not wanted (offset, or already read)
        # Keys of rows after the anchor that were read already (the anchor is not the last row
        # read when that row changed meanwhile); dropped by key, not skipped by count, so an
        # entity leaving that part meanwhile cannot make the next page skip another.
        self.tail: frozenset[str] = frozenset()
        self.remaining = limit
        self.done = limit == 0

    def command(self, skip: int, num: int, sort_first: bool = True) -> Args:
        after = None
        if self.anchor is not None and self.keys is not None:
            after = after_expression(self.keys, self.anchor)
        steps = window_steps(self.keys, skip, num, after, sort_first=sort_first,
                             documents=self.documents)
        return aggregate(self.index, self.where, self.params, steps, self.timeout_ms)

    def first_command(self) -> Args:
        """The command the first page sends (for ``explain``)."""
        return self.command(*self._window())

    def _window(self) -> tuple[int, int]:
        num = self.page if self.remaining is None else min(self.page, self.remaining)
        num += len(self.tail)
        if self.max_rows is not None and self.skip + num > self.max_rows:
            num = max(0, self.max_rows - self.skip)
        return self.skip, num

    def _rows(self, run: Runner, skip: int, num: int) -> Plan[list[Row]]:
        command = self.command(skip, num)
        rows, warnings = aggregate_rows((yield from run(command)))
        check_complete(warnings, command)
        if len(rows) < num and self.keys is not None:
            # Short: the end of the matches, or dead rows (expired keys not yet reclaimed)
            # inside the sorted window. Only the slower form that drops them first can tell.
            command = self.command(skip, num, sort_first=False)
            rows, warnings = aggregate_rows((yield from run(command)))
            check_complete(warnings, command)
        return rows

    def next_page(self, run: Runner) -> Plan[list[Row]]:
        """The next rows (an empty list once the scan is done)."""
        while not self.done:
            skip, num = self._window()
            if num == 0:  # the offset reaches past what one query may skip: jump ahead
                yield from self._jump(run)
                continue
            rows = yield from self._rows(run, skip, num)
            if len(rows) < num:
                self.done = True
            consumed = skip + len(rows)
            kept = [r for r in rows if row_key(r) not in self.tail] if self.tail else rows
            last = self.done or (self.remaining is not None and len(kept) >= self.remaining)
            if self.seen is not None and (self.seen or not last):
                # an entity moved past the anchor is read again (one query never repeats a
                # key: a first page that ends the scan, or fills its limit, has nothing to
                # check and no page after it to check against it)
                kept = [r for r in kept if not _repeated(self.seen, r)]
            if self.remaining is not None:
                kept = kept[:self.remaining]
                self.remaining -= len(kept)
                self.done = self.done or self.remaining <= 0
            if self.done:
                self.skip = consumed
            else:
                found = yield from self._anchor_in(run, rows)
                if found is not None:
                    self.skip = 0
                    self.tail = frozenset(row_key(r) for r in rows[found + 1:])
                elif self.max_rows is None or \
                        consumed + len(self.tail) + self.page <= self.max_rows:
                    # no row to anchor at: keep the old anchor, drop these rows by key too
                    self.tail |= frozenset(row_key(r) for r in rows)
                else:  # too many: go on by count (a jump, or PartialResultError)
                    self.skip = consumed
            if kept:
                return kept
        return []

    def _jump(self, run: Runner) -> Plan[None]:
        """Move the anchor forward over rows the offset skips, without reading documents."""
        assert self.max_rows is not None
        start = max(0, self.max_rows - max(self.page, _JUMP_ROWS))
        rows = yield from self._rows(run, start, self.max_rows - start)
        if len(rows) < self.max_rows - start:
            self.done = True  # fewer rows than the offset: nothing is left
            return
        found = yield from self._anchor_in(run, rows)
        if found is None:
            raise PartialResultError(
                f"cannot page past {self.max_rows} rows (the server's MAXAGGREGATERESULTS): "
                f"the sort values of the last {len(rows)} rows read could not anchor the next "
                "page (they changed meanwhile, or hold a backslash followed by punctuation or "
                "whitespace, or ending the string). Raise MAXAGGREGATERESULTS or order by other "
                "fields"
            )
        self.skip -= start + found + 1

    def _anchor_in(self, run: Runner, rows: Sequence[Row]) -> Plan[int | None]:
        """Anchor the scan at the last usable row of ``rows``; its index, or None."""
        if self.keys is None:
            return None
        tries = 0
        for index in range(len(rows) - 1, -1, -1):
            row = rows[index]
            if not row_strings_representable(self.keys, row):
                continue
            tries += 1
            reply = yield Call(json_get(row_key(row), *anchor_paths(self.keys)))
            anchor = anchor_from_json(self.keys, reply)
            if (anchor is not None and anchor_representable(self.keys, anchor)
                    and row_matches_anchor(self.keys, row, anchor)):
                self.anchor = anchor
                return index
            if tries >= _ANCHOR_TRIES:
                break
        return None


    def close(self) -> Plan[None]:
        """Nothing stays open on the server between pages."""
        return
        yield  # a plan


def _repeated(seen: set[str], row: Row) -> bool:
    key = row_key(row)
    if key in seen:
        return True
    seen.add(key)
    return False


class CursorScan:
    """Every row of ``where``, each once, in no particular order, ``batch`` rows at a time.

    A RediSearch cursor is no snapshot: a document written while the cursor is open (even a
    field the query does not use) is indexed again under a new internal id, and the cursor then
    passes it twice or not at all. Deleting documents renumbers no other. So:

    - a read whose first reply is complete (cursor id 0) is one command: nothing more to do;
    - otherwise the read notes the index's ``max_doc_id`` (``FT.INFO``, sent in the round trip
      that opens the cursor) and reads it again after the last page. Unchanged: nothing was
      (re)indexed meanwhile, the cursor saw every match once. Changed, or unknown (FT.INFO
      refused): ``repair``, a keyset scan of the same query in id order (complete for every
      entity that matched throughout, ids never change), follows and gives what the cursor
      did not;
    - rows are told apart by key (``seen``: every key passed, also those an offset skipped),
      so nothing comes twice. That set grows with the read (a key string and a set slot:
      about 140 bytes for a 40-character key).

    ``guard_first``: send FT.INFO with the first page (a read in batches: stream). Otherwise
    the first page goes alone, so a one-page read costs what it did; only when a second page
    is needed is the cursor opened again with FT.INFO (the first page is read twice then).
    """

    def __init__(self, index: str, where: str, params: Sequence[str | bytes], *, timeout_ms: int,
                 batch: int, offset: int = 0, limit: int | None = None,
                 documents: bool = False, repair: OrderedScan | None = None,
                 guard_first: bool = True) -> None:
        self.documents = documents
        self.index = index
        self.where = where
        self.params = tuple(params)
        self.timeout_ms = timeout_ms
        self.batch = max(1, batch)
        self.repair = repair
        self.guard_first = guard_first
        self.cursor = 0
        self.opened = 0  # cursors opened so far
        self.guarded = False  # the open cursor's start was noted in ``generation``
        self.generation: int | None = None
        self.replies = 0  # replies of the open cursor
        self.repairing = False
        self.finished = limit == 0  # nothing more to fetch
        self.done = self.finished  # and nothing more to return
        self.seen: set[str] = set()
        self.pending: list[Row] = []
        self.skip = offset
        self.remaining = limit

    def first_command(self) -> Args:
        return aggregate(self.index, self.where, self.params,
                         cursor_steps(self.batch, self.documents), self.timeout_ms)

    def next_page(self, run: Runner) -> Plan[list[Row]]:
        while not self.pending and not self.finished:
            rows = yield from self._fetch(run)
            if self._accept(rows):
                yield from self._free()
        rows, self.pending = self.pending[:self.batch], self.pending[self.batch:]
        self.done = self.finished and not self.pending
        return rows

    def _fetch(self, run: Runner) -> Plan[list[Row]]:
        if self.repairing:
            assert self.repair is not None
            rows = yield from self.repair.next_page(run)
            self.finished = not rows
            return rows
        if not self.opened or (self.cursor and not self.guarded and self.replies == 1):
            # Open the cursor; the second time (a first page that was not guarded and was not
            # the whole answer) with the index's generation noted just before.
            guard = self.opened > 0 or self.guard_first
            before: list[Args] = []
            if self.cursor:
                before.append(cursor_delete(self.index, self.cursor))
                self.cursor = 0
            if guard:
                before.append(ft_info(self.index))
            command = self.first_command()
            if before:
                replies, reply = yield from run(command, tuple(before))
                if guard:
                    self.generation = index_generation(replies[-1])
            else:
                reply = yield from run(command)
            self.opened += 1
            self.guarded = guard
            self.replies = 0
        else:
            command = cursor_read(self.index, self.cursor, self.batch)
            reply = yield from run(command)
        rows, self.cursor, warnings = cursor_reply(reply)
        self.replies += 1
        if warnings:
            yield from self._free()
        check_complete(warnings, command)
        if self.cursor == 0:
            if self.replies > 1:  # pages: was anything (re)indexed while they were read?
                yield from self._check(run)
            else:  # one command: complete
                self.finished = True
        return rows

    def _check(self, run: Runner) -> Plan[None]:
        try:
            now = index_generation((yield Call(ft_info(self.index))))
        except RedisCommandError:
            now = None
        if self.repair is None or (now is not None and now == self.generation):
            self.finished = True
        else:
            self.repairing = True

    def _accept(self, rows: Sequence[Row]) -> bool:
        """Queue the rows not passed before (after the offset, within the limit); True once
        the limit is reached."""
        if not self.skip and (self.remaining is None or self.remaining > len(rows)):
            # The common case (no offset left, the limit not reached by these rows), inlined:
            # this runs per row of every page.
            seen, pending = self.seen, self.pending
            before = len(pending)
            for row in rows:
                raw = row.get(KEY_BYTES)
                key = row_key(row) if raw is None else raw.decode()
                if key not in seen:
                    seen.add(key)
                    pending.append(row)
            if self.remaining is not None:
                self.remaining -= len(pending) - before
            return False
        for row in rows:
            key = row_key(row)
            if key in self.seen:
                continue
            self.seen.add(key)
            if self.skip:
                self.skip -= 1
                continue
            self.pending.append(row)
            if self.remaining is not None:
                self.remaining -= 1
                if self.remaining <= 0:
                    self.finished = True
                    return True
        return False

    def close(self) -> Plan[None]:
        """Stop: delete the server's cursor if the scan stopped before its end."""
        self.pending = []
        self.done = True
        yield from self._free()

    def _free(self) -> Plan[None]:
        self.finished = True
        if self.cursor:
            cursor, self.cursor = self.cursor, 0
            # Already gone (idle timeout, index dropped): nothing to free.
            with contextlib.suppress(RedisCommandError):
                yield Call(cursor_delete(self.index, cursor))
