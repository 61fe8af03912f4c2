"""Stores: ``redis`` (plans run by the sync and async drivers) and ``memory`` (the in-memory
twin). Neither imports the other."""
