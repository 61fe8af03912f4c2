"""Specifications: filter, order, paginate, only, join — and how a list of them becomes a Query.

The same specification objects serve every repository (Redis, in-memory, sync, async): each
repository reads the :class:`Query` they describe, so ``filter_`` is what ``repo.specs.filter``
returns and specifications are adaptive by construction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..exceptions import InvalidQueryError, MultipleResultsError, NotFoundError
from ..query.filters import And, Condition, Node, Predicate, TextSearch, and_, not_, or_, searches
from ..query.keywords import split_lookup
from .nearness import Distance


class Specification:
    """Base class of every specification."""


class FilterSpecification(Specification):
    """A filter; combine with ``&``, ``|`` and ``~``."""

    def __init__(self, tree: Node) -> None:
        self.tree = tree

    def __and__(self, other: FilterSpecification) -> FilterSpecification:
        return FilterSpecification(and_(self.tree, _as_filter(other).tree))

    def __or__(self, other: FilterSpecification) -> FilterSpecification:
        return FilterSpecification(or_(self.tree, _as_filter(other).tree))

    def __invert__(self) -> FilterSpecification:
        return FilterSpecification(not_(self.tree))

    def __repr__(self) -> str:
        return f"filter_({self.tree!r})"


class SearchSpecification(FilterSpecification):
    """``search(text, fields=...)``: a filter on the ``Text()`` fields that also ranks (see
    :func:`search`)."""

    def __init__(self, text: str, fields: tuple[str, ...] | None) -> None:
        super().__init__(TextSearch(text, fields))
        self.text = text
        self.fields = fields

    def __repr__(self) -> str:
        return f"search({self.text!r}, fields={self.fields!r})"


def search(text: str, *, fields: Iterable[str] | str | None = None) -> SearchSpecification:
    """Entities whose ``Text()`` fields (all of them, or only ``fields``) match ``text`` in the
    query language of ``field__search`` (docs/queries.md "Search and relevance"): every part
    must match in one of the fields. Without ``order()``, results come most relevant first.
    The text is checked now; the fields when the query runs (against the model)."""
    from ..query.lookups import ArgumentError, parse_search

    if not isinstance(text, str):
        raise InvalidQueryError(f"search() takes the text to search for (a str), got {text!r}")
    try:
        parse_search(text)
    except ArgumentError as exc:
        raise InvalidQueryError(f"search({text!r}): {exc}") from None
    names: tuple[str, ...] | None = None
    if fields is not None:
        names = (fields,) if isinstance(fields, str) else tuple(fields)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise InvalidQueryError(
                f"search(fields=...) takes one or more Text() field names, got {fields!r}"
            )
        names = tuple(dict.fromkeys(n.replace("__", ".") for n in names))
    return SearchSpecification(text, names)


class KnnSpecification(Specification):
    """``knn(field, vector, k)``: the ``k`` entities whose ``field`` is nearest to ``vector``
    among those the other filters select (see :func:`knn`)."""

    def __init__(self, field: str, vector: Sequence[float], k: int,
                 ef_runtime: int | None = None) -> None:
        if not isinstance(field, str) or not field:
            raise InvalidQueryError(f"knn() takes a Vector field name, got {field!r}")
        if isinstance(vector, (str, bytes)) or not isinstance(vector, Sequence) or not vector:
            raise InvalidQueryError(f"knn({field!r}, ...) takes the query vector as a list of "
                                    f"numbers, got {type(vector).__name__}")
        values: list[float] = []
        for i, x in enumerate(vector):
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise InvalidQueryError(f"knn({field!r}, ...): element {i} of the vector must be "
                                        f"a finite number, got {x!r}")
            values.append(float(x))
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidQueryError(f"knn({field!r}, ..., k=...) must be an int >= 1, got {k!r}")
        if ef_runtime is not None and (isinstance(ef_runtime, bool)
                                       or not isinstance(ef_runtime, int) or ef_runtime < 1):
            raise InvalidQueryError(f"knn(ef_runtime=...) must be an int >= 1, got "
                                    f"{ef_runtime!r}")
        self.field = field.replace("__", ".")
        self.vector = tuple(values)
        self.k = k
        self.ef_runtime = ef_runtime

    def __repr__(self) -> str:
        return f"knn({self.field!r}, <{len(self.vector)} numbers>, k={self.k})"


def knn(field: str, vector: Sequence[float], k: int = 10, *,
        ef_runtime: int | None = None) -> KnnSpecification:
    """The ``k`` entities whose Vector ``field`` is nearest to ``vector``, nearest first (ties
    by id), among those every other filter of the same call selects (hybrid search): fewer
    only when fewer match. ``hits()`` gives each one's distance as its score. ``ef_runtime``
    (HNSW fields) overrides the field's search breadth for this query (more: better recall,
    slower)."""
    return KnnSpecification(field, vector, k, ef_runtime)


def _as_filter(other: Any) -> FilterSpecification:
    if isinstance(other, FilterSpecification):
        return other
    raise InvalidQueryError(
        f"only filter specifications combine with &, | and ~; got {type(other).__name__}"
    )


class OrderSpecification(Specification):
    """Sort keys: ``"field"`` ascending, ``"-field"`` descending; ``address.city`` for nested;
    or one ``Distance(...)`` (nearest first), alone."""

    def __init__(self, *fields: str | Distance) -> None:
        keys: list[tuple[str, bool]] = []
        self.distance: Distance | None = None
        if any(isinstance(f, Distance) for f in fields):
            if len(fields) != 1:
                raise InvalidQueryError(
                    "order(Distance(...)) takes no other key (ties are ordered by id)"
                )
            self.distance = fields[0]  # type: ignore[assignment]
            fields = ()
        for field in fields:
            if not isinstance(field, str) or not field.strip("-"):
                raise InvalidQueryError(f"order() takes field names, got {field!r}")
            desc = field.startswith("-")
            keys.append((field.lstrip("-").replace("__", "."), desc))
        self.keys = tuple(keys)


class PaginateSpecification(Specification):
    def __init__(self, limit: int | None = None, offset: int = 0) -> None:
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                                  or limit < 0):
            raise InvalidQueryError(
                f"paginate(limit=...) must be an int >= 0 or None, got {limit!r}"
            )
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise InvalidQueryError(f"paginate(offset=...) must be an int >= 0, got {offset!r}")
        self.limit = limit
        self.offset = offset


class OnlySpecification(Specification):
    """Fetch only these fields (the id always comes too)."""

    def __init__(self, *fields: str) -> None:
        if not fields:
            raise InvalidQueryError("only() needs at least one field name")
        self.fields = tuple(f.replace("__", ".") for f in fields)


class JoinSpecification(Specification):
    """Accepted for API compatibility; a JSON document already holds its nested entities."""

    def __init__(self, *targets: Any, **options: Any) -> None:
        self.targets = targets
        self.options = options


def filter_(*specs: FilterSpecification | Callable[[Any], bool], **lookups: Any
            ) -> FilterSpecification:
    """``filter_(username="Andrey", balance__gt=10)``; several lookups are ANDed.

    Positional arguments may be other filter specifications, or a Python callable
    ``entity -> bool`` (applied in Python to what Redis selects).
    """
    nodes: list[Node] = []
    for spec in specs:
        if isinstance(spec, FilterSpecification):
            nodes.append(spec.tree)
        elif callable(spec):
            nodes.append(Predicate(spec))
        else:
            raise InvalidQueryError(f"filter_() takes specifications or callables, got {spec!r}")
    for keyword, value in lookups.items():
        field, lookup = split_lookup(keyword)
        nodes.append(Condition(field, lookup, value))
    return FilterSpecification(and_(*nodes) if nodes else _MATCH_ALL)


# An empty AND is true: it matches every entity.
_MATCH_ALL: Node = And(())


def is_match_all(node: Node | None) -> bool:
    return node is None or node == _MATCH_ALL


def order(*fields: str | Distance) -> OrderSpecification:
    return OrderSpecification(*fields)


def paginate(limit: int | None = None, offset: int = 0) -> PaginateSpecification:
    return PaginateSpecification(limit=limit, offset=offset)


def only(*fields: str) -> OnlySpecification:
    return OnlySpecification(*fields)


def join(*targets: Any, **options: Any) -> JoinSpecification:
    return JoinSpecification(*targets, **options)


class SpecificationList:
    """What ``repository.specs`` holds: ``repository.specs.filter(username="Andrey")``."""

    filter = staticmethod(filter_)
    order = staticmethod(order)
    paginate = staticmethod(paginate)
    only = staticmethod(only)
    join = staticmethod(join)
    search = staticmethod(search)
    knn = staticmethod(knn)


@dataclass(frozen=True)
class Query:
    """What a list of specifications asks for."""

    filter: Node | None = None
    order: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    offset: int = 0
    only: tuple[str, ...] | None = None
    distance: Distance | None = None  # order(Distance(...))
    knn: KnnSpecification | None = None

    @property
    def relevance(self) -> bool:
        """Results come most relevant first: a ``search(...)`` and no ``order()``."""
        return not self.order and self.distance is None and self.knn is None \
            and bool(searches(self.filter))


def collect(specs: Iterable[Any]) -> Query:
    """Fold specifications into one Query; filters are ANDed, the last order/paginate wins."""
    nodes: list[Node] = []
    order_keys: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    offset = 0
    only_fields: tuple[str, ...] | None = None
    distance: Distance | None = None
    nearest: KnnSpecification | None = None
    for spec in specs:
        if isinstance(spec, FilterSpecification):
            if not is_match_all(spec.tree):
                nodes.append(spec.tree)
        elif isinstance(spec, OrderSpecification):
            order_keys, distance = spec.keys, spec.distance
        elif isinstance(spec, KnnSpecification):
            if nearest is not None:
                raise InvalidQueryError("one knn() per query")
            nearest = spec
        elif isinstance(spec, PaginateSpecification):
            limit, offset = spec.limit, spec.offset
        elif isinstance(spec, OnlySpecification):
            only_fields = spec.fields
        elif isinstance(spec, JoinSpecification):
            continue
        elif callable(spec):
            nodes.append(Predicate(spec))
        else:
            raise InvalidQueryError(
                "expected a specification (filter, order, paginate, only, join, knn), got "
                f"{spec!r}"
            )
    tree = and_(*nodes) if nodes else None
    if nearest is not None and (order_keys or distance is not None):
        raise InvalidQueryError(
            f"{nearest!r} orders by vector distance: it takes no order() (sort the k entities "
            "in Python if you need another order)"
        )
    return Query(filter=tree, order=order_keys, limit=limit, offset=offset, only=only_fields,
                 distance=distance, knn=nearest)


def exactly_one(found: list[Any], model: type[Any], specs: Sequence[Any]) -> Any:
    """What ``get`` returns: the one entity found (at most two are read)."""
    if not found:
        raise NotFoundError(f"no {model.__name__} matches {list(specs)!r}")
    if len(found) > 1:
        raise MultipleResultsError(f"more than one {model.__name__} matches {list(specs)!r}")
    return found[0]
