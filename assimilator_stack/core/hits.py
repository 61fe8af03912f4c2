"""``Hit``: one result of ``repo.hits(...)`` (see assimilator_stack/ranking.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

M = TypeVar("M")


@dataclass(frozen=True)
class Hit(Generic[M]):
    """One result of ``repo.hits(...)``: the entity, its relevance (None when no ``search``
    is among the specifications) and, per requested ``Text()`` field, its text with the
    matched words wrapped in the tags (a summary of fragments with ``summarize``)."""

    entity: M
    score: float | None = None
    highlights: dict[str, str] = field(default_factory=dict)
