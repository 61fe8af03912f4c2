"""What the sync and async Redis repositories share: every public method, written once.

Each method builds a plan (ModelPlans, plans.py) and hands it to ``self._run``: the sync
repository runs it at once and returns the value, the async one returns a coroutine to await.
What a write means inside and outside a unit of work lives here too (the unit of work's state,
its queue of writes and whether reads were WATCHed, is its own: transaction.py), so
RedisRepository and AsyncRedisRepository only say how a plan is run and which LazyCommand
``lazy=True`` gives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel

from ...core.specs import Specification, collect
from ...core.unit_of_work import OUTSIDE_WRITE
from ...documents.aggregation import Aggregation, Suggestion
from ...documents.projections import complete, is_read_only, make_whole, revalidated
from ...documents.writes import WriteOp
from ...exceptions import InvalidQueryError, NotFoundError, UnitOfWorkError
from ...query.ranking import hit_options
from . import aggregate as aggregating
from .cluster_driver import ClusterRouting, session_for
from .facts import server_facts
from .index_control import IndexControl
from .plans import ModelPlans
from .protocol import Plan, Release
from .reads import Read
from .sync_driver import SyncSession
from .transaction import Transaction

if TYPE_CHECKING:
    from .async_driver import AsyncSession as AsyncDriver

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
R = TypeVar("R", bound="RedisRepositoryBase[Any]")


def released(plan: Plan[T]) -> Plan[T]:
    """``plan``, then give back the pinned connection (also when the plan raised)."""
    try:
        result = yield from plan
    except Exception:
        yield Release()
        raise
    yield Release()
    return result


def _nothing() -> Plan[None]:
    yield from ()


def copy_state(target: BaseModel, source: BaseModel) -> None:
    """Make ``target`` hold what ``source`` holds, in place (refresh)."""
    target.__dict__.update(source.__dict__)
    # extra="allow" models keep unknown keys outside __dict__
    object.__setattr__(target, "__pydantic_extra__", source.__pydantic_extra__)
    object.__setattr__(target, "__pydantic_fields_set__", set(source.__pydantic_fields_set__))


class RedisRepositoryBase(Generic[M]):
    """Entities of ``model`` as RedisJSON documents under ``{prefix}:{id}``.

    Outside a unit of work every write runs at once (atomically); inside one
    (``uow.repository``) writes are queued until ``uow.commit()``.

    A subclass names its driver (``session_type``: SyncSession runs a plan and returns its
    value, AsyncSession returns a coroutine) and what ``lazy=True`` gives (``lazy_command``).
    """

    session_type: ClassVar[type[SyncSession] | type[AsyncDriver]]
    index_face: ClassVar[type[IndexControl]]
    lazy_command: ClassVar[Callable[..., Any]]
    session: Any
    model: type[M]

    def __init__(self, session: Any, model: type[M], index_timeout: float = 60.0,
                 *, query_timeout_ms: int = 0, unindexed: Literal["raise", "warn"] = "raise",
                 index_check_interval: float = 1.0, redis_wildcards: bool = False,
                 plans: ModelPlans[M] | None = None) -> None:
        super().__init__(session=session, model=model)  # type: ignore[call-arg]
        self.plans: ModelPlans[M] = plans or ModelPlans(
            model, index_timeout=index_timeout, query_timeout_ms=query_timeout_ms,
            unindexed=unindexed, index_check_interval=index_check_interval,
            redis_wildcards=redis_wildcards)
        self._session = session_for(self.session_type, session, type(self).__name__)
        # Redis Cluster: a bulk write's transactions hold the keys of one slot each
        self.plans.per_slot = isinstance(self._session, ClusterRouting)
        self._session.model_name = model.__name__
        self._facts = server_facts(session)
        # uow.repository: the unit of work's state (writes only inside its block); else None
        self._transaction: Transaction | None = None

    def for_unit_of_work(self: R, transaction: Transaction | None = None) -> R:
        """A repository for one unit of work: same client and model, its own watched
        connection; its writes queue in ``transaction`` (the unit of work's)."""
        view = type(self)(self.session, self.model, plans=self.plans)
        view._transaction = transaction if transaction is not None else Transaction()
        return view

    @property
    def _queue(self) -> list[WriteOp] | None:
        """The unit of work's queue of writes while its block runs, else None."""
        return None if self._transaction is None else self._transaction.pending

    def _run(self, plan: Plan[T], operation: str | None = None) -> Any:
        """The plan's value (sync) or a coroutine giving it (async). ``operation`` names the
        public method (its span, the slow-query warning: observe.py)."""
        return self._session.run(plan, operation)

    def _run_write(self, plan: Plan[T], operation: str) -> Any:
        """A write: inside a unit of work on its session; outside one on a session of its own,
        since tasks and threads may share this repository and a write that WATCHes (an
        only_create / only_update check, a bulk write's re-check) must hold its own
        connection, not share one another write's EXEC ends."""
        if self._queue is not None:
            return self._session.run(plan, operation)
        return self._session.sibling().run(plan, operation)

    # -- what a unit of work drives ----------------------------------------------------------

    # (the state is the unit of work's: transaction.py)

    def _release(self) -> Any:
        """UNWATCH and give back the unit of work's connection."""
        return self._run(released(_nothing()))

    def _commit(self, ops: list[WriteOp], reads_watched: bool) -> Any:
        self._session.check_transaction(op.key for op in ops)  # Redis Cluster: one slot
        return self._run(released(
            self.plans.commit(ops, reads_watched=reads_watched, facts=self._facts)), "commit")

    # -- plans with the unit-of-work state ----------------------------------------------------

    @property
    def _watch(self) -> bool:
        """Inside a unit of work's block: reads WATCH what they read. (Every read asks, so
        this reads the state itself, not through ``_queue``.)"""
        transaction = self._transaction
        return transaction is not None and transaction.pending is not None

    def _reading(self, plan: Plan[T]) -> Plan[T]:
        """A read; keys it WATCHed count as read by the unit of work even when the read then
        failed (NotFoundError: "it was absent" is what the caller decides on)."""
        try:
            return (yield from plan)
        finally:
            if self._transaction is not None:
                self._transaction.reads_watched |= self._session.watching

    def _writing(self, op: WriteOp) -> Plan[None]:
        queue = self._queue
        if queue is not None:
            queue.append(op)
        elif self._transaction is not None:
            raise UnitOfWorkError(OUTSIDE_WRITE)
        else:
            yield from released(self.plans.commit([op], reads_watched=False, facts=self._facts))

    def _saving(self, obj: Any, fields: dict[str, Any], force_update: bool = False
                ) -> Plan[M]:
        if is_read_only(obj):  # read with only(): what was left out is read first
            complete(obj, (yield from self._reading(self.plans.fetch(obj, self._watch))))
            obj = revalidated(self.plans.codec, obj)
        entity, options = self.plans.build(obj, fields)
        yield from self._writing(self.plans.save_op(entity, options, force_update=force_update))
        return entity

    def _bulk(self, plan: Plan[tuple[int, list[WriteOp]]]) -> Plan[int]:
        """A bulk update / delete: written now, or (unit of work) its keys watched and its
        writes queued. Returns how many entities it changed (or will)."""
        if self._queue is None and self._transaction is not None:
            plan.close()
            raise UnitOfWorkError(OUTSIDE_WRITE)
        if self._queue is None:
            done, _ = yield from released(plan)
            return done
        done, ops = yield from self._reading(plan)
        queue = self._queue
        assert queue is not None
        queue.extend(ops)
        return done

    def _deleting(self, obj: Any, specs: tuple[Any, ...]) -> Plan[int | None]:
        if obj is None and not specs:
            return 0  # delete() deletes nothing
        if is_selection(obj) or obj is None:
            selection = specs if obj is None else (obj, *specs)
            return (yield from self._bulk(
                self.plans.delete_matches(selection, self._facts, queue=self._watch)))
        yield from self._writing(self.plans.delete_op(obj))
        return None

    def _refreshing(self, obj: M) -> Plan[None]:
        copy_state(obj, (yield from self._reading(self.plans.fetch(obj, self._watch))))
        make_whole(obj)  # a partial entity refreshed holds every field now

    def _comparing(self, obj: M) -> Plan[bool]:
        try:
            stored = yield from self.plans.fetch(obj, watch=False)
        except NotFoundError:
            return True
        return not self.plans.same(stored, obj)

    async def _streaming(self, read: Read) -> AsyncIterator[M]:
        # Written once as an async generator: AsyncSession awaits it, SyncSession iterates
        # it without an event loop (its plans never suspend).
        try:
            while not read.done:
                page = self.plans.read_page(read, self._facts, self._watch)
                for entity in await self._session.drive(self._reading(page), "stream"):
                    yield entity
        finally:
            if not read.done:
                await self._session.drive(self.plans.close_read(read))

    # -- reads ------------------------------------------------------------------------------

    def get(self, *specs: Any, lazy: bool = False) -> Any:
        if lazy:
            return self.lazy_command(self.get, *specs)
        return self._run(self._reading(self.plans.get(specs, self._facts, self._watch)), "get")

    def filter(self, *specs: Any, lazy: bool = False) -> Any:
        if lazy:
            return self.lazy_command(self.filter, *specs)
        return self._run(self._reading(self.plans.filter(specs, self._facts, self._watch)),
                         "filter")

    def hits(self, *specs: Any, highlight: Any = (), summarize: Any = (),
             tags: Any = ("<b>", "</b>")) -> Any:
        """Like ``filter``, each entity as a :class:`Hit`: its relevance when a ``search`` is
        among ``specs`` (else None) and, for the named ``Text()`` fields, its text with the
        matched words wrapped in ``tags`` (``summarize``: fragments around the matches)."""
        options = hit_options(self.plans.schema, highlight, summarize, tags,
                              collect(specs).only)  # checked now
        return self._run(self._reading(self.plans.hits(specs, options, self._facts,
                                                      self._watch)), "hits")

    def stream(self, *specs: Any, batch_size: int = 1000) -> Any:
        """Every match, in the order ``filter`` gives, read ``batch_size`` at a time (memory
        holds one batch): an iterator (sync) or an async iterator. Stopping early frees what
        the read holds on the server."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidQueryError(
                f"stream(batch_size=...) must be an int >= 1, got {batch_size!r}"
            )
        read = self.plans.read(specs, page=batch_size, stream=True)  # checked now
        return self._session.iterate(self._streaming(read))

    def count(self, *specs: Any, lazy: bool = False) -> Any:
        if lazy:
            return self.lazy_command(self.count, *specs)
        return self._run(self.plans.count(specs, self._facts), "count")

    def aggregate(self, *specs: Any, group_by: Any = (), **metrics: Any) -> Any:
        """Rows of group values and metrics over the entities ``specs`` select (see
        docs/queries.md, "Aggregations and suggestions"); checked before anything is sent."""
        aggregation = Aggregation(self.plans.schema, specs, group_by, metrics)
        read = aggregating.selection(self.plans, aggregation)
        return self._run(aggregating.aggregate(self.plans, aggregation, read, self._facts),
                         "aggregate")

    def suggest(self, field: str, prefix: str, *, limit: int = 10) -> Any:
        """Distinct values of the str field ``field`` starting with ``prefix`` (ignoring
        case), most frequent first, ties alphabetical; at most ``limit``."""
        suggestion = Suggestion(self.plans.schema, field, prefix, limit)
        read = aggregating.suggestion_read(self.plans, suggestion)
        return self._run(aggregating.suggest(self.plans, suggestion, read, self._facts),
                         "suggest")

    def explain(self, *specs: Any) -> Any:
        """The FT.AGGREGATE (or, for a lookup by id, JSON.MGET) ``filter(*specs)`` sends first,
        as a list of arguments."""
        return self._run(self.plans.explain(specs, self._facts), "explain")

    @property
    def index(self) -> Any:
        """Status, migration and pruning of the model's indexes (``repo.index.status()``,
        ``.migrate()``, ``.prune()``: README, "Operations")."""
        return self.index_face(self._run, self.plans, self._facts)

    def index_status(self) -> Any:
        """The model's index as the server reports it (an IndexStatus: documents, indexing
        progress, indexing failures, and the last failing document when it is still missing
        from the index, naming the field whose value the index cannot take)."""
        return self._run(self.plans.index_status(self._facts))

    def refresh(self, obj: M) -> Any:
        return self._run(self._refreshing(obj), "refresh")

    def is_modified(self, obj: M) -> Any:
        return self._run(self._comparing(obj))

    # -- writes -----------------------------------------------------------------------------

    def save(self, obj: Any = None, **fields: Any) -> Any:
        return self._run_write(self._saving(obj, fields), "save")

    def update(self, obj: Any = None, *specs: Any, **values: Any) -> Any:
        """``update(entity)``: store a changed entity (it must exist). ``update(*specs,
        **values)``: set ``values`` on every match; returns how many entities changed."""
        if is_selection(obj) or (obj is None and specs):
            selection = specs if obj is None else (obj, *specs)
            return self._run_write(self._bulk(self.plans.update_matches(
                selection, values, self._facts, queue=self._watch)), "update")
        return self._run_write(self._saving(obj, values, force_update=True), "update")

    def delete(self, obj: Any = None, *specs: Any) -> Any:
        """``delete(entity)``: delete it. ``delete(*specs)``: delete every match; returns how
        many. ``delete()`` deletes nothing."""
        return self._run_write(self._deleting(obj, specs), "delete")


def is_selection(obj: Any) -> bool:
    """The first argument of update()/delete() selects entities (a specification or a Python
    predicate) rather than being one."""
    if isinstance(obj, Specification):
        return True
    return callable(obj) and not isinstance(obj, (BaseModel, dict, type))
