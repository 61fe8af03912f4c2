"""Aggregations (``repo.aggregate``) and suggestions (``repo.suggest``): their meaning, no I/O.

Both repositories select the entities with the filter (Redis: the search, plus the Python
check of inexact lookups; the twin: in Python) and hand each entity to :class:`Aggregation`
/ :class:`Suggestion`, which compute the answer in Python. So the meaning is one piece of
code, and exact by construction: RediSearch's reducers would count documents without the
field in AVG, print numbers with ~12 significant digits, take a list's first element and
stop at MAXAGGREGATERESULTS groups (../docs/queries.md, "Aggregations and suggestions").

Numbers: a Sum of ints is an exact int; with floats it is the exact sum rounded once (kept
as an integer count of 2**-1074, see core/metrics.py), so it does not depend on the order
entities come in. Avg is the exact sum divided by how many values there were, rounded once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core.metrics import CountDistinct, Metric, Min, Sum
from ..core.specs import Query, collect
from ..exceptions import InvalidQueryError
from ..fields.schema import FieldSchema, ModelSchema
from ..fields.values import lower, values_at
from ..query.filters import Node
from ..query.lookups import order_key

_UTC = dt.timezone.utc


def canonical(field: FieldSchema, value: Any) -> Any:
    """One form per group value: datetimes in UTC (naive ones are UTC), -0.0 as 0.0."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)
    if isinstance(value, float) and value == 0.0:
        return 0.0
    return value


def _order_key(field: FieldSchema, value: Any) -> Any:
    key = order_key(field, value)
    if isinstance(key, str) and not field.case_sensitive:
        return (lower(key), key)
    return key


def _group_by_names(group_by: str | Sequence[str]) -> tuple[str, ...]:
    if not isinstance(group_by, (str, list, tuple)):
        raise InvalidQueryError(
            f"group_by takes a field name or a tuple / list of them, got {group_by!r}")
    names = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidQueryError(f"group_by takes field names, got {group_by!r}")
    return names


class Aggregation:
    """``aggregate(*specs, group_by=..., **metrics)``, checked against the schema when made
    (InvalidQueryError before anything is read); feed it the entities the filter selects
    (``add``), then ``rows()``."""

    def __init__(self, schema: ModelSchema, specs: Sequence[Any],
                 group_by: str | Sequence[str], metrics: Mapping[str, Any]) -> None:
        model = schema.model.__name__
        query = collect(specs)
        if query.only is not None:
            raise InvalidQueryError("aggregate() takes no only(): its rows hold the group "
                                    "values and the metrics")
        self.filter: Node | None = query.filter
        self.query: Query = query
        names = _group_by_names(group_by)
        self.groups: list[tuple[str, FieldSchema]] = []
        for name in names:
            grouped = schema.field(name)
            if any(f is grouped for _, f in self.groups):
                raise InvalidQueryError(f"group_by names {name!r} twice")
            self.groups.append((name, grouped))
        if not self.groups and not metrics:
            raise InvalidQueryError(
                "aggregate() needs group_by=... and/or metrics (n=Count(), "
                "avg=Avg('field'), ...)")
        self.metrics: list[tuple[str, Metric, FieldSchema | None]] = []
        for out, metric in metrics.items():
            if not isinstance(metric, Metric):
                raise InvalidQueryError(
                    f"aggregate({out}=...) takes a metric (Count(), CountDistinct(f), Sum(f), "
                    f"Avg(f), Min(f), Max(f)), got {metric!r}")
            if out in names or any(out == f.name for _, f in self.groups):
                raise InvalidQueryError(
                    f"aggregate({out}=...): {out!r} is also a group_by field; name the metric "
                    "otherwise")
            measured: FieldSchema | None = None
            if metric.field is not None:
                measured = schema.field(metric.field)
                if metric.kinds and measured.kind not in metric.kinds:
                    raise InvalidQueryError(
                        f"aggregate({out}={metric!r}): {model}.{measured.name} is a "
                        f"{measured.kind} field; {type(metric).__name__} applies to "
                        f"{metric.allowed}")
            self.metrics.append((out, metric, measured))
        # order(): metric names or group_by fields; the group values break ties.
        self.order: list[tuple[str, bool]] = []
        columns = {name for name, _ in self.groups} | {f.name for _, f in self.groups}
        # (order() reads "__" as "." in its names, so a metric avg__x is found as avg.x)
        outs = {out.replace("__", "."): out for out, _, _ in self.metrics}
        for name, desc in query.order:
            if name in outs and name not in columns:
                name = outs[name]
            elif name not in columns:
                allowed = ", ".join(sorted({*outs.values(), *(n for n, _ in self.groups)}))
                raise InvalidQueryError(
                    f"aggregate(): order({name!r}) names neither a metric nor a group_by "
                    f"field; it can name: {allowed or '(none)'}")
            self.order.append((name, desc))
        self._table: dict[tuple[Any, ...], list[Any]] = {}
        self._feeds = [_feeder(metric, field) for _, metric, field in self.metrics]

    # -- feeding ---------------------------------------------------------------------------

    def _group_keys(self, entity: Any) -> list[tuple[Any, ...]]:
        keys: list[tuple[Any, ...]] = [()]
        for _, field in self.groups:
            found = values_at(entity, field)
            if not found:
                values: Iterable[Any] = (None,)
            else:  # each element of a list once per entity
                values = dict.fromkeys(canonical(field, v) for v in found)
            keys = [(*k, v) for k in keys for v in values]
        return keys

    def add(self, entity: Any) -> None:
        feeds = self._feeds
        per_metric = [None if field is None else values_at(entity, field)
                      for _, _, field in self.metrics]
        table = self._table
        for key in self._group_keys(entity):
            states = table.get(key)
            if states is None:
                states = table[key] = [m.start() for _, m, _ in self.metrics]
            for i, feed in enumerate(feeds):
                states[i] = feed(states[i], per_metric[i])

    # -- the answer ------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        table = self._table
        if not self.groups and not table:
            table = {(): [m.start() for _, m, _ in self.metrics]}  # no match: one row
        rows: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        for key, states in table.items():
            row: dict[str, Any] = {name: value for (name, _), value in zip(self.groups, key)}
            for (out, metric, _), state in zip(self.metrics, states):
                row[out] = metric.result(state)
            rows.append((key, row))
        fields = [field for _, field in self.groups]

        def group_order(item: tuple[tuple[Any, ...], dict[str, Any]]) -> tuple[Any, ...]:
            return tuple((1, 0) if v is None else (0, _order_key(f, v))
                         for f, v in zip(fields, item[0]))

        rows.sort(key=group_order)
        ordered = [row for _, row in rows]
        by_name = {name: field for name, field in self.groups}
        by_name.update({field.name: field for _, field in self.groups})
        for name, desc in reversed(self.order):
            field = by_name.get(name)
            column = next((n for n, f in self.groups if f is field), name)
            present = [r for r in ordered if r[column] is not None]
            missing = [r for r in ordered if r[column] is None]
            if field is not None:
                present.sort(key=lambda r: _order_key(field, r[column]), reverse=desc)
            else:
                present.sort(key=lambda r: r[column], reverse=desc)
            ordered = present + missing  # no value last, either direction (as order())
        end = None if self.query.limit is None else self.query.offset + self.query.limit
        return ordered[self.query.offset:end]


