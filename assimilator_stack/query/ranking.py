"""``search(...)``: its meaning against a model, the in-memory twin's relevance, and the
highlights of ``repo.hits(...)`` (docs/queries.md "Search and relevance").

A ``search(text, fields)`` node is expanded into ordinary ``field__search`` conditions: every
part of the text (a word, a phrase, a pattern, a fuzzy term) must match in one of the fields
(``AND`` over parts of ``OR`` over fields), so Redis compiles and checks it exactly as it does
``field__search`` (suffixes, infixes and fuzzy terms exactly, in Python).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..exceptions import InvalidQueryError
from ..fields.schema import FieldSchema, ModelSchema
from ..fields.values import values_at
from .filters import Condition, Node, Or, TextSearch, and_, searches
from .lookups import (
    MAX_TOKEN_BYTES,
    ArgumentError,
    SearchQuery,
    describe,
    fold_ascii,
    fuzzy_match,
    parse_search,
)

# Words of a text as RediSearch splits them (ASCII punctuation and whitespace separate, "_"
# does not), with their positions, so that highlights wrap exactly the original characters.
_WORD = re.compile(r"[^\x00-\x20!-/:-@\[-^`{-~]+")
# Words kept on each side of a match in a summary fragment.
SUMMARY_CONTEXT = 5
SUMMARY_SEPARATOR = "... "


def text_fields(schema: ModelSchema, names: Sequence[str] | None, what: str
                ) -> list[FieldSchema]:
    """The ``Text()`` fields ``names`` (every one of the model's when None), checked."""
    model = schema.model.__name__
    every = [f for f in schema.fields.values() if f.text is not None]
    if names is None:
        if not every:
            raise InvalidQueryError(f"{what}: {model} has no Text() field to search")
        return every
    found: list[FieldSchema] = []
    for name in names:
        known = schema.fields.get(name)
        if known is None or known.text is None:
            shown = f"a {describe(known)} field" if known is not None else "not an indexed field"
            raise InvalidQueryError(
                f"{what}: {model}.{name} is {shown}; it takes Text() fields: "
                f"{', '.join(f.name for f in every) or '(none)'}"
            )
        found.append(known)
    return found


def parsed(node: TextSearch) -> SearchQuery:
    try:
        return parse_search(node.text)
    except ArgumentError as exc:
        raise InvalidQueryError(f"search({node.text!r}): {exc}") from None


def _parts(query: SearchQuery) -> list[SearchQuery]:
    return ([SearchQuery(words=(w,)) for w in query.words]
            + [SearchQuery(phrases=(p,)) for p in query.phrases]
            + [SearchQuery(prefixes=(p,)) for p in query.prefixes]
            + [SearchQuery(suffixes=(x,)) for x in query.suffixes]
            + [SearchQuery(infixes=(x,)) for x in query.infixes]
            + [SearchQuery(fuzzy=(f,)) for f in query.fuzzy])


def expand_search(schema: ModelSchema, node: TextSearch) -> Node:
    """``search(...)`` as ``field__search`` conditions (see the module docstring)."""
    fields = text_fields(schema, node.fields, f"search({node.text!r})")
    nodes: list[Node] = []
    for part in _parts(parsed(node)):
        alternatives: list[Node] = [Condition(f.name, "search", part) for f in fields]
        nodes.append(alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives)))
    return and_(*nodes)


# -- matched words ------------------------------------------------------------------------------


def _folded(word: str) -> str:
    return fold_ascii(word).encode()[:MAX_TOKEN_BYTES].decode(errors="ignore")


def _word_matches(query: SearchQuery, word: str, original: str) -> bool:
    if word in query.words:
        return True
    if any(word.startswith(p) for p in query.prefixes):
        return True
    if any(word.endswith(x) for x in query.suffixes):
        return True
    if any(x in word for x in query.infixes):
        return True
    return any(fuzzy_match(t, original, d) for t, d in query.fuzzy)


def matched_spans(text: str, queries: Sequence[SearchQuery]) -> list[tuple[int, int]]:
    """Where the words of ``text`` that ``queries`` match are (start, end), in order: words,
    prefixes, suffixes, infixes and fuzzy terms wherever they match, phrases only where the
    whole phrase stands. Words are compared as they are written (no stemming)."""
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    folded = [_folded(w) for _, _, w in words]
    marked = [False] * len(words)
    for query in queries:
        for i, word in enumerate(folded):
            if not marked[i] and _word_matches(query, word, words[i][2]):
                marked[i] = True
        for phrase in query.phrases:
            n = len(phrase)
            for i in range(len(folded) - n + 1):
                if tuple(folded[i:i + n]) == phrase:
                    for j in range(i, i + n):
                        marked[j] = True
    return [(s, e) for (s, e, _), m in zip(words, marked) if m]


