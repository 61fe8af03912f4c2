"""The FT.AGGREGATE commands a query runs, built and parsed without I/O.

Every read of a query is an FT.AGGREGATE (DIALECT 2, explicit TIMEOUT) whose rows carry the
document key (``@__key``), after a ``FILTER exists(@__key)`` that drops keys which expired
but are not yet reclaimed (their rows have no key), so pages, counts and ``get`` never count
dead keys. Sorting is ``SORTBY`` over every order key plus the id; past the server's
MAXAGGREGATERESULTS an ordered scan continues *after* the last row it read (keyset paging),
with a ``FILTER`` expression that compares the sort attributes with that row's exact values.

Facts this relies on (verified on RediSearch 2.10, see tests/redis/test_ordering_paging.py):

- ``SORTBY`` puts rows without a value (absent or JSON null) last, for ASC and DESC alike;
  strings compare byte by byte (``strncmp``, then length), numbers as doubles.
- Rows show numbers with about 12 significant digits, strings exactly; exact numbers are read
  from the document (JSON.GET), never from a row. A string is indexed up to its first NUL.
- A FILTER string literal is unescaped by dropping every backslash that precedes ASCII
  punctuation or whitespace; a literal cannot hold NUL, nor a backslash followed by
  punctuation, whitespace or another backslash, nor end with a backslash (the lexer takes the
  longest match, so ``"a\\"`` followed by more quotes runs on); see :func:`representable`.
- Number literals with an exponent (``1e+16``) and ``inf`` are syntax errors: numbers are
  written positionally, infinity as a 1 followed by 309 zeros (which parses as infinity).
- Comparing an attribute that has no value fails the query ("has no value"), so every
  comparison is guarded by ``exists()`` (``&&`` and ``||`` short-circuit).
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...exceptions import PartialResultError
from ...fields.schema import INDEX_EXTRAS_KEY, FieldSchema, ModelSchema
from .replies import info_dict, text

KEY_FIELD = "__key"
# Rows of keys that expired but are not yet reclaimed have no @__key once loaded.
LIVE_ROWS: tuple[str, ...] = ("LOAD", "1", f"@{KEY_FIELD}", "FILTER", f"exists(@{KEY_FIELD})")
# The same, with each row's whole document (``$`` is exact JSON), saving a JSON.MGET.
DOCUMENT_FIELD = "$"
LIVE_DOCUMENTS: tuple[str, ...] = ("LOAD", "2", f"@{KEY_FIELD}", DOCUMENT_FIELD,
                                   "FILTER", f"exists(@{KEY_FIELD})")
COUNT_FIELD = "n"

_PUNCT_OR_SPACE = frozenset(string.punctuation) | frozenset(" \t\n\v\f\r")
_INFINITY_LITERAL = "1" + "0" * 309  # parses as +inf (the lexer has no exponent nor 'inf')

Value = str | float | None  # a sort value: a string, a number, or None (no value)
Anchor = tuple[Value, ...]


# -- sort keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """One ``SORTBY`` key: the attribute the server sorts on and where its exact value is."""

    name: str  # the field as the user named it (dotted)
    attribute: str
    desc: bool
    numeric: bool
    boolean: bool
    path: str  # JSONPath of the exact sort value in the document
    in_index: bool = True  # SORTABLE: the value is in the index (else read from the document)


def _sort_key(field: FieldSchema, desc: bool) -> SortKey:
    if field.multi:  # a list: its smallest (ascending) or largest (descending) value
        alias = field.sort_alias(desc)
        return SortKey(field.name, alias, desc, field.numeric, field.kind_obj.boolean,
                       f"$.{INDEX_EXTRAS_KEY}.{alias}")
    if field.stored_as_extra:  # dates: exact integers under __idx
        return SortKey(field.name, field.alias, desc, True, False,
                       f"$.{INDEX_EXTRAS_KEY}.{field.alias}", field.sort_vector)
    if field.stringy and not field.case_sensitive:  # sorts by its lower-cased copy
        return SortKey(field.name, field.lower_alias, desc, False, False,
                       f"$.{INDEX_EXTRAS_KEY}.{field.lower_alias}", field.sort_vector)
    return SortKey(field.name, field.sort_alias(desc), desc, field.numeric,
                   field.kind_obj.boolean, field.json_path, field.sort_vector)




def sort_keys(schema: ModelSchema, order: Sequence[tuple[str, bool]]) -> tuple[SortKey, ...]:
    """The SORTBY keys of ``order`` (dotted name, descending), then the id ascending, so that
    the order is total. Unknown, multi-valued and unsortable fields are refused here."""
    keys: list[SortKey] = []
    seen: set[str] = set()
    for name, desc in order:
        field = schema.sort_field(name)
        if field.name in seen:  # a repeated key changes nothing
            continue
        seen.add(field.name)
        keys.append(_sort_key(field, desc))
        if field.has_residual:  # then what its double lost: exact order past 2**53 µs
            keys.append(SortKey(field.name, field.residual_alias, desc, True, False,
                                f"$.{INDEX_EXTRAS_KEY}.{field.residual_alias}"))
        if field is schema.id_field:  # ids are unique: later keys can never matter
            return tuple(keys)
    keys.append(_sort_key(schema.id_field, False))
    return tuple(keys)


def sortby_args(keys: Sequence[SortKey]) -> tuple[str, ...]:
    args: list[str] = []
    for key in keys:
        args += [f"@{key.attribute}", "DESC" if key.desc else "ASC"]
    return ("SORTBY", str(len(args)), *args)


# -- commands -----------------------------------------------------------------------------------


def aggregate(index: str, where: str, params: Sequence[str], steps: Sequence[str],
              timeout_ms: int) -> tuple[str, ...]:
    """``FT.AGGREGATE`` with the query options first, then the pipeline ``steps``."""
    return ("FT.AGGREGATE", index, where, *params, "TIMEOUT", str(timeout_ms),
            "DIALECT", "2", *steps)


def count_steps() -> tuple[str, ...]:
    return (*LIVE_ROWS, "GROUPBY", "0", "REDUCE", "COUNT", "0", "AS", COUNT_FIELD)


def window_steps(keys: Sequence[SortKey] | None, offset: int, num: int,
                 after_expr: str | None = None, *, sort_first: bool = False,
                 documents: bool = False) -> tuple[str, ...]:
    """Rows ``offset .. offset+num`` (sorted by ``keys``; unsorted when None) after the
    keyset condition ``after_expr``.

    By default dead rows are dropped before sorting, which reads the key of every match.
    ``sort_first`` sorts on the index alone and reads keys only of the ``offset + num`` rows
    kept (``MAX``): much cheaper, but a window holding dead rows then comes back short, so a
    short answer must be asked again without it (see OrderedScan). ``documents`` also loads
    each kept row's document, where that reads no more documents than the rows returned.
    """
    steps: list[str] = []
    if after_expr is not None:
        # Before LOAD: sort attributes come from the index, so this costs no document read
        # (those not SORTABLE are read from the documents first).
        loaded = [f"@{k.attribute}" for k in keys or () if not k.in_index]
        if loaded:
            steps += ["LOAD", str(len(loaded)), *loaded]
        steps += ["FILTER", after_expr]
    if keys is not None and sort_first:
        steps += [*sortby_args(keys), "MAX", str(offset + num),
                  *(LIVE_DOCUMENTS if documents else LIVE_ROWS)]
    elif keys is None:  # unsorted rows stream through LOAD until LIMIT has enough
        steps += LIVE_DOCUMENTS if documents else LIVE_ROWS
    else:
        steps += LIVE_ROWS
        if keys is not None:
            steps += sortby_args(keys)
    steps += ["LIMIT", str(offset), str(num)]
    return tuple(steps)


def cursor_steps(batch: int, documents: bool = False) -> tuple[str, ...]:
    return (*(LIVE_DOCUMENTS if documents else LIVE_ROWS), "WITHCURSOR", "COUNT", str(batch))


# -- replies ------------------------------------------------------------------------------------

# One row's attributes, keyed as the reply has them: bytes (the default client) or str
# (decode_responses=True). Read with row_value / row_key / row_document, never copied.
Row = dict[Any, Any]


def _get(mapping: Any, name: str) -> Any:
    if name in mapping:
        return mapping[name]
    return mapping.get(name.encode())


def row_value(row: Row, name: str) -> Any:
    """The row's value of attribute ``name`` (None when it has none)."""
    value = row.get(name.encode())
    return row.get(name) if value is None else value


