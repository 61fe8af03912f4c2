"""The abstract Repository: what user code depends on, whatever stores the entities.

Every public method is typed exactly (``get -> M``, ``filter -> list[M]``, ``lazy=True`` ->
``LazyCommand[...]``); the concrete repositories repeat these overloads (CONTRIBUTING.md,
"Types of the public API"), and tests/typing/public_types.py checks them with mypy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, Literal, TypeAlias, TypeVar, overload

from pydantic import BaseModel

from .hits import Hit
from .lazy import LazyCommand
from .metrics import Metric
from .specs import Specification, SpecificationList

M = TypeVar("M", bound=BaseModel)

# What selects entities: a specification, or a Python predicate ``entity -> truth``.
SpecOf: TypeAlias = Specification | Callable[[M], Any]
# What save() / update() take as the entity: one of the model, another model or a mapping
# holding its fields (validated into the model), or nothing (the fields are keywords).
EntityLike: TypeAlias = M | BaseModel | Mapping[str, Any] | None


class Repository(ABC, Generic[M]):
    """Saves, reads, updates, deletes, checks and filters entities of one model."""

    specs: type[SpecificationList] = SpecificationList

    def __init__(self, session: Any, model: type[M]) -> None:
        self.session = session
        self.model = model

    @overload
    def get(self, *specs: SpecOf[M], lazy: Literal[False] = False) -> M: ...
    @overload
    def get(self, *specs: SpecOf[M], lazy: Literal[True]) -> LazyCommand[M]: ...
    @overload
    def get(self, *specs: SpecOf[M], lazy: bool = False) -> M | LazyCommand[M]: ...
    @abstractmethod
    def get(self, *specs: SpecOf[M], lazy: bool = False) -> M | LazyCommand[M]:
        """The one entity ``specs`` select (NotFoundError / MultipleResultsError)."""

    @overload
    def filter(self, *specs: SpecOf[M], lazy: Literal[False] = False) -> list[M]: ...
    @overload
    def filter(self, *specs: SpecOf[M], lazy: Literal[True]) -> LazyCommand[list[M]]: ...
    @overload
    def filter(self, *specs: SpecOf[M], lazy: bool = False) -> list[M] | LazyCommand[list[M]]: ...
    @abstractmethod
    def filter(self, *specs: SpecOf[M], lazy: bool = False) -> list[M] | LazyCommand[list[M]]:
        """Every entity ``specs`` select, in their order and page."""

    @overload
    def count(self, *specs: SpecOf[M], lazy: Literal[False] = False) -> int: ...
    @overload
    def count(self, *specs: SpecOf[M], lazy: Literal[True]) -> LazyCommand[int]: ...
    @overload
    def count(self, *specs: SpecOf[M], lazy: bool = False) -> int | LazyCommand[int]: ...
    @abstractmethod
    def count(self, *specs: SpecOf[M], lazy: bool = False) -> int | LazyCommand[int]:
        """How many entities the filters of ``specs`` select."""

    @abstractmethod
    def hits(self, *specs: SpecOf[M], highlight: Iterable[str] | str = (),
             summarize: Iterable[str] | str = (), tags: tuple[str, str] = ("<b>", "</b>")
             ) -> list[Hit[M]]:
        """Like ``filter``, each entity as a :class:`Hit`: its relevance when a ``search`` is
        among ``specs`` (else None) and, for the named ``Text()`` fields, its text with the
        matched words wrapped in ``tags`` (``summarize``: fragments around the matches)."""

    @abstractmethod
    def stream(self, *specs: SpecOf[M], batch_size: int = 1000) -> Iterator[M]:
        """Every match, in the order ``filter`` gives, read ``batch_size`` at a time."""

    @abstractmethod
    def aggregate(self, *specs: SpecOf[M], group_by: str | Sequence[str] = (),
                  **metrics: Metric) -> list[dict[str, Any]]:
        """One row per group of the entities ``specs`` select: the ``group_by`` values and
        each metric (``n=Count()``, ``avg=Avg("rating")``); see docs/queries.md."""

    @abstractmethod
    def suggest(self, field: str, prefix: str, *, limit: int = 10) -> list[str]:
        """Distinct values of the str field ``field`` that start with ``prefix`` (ignoring
        case), most frequent first, ties alphabetical; at most ``limit``."""

    @abstractmethod
    def explain(self, *specs: SpecOf[M]) -> list[str]:
        """The command ``filter(*specs)`` sends first, as a list of arguments."""

    @abstractmethod
    def save(self, obj: EntityLike[M] = None, **fields: Any) -> M:
        """Store an entity (made from ``obj`` and/or ``fields``); returns it."""

    @overload
    def update(self, obj: EntityLike[M] = None, **values: Any) -> M: ...
    @overload
    def update(self, obj: SpecOf[M], *specs: SpecOf[M], **values: Any) -> int: ...
    @abstractmethod
    def update(self, obj: Any = None, *specs: SpecOf[M], **values: Any) -> M | int:
        """``update(entity)``: store a changed entity that exists (returns it).
        ``update(*specs, **values)``: set ``values`` on every match (returns how many)."""

    @overload
    def delete(self, obj: M) -> None: ...
    @overload
    def delete(self, obj: SpecOf[M] | None = None, *specs: SpecOf[M]) -> int: ...
    @abstractmethod
    def delete(self, obj: Any = None, *specs: SpecOf[M]) -> int | None:
        """``delete(entity)``: delete it (None). ``delete(*specs)``: delete every match
        (returns how many); ``delete()`` deletes none (0)."""

    @abstractmethod
    def refresh(self, obj: M) -> None:
        """Load ``obj`` again from the store, in place."""

    @abstractmethod
    def is_modified(self, obj: M) -> bool:
        """``obj`` differs from what is stored (or is not stored)."""
