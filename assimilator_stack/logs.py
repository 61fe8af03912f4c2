"""The library's loggers: ``assimilator_stack`` and one child per part. Silent unless the
application configures logging (a NullHandler on the parent, as a library should)."""

from __future__ import annotations

import logging

ROOT = "assimilator_stack"

root = logging.getLogger(ROOT)
root.addHandler(logging.NullHandler())

#: DEBUG: one line per command sent (name, number of keys, duration; values only with
#: ``settings.log_values``).
commands = logging.getLogger(f"{ROOT}.commands")
#: INFO: index creation, waits for a building index, migration, pruning. WARNING: documents
#: the index cannot take.
index = logging.getLogger(f"{ROOT}.index")
#: WARNING: repository operations slower than ``settings.slow_query_ms``.
queries = logging.getLogger(f"{ROOT}.queries")
