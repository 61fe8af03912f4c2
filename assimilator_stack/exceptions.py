"""Errors raised by assimilator_stack.

Every error derives from :class:`DataLayerError`, so one ``except DataLayerError`` catches all
of them. Errors that come from redis-py keep the original exception as ``__cause__``.
"""

from __future__ import annotations

from typing import Any


class DataLayerError(Exception):
    """Root of every error this library raises."""


class NotFoundError(DataLayerError):
    """No entity matched (``get``, ``refresh``, ``update`` of a missing entity)."""


class MultipleResultsError(DataLayerError):
    """``get`` matched more than one entity."""


class InvalidQueryError(DataLayerError, ValueError):
    """A specification asks for something the model or the lookup cannot do.

    Raised before anything is sent to Redis.
    """


class ConcurrencyError(DataLayerError):
    """An entity read inside a unit of work changed before commit; nothing was written."""


class AlreadyExistsError(DataLayerError):
    """An ``only_create`` write found the entity already stored; the commit wrote nothing."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"only_create: {key!r} already exists; nothing of this commit was written"
        )
        self.key = key


class UpdateTargetMissingError(NotFoundError):
    """An ``only_update`` (or ``update(obj)``) found no stored entity; nothing was written."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"only_update: {key!r} does not exist; nothing of this commit was written"
        )
        self.key = key


class InvalidDocumentError(DataLayerError):
    """A document stored in Redis no longer fits the model."""

    def __init__(self, key: str, details: str, fields: tuple[str, ...] = ()) -> None:
        where = f" (fields: {', '.join(fields)})" if fields else ""
        super().__init__(f"document {key!r} does not fit the model{where}: {details}")
        self.key = key
        self.fields = fields


class ReadOnlyEntityError(DataLayerError):
    """The entity was loaded with ``only(...)`` and holds only some fields; it cannot be saved."""


class IndexNotReadyError(DataLayerError):
    """The RediSearch index was still scanning existing keys after the allowed wait."""


class PartialResultError(DataLayerError):
    """Redis answered with an incomplete result (timeout, expansion limit); it was not used."""


class ConnectionFailedError(DataLayerError):
    """Redis could not be reached or did not answer in time."""


class UnitOfWorkError(DataLayerError, RuntimeError):
    """A unit of work used outside its block: ``commit()`` without ``with uow:``, a write
    through ``uow.repository`` outside the block, or ``with uow:`` inside itself."""


class RedisCommandError(DataLayerError):
    """Redis rejected a command (the server's message is kept)."""

    def __init__(self, message: str, command: Any = None) -> None:
        super().__init__(message)
        self.command = command
