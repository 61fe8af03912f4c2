"""The sans-I/O plans of the Redis repository: every operation as a generator yielding
requests (protocol.py); sync and async repositories run the same plans, nothing here touches a
socket. One class per job: queries.py (what every query needs first), reads.py (and
ranked.py), writes.py (commits), bulk.py (update / delete of every match); keys, validation and
write ops come from documents/entities.py.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from .bulk import BulkPlans
from .writes import WritePlans

M = TypeVar("M", bound=BaseModel)


class ModelPlans(BulkPlans[M], WritePlans[M]):
    """Everything a Redis repository does, for one model, as plans."""
