"""WATCH and MULTI/EXEC on the node owning one hash slot, for redis.asyncio's cluster client.

redis-py 8's asyncio ClusterPipeline runs a transaction's WATCH in a thread of its own with
another event loop (``asyncio.run``), on a connection of this loop's pool, which fails; this
class does the same job on one connection of the owning node, in the caller's loop. It has the
pipeline methods the driver uses (watch, multi, execute_command, execute, reset)."""

from __future__ import annotations

from typing import Any

import redis.exceptions as rx

from .commands import transaction, unwatch, watch
from .protocol import Args
from .slots import slot_of


class SlotTransaction:
    def __init__(self, client: Any) -> None:
        self.client = client  # a redis.asyncio.cluster.RedisCluster
        self._node: Any = None
        self._connection: Any = None
        self._watching = False
        self._queue: list[Args] = []

    async def _connect(self, key: str) -> Any:
        if self._connection is None:
            if self.client._initialize:  # no command sent yet: learn the slot map first
                await self.client.initialize()
            self._node = self.client.nodes_manager.get_node_from_slot(slot_of(key))
            self._connection = self._node.acquire_connection()
        return self._connection

    async def watch(self, *keys: str) -> Any:
        connection = await self._connect(keys[0])
        self._watching = True
        try:
            await connection.send_command(*watch(keys))
            return await connection.read_response()
        except BaseException:
            await self._drop()
            raise

    def multi(self) -> None:
        """Commands queued from now on are sent between MULTI and EXEC by :meth:`execute`."""

    def execute_command(self, *args: Any) -> None:
        self._queue.append(args)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """MULTI, the queued commands, EXEC in one packet; the replies (error replies as
        exceptions in place when not ``raise_on_error``). WatchError when EXEC was aborted
        by a WATCHed key. The connection goes back to the pool whatever happens."""
        queue, self._queue = self._queue, []
        if not queue:
            await self.reset()
            return []
        try:
            connection = await self._connect(str(queue[0][1]))
            await connection.send_packed_command(connection.pack_commands(transaction(queue)))
            errors: list[Exception] = []
            for _ in range(len(queue) + 1):  # MULTI's OK, then QUEUED per command
                try:
                    await connection.read_response()
                except rx.ResponseError as exc:
                    errors.append(exc)
            try:
                replies = await connection.read_response()
            except rx.ExecAbortError:
                raise errors[0] if errors else rx.ExecAbortError("EXECABORT") from None
        except BaseException:
            await self._drop()
            raise
        self._watching = False
        self._give_back()
        if replies is None:
            raise rx.WatchError("Watched variable changed.")
        if raise_on_error:
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
        return list(replies)

    async def reset(self) -> None:
        """UNWATCH (when watching) and give the connection back."""
        self._queue = []
        if self._connection is not None and self._watching:
            try:
                await self._connection.send_command(*unwatch())
                await self._connection.read_response()
            except BaseException:
                await self._drop()
                raise
        self._watching = False
        self._give_back()

    def _give_back(self) -> None:
        if self._connection is not None:
            self._node.release(self._connection)
            self._connection = None

    async def _drop(self) -> None:
        """A connection left mid-reply (or whose WATCH state is unknown) is closed."""
        self._watching = False
        if self._connection is not None:
            try:
                await self._connection.disconnect()
            finally:
                self._give_back()
