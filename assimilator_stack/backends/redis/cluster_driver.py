"""The drivers over Redis Cluster clients (redis.cluster.RedisCluster and its asyncio twin).

Plans are the same as on one server; what changes is where each request goes:

- a command on keys goes to the node owning its slot (redis-py routes it); a multi-key read
  (JSON.MGET, EXISTS, DEL) whose keys span slots is sent per slot and its replies put back in
  order;
- WATCH and MULTI/EXEC run on the node owning the slot of their keys, and every key of one
  transaction must share that slot (CrossSlotError before anything is written);
- every FT.* command goes to one node, whose query engine must be a coordinator (it answers
  over every shard); a cluster without one refuses searches (ClusterSearchError) and gets no
  index (see facts_of and README, "Redis Cluster").
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio.cluster
import redis.cluster
from redis.client import CaseInsensitiveDict

from ...exceptions import ClusterSearchError, DataLayerError
from .async_driver import AsyncSession
from .commands import COORDINATOR_PROBES, is_index_command, is_info, is_keyed, per_slot
from .protocol import Args, Batch, Call, Exec, Release, Request, Watch
from .replies import joined, merged_info, search_coordinator
from .slot_transaction import SlotTransaction
from .slots import held_slot
from .sync_driver import Session, SyncSession


@dataclass(frozen=True)
class SearchFacts:
    """What the cluster's query engine can do, learnt once per cluster client."""

    coordinator: bool
    shards: int
    version: int | None  # the search module's, None when MODULE LIST was refused
    node: Any = field(repr=False)  # where every FT.* command goes (cursors live there)

    def refusal(self) -> ClusterSearchError:
        engine = "unknown" if self.version is None else str(self.version)
        if self.version is None:
            why = ("MODULE LIST and COMMAND LIST were refused to this user, so whether the "
                   "query engine has a coordinator cannot be told")
        elif self.shards > 1:
            why = (f"this Redis Cluster has {self.shards} shards and its query engine (search "
                   f"module {engine}) has no coordinator: a search sent to one node sees only "
                   "that node's documents")
        else:
            why = (f"its query engine (search module {engine}) has no coordinator and, in "
                   "cluster mode, returns no document contents")
        return ClusterSearchError(
            f"searches are refused on this cluster (never answered from one shard): {why}. "
            "Saves, reads by id and units of work work; filter, count, bulk writes by a "
            "filter and index_status need Redis 8 (its query engine distributes searches "
            "over every shard)")


_facts: weakref.WeakKeyDictionary[Any, SearchFacts] = weakref.WeakKeyDictionary()


_views: dict[type[Any], type[Any]] = {}


def _view_class(cls: type[Any]) -> type[Any]:
    """``cls`` whose ``__del__`` does nothing (a cluster client's closes its nodes)."""
    if cls not in _views:
        _views[cls] = type(f"Driven{cls.__name__}", (cls,), {"__del__": lambda self: None})
    return _views[cls]


class ClusterRouting(Session):
    """What both cluster drivers add to :class:`Session`: the slot a transaction holds, the
    search facts, and the routing of each command."""

    def __init__(self, client: Any, owner: str) -> None:
        super().__init__(client, owner)
        self._origin = client  # what search facts are kept for (the user's client)
        # The view shares the user's nodes and pools: collecting it must not close them.
        self.client.__class__ = _view_class(type(self.client))
        # user callbacks (e.g. from .json()) live in this table on the sync client
        self.client.cluster_response_callbacks = CaseInsensitiveDict({})

    def _own_state(self) -> None:
        super()._own_state()
        self._held: tuple[str, int] | None = None  # (first key, slot) of the WATCH held

    def check_transaction(self, keys: Iterable[str]) -> None:
        """CrossSlotError, before anything is sent, when ``keys`` (with what is WATCHed)
        are not all of one hash slot."""
        held_slot(keys, self._held)

    def _transaction(self, request: Request) -> Any:
        if isinstance(request, Watch):
            self._held = held_slot(request.keys, self._held)
        elif isinstance(request, (Exec, Release)):
            self._held = None
        return super().perform(request)

    def _known(self) -> SearchFacts | None:
        return _facts.get(self._origin)

    def _learnt(self, listed: Any, modules: Any, node: Any) -> SearchFacts:
        coordinator, version = search_coordinator(listed, modules)
        facts = SearchFacts(coordinator, len(self.client.get_primaries()), version, node)
        _facts[self._origin] = facts
        return facts

    @staticmethod
    def _searching(facts: SearchFacts) -> dict[str, Any]:
        if not facts.coordinator:
            raise facts.refusal()
        return {"target_nodes": facts.node}


