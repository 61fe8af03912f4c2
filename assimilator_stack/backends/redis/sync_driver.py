"""Drivers: perform a plan's requests with redis-py and feed the replies back.

Written once for both APIs. :class:`Session` performs a request on a sync or an asyncio
client alike (redis-py's two clients have the same methods; the asyncio ones return
awaitables) and :meth:`Session.drive` is the one loop that runs a plan, as a coroutine that
awaits only the replies that are awaitable. :class:`SyncSession` runs that coroutine to its end
without an event loop (with a sync client it never suspends); AsyncSession
(:mod:`assimilator_stack.backends.redis.async_driver`) awaits it.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import redis

from ... import logs, tracing
from ...settings import settings
from .errors import map_error
from .observe import Observation, observing, slow
from .protocol import Args, Batch, Call, Exec, Pause, Plan, Release, Request, Watch, WatchFailed

T = TypeVar("T")
S = TypeVar("S", bound="Session")


class Stepper(Generic[T]):
    """Advances a plan: iterate it for requests, set ``reply`` (or let :meth:`outcome` catch
    the error) for each, read ``result`` when the iteration ends.

        step = Stepper(plan)
        for request in step:
            with step.outcome(request):
                step.reply = perform(request)
        return step.result

    (:meth:`Session.drive` is that loop.)
    """

    def __init__(self, plan: Plan[T]) -> None:
        self.plan = plan
        self.reply: Any = None
        self._error: BaseException | None = None
        self.interrupted = False  # a BaseException stopped it mid-request
        self.result: T

    @property
    def error(self) -> BaseException | None:
        """The error of the request just performed (thrown into the plan next)."""
        return self._error

    def __iter__(self) -> Iterator[Request]:
        while True:
            error, self._error = self._error, None
            reply, self.reply = self.reply, None
            try:
                request = self.plan.throw(error) if error is not None else self.plan.send(reply)
            except StopIteration as stop:
                self.result = stop.value
                return
            yield request

    @contextlib.contextmanager
    def outcome(self, request: Request) -> Iterator[None]:
        """An error performing ``request`` is thrown into the plan (mapped by map_error),
        which decides. A BaseException (cancellation, interrupt) closes the plan and escapes."""
        try:
            yield
        except Exception as exc:
            self._error = map_error(exc, getattr(request, "args", None))
        except BaseException:
            self.interrupted = True
            self.plan.close()
            raise


def _queued(pipe: Any, commands: Iterable[Args]) -> Any:
    for args in commands:
        pipe.execute_command(*args)
    return pipe


def without_callbacks(client: Any) -> Any:
    """The client the library sends its commands through: ``client``'s class, pool, retry
    policy and settings, with an empty response-callback table of its own.

    redis-py's ``.json()`` / ``.ft()`` (and ``set_response_callback``) change the callback table
    of the whole client, and so the replies every later command gets. The library reads raw
    replies (normalised in replies.py), so nothing a user installs on the client reaches it.
    Nothing is copied per call: each command costs what it did.
    """
    view = copy.copy(client)
    view.response_callbacks = {}  # pipelines made from the view take this table too
    # A single-connection client keeps its connection: the view takes pool connections, and
    # closing or collecting the view never closes what belongs to the user's client.
    view.connection = None
    view.auto_close_connection_pool = False
    return view


class Session:
    """A client plus, while a unit of work watches keys, the pipeline that holds the WATCH.

    :meth:`perform` returns the reply, or (asyncio client) an awaitable of it.
    """

    client_type: type[Any] = object
    _sleep: Callable[[float], Any]
    model_name = ""  # the repository's model, named in logs and spans

    def __init__(self, client: Any, owner: str) -> None:
        if not isinstance(client, self.client_type):
            raise TypeError(
                f"{owner} needs session={self.client_type.__module__}."
                f"{self.client_type.__qualname__}(...), got {type(client).__name__}; "
                "RedisRepository takes redis.Redis, AsyncRedisRepository redis.asyncio.Redis"
            )
        self.client: Any = without_callbacks(client)  # redis-py's methods are untyped
        self._own_state()

    def _own_state(self) -> None:
        """What a session does not share with its siblings: the WATCH it holds."""
        self._pinned: Any = None  # a redis-py Pipeline holding WATCH
        self._watch_lost = False

    def sibling(self: S) -> S:
        """A session on the same (callback-free) client with a WATCH of its own: for a write
        that must hold its own connection. The client is not copied again."""
        made = copy.copy(self)
        made._own_state()
        return made

    def _transaction_pipeline(self) -> Any:
        """A pipeline for WATCH and MULTI/EXEC (redis-py's; the asyncio cluster has its own)."""
        return self.client.pipeline(transaction=True)

    def check_transaction(self, keys: Iterable[str]) -> None:
        """Called with the keys of a commit before it is sent: one server takes any keys
        (a cluster driver checks they share the slot of what is WATCHed)."""

    @property
    def watching(self) -> bool:
        """True while a connection holds WATCHed keys (until EXEC or release)."""
        return self._pinned is not None

    def perform(self, request: Request) -> Any:
        if isinstance(request, Call):
            target = self._pinned if self._pinned is not None else self.client
            return target.execute_command(*request.args)
        if isinstance(request, Batch):
            batch = _queued(self.client.pipeline(transaction=False), request.commands)
            return batch.execute(raise_on_error=False)
        if isinstance(request, Watch):
            if self._pinned is None:
                self._pinned = self._transaction_pipeline()
            return self._pinned.watch(*request.keys)
        if isinstance(request, Exec):
            if self._watch_lost:
                self._watch_lost = False
                raise WatchFailed("the command holding WATCH was interrupted; nothing was sent")
            pipe = self._pinned if self._pinned is not None else self._transaction_pipeline()
            self._pinned = None
            pipe.multi()
            # execute() gives the connection back (reset) whatever happens
            return _queued(pipe, request.commands).execute(raise_on_error=False)
        if isinstance(request, Pause):
            return self._sleep(request.seconds)
        if isinstance(request, Release):
            return self.release()
        raise TypeError(f"unknown request {request!r}")

    async def drive(self, plan: Plan[T], operation: str | None = None) -> T:
        """Run ``plan``: perform each request, awaiting the replies that are awaitable.
        ``operation``: the repository method it serves (its span, the slow-query check)."""
        watch = Observation(operation, self.model_name) if observing() else None
        started = time.perf_counter()
        step = Stepper(plan)
        try:
            for request in step:
                sent = time.perf_counter()
                with step.outcome(request):
                    reply = self.perform(request)
                    step.reply = await reply if inspect.isawaitable(reply) else reply
                if watch is not None:
                    watch.sent(request, time.perf_counter() - sent, step.error)
        except BaseException as exc:
            if watch is not None:
                watch.finish(None, exc)
            if step.interrupted:
                released = self.abandon()
                if inspect.isawaitable(released):
                    await released
            raise
        if watch is not None:
            watch.finish(step.result, None)
        elif operation is not None:
            slow(operation, self.model_name, time.perf_counter() - started)
        return step.result

    def release(self) -> Any:
        """UNWATCH and give the pinned connection back to the pool (awaitable if async)."""
        self._watch_lost = False
        pinned, self._pinned = self._pinned, None
        return pinned.reset() if pinned is not None else None

    def abandon(self) -> Any:
        """A plan stopped mid-request (cancelled, interrupted): the WATCH it may have held is
        no longer trusted, so the next EXEC of this session fails as if a watched key changed."""
        lost = self._pinned is not None
        released = self.release()
        self._watch_lost = lost
        return released


class SyncSession(Session):
    """The sync driver, over :class:`redis.Redis`: runs :meth:`Session.drive` to its end
    without an event loop (sync replies are never awaited, so it never suspends)."""

    client_type = redis.Redis
    _sleep = staticmethod(time.sleep)

    def __init__(self, client: redis.Redis, owner: str = "RedisRepository") -> None:
        super().__init__(client, owner)
        # A command outside WATCH goes straight to a pool connection, packed here (see
        # _batch), when the pool's connections are redis-py's own: not when it caches replies
        # client-side (its connections answer from the cache what they were asked through
        # redis-py's send path), nor when their class sends or packs its own way.
        pool = getattr(self.client, "connection_pool", None)  # a cluster client has none
        self._direct = (pool is not None and getattr(pool, "cache", None) is None
                        and _stock(getattr(pool, "connection_class", None)))

    def _perform(self, request: Request) -> Any:
        kind = type(request)
        if kind is Call and self._direct and self._pinned is None:
            reply = self._batch((request.args,))[0]  # type: ignore[union-attr]
            if isinstance(reply, redis.ResponseError):
                raise reply
            return reply
        if kind is Batch:
            return self._batch(request.commands)  # type: ignore[union-attr]
        return self.perform(request)

    def _batch(self, commands: tuple[Args, ...]) -> list[Any]:
        """A Batch on one pool connection: what ``pipeline(transaction=False).execute(
        raise_on_error=False)`` does for the library's reads (its client has no response
        callbacks), without the Pipeline object (it cost more than the commands). Retried as
        the client retries a command; a connection left mid-reply is closed."""
        pool = self.client.connection_pool
        connection = pool.get_connection()
        try:
            return connection.retry.call_with_retry(  # type: ignore[no-any-return]
                functools.partial(_exchange, connection, commands, self._direct),
                lambda error: connection.disconnect(),
            )
        except BaseException:
            connection.disconnect()
            raise
        finally:
            pool.release(connection)

    def run(self, plan: Plan[T], operation: str | None = None) -> T:
        """:meth:`Session.drive` written out for sync replies (the same steps, without the
        coroutine and the per-request context manager: this runs for every call).
        ``operation``: the repository method it serves (its span, the slow-query check)."""
        # Checked without a call into this package (the per-call budget of test_overhead).
        if logs.commands.isEnabledFor(10) or not isinstance(tracing.provider(), tracing.OFF):
            return self._run_observed(plan, operation)
        started = time.perf_counter()
        perform = self._perform
        reply: Any = None
        error: BaseException | None = None
        while True:
            try:
                request = plan.send(reply) if error is None else plan.throw(error)
            except StopIteration as stop:
                if operation is not None:
                    elapsed = time.perf_counter() - started
                    if elapsed * 1000 > settings.slow_query_ms > 0:
                        slow(operation, self.model_name, elapsed)
                return stop.value  # type: ignore[no-any-return]
            reply = error = None
            try:
                reply = perform(request)
            except Exception as exc:
                error = map_error(exc, getattr(request, "args", None))
            except BaseException:
                plan.close()
                self.abandon()
                raise

    def _run_observed(self, plan: Plan[T], operation: str | None) -> T:
        """:meth:`run` with a DEBUG line per command and the operation's span."""
        watch = Observation(operation, self.model_name)
        perform = self._perform
        reply: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    request = plan.send(reply) if error is None else plan.throw(error)
                except StopIteration as stop:
                    result: T = stop.value
                    break
                reply = error = None
                sent = time.perf_counter()
                try:
                    reply = perform(request)
                except Exception as exc:
                    error = map_error(exc, getattr(request, "args", None))
                except BaseException:
                    plan.close()
                    self.abandon()
                    raise
                watch.sent(request, time.perf_counter() - sent, error)
        except BaseException as exc:
            watch.finish(None, exc)
            raise
        watch.finish(result, None)
        return result

    def iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        """``source`` (an async generator written once for both drivers, whose awaits are
        this session's) as a plain iterator; closing it closes ``source``."""
        try:
            while True:
                try:
                    yield run_now(source.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            closing = getattr(source, "aclose", None)
            if closing is not None:
                run_now(closing())


# Short str arguments as packed (UTF-8, the same for every client that packs them here): a
# command's words, index name, query string and sort steps repeat from call to call. Bounded:
# emptied when full (user values churn through it too).
_PIECES: dict[str, bytes] = {}
_PIECES_KEPT = 1024
_PIECE_CHARS = 64


def _exchange(connection: Any, commands: tuple[Args, ...], pack: bool) -> list[Any]:
    """Send ``commands`` at once, read their replies (an error reply in its place, as a
    pipeline gives it). ``pack``: packed here, not by ``connection.pack_commands``, in a
    third of its time (redis-py joins its buffer again for every argument): with the
    client's default encoding a str is ``str.encode()``, anything else goes through the
    client's encoder; a first argument of two words (``"CONFIG GET"``) is two arguments, as
    redis-py sends it. Inlined: this runs for every command."""
    if pack:
        encoder = connection.encoder
        plain = encoder.encoding in ("utf-8", "utf8") and encoder.encoding_errors == "strict"
        encode = encoder.encode
        parts: list[bytes] = []
        for args in commands:
            first: Any = args[0]
            if (" " if isinstance(first, str) else b" ") in first:
                args = (*first.split(), *args[1:])
            parts.append(b"*%d\r\n" % len(args))
            for arg in args:
                if plain and type(arg) is str:
                    piece = _PIECES.get(arg)
                    if piece is None:
                        data = arg.encode()
                        piece = b"$%d\r\n%s\r\n" % (len(data), data)
                        if len(arg) <= _PIECE_CHARS:
                            if len(_PIECES) >= _PIECES_KEPT:
                                _PIECES.clear()
                            _PIECES[arg] = piece
                    parts.append(piece)
                else:
                    data = encode(arg)
                    parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        connection.send_packed_command([b"".join(parts)])
    else:
        connection.send_packed_command(connection.pack_commands(commands))
    replies: list[Any] = []
    for _ in commands:
        try:
            replies.append(connection.read_response())
        except redis.ResponseError as exc:
            replies.append(exc)
    return replies


def _stock(connection_class: Any) -> bool:
    """True when ``connection_class`` sends and packs commands as redis-py's own does."""
    return isinstance(connection_class, type) and all(
        getattr(connection_class, name, None) is getattr(redis.Connection, name)
        for name in ("send_command", "pack_command", "pack_commands"))


def run_now(awaitable: Awaitable[T]) -> T:
    """Run, without an event loop, an awaitable that never suspends (one that only awaits
    sync replies); anything else is a programming error."""
    driving: Any = awaitable
    try:
        driving.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    driving.close()
    raise RuntimeError("the sync driver was handed an awaitable: is the client async?")
