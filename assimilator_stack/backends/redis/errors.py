"""redis-py's exceptions (sync and asyncio share them) turned into the library's."""

from __future__ import annotations

from typing import Any

import redis.exceptions as rx

from ...exceptions import ConnectionFailedError, DataLayerError, RedisCommandError
from .protocol import WatchFailed


def map_error(exc: BaseException, command: Any = None) -> BaseException:
    """The exception a plan sees for ``exc``; the original is kept as ``__cause__``."""
    mapped: BaseException
    if isinstance(exc, (DataLayerError, WatchFailed)):
        return exc
    if isinstance(exc, rx.WatchError) and isinstance(
            exc.__context__, (rx.ConnectionError, rx.TimeoutError)):
        # redis-py's word for "the WATCHing connection failed": nothing says whether a
        # command reached the server, so it is not a lost race ("nothing was written")
        mapped = ConnectionFailedError(f"Redis did not answer: {exc.__context__}")
    elif isinstance(exc, rx.WatchError):
        mapped = WatchFailed(str(exc))
    elif isinstance(exc, (rx.ConnectionError, rx.TimeoutError)):
        mapped = ConnectionFailedError(f"Redis did not answer: {exc}")
    elif isinstance(exc, rx.ResponseError):
        mapped = RedisCommandError(str(exc), command)
    elif isinstance(exc, rx.RedisError):
        mapped = DataLayerError(f"Redis client error: {exc}")
    else:
        return exc
    mapped.__cause__ = exc
    return mapped
