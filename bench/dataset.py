"""The Product rows every contender stores, generated deterministically from a seed.

Standard library only: the workers import it inside their own virtual environments (one of
them runs pydantic v1), so it must not depend on anything they might lack.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

CATEGORIES = (
    "books", "toys", "garden", "kitchen", "sports", "music", "office", "beauty", "tools", "games",
)
BRANDS = tuple(f"brand{i:02d}" for i in range(50))
TAGS = (
    "new", "sale", "eco", "gift", "premium", "bulk", "limited", "classic", "kids", "outdoor",
    "indoor", "travel", "smart", "handmade", "vintage", "compact",
)
_ADJECTIVES = ("red", "quiet", "fast", "tiny", "solid", "bright", "soft", "urban", "wild", "pure")
_NOUNS = ("lamp", "chair", "kettle", "ball", "drill", "guitar", "pen", "brush", "tent", "puzzle")
_WORDS = (
    "durable", "light", "weight", "design", "perfect", "for", "everyday", "use", "with", "a",
    "warranty", "made", "from", "recycled", "material", "easy", "to", "clean", "and", "store",
    "great", "value", "steel", "wooden", "frame", "battery", "included", "water", "resistant",
)
_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
FIELDS = (
    "id", "name", "category", "brand", "price", "stock", "rating", "tags", "created_at",
    "description",
)

Row = dict[str, Any]


def generate(n: int, seed: int) -> list[Row]:
    """``n`` Product rows. Ratings are all distinct, so "order by rating" has one answer."""
    rng = random.Random(seed)
    ranks = list(range(n))
    rng.shuffle(ranks)
    rows: list[Row] = []
    for i in range(n):
        words = rng.choices(_WORDS, k=rng.randint(8, 20))
        rows.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "name": f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {i}",
            "category": rng.choice(CATEGORIES),
            "brand": rng.choice(BRANDS),
            "price": round(rng.uniform(1.0, 1000.0), 2),
            "stock": rng.randint(0, 500),
            "rating": round(1.0 + 4.0 * ranks[i] / n, 6),
            "tags": rng.sample(TAGS, k=rng.randint(1, 4)),
            "created_at": _EPOCH + dt.timedelta(seconds=rng.randint(0, 365 * 86400)),
            "description": " ".join(words),
        })
    return rows


def _utc_micros(value: Any) -> int:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, (int, float)):
        return round(value * 1_000_000)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def fingerprint(entity: Mapping[str, Any]) -> str:
    """A canonical text of one entity's fields, comparable across libraries and pydantic
    versions (datetimes as UTC microseconds, floats by repr, tags in stored order)."""
    parts = []
    for name in FIELDS:
        value = entity[name]
        if name == "created_at":
            value = _utc_micros(value)
        elif name in ("price", "rating"):
            value = repr(float(value))
        elif name == "tags":
            value = ",".join(value)
        parts.append(f"{name}={value}")
    return "|".join(parts)


def digest(texts: Iterable[str]) -> str:
    """A short hash of several texts, in the given order."""
    h = hashlib.sha1()
    for text in texts:
        h.update(text.encode())
        h.update(b"\n")
    return h.hexdigest()[:16]