def _row(raw: Any) -> Row | None:
    if raw is None:
        return None
    if type(raw) is dict:  # RESP3 result: its attributes are already a mapping
        attrs = raw.get(b"extra_attributes")
        if attrs is None:
            attrs = raw.get("extra_attributes")
        return attrs
    pairs = iter(raw)
    return dict(zip(pairs, pairs))


def aggregate_rows(reply: Any) -> tuple[list[Row], list[str]]:
    """FT.AGGREGATE (or one cursor batch) -> (rows, warnings). Rows without content (keys
    that expired but are not reclaimed yet) are dropped."""
    if isinstance(reply, dict):  # RESP3
        results = _get(reply, "results") or []
        try:  # the default client (bytes keys): each result's attributes, as they are
            rows = [r[b"extra_attributes"] for r in results]
        except (KeyError, TypeError):
            rows = [_row(r) for r in results]
        warnings = [text(w) for w in (_get(reply, "warning") or [])]
    else:
        rows = [_row(r) for r in reply[1:]]
        warnings = []
    return [r for r in rows if r], warnings


def cursor_reply(reply: Any) -> tuple[list[Row], int, list[str]]:
    """``[batch, cursor_id]`` -> (rows, cursor id (0 when done), warnings)."""
    batch, cursor = reply[0], reply[1]
    rows, warnings = aggregate_rows(batch)
    return rows, int(cursor), warnings


