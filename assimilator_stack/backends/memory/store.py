"""The in-memory twin's database: a dict playing Redis. Keys are the same ``f"{prefix}:{id}"``
keys; each holds the entity's JSON document (so what comes back is what Redis would give back),
its expiry and a version that plays WATCH. Write ops (documents/writes.py) are applied with the
meaning of their Redis commands (JSON.SET NX/XX, EXPIRE, PEXPIRE, PERSIST, DEL)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ...documents.entities import ModelDocuments
from ...documents.writes import (
    AppendPath,
    DeleteKey,
    DeletePath,
    Expire,
    SetDocument,
    SetPath,
    Step,
    WriteOp,
    condition_failure,
    conflict,
)
from ...exceptions import InvalidQueryError
from ...fields.schema import INDEX_EXTRAS_KEY

M = TypeVar("M", bound=BaseModel)

_versions = itertools.count(1)
_EXTRAS_PATH = f"$.{INDEX_EXTRAS_KEY}"


@dataclass
class StoredDocument:
    """What the session dict holds for one key."""

    document: str  # the JSON document, as RedisRepository writes it
    expires_at: float | None = None  # on the repository's clock
    version: int = 0  # changes on every write (WATCH)


class DictStore(Generic[M]):
    """The documents of one model in ``session`` (shared with other models' repositories, as
    one Redis database), expiring on ``clock``."""

    def __init__(self, session: dict[str, Any], documents: ModelDocuments[M],
                 clock: Callable[[], float]) -> None:
        self.session = session
        self.documents = documents
        self.clock = clock

    def stored(self, key: str) -> StoredDocument | None:
        value = self.session.get(key)
        if value is None:
            return None
        if isinstance(value, BaseModel):  # a dict filled by hand with entities
            entity, _ = self.documents.build(value)
            value = StoredDocument(self.documents.codec.dump(entity), None, next(_versions))
            self.session[key] = value
        if not isinstance(value, StoredDocument):
            raise InvalidQueryError(f"session[{key!r}] holds {type(value).__name__}, not an entity")
        if value.expires_at is not None and value.expires_at <= self.clock():
            del self.session[key]  # expired entities vanish
            return None
        return value

    def version(self, key: str) -> int | None:
        stored = self.stored(key)
        return None if stored is None else stored.version

    def model_keys(self) -> list[str]:
        prefix = self.documents.key_prefix
        return [k for k in list(self.session) if isinstance(k, str) and k.startswith(prefix)]

    def load(self, key: str) -> M | None:
        stored = self.stored(key)
        return None if stored is None else self.documents.codec.load(key, stored.document)

    def document(self, key: str) -> str:
        stored = self.stored(key)
        assert stored is not None
        return stored.document

    def apply(self, key: str, step: Step, condition: str | None = None) -> None:
        """One write step, with the meaning of its Redis command (``condition``: NX / XX)."""
        stored = self.stored(key)
        if isinstance(step, SetPath):
            self.set_path(key, stored, step.path, step.value)
        elif isinstance(step, SetDocument):
            if (condition == "nx" and stored is not None) or (
                    condition == "xx" and stored is None):
                return
            expires_at = stored.expires_at if stored is not None else None  # JSON.SET keeps TTL
            self.session.pop(key, None)  # a write re-indexes: the document moves to the end
            self.session[key] = StoredDocument(step.document, expires_at, next(_versions))
        elif isinstance(step, Expire):
            if stored is not None:
                seconds = float(step.amount) / (1000.0 if step.unit == "ms" else 1.0)
                stored.expires_at = self.clock() + seconds
                stored.version = next(_versions)
        elif isinstance(step, DeleteKey):
            self.session.pop(key, None)
        elif isinstance(step, (DeletePath, AppendPath)) and step.path.startswith(_EXTRAS_PATH):
            pass  # index companions: re-derived from the document by the codec (_set_path)
        else:  # pragma: no cover (a step the Redis backend learnt and the twin did not)
            raise NotImplementedError(f"InternalRepository cannot apply {step!r} to {key!r}")

    def persist(self, key: str) -> None:
        """PERSIST: the key's TTL goes."""
        stored = self.stored(key)
        if stored is not None and stored.expires_at is not None:
            stored.expires_at = None
            stored.version = next(_versions)

    def set_path(self, key: str, stored: StoredDocument | None, path: str, value: str) -> None:
        """``JSON.SET key $.field value`` (a bulk update): the field is replaced and the
        document's index companions derived again, as the codec writes them."""
        if stored is None or path.startswith(_EXTRAS_PATH):
            return  # (Redis refuses a path on a missing key; companions come from the codec)
        document = json.loads(stored.document)
        document[_top_level_key(path)] = json.loads(value)
        entity = self.documents.codec.load(key, json.dumps(document))
        self.session.pop(key, None)  # a write re-indexes: the document moves to the end
        self.session[key] = StoredDocument(
            self.documents.codec.dump(entity), stored.expires_at, next(_versions)
        )

    def commit(self, ops: Sequence[WriteOp], watched: dict[str, int | None]) -> None:
        """All or nothing, as the Redis commit (backends/redis): a changed read is a conflict
        (also when it makes an only_create / only_update fail: read, then deleted by another
        client), then the conditions."""
        if not ops:
            return
        if any(self.version(key) != version for key, version in watched.items()):
            raise conflict()
        conditional = [op for op in ops if op.condition is not None]
        failed = condition_failure(
            conditional, [self.stored(op.key) is not None for op in conditional])
        if failed is not None:
            raise failed
        for op in ops:
            for step in op.steps:
                self.apply(op.key, step, op.condition)
            if op.persist:  # a save clears the old TTL (SET's semantics)
                self.persist(op.key)


def _top_level_key(path: str) -> str:
    """``$.name`` / ``$["odd key"]`` -> the document key."""
    if path.startswith('$["'):
        return str(json.loads(path[2:-1]))
    return path[2:]
