"""Stores: ``redis`` (plans run by the sync and async drivers) and ``memory`` (the in-memory
twin). Neither imports the other; this package hands the twin what only the Redis backend
knows (which command a read would send, for InternalRepository.explain)."""

from .memory.repository import explain_with
from .redis.offline import explain_offline

explain_with(explain_offline)
