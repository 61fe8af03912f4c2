"""A private, throwaway Redis Cluster of embedded Redis Stack servers, for tests.

Each master is a :class:`~assimilator_stack.testing.server.RedisStackServer` started with
``--cluster-enabled yes`` (its ``nodes.conf`` in its own temporary directory), on 127.0.0.1
only. The slots are split evenly (CLUSTER ADDSLOTSRANGE), the nodes MEET, and the cluster is
ready when every node says ``cluster_state:ok`` and knows every other one.

With the ``server`` extra's modules (RediSearch 2.10, no coordinator) a search on such a
cluster sees one node's keys only; see README, "Redis Cluster".
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from assimilator_stack.testing.server import RedisStackServer, ServerStartupError

__all__ = ["RedisStackCluster"]

_HOST = "127.0.0.1"
_SLOTS = 16384
_START_ATTEMPTS = 3


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (each bound at once, so none is given twice)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((_HOST, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def slot_ranges(masters: int) -> list[tuple[int, int]]:
    """The 16384 slots split into ``masters`` contiguous ranges (first, last), in order."""
    if masters < 1:
        raise ValueError(f"a cluster needs at least one master, got {masters}")
    bounds = [round(i * _SLOTS / masters) for i in range(masters + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(masters)]


class RedisStackCluster:
    """``masters`` Redis Stack servers in cluster mode, all slots assigned, no replicas.

    ::

        with RedisStackCluster(masters=3) as cluster:
            client = cluster.client()          # a redis.cluster.RedisCluster
            client.json().set("k", "$", {"a": 1})

    Stopped (every process, every temporary directory) when the ``with`` block exits, and,
    like a single server, at interpreter exit. Binaries and modules are found as
    :class:`RedisStackServer` finds them (``redis_server`` / ``modules`` arguments).
    """

    def __init__(self, masters: int = 3, *, redis_server: str | None = None,
                 modules: Sequence[str] | None = None, startup_timeout: float = 10.0) -> None:
        self.ranges = slot_ranges(masters)
        self._redis_server = redis_server
        self._modules = modules
        self.startup_timeout = startup_timeout
        self.servers: list[RedisStackServer] = []

    @property
    def ports(self) -> list[int]:
        """The client port of each master, in slot order (only while started)."""
        return [server.port for server in self.servers]

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT`` of the first master: a startup node for a cluster client."""
        if not self.servers:
            raise RuntimeError("RedisStackCluster is not started")
        return self.servers[0].url

    def client(self, **kwargs: Any) -> redis.cluster.RedisCluster:
        """A new :class:`redis.cluster.RedisCluster` on this cluster (``kwargs`` go to it)."""
        return redis.cluster.RedisCluster(host=_HOST, port=self.ports[0], **kwargs)

    def async_client(self, **kwargs: Any) -> redis.asyncio.cluster.RedisCluster:
        """A new :class:`redis.asyncio.cluster.RedisCluster` (connects on first use)."""
        return redis.asyncio.cluster.RedisCluster(host=_HOST, port=self.ports[0], **kwargs)

    def node_clients(self, **kwargs: Any) -> list[redis.Redis]:
        """A plain :class:`redis.Redis` per master, in slot order (to look at one node)."""
        return [server.client(**kwargs) for server in self.servers]

    def __enter__(self) -> RedisStackCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> RedisStackCluster:
        """Start the masters, assign the slots, join them; wait until the cluster is ok.
        Ports are free ports picked just before: a start that loses a port to another
        process is tried again (three times in all)."""
        if self.servers:
            raise RuntimeError("RedisStackCluster is already started")
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                self._start_servers()
                self._join()
                return self
            except ServerStartupError:
                self.stop()
                if attempt == _START_ATTEMPTS:
                    raise
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop every master (each removes its temporary directory)."""
        servers, self.servers = self.servers, []
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()

    def _start_servers(self) -> None:
        ports = _free_ports(2 * len(self.ranges))
        for index in range(len(self.ranges)):
            port, bus = ports[2 * index], ports[2 * index + 1]
            server = RedisStackServer(
                redis_server=self._redis_server, modules=self._modules, port=port,
                startup_timeout=self.startup_timeout,
                extra_args=("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-port", str(bus), "--cluster-node-timeout", "5000"))
            self.servers.append(server)
            server.start()

    def _join(self) -> None:
        clients = self.node_clients()
        try:
            for client, (first, last) in zip(clients, self.ranges):
                _run(client, "CLUSTER", "ADDSLOTSRANGE", first, last)
            first_client = clients[0]
            for server in self.servers[1:]:
                bus = int(server.extra_args[server.extra_args.index("--cluster-port") + 1])
                _run(first_client, "CLUSTER", "MEET", _HOST, server.port, bus)
            self._wait_ok(clients)
        finally:
            for client in clients:
                client.close()

    def _wait_ok(self, clients: list[redis.Redis]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        want, slots = len(clients), str(_SLOTS)
        last = ""
        while True:
            states = [_cluster_info(client) for client in clients]
            settled = all(s.get("cluster_state") == "ok" and s.get("cluster_slots_ok") == slots
                          and s.get("cluster_known_nodes") == str(want) for s in states)
            if settled and all(_sees_every_slot(client, want) for client in clients):
                return
            last = "; ".join(f"{s.get('cluster_state')}/{s.get('cluster_known_nodes')} nodes"
                             for s in states)
            if time.monotonic() > deadline:
                raise ServerStartupError(
                    f"the cluster of {want} masters on ports {self.ports} was not ok after "
                    f"{self.startup_timeout:g}s (state/known nodes per node: {last})")
            time.sleep(0.02)


def _cluster_info(client: redis.Redis) -> dict[str, str]:
    raw = _run(client, "CLUSTER", "INFO")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {name.strip(): value.strip() for name, value in pairs}


def _sees_every_slot(client: redis.Redis, masters: int) -> bool:
    """The node's own view of the slot map names ``masters`` owners (gossip has settled)."""
    shards = _run(client, "CLUSTER", "SLOTS")
    return len({tuple(entry[2][:2]) if isinstance(entry, list) else None
                for entry in shards}) == masters


def _run(client: redis.Redis, *args: Any) -> Any:
    """``execute_command`` (untyped in redis-py) behind a typed wrapper."""
    untyped: Any = client
    return untyped.execute_command(*args)