def highlight(text: str, spans: Sequence[tuple[int, int]], tags: tuple[str, str]) -> str:
    out: list[str] = []
    at = 0
    for start, end in spans:
        out += [text[at:start], tags[0], text[start:end], tags[1]]
        at = end
    out.append(text[at:])
    return "".join(out)


def summarize(text: str, spans: Sequence[tuple[int, int]], tags: tuple[str, str]) -> str:
    """Fragments of ``text`` around the matches (SUMMARY_CONTEXT words on each side, joined
    by SUMMARY_SEPARATOR), matches highlighted; the start of the text when nothing matched."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if not words:
        return text
    hits = {i for i, w in enumerate(words) if w in set(spans)}
    if not hits:
        end = words[min(len(words), 2 * SUMMARY_CONTEXT + 1) - 1][1]
        return text[:end] + (SUMMARY_SEPARATOR if end < len(text.rstrip()) else "")
    windows: list[list[int]] = []
    for i in sorted(hits):
        lo, hi = max(0, i - SUMMARY_CONTEXT), min(len(words) - 1, i + SUMMARY_CONTEXT)
        if windows and lo <= windows[-1][1] + 1:
            windows[-1][1] = hi
        else:
            windows.append([lo, hi])
    fragments = []
    for lo, hi in windows:
        start, end = words[lo][0], words[hi][1]
        inside = [(s - start, e - start) for s, e in spans if s >= start and e <= end]
        fragments.append(highlight(text[start:end], inside, tags))
    return SUMMARY_SEPARATOR.join(fragments) + SUMMARY_SEPARATOR


def texts_of(entity: Any, f: FieldSchema) -> list[str]:
    return [v for v in values_at(entity, f) if isinstance(v, str)]


def queries_for(schema: ModelSchema, node: Node | None, f: FieldSchema) -> list[SearchQuery]:
    out = []
    for s in searches(node):
        names = [x.name for x in text_fields(schema, s.fields, f"search({s.text!r})")]
        if f.name in names:
            out.append(parsed(s))
    return out


def relevance(schema: ModelSchema, node: Node | None, entity: Any) -> float:
    """The in-memory twin's relevance: for each ``search`` and each of its fields, the
    field's ``Text(weight=...)`` times the number of its words the search matches."""
    score = 0.0
    for s in searches(node):
        query = parsed(s)
        for f in text_fields(schema, s.fields, f"search({s.text!r})"):
            assert f.text is not None
            count = sum(len(matched_spans(t, [query])) for t in texts_of(entity, f))
            score += f.text.weight * count
    return score


@dataclass(frozen=True)
class HitOptions:
    """``hits(highlight=..., summarize=..., tags=...)``, checked against the model."""

    highlight: tuple[FieldSchema, ...]
    summarize: tuple[FieldSchema, ...]
    tags: tuple[str, str]


def hit_options(schema: ModelSchema, highlight: Iterable[str] | str,
                summarize: Iterable[str] | str, tags: Any,
                only: Sequence[str] | None = None) -> HitOptions:
    """Checked: Text() fields, two str tags, and (with ``only(...)``) fields it reads."""
    def names(value: Iterable[str] | str) -> list[str]:
        listed = [value] if isinstance(value, str) else list(value)
        if not all(isinstance(n, str) for n in listed):
            raise InvalidQueryError(f"hits() takes Text() field names, got {value!r}")
        return [n.replace("__", ".") for n in listed]

    if not (isinstance(tags, tuple) and len(tags) == 2 and all(isinstance(t, str) for t in tags)):
        raise InvalidQueryError(f"hits(tags=...) takes (opening, closing) strings, got {tags!r}")
    options = HitOptions(
        tuple(text_fields(schema, names(highlight), "hits(highlight=...)")),
        tuple(text_fields(schema, names(summarize), "hits(summarize=...)")), tags)
    if only is not None:
        for f in options.highlight + options.summarize:
            if not any(f.name == o or f.name.startswith(o + ".") for o in only):
                raise InvalidQueryError(
                    f"hits(): {f.name!r} is highlighted but only({', '.join(only)}) leaves "
                    "it out; add it to only()"
                )
    return options
