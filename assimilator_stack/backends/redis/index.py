"""The RediSearch index of a model: its FT.CREATE arguments (pure) and a plan that makes sure
it exists and has finished scanning existing keys before a query runs."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

from ... import logs
from ...exceptions import ClusterSearchError, IndexNotReadyError, RedisCommandError
from ...fields.schema import INDEX_EXTRAS_KEY, NULLS_ATTRIBUTE, FieldSchema, ModelSchema
from . import uses
from .building import BuildLog
from .commands import ft_create, ft_info
from .facts import ServerFacts
from .protocol import Call, Pause, Plan
from .replies import index_info, is_permission_error, is_unknown_index

_POLL_SECONDS = 0.02


def _attribute(path: str, alias: str, *options: str) -> list[str]:
    return [path, "AS", alias, *options]


def _extra_path(alias: str, multi: bool) -> str:
    return f"$.{INDEX_EXTRAS_KEY}.{alias}" + ("[*]" if multi else "")


def field_attributes(field: FieldSchema) -> Iterator[list[str]]:
    """The SCHEMA entries of one field. Option order matters: SORTABLE comes last."""
    # SORTABLE where sorting is worth the memory (FieldSchema.sort_vector); never on a list,
    # which would keep only its first value: lists sort by __min / __max.
    sortable = ["SORTABLE"] if field.sort_vector else []
    if not field.tag_indexed:
        pass  # a Text() field: TEXT only (below)
    elif field.stored_as_extra:
        yield _attribute(_extra_path(field.alias, field.multi), field.alias,
                         *field.kind_obj.index_type(), *sortable)
        if field.has_residual:  # what the double lost: exact order and equality past 2**53
            yield _attribute(_extra_path(field.residual_alias, False), field.residual_alias,
                             "NUMERIC", *sortable)
    else:  # the kind's attribute type (str, uuid, enum of str: exact TAGs, "" findable)
        yield _attribute(field.json_path, field.alias, *field.kind_obj.index_type(), *sortable)
    if field.lower_copy:
        # The lower-cased copy a case-insensitive field compares and sorts by.
        yield _attribute(
            _extra_path(field.lower_alias, field.multi), field.lower_alias,
            "TAG", "CASESENSITIVE", "INDEXEMPTY", *sortable,
        )
    if field.extremes:
        for alias in (field.sort_alias(False), field.sort_alias(True)):
            if field.numeric:
                yield _attribute(_extra_path(alias, False), alias, "NUMERIC", "SORTABLE")
            else:
                yield _attribute(_extra_path(alias, False), alias, "TAG", "CASESENSITIVE",
                                 "INDEXEMPTY", "SORTABLE")
    if field.text is not None:
        text_options = ["TEXT", "WEIGHT", repr(float(field.text.weight))]
        if field.text.nostem:
            text_options.append("NOSTEM")
        if sortable and not field.tag_indexed:
            # UNF: sort by the value as stored (byte order, as everywhere else), not by
            # a lower-cased, normalised copy.
            text_options += ["SORTABLE", "UNF"]
        yield _attribute(field.json_path, field.text_alias, *text_options)


def schema_arguments(schema: ModelSchema) -> list[str]:
    args: list[str] = []
    for field in schema.fields.values():
        for attribute in field_attributes(field):
            args += attribute
    if schema.needs_extras:
        args += _attribute(
            _extra_path(NULLS_ATTRIBUTE, True), NULLS_ATTRIBUTE, "TAG", "CASESENSITIVE"
        )
    return args


class IndexSpec:
    """Name and FT.CREATE arguments of a model's index.

    The name carries a hash of the definition, so a changed model gets a new index instead of
    silently querying an old one with other fields.
    """

    def __init__(self, schema: ModelSchema) -> None:
        self.schema = schema
        self.schema_args = schema_arguments(schema)
        self.key_prefix = f"{schema.prefix}:"
        # STOPWORDS 0: every word is searchable and phrases with "the" or "a" still match.
        # NOOFFSETS: no word positions (a sixth of the index's memory): phrases are checked
        # in Python on the documents that hold their words (lookups.Search), never by the
        # server, so nothing reads them.
        self.create_args: tuple[str, ...] = (
            "ON", "JSON", "PREFIX", "1", self.key_prefix, "NOOFFSETS", "STOPWORDS", "0",
            "SCHEMA", *self.schema_args,
        )
        digest = hashlib.sha1("\x00".join(self.create_args).encode()).hexdigest()[:10]
        self.name = f"{schema.prefix}:idx:{digest}"


def ensure_index(
    spec: IndexSpec, facts: ServerFacts, timeout: float
) -> Plan[None]:
    """Create the index if needed (safe when several processes race) and wait, at most
    ``timeout`` seconds, until it has scanned the keys that existed before it."""
    if spec.name in facts.index_ready:
        if uses.due(facts, spec.name):  # at most once a minute (uses.py)
            yield from uses.record(facts, spec.key_prefix, spec.name)
        return
    try:
        info = index_info((yield Call(ft_info(spec.name))))
    except RedisCommandError as exc:
        if not is_unknown_index(exc):
            raise
        yield from create(spec)
        info = index_info((yield Call(ft_info(spec.name))))
    deadline = time.monotonic() + timeout
    wait = BuildLog(spec.name, "a query")
    while info.indexing:
        wait.seen(info)
        if time.monotonic() > deadline:
            raise IndexNotReadyError(
                f"index {spec.name!r} was still indexing existing keys after {timeout}s "
                f"({info.percent_indexed} done); queries would see only part "
                "of the data. Try again later or raise index_timeout"
            )
        yield Pause(_POLL_SECONDS)
        info = index_info((yield Call(ft_info(spec.name))))
    wait.finished(info)
    facts.index_ready.add(spec.name)
    yield from uses.record(facts, spec.key_prefix, spec.name)


def create(spec: IndexSpec) -> Plan[None]:
    """FT.CREATE the index; fine when it already exists, also for a user who may not run
    FT.CREATE (least privilege: an administrator created the index)."""
    try:
        yield Call(ft_create(spec.name, spec.create_args))
        logs.index.info("created index %r over the keys %r*", spec.name, spec.key_prefix)
    except ClusterSearchError:
        return  # a cluster that cannot search gets no index (its queries are refused)
    except RedisCommandError as exc:
        if "already exists" in str(exc).lower():
            return
        if not is_permission_error(exc):
            raise
        try:
            yield Call(ft_info(spec.name))
        except RedisCommandError as info_exc:
            if not is_unknown_index(info_exc):
                raise
            raise RedisCommandError(
                f"the index {spec.name!r} does not exist and this Redis user may not run "
                f"FT.CREATE ({exc}). Let an administrator create it once (any repository of "
                "this model run by a user allowed FT.CREATE creates it on first use; its "
                "arguments are repository.plans.index.create_args), or allow FT.CREATE",
                ft_create(spec.name, spec.create_args),
            ) from exc


def is_missing_index_error(exc: Exception) -> bool:
    """A query failed because the index is gone (FLUSHALL, FT.DROPINDEX by someone else)."""
    return isinstance(exc, RedisCommandError) and is_unknown_index(exc)
