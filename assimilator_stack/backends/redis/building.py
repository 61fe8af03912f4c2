"""An index building (scanning the keys that existed before it): how far it is, and the INFO
lines of whoever waits for it (a query, ``repo.index.migrate()``) on
``assimilator_stack.index``.

RediSearch reports the documents indexed so far (``num_docs``) and ``percent_indexed``, the
share of the keyspace scanned. The documents to index are estimated as ``num_docs /
percent_indexed`` (documents assumed spread evenly over the keyspace); once the scan ends the
estimate is the count.
"""

from __future__ import annotations

import time

from ... import logs
from .replies import IndexInfo

# While waiting, a progress line at most this often.
LOG_EVERY_SECONDS = 1.0


def progress(info: IndexInfo) -> tuple[int, int]:
    """(documents indexed, documents to index: an estimate while building)."""
    done = info.num_docs
    if not info.indexing:
        return done, done
    share = info.share_indexed
    total = round(done / share) if share > 0 else done
    return done, max(done, total)


def percent(info: IndexInfo) -> float:
    """Indexing progress, 0 to 100."""
    if not info.indexing:
        return 100.0
    return max(0.0, min(100.0, info.share_indexed * 100))


class BuildLog:
    """The INFO lines of one wait for a building index: when it starts (index name, documents
    to index), its progress at most every LOG_EVERY_SECONDS, and its end."""

    def __init__(self, name: str, waiter: str) -> None:
        self.name = name
        self.waiter = waiter  # "a query", "migrate"
        self.started = time.monotonic()
        self.next_line = 0.0

    def seen(self, info: IndexInfo) -> None:
        now = time.monotonic()
        if now < self.next_line:
            return
        done, total = progress(info)
        if not self.next_line:
            logs.index.info("%s waits for index %r to finish building: %d of about %d "
                            "documents indexed (%.0f%%)", self.waiter, self.name, done, total,
                            percent(info))
        else:
            logs.index.info("index %r building: %d of about %d documents (%.0f%%) after "
                            "%.1f s", self.name, done, total, percent(info),
                            now - self.started)
        self.next_line = now + LOG_EVERY_SECONDS

    def finished(self, info: IndexInfo) -> None:
        if self.next_line:  # only a wait that was logged is closed
            logs.index.info("index %r built: %d documents, %.1f s waited", self.name,
                            info.num_docs, time.monotonic() - self.started)
