"""The filter tree: the one meaning of a specification.

Redis compiles it to a RediSearch query; the in-memory twin evaluates it in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class Condition:
    """``field`` (dotted path, e.g. ``address.city``) ``lookup`` ``value``."""

    field: str
    lookup: str
    value: Any


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True, eq=False)
class Predicate:
    """A user-written test in Python; applied to the candidates the rest of the query selects."""

    func: Callable[[Any], bool]

    @property
    def name(self) -> str:
        return getattr(self.func, "__name__", repr(self.func))


@dataclass(frozen=True)
class TextSearch:
    """``search(text, fields=...)``: ``text`` (the query language of ``field__search``) in the
    model's ``Text()`` fields (all of them when ``fields`` is None). Expanded against the
    schema by :func:`assimilator_stack.query.ranking.expand_search`."""

    text: str
    fields: tuple[str, ...] | None = None


Node = Union[Condition, And, Or, Not, Predicate, TextSearch]  # noqa: UP007 (runtime alias)


def and_(*nodes: Node) -> Node:
    """AND of nodes, flattened so that generated trees stay shallow."""
    flat: list[Node] = []
    for node in nodes:
        flat.extend(node.children if isinstance(node, And) else (node,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))  # And(()) matches everything


def or_(*nodes: Node) -> Node:
    flat: list[Node] = []
    for node in nodes:
        flat.extend(node.children if isinstance(node, Or) else (node,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def not_(node: Node) -> Node:
    return node.child if isinstance(node, Not) else Not(node)


def conditions(node: Node) -> list[Condition]:
    """Every condition in the tree."""
    if isinstance(node, Condition):
        return [node]
    if isinstance(node, (And, Or)):
        return [c for child in node.children for c in conditions(child)]
    if isinstance(node, Not):
        return conditions(node.child)
    return []


def searches(node: Node | None) -> list[TextSearch]:
    """The ``search(...)`` nodes of the tree that are not negated (they rank and highlight)."""
    if isinstance(node, TextSearch):
        return [node]
    if isinstance(node, (And, Or)):
        return [s for child in node.children for s in searches(child)]
    return []
