"""Reads and bulk writes that check what they WATCH, as plans over :class:`~.reads.ReadPlans`.

A search and a WATCH are two commands; another client may write in between. So:

- Inside a unit of work a read selects its keys, WATCHes those not watched yet and runs the
  same search again, until a search returns only keys watched before it (:func:`watched_rows`).
  Every entity returned was then selected by a search that ran after its WATCH: it matched
  then, and any later change makes the commit raise ConcurrencyError. Documents are read after
  their WATCH too (in that last search, or by key afterwards).
- Outside a unit of work, ``update(*specs)`` / ``delete(*specs)`` WATCH each batch of the keys
  they found, ask Redis again which of them still match, and write those in one MULTI/EXEC,
  retrying the batch if one changed meanwhile (:func:`checked_writes`). They count only what
  they wrote.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from ...documents.projections import project
from ...exceptions import ConcurrencyError, PartialResultError, RedisCommandError
from .commands import DOCUMENT_FIELD, json_mget, matching_among
from .facts import ServerFacts
from .protocol import Args, Call, Exec, Pause, Plan, Release, Watch, WatchFailed
from .replies import (
    Row,
    check_complete,
    row_document,
    row_key,
    search_limit,
    search_reply,
    search_warnings,
)
from .slots import by_slot

if TYPE_CHECKING:
    from .reads import Read, ReadPlans

# Searches a unit of work's read may run before every key it returns was watched first.
ROUNDS = 10
# Rows per page of a key search; documents read per JSON.MGET.
PAGE = 10000
# Keys per WATCH + re-check + MULTI/EXEC of a bulk update / delete outside a unit of work
# (WATCH costs the server time in the square of the keys one connection watches: ~1 ms for
# 500, ~3 ms for 1,000), and how often a batch is tried while other clients change its keys.
WRITE_BATCH = 500
WRITE_TRIES = 10

Entry = tuple[str, Any]  # a key and its entity (None: not read yet)
E = TypeVar("E")


# -- inside a unit of work ----------------------------------------------------------------------

def watched_rows(plans: ReadPlans[Any], read: Read, facts: ServerFacts,
                 keys_only: bool = False) -> Plan[list[Entry]]:
    """The entries ``read`` selects, each WATCHed before the search that returned it.

    A window (``paginate``, ``get``) is searched again until one search returns only keys
    watched before it, at most :data:`ROUNDS` times (then ConcurrencyError: retry). A read of
    every match stops after the second search: keys that search sees first began to match
    after the first one (phantoms) and are left out. Inexact filters: the entities of a window
    are checked in Python on documents read by the same search.
    """
    windowed = read.limit is not None or read.query.offset > 0

    def search(attempt: int, before: int) -> Plan[list[Entry]]:
        documents = _documents(read, attempt, before, keys_only)
        return (yield from _discover(plans, read, facts, documents))

    return (yield from settled(plans, search, lambda entry: entry[0], windowed))


def settled(plans: ReadPlans[Any], search: Callable[[int, int], Plan[list[E]]],
            key: Callable[[E], str], windowed: bool = True) -> Plan[list[E]]:
    """What ``search(attempt, how many the last one found)`` returns once every key in it was
    WATCHed before that search: search, WATCH the new keys, search again (at most
    :data:`ROUNDS` times, then ConcurrencyError: retry). Not ``windowed`` (a read of every
    match): the second search ends it, less the keys it sees first (phantoms)."""
    watched: set[str] = set()
    found: list[E] = []
    for attempt in range(ROUNDS):
        found = yield from search(attempt, len(found))
        new = list(dict.fromkeys(key(item) for item in found if key(item) not in watched))
        if not new:
            return found
        if attempt and not windowed:
            return [item for item in found if key(item) in watched]
        for start in range(0, len(new), PAGE):  # a WATCH command of a sane size
            yield Watch(tuple(new[start:start + PAGE]))
        watched.update(new)
    raise ConcurrencyError(
        f"{plans.model.__name__}: the entities this read selects changed on each of {ROUNDS} "
        "searches (other clients write them); nothing was returned. Retry the unit of work "
        "(see assimilator_stack.retry_on_conflict)"
    )


def _documents(read: Read, attempt: int, before: int, keys_only: bool) -> bool:
    """Should this search load the documents? Inexact windows: always (the Python check says
    where the window ends). Otherwise from the second search on (it is the one whose rows are
    returned, so no JSON.MGET follows) when the search before found at most a page
    (``read.page``: stream()'s batch) — else keys first and documents by key afterwards, a
    page at a time, so memory holds the keys and one page. Exact filters read none for
    ``keys_only`` (bulk writes) nor for only() (it reads its paths by key)."""
    compiled = read.compiled
    assert compiled is not None
    if not compiled.exact and (read.limit is not None or read.query.offset > 0):
        return True
    if compiled.exact and (keys_only or read.projection is not None):
        return False
    return attempt > 0 and before <= read.page


def _discover(plans: ReadPlans[Any], read: Read, facts: ServerFacts, documents: bool
              ) -> Plan[list[Entry]]:
    """One search of ``read``: the keys of its window (exact filters) or, for inexact ones,
    of every candidate, or of the window's entities found in Python."""
    compiled = read.compiled
    assert compiled is not None
    exact = compiled.exact
    windowed = read.limit is not None or read.query.offset > 0
    scan = yield from plans.open_scan(compiled, read.sort, facts, PAGE,
                                     offset=read.query.offset if exact else 0,
                                     limit=read.limit if exact else None,
                                     documents=documents)
    run = partial(plans.run_query, facts)
    out: list[Entry] = []
    seen: set[str] = set()
    skip, remaining = read.query.offset, read.limit
    try:
        while rows := (yield from scan.next_page(run)):
            if exact or not windowed:
                for row in rows:
                    key, document = row_key(row), row_document(row)
                    if key not in seen:
                        seen.add(key)
                        out.append((key, None if document is None
                                    else plans.codec.load(key, document)))
                continue
            for key, entity in zip([row_key(r) for r in rows], (yield from _loaded(plans, rows))):
                if entity is None or key in seen or not compiled.residual(entity):
                    continue
                seen.add(key)
                if skip:
                    skip -= 1
                    continue
                out.append((key, entity))
                if remaining is not None:
                    remaining -= 1
                    if remaining <= 0:
                        return out
    finally:
        yield from scan.close()
    return out


def _loaded(plans: ReadPlans[Any], rows: Sequence[Row]) -> Plan[list[Any]]:
    """The entity of each row: from the document the row carries, or read by key."""
    documents = [row_document(row) for row in rows]
    missing = [row_key(row) for row, doc in zip(rows, documents) if doc is None]
    if missing:
        raws = dict(zip(missing, (yield Call(json_mget(missing)))))
        documents = [raws[row_key(row)] if doc is None else doc
                     for row, doc in zip(rows, documents)]
    return [None if doc is None else plans.codec.load(row_key(row), doc)
            for row, doc in zip(rows, documents)]


def _kept(plans: ReadPlans[Any], read: Read, entries: Sequence[Entry]) -> Plan[list[Entry]]:
    """``entries`` with their entities (read by key where not read yet, only()'s partial ones
    for exact filters), without keys gone since (the commit will fail) and, for inexact
    filters, without entities the Python check refuses."""
    compiled = read.compiled
    assert compiled is not None
    proj = read.projection if compiled.exact else None
    unread = [key for key, entity in entries if entity is None]
    fetched = dict(zip(unread, (yield from plans.read_keys(unread, proj)))) if unread else {}
    out: list[Entry] = []
    for key, entity in entries:
        partial_read = entity is None and proj is not None
        if entity is None:
            entity = fetched[key]
        if entity is None or (not compiled.exact and not compiled.residual(entity)):
            continue
        if read.query.only is not None and not partial_read:
            entity = project(entity, read.query.only)
        out.append((key, entity))
    return out


def watched_page(plans: ReadPlans[Any], read: Read, facts: ServerFacts) -> Plan[list[Any]]:
    """``read_page`` inside a unit of work: the keys are found and watched first (all of
    them), the entities handed out ``read.page`` at a time."""
    if read.watched is None:
        read.watched = yield from watched_rows(plans, read, facts)
    while read.handed < len(read.watched):
        entries = read.watched[read.handed:read.handed + read.page]
        read.handed += len(entries)
        found = yield from _kept(plans, read, entries)
        if found:
            return [entity for _, entity in found]
    read.done = True
    return []


def watched_keys(plans: ReadPlans[Any], read: Read, facts: ServerFacts) -> Plan[list[str]]:
    """The keys ``read`` selects inside a unit of work (bulk update / delete), each watched
    before the search that returned it. Exact filters read no document."""
    entries = yield from watched_rows(plans, read, facts, keys_only=True)
    compiled = read.compiled
    assert compiled is not None
    if compiled.exact:
        return [key for key, _ in entries]
    keys: list[str] = []
    for start in range(0, len(entries), PAGE):
        keys += [key for key, _ in (yield from _kept(plans, read, entries[start:start + PAGE]))]
    return keys


# -- bulk writes outside a unit of work ---------------------------------------------------------

def checked_writes(plans: ReadPlans[Any], read: Read, keys: Sequence[str],
                   facts: ServerFacts, commands: Callable[[Sequence[str]], tuple[Args, ...]],
                   written: Callable[[Sequence[str], Sequence[Any]], int]) -> Plan[int]:
    """Write ``commands(batch)`` for the keys that still match ``read``'s filter when they
    are written: per batch, WATCH, ask Redis which still match, MULTI/EXEC those; a batch
    whose keys changed meanwhile is tried again. Returns how many were written (``written``
    counts them from the EXEC replies)."""
    done = 0
    # Batches still to write, first on top. A batch whose WATCH broke is split in two (under
    # writers at full speed a big batch almost always sees one of its keys touched, a small one
    # rarely); a single key is tried WRITE_TRIES times.
    groups = by_slot(keys) if plans.per_slot else [keys]
    todo = [group[start:start + WRITE_BATCH] for group in groups
            for start in range(0, len(group), WRITE_BATCH)]
    todo.reverse()
    tries = 0
    while todo:
        batch = todo.pop()
        yield Watch(tuple(batch))
        still = yield from still_matching(plans, read, batch, facts)
        if not still:
            yield Release()
            tries = 0
            continue
        try:
            replies = yield Exec(commands(still))
        except WatchFailed as exc:
            if len(batch) > 1:
                half = len(batch) // 2
                todo += [batch[half:], batch[:half]]
                continue
            tries += 1
            if tries == WRITE_TRIES:
                left = len(batch) + sum(len(b) for b in todo)
                raise ConcurrencyError(
                    f"{plans.model.__name__}: other clients changed {batch[0]!r} on each of "
                    f"{WRITE_TRIES} tries of this bulk write; {done} entities were written "
                    f"before it, the other {left} found were not. Run it again"
                ) from exc
            yield Pause(random.uniform(0, 0.002 * 2 ** tries))
            todo.append(batch)
            continue
        tries = 0
        done += written(still, replies)
    return done


def still_matching(plans: ReadPlans[Any], read: Read, keys: Sequence[str],
                   facts: ServerFacts) -> Plan[list[str]]:
    """Which of ``keys`` match ``read``'s filter now: the filter searched in Redis among these
    keys only (``FT.SEARCH ... INKEYS``; text search stems, so only Redis can say), then the
    Python check of inexact filters on the documents that search returns. Order and paging do
    not apply. A key that expired but is not reclaimed yet may be kept: its write fails and is
    not counted."""
    compiled = read.compiled
    if compiled is None:  # by id: every key is what was asked for; a missing one's write fails
        return list(keys)
    if compiled.matches_nothing:
        return []
    yield from plans.ensure_index(facts)
    if plans.query_timeout_ms:
        yield from plans.check_timeout_policy(facts)
    chunk = len(keys)
    still: list[str] = []
    start = 0
    while start < len(keys):
        part = keys[start:start + chunk]
        command = matching_among(plans.index.name, compiled.query, compiled.params_args(), part,
                                 not compiled.exact, plans.query_timeout_ms)
        try:
            reply = yield Call(command)
        except RedisCommandError as exc:
            # The server's MAXSEARCHRESULTS is below the batch: ask in parts that fit.
            allowed = search_limit(exc)
            if allowed is None or allowed < 1 or allowed >= chunk:
                raise
            chunk = allowed
            continue
        check_complete(search_warnings(reply), command)
        total, rows = search_reply(reply, content=not compiled.exact)
        if total > len(rows):
            raise PartialResultError(f"{command[0]} INKEYS returned {len(rows)} of {total} rows")
        wanted = set(part)
        for key, fields in rows:
            if key not in wanted:
                continue
            if not compiled.exact:
                document = None if fields is None else fields.get(DOCUMENT_FIELD)
                if document is None:
                    continue  # expired meanwhile
                if not compiled.residual(plans.codec.load(key, document)):
                    continue
            still.append(key)
        start += len(part)
    return list(dict.fromkeys(still))
