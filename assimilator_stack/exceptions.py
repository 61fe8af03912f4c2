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


class InvalidEntityError(DataLayerError, ValueError):
    """An entity, or values given for one, does not fit its model: ``save``, ``update`` and
    bulk ``update(*specs, **values)`` validate first, and assigning a bad value to a
    ``RedisModel`` field raises it too. pydantic's ``ValidationError`` (or the serialisation
    error of a value that cannot be stored as JSON) is its ``__cause__``. Nothing is written.
    """


class UnstorableValueError(InvalidEntityError):
    """An entity (or an ``update`` value) holds something RedisJSON would refuse inside the
    commit or store changed (nesting deeper than 127, an int beyond 64 bits, NaN / infinity,
    text that is not UTF-8). Raised before anything is sent; ``key`` and ``field`` name it."""

    def __init__(self, key: str, field: str, reason: str) -> None:
        super().__init__(f"{key!r} cannot be stored: field {field!r}: {reason}. Nothing was "
                         "written")
        self.key = key
        self.field = field


class UnindexedDocumentError(DataLayerError):
    """A document under the model's prefix cannot be indexed by RediSearch (a value of the
    wrong JSON type, e.g. written by another program), so queries would silently miss it.
    ``key`` and ``field`` name it; ``get`` by id still reads it."""

    def __init__(self, key: str, field: str | None, reason: str) -> None:
        where = f"field {field!r}: " if field else ""
        super().__init__(
            f"{key!r} is stored under the model's prefix but RediSearch cannot index it "
            f"({where}{reason}), so filter, count, stream and bulk update/delete would "
            "silently miss it. Fix or delete that document (get() by id reads it), or pass "
            "unindexed='warn' to the repository to only log this"
        )
        self.key = key
        self.field = field


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
    """A partial entity (read with ``only(...)``) reached a write without what it left out.

    The repositories no longer raise it: ``save`` / ``update`` read what was left out first
    (docs/queries.md, "only"). Kept so that code catching it still imports."""


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


class CrossSlotError(DataLayerError):
    """Redis Cluster runs a transaction (and its WATCH) over the keys of one hash slot only:
    this unit of work (or write) holds keys of two slots. Raised before anything of it is
    written. Keys share a slot when they share a hash tag (``AssimilatorConfig.hash_tag``)."""

    def __init__(self, first: str, first_slot: int, second: str, second_slot: int) -> None:
        super().__init__(
            f"Redis Cluster runs a unit of work only over keys of one hash slot: {first!r} is "
            f"in slot {first_slot}, {second!r} in slot {second_slot}; nothing was written. "
            "Give entities that change together one hash tag (AssimilatorConfig.hash_tag), "
            "or change them in separate units of work"
        )
        self.keys = (first, second)
        self.slots = (first_slot, second_slot)


class ClusterSearchError(DataLayerError):
    """The Redis Cluster cannot answer this query: its query engine has no coordinator, so a
    search would see one shard's documents (or, on this build, none). Nothing was sent."""
