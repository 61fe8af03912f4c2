"""Reading every row of a query, page by page, as plans (no I/O here).

:class:`OrderedScan` reads rows in the order of its sort keys (the last is the id, so the order
is total). Each page is one FT.AGGREGATE with ``SORTBY ... LIMIT skip num``; after a page it
moves its *anchor* to the last row read (that row's exact sort values, read from the document)
so the next page is "the rows after the anchor" (keyset paging). So it never asks for an offset
past the server's MAXAGGREGATERESULTS, pages never repeat or skip a row, and each page costs the
same however deep it is. ``offset``/``limit`` are applied on the way.

:class:`CursorScan` reads rows in no particular order with ``WITHCURSOR`` (the cheapest way to
read everything); :meth:`CursorScan.close` deletes a cursor left open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from ..exceptions import PartialResultError, RedisCommandError
from .protocol import Args, Call, Plan
from .search import (
    Anchor,
    Row,
    SortKey,
    after_expression,
    aggregate,
    aggregate_rows,
    anchor_from_json,
    anchor_paths,
    anchor_representable,
    check_complete,
    cursor_reply,
    cursor_steps,
    row_key,
    row_matches_anchor,
    row_strings_representable,
    window_steps,
)

Runner = Callable[[Args], Plan[Any]]

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

    def __init__(self, index: str, where: str, params: Sequence[str],
                 keys: Sequence[SortKey] | None,
                 *, timeout_ms: int, max_rows: int | None, page: int, offset: int = 0,
                 limit: int | None = None, documents: bool = False) -> None:
        self.documents = documents
        self.index = index
        self.where = where
        self.params = tuple(params)
        self.keys = None if keys is None else tuple(keys)
        self.timeout_ms = timeout_ms
        self.max_rows = max_rows
        self.page = max(1, page if max_rows is None else min(page, max_rows))
        self.anchor: Anchor | None = None
        self.skip = offset  # rows after the anchor that are not wanted (offset, or already read)
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
            if self.remaining is not None:
                self.remaining -= len(rows)
                self.done = self.done or self.remaining <= 0
            consumed = skip + len(rows)
            if self.done:
                self.skip = consumed
            else:
                found = yield from self._anchor_in(run, rows)
                self.skip = consumed if found is None else len(rows) - 1 - found
            if rows:
                return rows
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
            reply = yield Call(("JSON.GET", row_key(row), *anchor_paths(self.keys)))
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


class CursorScan:
    """Every row of ``where``, in no particular order, ``batch`` rows at a time."""

    def __init__(self, index: str, where: str, params: Sequence[str], *, timeout_ms: int,
                 batch: int, offset: int = 0, limit: int | None = None,
                 documents: bool = False) -> None:
        self.documents = documents
        self.index = index
        self.where = where
        self.params = tuple(params)
        self.timeout_ms = timeout_ms
        self.batch = max(1, batch)
        self.cursor = 0
        self.started = False
        self.done = limit == 0
        self.skip = offset
        self.remaining = limit

    def first_command(self) -> Args:
        return aggregate(self.index, self.where, self.params,
                         cursor_steps(self.batch, self.documents), self.timeout_ms)

    def next_page(self, run: Runner) -> Plan[list[Row]]:
        while not self.done:
            if not self.started:
                command = self.first_command()
                self.started = True
            else:
                command = ("FT.CURSOR", "READ", self.index, str(self.cursor),
                           "COUNT", str(self.batch))
            rows, self.cursor, warnings = cursor_reply((yield from run(command)))
            self.done = self.cursor == 0
            if warnings:
                yield from self.close()
            check_complete(warnings, command)
            if self.skip:
                passed = min(self.skip, len(rows))
                rows, self.skip = rows[passed:], self.skip - passed
            if self.remaining is not None:
                rows = rows[:self.remaining]
                self.remaining -= len(rows)
                if self.remaining <= 0:
                    yield from self.close()
                    self.done = True
            if rows:
                return rows
        return []

    def close(self) -> Plan[None]:
        """Delete the server's cursor if the scan stopped before its end."""
        if self.started and self.cursor:
            cursor, self.cursor, self.done = self.cursor, 0, True
            # Already gone (idle timeout, index dropped): nothing to free.
            with contextlib.suppress(RedisCommandError):
                yield Call(("FT.CURSOR", "DEL", self.index, str(cursor)))