_KEY_BYTES = KEY_BYTES = KEY_FIELD.encode()
_DOCUMENT_BYTES = DOCUMENT_FIELD.encode()


def row_key(row: Row) -> str:
    key = row.get(_KEY_BYTES)
    if key is None:
        return text(row[KEY_FIELD])
    return key.decode()  # type: ignore[no-any-return]


def keyed_documents(rows: Sequence[Row]) -> tuple[list[str], list[Any]] | None:
    """The rows' keys and documents (``row_key`` / ``row_document`` of each), or None when a
    row carries no document. Inlined: this runs per row of every page."""
    try:  # the default client: bytes names
        keys = [row[_KEY_BYTES].decode() for row in rows]
        documents = [row[_DOCUMENT_BYTES] for row in rows]
    except KeyError:
        try:  # a client that decodes: str names
            keys = [text(row[KEY_FIELD]) for row in rows]
            documents = [row[DOCUMENT_FIELD] for row in rows]
        except KeyError:
            return None
    return None if None in documents else (keys, documents)


def row_document(row: Row) -> Any:
    """The row's document (raw JSON) when the scan loaded it, else None."""
    document = row.get(_DOCUMENT_BYTES)
    return row.get(DOCUMENT_FIELD) if document is None else document


def count_reply(reply: Any) -> tuple[int, list[str]]:
    """``GROUPBY 0 REDUCE COUNT`` -> (count, warnings). A reply without the count row although
    documents matched is a count cut short by a timeout (RESP2 shows no warning for it)."""
    rows, warnings = aggregate_rows(reply)
    if not rows:
        matched = int(_get(reply, "total_results")) if isinstance(reply, dict) else int(reply[0])
        if matched and not warnings:
            warnings = ["the count row is missing (a timeout cut the query short)"]
        return 0, warnings
    return int(text(row_value(rows[0], COUNT_FIELD))), warnings


def check_complete(warnings: Sequence[str], command: Sequence[Any]) -> None:
    """A reply that carries a warning (RESP3: a timeout) is partial: refuse it."""
    if warnings:
        raise PartialResultError(
            f"Redis answered {command[0]} with a partial result ({'; '.join(warnings)}); it "
            "was not used. Raise the repository's query_timeout_ms (0 = no limit)"
        )


def index_generation(reply: Any) -> int | None:
    """``FT.INFO`` -> ``max_doc_id``, the last internal id the index gave a document; every
    (re)indexed document takes the next one, deleting renumbers nothing. None: no answer (an
    error reply, e.g. no permission, or a reply without it)."""
    if reply is None or isinstance(reply, Exception):
        return None
    try:
        value = info_dict(reply).get("max_doc_id")
        return None if value is None else int(text(value))
    except (TypeError, ValueError):
        return None


def config_value(reply: Any) -> tuple[str | None, bool]:
    """``FT.CONFIG GET <name>`` -> (its value or None, whether the reply was RESP3)."""
    if isinstance(reply, dict):
        value = next(iter(reply.values()), None)
        return (None if value is None else text(value)), True
    if reply and isinstance(reply[0], (list, tuple)) and len(reply[0]) > 1:
        return (None if reply[0][1] is None else text(reply[0][1])), False
    return None, False


def is_timeout_error(exc: Exception) -> bool:
    """The server's ``ON_TIMEOUT FAIL`` error."""
    return "timeout limit was reached" in str(exc).lower()


def max_results(reply: Any) -> int | None:
    """``FT.CONFIG GET MAXAGGREGATERESULTS`` -> the limit (None: unlimited); ValueError when
    the reply does not say."""
    value, _ = config_value(reply)
    if value is None:
        raise ValueError(f"no MAXAGGREGATERESULTS in {reply!r}")
    raw = value.strip().lower()
    if raw == "unlimited":
        return None
    number = int(raw)
    return None if number >= 2**62 else number


# -- keyset paging ------------------------------------------------------------------------------


def representable(value: str) -> bool:
    """Can ``value`` be written as a FILTER string literal (see the module docstring)?"""
    if "\x00" in value:
        return False
    for i, char in enumerate(value):
        # the last character: '\"' would read as an escaped quote and the literal run on
        if char == "\\" and (i + 1 == len(value) or value[i + 1] in _PUNCT_OR_SPACE):
            return False
    return True


