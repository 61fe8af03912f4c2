"""Hash slots of Redis Cluster keys (pure): which keys may share a transaction, and keys
grouped per slot. A key's slot is CRC16 of its hash tag (the part between the first ``{`` and
the next ``}``, when not empty) or of the whole key, modulo 16384 (redis-py's key_slot)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redis.crc import key_slot

from ...exceptions import CrossSlotError


def slot_of(key: str | bytes) -> int:
    return key_slot(key.encode() if isinstance(key, str) else key)


def held_slot(keys: Iterable[str], held: tuple[str, int] | None = None
              ) -> tuple[str, int] | None:
    """The (first key, slot) all of ``keys`` share with ``held`` (the key and slot a
    transaction already holds); CrossSlotError naming two keys of different slots."""
    for key in keys:
        slot = slot_of(key)
        if held is None:
            held = (key, slot)
        elif held[1] != slot:
            raise CrossSlotError(held[0], held[1], key, slot)
    return held


def by_slot(keys: Sequence[str]) -> list[list[str]]:
    """``keys`` grouped per slot: groups in the order of their first key, keys in order."""
    groups: dict[int, list[str]] = {}
    for key in keys:
        groups.setdefault(slot_of(key), []).append(key)
    return list(groups.values())
