"""Full-text search on ``Text()`` fields: the ``search`` lookup, the search-query parser
(words, phrases, prefix*, *suffix, *infix*, %fuzzy%), the tokenizer that models what RediSearch
indexes, and RediSearch's fuzzy matching, so that the twin finds what Redis finds."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

from ...fields.base import SEARCH, ArgumentError
from ...fields.schema import FieldSchema
from .. import syntax
from .base import CompileContext, Compiled, Lookup, exact, has_value, register, superset

# RediSearch keeps the first 128 bytes of a full-text word.
MAX_TOKEN_BYTES = 128

# RediSearch splits text on ASCII whitespace and punctuation, except "_"; a backslash makes the
# next character part of the word. It lower-cases ASCII letters only.
_SEPARATORS = frozenset(string.whitespace[:6] + string.punctuation) - {"_", "\\"}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
def fold_ascii(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def index_tokens(text: str) -> list[bytes]:
    """The words RediSearch indexes for a TEXT value (ASCII-folded, cut at 128 bytes).

    Control characters are not modelled (RediSearch's handling of them is irregular).
    """
    tokens: list[bytes] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            token = fold_ascii("".join(current)).encode()[:MAX_TOKEN_BYTES]
            if token:
                tokens.append(token)
            current.clear()

    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 < len(text):
                current.append(text[i + 1])
            i += 2
            continue
        if ch in _SEPARATORS:
            flush()
        else:
            current.append(ch)
        i += 1
    flush()
    return tokens


@dataclass(frozen=True)
class SearchQuery:
    """A parsed ``search`` argument; an entity matches when every part does: words (some word
    is it), phrases (consecutive words), prefixes, suffixes and infixes (some word starts,
    ends with or holds it) and fuzzy terms (some word within the edit distance, see
    :func:`fuzzy_match`)."""

    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    infixes: tuple[str, ...] = ()
    fuzzy: tuple[tuple[str, int], ...] = ()  # (term, distance 1..3)

    def parts(self, with_prefixes: bool = True) -> list[str]:
        out = list(self.words)
        out += ['"' + " ".join(p) + '"' for p in self.phrases]
        if with_prefixes:
            out += [p + "*" for p in self.prefixes]
        out += ["*" + x for x in self.suffixes] + ["*" + x + "*" for x in self.infixes]
        out += ["%" * d + t + "%" * d for t, d in self.fuzzy]
        return out


# A word with the pattern marks attached to it: ``*`` and ``%`` runs right before and after.
_QUERY_TERM = re.compile(r"([*%]*)([^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]+)([*%]*)")
_FUZZY = {"%": 1, "%%": 2, "%%%": 3}
_PATTERN_HELP = ("a search term is word, prefix*, *suffix, *infix* (at least 2 characters) or "
                 "%fuzzy% / %%fuzzy%% / %%%fuzzy%%% (edit distance 1, 2, 3)")


def parse_search(text: str) -> SearchQuery:
    """Words, ``"quoted phrases"``, ``prefix*``, ``*suffix``, ``*infix*`` and ``%fuzzy%`` (up
    to ``%%%fuzzy%%%``); everything that is not a word character separates words. A ``*`` or
    ``%`` attached to a word in any other way is refused, never dropped."""
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    prefixes: list[str] = []
    suffixes: list[str] = []
    infixes: list[str] = []
    fuzzy: list[tuple[str, int]] = []
    for i, segment in enumerate(text.split('"')):
        if i % 2 == 1:  # inside quotes
            phrase: list[str] = []
            for before, word, after in _QUERY_TERM.findall(segment):
                if before or after:
                    raise ArgumentError(
                        f"{before + word + after!r} inside the phrase \"{segment}\": a phrase "
                        "holds plain words (patterns and fuzzy terms go outside quotes)"
                    )
                phrase.append(fold_ascii(word))
            if len(phrase) == 1:
                words.append(phrase[0])
            elif phrase:
                phrases.append(tuple(phrase))
            continue
        for before, word, after in _QUERY_TERM.findall(segment):
            term = before + word + after
            if before in _FUZZY and after == before:
                fuzzy.append((word, _FUZZY[before]))
                continue
            word = fold_ascii(word)
            shape = (before, after)
            if shape == ("", ""):
                words.append(word)
                continue
            if shape not in (("", "*"), ("*", ""), ("*", "*")):
                raise ArgumentError(f"{term!r} is not a search term: {_PATTERN_HELP}")
            if len(word) < 2:
                raise ArgumentError(
                    f"the pattern {term!r} is too short: a prefix, suffix or infix needs at "
                    "least 2 characters"
                )
            {("", "*"): prefixes, ("*", ""): suffixes, ("*", "*"): infixes}[shape].append(word)
    query = SearchQuery(
        tuple(dict.fromkeys(words)), tuple(dict.fromkeys(phrases)),
        tuple(dict.fromkeys(prefixes)), tuple(dict.fromkeys(suffixes)),
        tuple(dict.fromkeys(infixes)), tuple(dict.fromkeys(fuzzy)),
    )
    if not query.parts():
        raise ArgumentError("expected at least one word to search for")
    return query


def _fold_rune(ch: str) -> str:
    # RediSearch folds each character of a fuzzy term and of the indexed words to the first
    # character of its Unicode case folding (so "ß" is "s" and "İ" is "i").
    return ch.casefold()[0]


def _distances(query: str, word: str) -> list[int]:
    """Levenshtein distances between every prefix of ``query`` and the whole ``word``."""
    column = list(range(len(query) + 1))
    for w in word:
        previous, column = column, [column[0] + 1]
        for i, q in enumerate(query, 1):
            column.append(min(previous[i] + 1, column[i - 1] + 1,
                              previous[i - 1] + (q != w)))
    return column


def fuzzy_match(term: str, word: str, distance: int) -> bool:
    """Whether ``%term%`` (``distance`` 1; 2 for ``%%term%%``, 3 for ``%%%term%%%``) finds
    ``word``, exactly as RediSearch 2.10 does on a TEXT field without stemming.

    Both are compared character by character, folded (:func:`_fold_rune`). The word matches
    when its Levenshtein distance to the term is at most ``distance``, and also (RediSearch's
    automaton decides a word at its last character from the states before and after it) when
    the word without its last character is within ``distance`` while the whole word is still
    within ``distance`` of some prefix of the term: so ``%abc%`` finds ``acb``. A word holding
    a character outside the Basic Multilingual Plane is never found (RediSearch's 16-bit
    automaton skips it).
    """
    if any(ord(ch) > 0xFFFF for ch in word):
        return False
    q = "".join(_fold_rune(ch) for ch in term)
    w = "".join(_fold_rune(ch) for ch in word)
    whole = _distances(q, w)
    if whole[-1] <= distance:
        return True
    return bool(w) and _distances(q, w[:-1])[-1] <= distance and min(whole) <= distance


def _has_phrase(tokens: list[bytes], phrase: tuple[bytes, ...]) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i:i + n]) == phrase for i in range(len(tokens) - n + 1))


class Search(Lookup):
    """Full-text search on ``Text()`` fields.

    In Redis the field's TEXT index answers it, with stemming unless ``Text(nostem=True)``.
    In Python (the in-memory twin) words must match exactly: there is no stemming, so the two
    agree on ``nostem`` fields and Redis may find more on stemmed ones.
    """

    name = "search"
    allowed = "Text() fields"
    needs = SEARCH

    def prepare(self, field: FieldSchema, value: Any) -> Any:
        if isinstance(value, SearchQuery):
            return value
        if not isinstance(value, str):
            raise ArgumentError("expected the text to search for (a str)")
        return parse_search(value)

    def test(self, field: FieldSchema, keys: list[Any], arg: Any) -> bool:
        query: SearchQuery = arg
        per_value = [index_tokens(k) for k in keys]
        every = {t for tokens in per_value for t in tokens}
        if any(w.encode() not in every for w in query.words):
            return False
        for prefix in query.prefixes:
            wanted = prefix.encode()
            if not any(t.startswith(wanted) for t in every):
                return False
        # (UTF-8 is self-synchronising: a match of the bytes is a match of the characters)
        for suffix in query.suffixes:
            wanted = suffix.encode()
            if not any(t.endswith(wanted) for t in every):
                return False
        for infix in query.infixes:
            wanted = infix.encode()
            if not any(wanted in t for t in every):
                return False
        if query.fuzzy:
            texts = [t.decode(errors="ignore") for t in every]
            for term, distance in query.fuzzy:
                if not any(fuzzy_match(term, t, distance) for t in texts):
                    return False
        for phrase in query.phrases:
            encoded = tuple(w.encode() for w in phrase)
            if not any(_has_phrase(tokens, encoded) for tokens in per_value):
                return False
        return True

    def compile(self, field: FieldSchema, arg: Any, ctx: CompileContext) -> Compiled:
        query: SearchQuery = arg
        assert field.text is not None
        # On a NOSTEM field a bare word is still expanded to its stem at query time (``running``
        # finds ``run``): quoted, it is matched as it is.
        verbatim = field.text.nostem

        def word(w: str) -> str:
            return f'"{w}"' if verbatim else w

        parts = [word(w) for w in query.words]
        # RediSearch's phrase check goes wrong when words repeat: ``"a a"`` finds a single
        # ``a``, and ``"a gamma"`` finds "gamma gamma a" (adjacent, but out of order). So the
        # words of a phrase narrow the candidates and Python checks the phrase itself.
        left_phrases = list(query.phrases)
        for phrase in query.phrases:
            parts += [word(w) for w in phrase]
        left_prefixes: list[str] = []
        for prefix in query.prefixes:
            # A prefix is lower-cased by RediSearch with Unicode rules, while indexed words
            # only had their ASCII letters lowered: such prefixes are checked in Python.
            if ctx.redis_wildcards and prefix.lower() == prefix:
                parts.append(prefix + "*")
            else:
                left_prefixes.append(prefix)
        frag = syntax.text_group(field.text_alias, list(dict.fromkeys(parts)))
        if frag.is_all:
            frag = has_value(field, ctx.params)
        # Suffixes, infixes and fuzzy terms are checked in Python: RediSearch expands them to
        # at most MAXEXPANSIONS / MAXPREFIXEXPANSIONS words and silently drops the rest (and
        # a suffix would also find the stems it indexed on a stemmed field).
        patterns = SearchQuery(suffixes=query.suffixes, infixes=query.infixes,
                               fuzzy=query.fuzzy)
        if not left_phrases and not left_prefixes and not patterns.parts():
            return exact(frag)
        return superset(frag, SearchQuery(phrases=tuple(left_phrases),
                                          prefixes=tuple(left_prefixes),
                                          suffixes=query.suffixes, infixes=query.infixes,
                                          fuzzy=query.fuzzy))


register(Search())