def string_literal(value: str) -> str:
    """A double-quoted FILTER literal that the server reads back as ``value``
    (``representable(value)`` must hold)."""
    body = value.replace('"', '\\"').replace("\n", "\\\n")
    return f'"{body}"'


def number_literal(value: float) -> str:
    if math.isinf(value):
        return _INFINITY_LITERAL if value > 0 else f"(-{_INFINITY_LITERAL})"
    written = format(Decimal(repr(float(value))), "f")
    return f"({written})" if written.startswith("-") else written


def literal(key: SortKey, value: str | float) -> str:
    if key.numeric:
        return number_literal(float(value))
    return string_literal(str(value))


def anchor_representable(keys: Sequence[SortKey], anchor: Anchor) -> bool:
    return all(
        not isinstance(value, str) or key.numeric or representable(value)
        for key, value in zip(keys, anchor)
    )


def after_expression(keys: Sequence[SortKey], anchor: Anchor) -> str:
    """A FILTER expression true for the rows that come after ``anchor`` (the sort values of
    one row) in the order of ``keys``; the last key is the id, which every row has."""
    expr: str | None = None
    for key, value in reversed(list(zip(keys, anchor))):
        attr = f"@{key.attribute}"
        if value is None:  # no value: only rows also without one follow, by the next keys
            if expr is None:
                raise ValueError(f"the last sort key {key.name!r} has no value")
            expr = f"((!exists({attr})) && {expr})"
            continue
        lit = literal(key, value)
        later = f"((!exists({attr})) || {attr} {'<' if key.desc else '>'} {lit})"
        if expr is not None:
            later = f"({later} || (exists({attr}) && {attr} == {lit} && {expr}))"
        expr = later
    assert expr is not None
    return expr


def anchor_paths(keys: Sequence[SortKey]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(key.path for key in keys))


def anchor_from_json(keys: Sequence[SortKey], reply: Any) -> Anchor | None:
    """``JSON.GET key <anchor_paths>`` -> the exact sort values (None: the key is gone)."""
    if reply is None:
        return None
    data = json.loads(reply)
    paths = anchor_paths(keys)
    by_path: dict[str, Any] = data if len(paths) > 1 else {paths[0]: data}
    values: list[Value] = []
    for key in keys:
        found = by_path.get(key.path) or []
        value = found[0] if found else None
        if value is None:
            values.append(None)
        elif isinstance(value, bool):
            values.append("true" if value else "false")
        elif key.numeric:
            if not isinstance(value, (int, float)):
                return None
            values.append(float(value))
        else:
            # The index keeps a string up to its first NUL (it sorts by that part).
            values.append(str(value).split("\x00", 1)[0])
    return tuple(values)


def row_matches_anchor(keys: Sequence[SortKey], row: Row, anchor: Anchor) -> bool:
    """Is ``anchor`` (read from the document) still what the server sorted ``row`` by?
    Strings must be equal; numbers, shown rounded in rows, close."""
    for key, value in zip(keys, anchor):
        shown = row_value(row, key.attribute)
        if shown is None or value is None:
            if (shown is None) != (value is None):
                return False
            continue
        if key.numeric:
            try:
                number = float(text(shown))
            except ValueError:
                return False
            assert isinstance(value, float)
            if not math.isclose(number, value, rel_tol=1e-9, abs_tol=1e-9) and not (
                math.isinf(number) and number == value
            ):
                return False
        elif text(shown) != value:
            return False
    return True


def row_strings_representable(keys: Sequence[SortKey], row: Row) -> bool:
    """Could this row anchor a keyset FILTER? (Its string sort values are shown exactly.)"""
    for key in keys:
        shown = row_value(row, key.attribute)
        if shown is not None and not key.numeric and not representable(text(shown)):
            return False
    return True


# -- relevance ----------------------------------------------------------------------------------


def scored_reply(reply: Any) -> tuple[int, list[tuple[str, float]]]:
    """``FT.SEARCH … WITHSCORES NOCONTENT`` -> (total, [(key, score)]). The scores are exact:
    FT.SEARCH prints them in full (FT.AGGREGATE's ADDSCORES rounds them to 12 digits)."""
    if isinstance(reply, dict):  # RESP3: the score is a double
        found = [(text(_get(r, "id")), float(text(_get(r, "score"))))
                 for r in (_get(reply, "results") or [])]
        return int(_get(reply, "total_results")), found
    items = reply[1:]
    return int(reply[0]), [(text(k), float(text(s))) for k, s in zip(items[0::2], items[1::2])]
