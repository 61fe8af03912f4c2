"""The ``Hit`` of an entity in ``repo.hits(...)``: its score and its highlighted and summarized
fields (how a text is marked is query/ranking.py's; both backends build hits here)."""

from __future__ import annotations

from typing import Any

from ..core.hits import Hit
from ..fields.schema import ModelSchema
from ..query.filters import Node
from ..query.ranking import (
    SUMMARY_SEPARATOR,
    HitOptions,
    highlight,
    matched_spans,
    queries_for,
    summarize,
    texts_of,
)


def make_hit(schema: ModelSchema, node: Node | None, entity: Any, score: float | None,
             options: HitOptions) -> Hit[Any]:
    """The Hit of ``entity``: a list field's elements are highlighted one by one and joined
    by SUMMARY_SEPARATOR."""
    marks: dict[str, str] = {}
    for fields, shape in ((options.highlight, highlight), (options.summarize, summarize)):
        for f in fields:
            queries = queries_for(schema, node, f)
            texts = texts_of(entity, f)
            marks[f.name] = SUMMARY_SEPARATOR.join(
                shape(t, matched_spans(t, queries), options.tags) for t in texts
            )
    return Hit(entity, score, marks)