def _feeder(metric: Metric, field: FieldSchema | None) -> Any:
    """``(state, values) -> state`` for one metric over one entity's values of its field."""
    if field is None:  # Count
        return lambda state, values: state + 1
    if isinstance(metric, CountDistinct):
        def distinct(state: set[Any], values: list[Any]) -> set[Any]:
            state.update([canonical(field, v) for v in values])
            return state
        return distinct
    if isinstance(metric, Sum):
        return lambda state, values: state.add_all(values) if values else state
    assert isinstance(metric, Min)
    largest = metric.largest

    def extreme(state: Any, values: list[Any]) -> Any:
        for v in values:
            v = canonical(field, v)
            if state is None or (v > state if largest else v < state):
                state = v
        return state
    return extreme


class Suggestion:
    """``suggest(field, prefix, limit=...)``: the distinct values of a str field that start
    with ``prefix`` ignoring case (``str.lower``), by how many entities hold each (a list
    counts each distinct element once per entity), ties in code-point order."""

    def __init__(self, schema: ModelSchema, field: str, prefix: str, limit: int) -> None:
        if not isinstance(field, str):
            raise InvalidQueryError(f"suggest() takes a field name, got {field!r}")
        found = schema.field(field)
        if not found.stringy:
            raise InvalidQueryError(
                f"suggest({field!r}, ...): {schema.model.__name__}.{found.name} is a "
                f"{found.kind} field; suggest applies to str fields (and lists of str)")
        if not isinstance(prefix, str):
            raise InvalidQueryError(f"suggest(prefix=...) must be a str, got {prefix!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidQueryError(f"suggest(limit=...) must be an int >= 1, got {limit!r}")
        self.field = found
        self.prefix = prefix
        self.folded = lower(prefix)
        self.limit = limit
        self.counts: dict[str, int] = {}

    @property
    def lookup(self) -> dict[str, Any]:
        """The filter that selects the candidates (Redis narrows them where it can)."""
        return {f"{self.field.name.replace('.', '__')}__istartswith": self.prefix}

    def add(self, entity: Any) -> None:
        for value in set(values_at(entity, self.field)):
            if lower(value).startswith(self.folded):
                self.counts[value] = self.counts.get(value, 0) + 1

    def result(self) -> list[str]:
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        return [value for value, _ in ranked[:self.limit]]