class ClusterSession(ClusterRouting, SyncSession):
    """The sync driver over :class:`redis.cluster.RedisCluster`."""

    client_type = redis.cluster.RedisCluster  # type: ignore[assignment]

    def _perform(self, request: Request) -> Any:
        return self.perform(request)

    def perform(self, request: Request) -> Any:
        if isinstance(request, Call):
            return self._call(request.args)
        if isinstance(request, Batch):
            if any(is_index_command(args) for args in request.commands):
                self._search_facts()  # refused before anything of the batch is sent
            if all(is_keyed(args) for args in request.commands):
                return self._pipelined(request.commands, raise_on_error=False)
            return [self._caught(args) for args in request.commands]
        return self._transaction(request)

    def _pipelined(self, commands: Sequence[Args], raise_on_error: bool) -> list[Any]:
        """Commands on keys, one round trip per node (redis-py's cluster pipeline)."""
        pipe = self.client.pipeline(transaction=False)
        for args in commands:
            pipe.execute_command(*args)
        return pipe.execute(raise_on_error=raise_on_error)  # type: ignore[no-any-return]

    def _caught(self, args: Args) -> Any:
        try:
            return self._call(args)
        except DataLayerError:
            raise
        except redis.RedisError as exc:  # in its place, as a pipeline gives it
            return exc

    def _call(self, args: Args) -> Any:
        send = self.client.execute_command
        if is_index_command(args):
            return send(*args, **self._searching(self._search_facts()))
        if is_info(args):
            return merged_info({node.name: send(*args, target_nodes=node)
                                for node in self.client.get_primaries()})
        parts = per_slot(args)
        if parts is None:
            return send(*args)
        return joined(args, parts, self._pipelined(parts, raise_on_error=True))

    def _search_facts(self) -> SearchFacts:
        facts = self._known()
        if facts is not None:
            return facts
        node = self.client.get_default_node()
        pool = node.redis_connection.connection_pool
        connection = pool.get_connection()
        replies: list[Any] = []
        try:  # raw replies: the node's callback for COMMAND would misread COMMAND LIST's
            for probe in COORDINATOR_PROBES:
                connection.send_command(*probe)
                try:
                    replies.append(connection.read_response())
                except redis.ResponseError as exc:  # not allowed to this user
                    replies.append(exc)
        except BaseException:
            connection.disconnect()
            raise
        finally:
            pool.release(connection)
        return self._learnt(replies[0], replies[1], node)


class AsyncClusterSession(ClusterRouting, AsyncSession):
    """The async driver over :class:`redis.asyncio.cluster.RedisCluster`."""

    client_type = redis.asyncio.cluster.RedisCluster  # type: ignore[assignment]

    def _transaction_pipeline(self) -> Any:
        return SlotTransaction(self.client)

    def perform(self, request: Request) -> Any:
        if isinstance(request, Call):
            return self._call(request.args)
        if isinstance(request, Batch):
            return self._batch(request.commands)
        return self._transaction(request)

    async def _batch(self, commands: tuple[Args, ...]) -> list[Any]:
        if any(is_index_command(args) for args in commands):
            await self._search_facts()
        if all(is_keyed(args) for args in commands):
            return await self._pipelined(commands, raise_on_error=False)
        out: list[Any] = []
        for args in commands:
            try:
                out.append(await self._call(args))
            except DataLayerError:
                raise
            except redis.RedisError as exc:
                out.append(exc)
        return out

    async def _call(self, args: Args) -> Any:
        send = self.client.execute_command
        if is_index_command(args):
            return await send(*args, **self._searching(await self._search_facts()))
        if is_info(args):
            return merged_info({node.name: await send(*args, target_nodes=node)
                                for node in self.client.get_primaries()})
        parts = per_slot(args)
        if parts is None:
            return await send(*args)
        return joined(args, parts, await self._pipelined(parts, raise_on_error=True))

    async def _pipelined(self, commands: Sequence[Args], raise_on_error: bool) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for args in commands:
            pipe.execute_command(*args)
        return await pipe.execute(raise_on_error=raise_on_error)  # type: ignore[no-any-return]

    async def _search_facts(self) -> SearchFacts:
        facts = self._known()
        if facts is not None:
            return facts
        await self.client.initialize()
        node = self.client.get_default_node()
        connection = node.acquire_connection()
        replies: list[Any] = []
        try:
            for probe in COORDINATOR_PROBES:
                await connection.send_command(*probe)
                try:
                    replies.append(await connection.read_response())
                except redis.ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            node.release(connection)
        return self._learnt(replies[0], replies[1], node)


def session_for(session_type: type[Session], client: Any, owner: str) -> Any:
    """The driver for ``client``: a cluster driver for a cluster client of the right API,
    else ``session_type`` (which checks the client's type)."""
    if session_type is SyncSession and isinstance(client, redis.cluster.RedisCluster):
        return ClusterSession(client, owner)
    if session_type is AsyncSession and isinstance(client, redis.asyncio.cluster.RedisCluster):
        return AsyncClusterSession(client, owner)
    return session_type(client, owner)
