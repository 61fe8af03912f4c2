"""InternalRepository: the in-memory twin of RedisRepository, over a plain dict.

For fast unit tests of code written against :class:`~assimilator_stack.Repository`: the same
API and the same meaning as RedisRepository (docs/queries.md), checked against it by
tests/differential/test_differential.py. The dict plays the Redis database (store.py): the
same keys, each holding the entity's JSON document (entities are always copies), its expiry
and a version that plays WATCH; writes are the very write ops RedisRepository commits
(documents/writes.py), applied with the meaning of their Redis commands.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, TypeVar, overload

from pydantic import BaseModel

from ...core.hits import Hit
from ...core.lazy import LazyCommand
from ...core.metrics import Metric
from ...core.repository import EntityLike, Repository, SpecOf
from ...core.specs import Query, Specification, collect, exactly_one, filter_
from ...core.unit_of_work import NESTED_BEGIN, OUTSIDE_COMMIT, OUTSIDE_WRITE
from ...documents.aggregation import Aggregation, Suggestion
from ...documents.entities import ModelDocuments
from ...documents.hits import make_hit
from ...documents.projections import (
    complete,
    defer_loading,
    is_read_only,
    make_whole,
    project,
    projection,
    revalidated,
)
from ...documents.updates import build_update
from ...documents.writes import (
    WriteOp,
)
from ...exceptions import InvalidQueryError, NotFoundError, UnitOfWorkError
from ...query.filters import searches
from ...query.python import id_key, matcher, order_fields, ordered
from ...query.ranking import hit_options, relevance
from .store import DictStore

M = TypeVar("M", bound=BaseModel)

# explain() tells what RedisRepository would send: only the Redis backend knows that, and the
# twin imports no backend, so the backends package hands it in (backends/__init__.py).
Explainer = Callable[[type[BaseModel], Sequence[Any]], list[str]]
_explainer: list[Explainer] = []


def explain_with(explainer: Explainer) -> None:
    """Let InternalRepository.explain answer with ``explainer(model, specs)``."""
    _explainer[:] = [explainer]



class InternalRepository(Repository[M]):
    """Entities of ``model`` in ``session`` (a dict; a new one when None).

    Several repositories (of one model or of several) may share one dict, as they would share
    one Redis database. ``clock`` (default ``time.monotonic``) drives ``expire_in``.
    """

    def __init__(self, session: dict[str, Any] | None = None, model: type[M] | None = None,
                 *, clock: Callable[[], float] = time.monotonic,
                 documents: ModelDocuments[M] | None = None) -> None:
        if model is None:
            raise TypeError("InternalRepository needs model=...")
        super().__init__(session={} if session is None else session, model=model)
        self.session: dict[str, Any]
        self.documents: ModelDocuments[M] = documents or ModelDocuments(model)
        self.clock = clock
        self._store = DictStore(self.session, self.documents, clock)
        self._pending: list[WriteOp] | None = None  # set while inside a unit of work
        self._watched: dict[str, int | None] = {}
        # Partial entities (only) load what they left out on first access, as with the sync
        # RedisRepository; the async twin turns it off, as AsyncRedisRepository cannot.
        self.deferred_loading = True
        self._of_unit_of_work = False  # uow.repository: writes only inside the block

    def for_unit_of_work(self) -> InternalRepository[M]:
        """A repository for one unit of work: same dict and model, its own queue."""
        view = InternalRepository(self.session, self.model, clock=self.clock,
                                  documents=self.documents)
        view.deferred_loading = self.deferred_loading
        view._of_unit_of_work = True
        return view

    def _writable(self) -> None:
        if self._pending is None and self._of_unit_of_work:
            raise UnitOfWorkError(OUTSIDE_WRITE)

    def _write(self, op: WriteOp) -> None:
        self._writable()
        if self._pending is not None:
            self._pending.append(op)
        else:
            self._store.commit([op], {})

    def _watch(self, keys: Sequence[str]) -> None:
        if self._pending is None:
            return
        for key in keys:
            self._watched.setdefault(key, self._store.version(key))

    # -- what a unit of work drives ----------------------------------------------------------

    def _begin(self) -> None:
        if self._pending is not None:
            raise UnitOfWorkError(NESTED_BEGIN)
        self._pending = []
        self._watched = {}

    def _commit(self) -> None:
        if self._pending is None:
            raise UnitOfWorkError(OUTSIDE_COMMIT)
        ops, self._pending = self._pending, []
        watched, self._watched = self._watched, {}
        self._store.commit(ops, watched)

    def _rollback(self) -> None:
        self._pending = [] if self._pending is not None else None
        self._watched = {}

    def _close(self) -> None:
        self._rollback()
        self._pending = None

    # -- reads ------------------------------------------------------------------------------

    def _select(self, query: Query, cap: int | None = None) -> list[Any]:
        """What ``filter`` returns (at most ``cap``): checked first, then selected, ordered,
        paged and projected as the Redis plans do."""
        keys = self.documents.id_keys(query)
        limit = query.limit
        if cap is not None:
            limit = cap if limit is None else min(cap, limit)
        end = None if limit is None else query.offset + limit
        if keys is not None:
            if query.only:
                projection(self.model, query.only)
            keys = keys[query.offset:end]
            self._watch(keys)
            found = (self._store.load(k) for k in keys)
            return [self._shape(e, query) for e in found if e is not None]
        if query.only:
            projection(self.model, query.only)  # a bad field is refused before reading
        page = self._matching(query)[query.offset:end]
        self._watch([key for key, _ in page])
        return [self._shape(self.documents.codec.load(key, self._store.document(key)), query)
                for key, _ in page]

    def _shape(self, entity: M, query: Query) -> Any:
        if not query.only:
            return entity
        part = project(entity, query.only)
        if self.deferred_loading:  # a field left out loads on first access (as in Redis)
            defer_loading(part, lambda: self._complete(part))
        return part

    def _complete(self, part: Any) -> None:
        """Fill in what only() left out (the loaded values stay), as RedisRepository does."""
        key = self.documents.key_of_entity(part)
        self._watch([key])
        whole = self._store.load(key)
        if whole is None:
            raise NotFoundError(f"{key!r} does not exist")
        complete(part, whole)

    def _matching(self, query: Query) -> list[tuple[str, M]]:
        """(key, entity) of every match, in the query's order (checked first). Without
        ``order`` the order is the index's: the order entities were last written in."""
        check = matcher(self.documents.schema, query.filter)
        order_fields(self.documents.schema, query.order)
        found: list[tuple[str, M]] = []
        for key in self._store.model_keys():
            entity = self._store.load(key)
            if entity is not None and check(entity):
                found.append((key, entity))
        if query.relevance:  # its own relevance (ranking.relevance), most relevant first
            schema = self.documents.schema
            found.sort(key=lambda pair: id_key(pair[1]))
            found.sort(key=lambda pair: -relevance(schema, query.filter, pair[1]))
        elif query.order:
            by_entity = {id(entity): key for key, entity in found}
            entities = ordered(self.documents.schema, [e for _, e in found], query.order)
            found = [(by_entity[id(e)], e) for e in entities]
        return found

    @overload
    def get(self, *specs: SpecOf[M], lazy: Literal[False] = False) -> M: ...
    @overload
    def get(self, *specs: SpecOf[M], lazy: Literal[True]) -> LazyCommand[M]: ...
    @overload
    def get(self, *specs: SpecOf[M], lazy: bool = False) -> M | LazyCommand[M]: ...
    def get(self, *specs: SpecOf[M], lazy: bool = False) -> M | LazyCommand[M]:
        if lazy:
            return LazyCommand(self.get, *specs)
        found = self._select(collect(specs), cap=2)
        return exactly_one(found, self.model, specs)  # type: ignore[no-any-return]

    @overload
    def filter(self, *specs: SpecOf[M], lazy: Literal[False] = False) -> list[M]: ...
    @overload
    def filter(self, *specs: SpecOf[M], lazy: Literal[True]) -> LazyCommand[list[M]]: ...
    @overload
    def filter(self, *specs: SpecOf[M], lazy: bool = False) -> list[M] | LazyCommand[list[M]]:
        ...
    def filter(self, *specs: SpecOf[M], lazy: bool = False) -> list[M] | LazyCommand[list[M]]:
        if lazy:
            return LazyCommand(self.filter, *specs)
        return self._select(collect(specs))

    def hits(self, *specs: SpecOf[M], highlight: Iterable[str] | str = (),
             summarize: Iterable[str] | str = (), tags: tuple[str, str] = ("<b>", "</b>")
             ) -> list[Hit[M]]:
        """What ``filter`` returns, each with its relevance (the twin's own:
        :func:`~assimilator_stack.query.ranking.relevance`) and highlights."""
        query = collect(specs)
        schema = self.documents.schema
        options = hit_options(schema, highlight, summarize, tags, query.only)
        ranked = bool(searches(query.filter))
        return [make_hit(schema, query.filter, entity,
                         relevance(schema, query.filter, entity) if ranked else None, options)
                for entity in self._select(query)]

    def stream(self, *specs: SpecOf[M], batch_size: int = 1000) -> Iterator[M]:
        """Every match, one at a time (fetched ``batch_size`` at a time)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidQueryError(f"stream(batch_size=...) must be an int >= 1, got "
                                    f"{batch_size!r}")
        return iter(self._select(collect(specs)))

    @overload
    def count(self, *specs: SpecOf[M], lazy: Literal[False] = False) -> int: ...
    @overload
    def count(self, *specs: SpecOf[M], lazy: Literal[True]) -> LazyCommand[int]: ...
    @overload
    def count(self, *specs: SpecOf[M], lazy: bool = False) -> int | LazyCommand[int]: ...
    def count(self, *specs: SpecOf[M], lazy: bool = False) -> int | LazyCommand[int]:
        if lazy:
            return LazyCommand(self.count, *specs)
        query = collect(specs)
        keys = self.documents.id_keys(query)
        if keys is not None:
            return sum(1 for key in keys if self._store.stored(key) is not None)
        return len(self._matching(query))  # order is checked, order and paginate ignored

    def aggregate(self, *specs: SpecOf[M], group_by: str | Sequence[str] = (),
                  **metrics: Metric) -> list[dict[str, Any]]:
        aggregation = Aggregation(self.documents.schema, specs, group_by, metrics)
        for _, entity in self._matching(Query(filter=aggregation.filter)):
            aggregation.add(entity)
        return aggregation.rows()

    def suggest(self, field: str, prefix: str, *, limit: int = 10) -> list[str]:
        suggestion = Suggestion(self.documents.schema, field, prefix, limit)
        for _, entity in self._matching(collect([filter_(**suggestion.lookup)])):
            suggestion.add(entity)
        return suggestion.result()

    def explain(self, *specs: SpecOf[M]) -> list[str]:
        """The command RedisRepository would send first for ``filter(*specs)`` to a Redis
        Stack server with its default settings (the index made, MAXAGGREGATERESULTS
        10000): the twin sends nothing. Refuses what ``filter`` refuses."""
        if not _explainer:  # pragma: no cover (backends/__init__.py always hands it in)
            raise NotImplementedError("InternalRepository.explain: no Redis backend loaded")
        return _explainer[0](self.model, specs)

    def refresh(self, obj: M) -> None:
        key = self.documents.key_of_entity(obj)
        self._watch([key])
        fresh = self._store.load(key)
        if fresh is None:
            raise NotFoundError(f"{key!r} does not exist")
        obj.__dict__.update(fresh.__dict__)
        object.__setattr__(obj, "__pydantic_extra__", fresh.__pydantic_extra__)
        object.__setattr__(obj, "__pydantic_fields_set__", set(fresh.__pydantic_fields_set__))
        make_whole(obj)  # a partial entity refreshed holds every field now

    def is_modified(self, obj: M) -> bool:
        stored = self._store.load(self.documents.key_of_entity(obj))
        return stored is None or not self.documents.same(stored, obj)

    # -- writes -----------------------------------------------------------------------------

    def save(self, obj: EntityLike[M] = None, **fields: Any) -> M:
        if is_read_only(obj):
            self._complete(obj)
            obj = revalidated(self.documents.codec, obj)
        entity, options = self.documents.build(obj, fields)
        self._write(self.documents.save_op(entity, options))
        return entity

    @overload
    def update(self, obj: EntityLike[M] = None, **values: Any) -> M: ...
    @overload
    def update(self, obj: SpecOf[M], *specs: SpecOf[M], **values: Any) -> int: ...
    def update(self, obj: Any = None, *specs: SpecOf[M], **values: Any) -> M | int:
        """``update(entity)``: store a changed entity (it must exist). ``update(*specs,
        **values)``: set ``values`` on every match; returns how many entities changed."""
        if _is_selection(obj) or (obj is None and specs):
            selection = specs if obj is None else (obj, *specs)
            update = build_update(self.documents.schema, values)  # checked first, as in Redis
            self._writable()
            keys = self._select_keys(selection)
            for key in keys:
                self._write(update.op(key))
            return len(keys)
        if is_read_only(obj):
            self._complete(obj)
            obj = revalidated(self.documents.codec, obj)
        entity, options = self.documents.build(obj, values)
        self._write(self.documents.save_op(entity, options, force_update=True))
        return entity

    @overload
    def delete(self, obj: M) -> None: ...
    @overload
    def delete(self, obj: SpecOf[M] | None = None, *specs: SpecOf[M]) -> int: ...
    def delete(self, obj: Any = None, *specs: SpecOf[M]) -> int | None:
        """``delete(entity)``: delete it. ``delete(*specs)``: delete every match; returns how
        many. ``delete()`` deletes nothing."""
        if obj is None and not specs:
            return 0
        if _is_selection(obj) or obj is None:
            self._writable()
            keys = self._select_keys(specs if obj is None else (obj, *specs))
            for key in keys:
                self._write(self.documents.delete_op(key))
            return len(keys)
        self._write(self.documents.delete_op(obj))
        return None

    def _select_keys(self, specs: Sequence[Any]) -> list[str]:
        """The keys of every match (watched inside a unit of work)."""
        query = collect(specs)
        keys = self.documents.id_keys(query)
        if keys is not None:
            end = None if query.limit is None else query.offset + query.limit
            keys = [k for k in keys[query.offset:end] if self._store.stored(k) is not None]
        else:
            if query.only:
                projection(self.model, query.only)
            end = None if query.limit is None else query.offset + query.limit
            keys = [key for key, _ in self._matching(query)[query.offset:end]]
        self._watch(keys)
        return keys





def _is_selection(obj: Any) -> bool:
    """``update(*specs, **values)`` / ``delete(*specs)``: the first argument is a
    specification (or a Python predicate), not an entity."""
    if isinstance(obj, Specification):
        return True
    return callable(obj) and not isinstance(obj, (BaseModel, dict, type))
