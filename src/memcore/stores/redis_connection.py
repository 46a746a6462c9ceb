"""The Redis store's connection: its client, made per event loop, and how redis failures are
said. Part of :mod:`memcore.stores.redis` (``RedisStore`` is a ``RedisConnection``).

The redis package is imported when a store is made, so importing memcore never needs it. The
asyncio client is created lazily and again whenever the running event loop changes, so one store
serves ``asyncio.run`` after ``asyncio.run`` (the client is closed in its own loop when that loop
ends), and again in a forked child. Each new client checks the server once before any command:
data in the layout before Redis Cluster support, or a ``redis://`` URL at a Cluster node, is
refused (``BackendError`` naming what to do). Every redis failure surfaces as ``BackendError``
with the cause chained (a URL only ever shown with its password masked); damage to a session's
keys, as a script or a ``WRONGTYPE`` reply says it, as ``CorruptedMemoryError``
(``memcore.stores.redis_damage``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import os
import socket
from collections.abc import AsyncGenerator, Iterator
from types import ModuleType
from typing import Any

from memcore.errors import BackendError, CorruptedMemoryError, ValidationError
from memcore.stores.redis_damage import damage_said
from memcore.stores.redis_keys import LEGACY_SESSIONS_KEY
from memcore.stores.redis_scripts import SCRIPTS
from memcore.stores.redis_urls import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_SOCKET_TIMEOUT,
    given_seconds,
    import_redis,
    parse_redis_url,
)
from memcore.stores.urls import mask_url


@functools.cache
def cluster_client_class() -> Any:
    """redis-py's asyncio cluster client, minus its retry of timeouts: a node that stopped
    answering is reported after one ``socket_timeout``, as on a single server, not three (the
    client retries the errors it can act on: refused connections, moved slots, a cluster down)."""
    cluster = importlib.import_module("redis.asyncio.cluster")
    exceptions = importlib.import_module("redis.exceptions")
    kept = tuple(
        error
        for error in cluster.RedisCluster.ERRORS_ALLOW_RETRY
        if not issubclass(error, exceptions.TimeoutError)
    )
    return type("MemcoreRedisCluster", (cluster.RedisCluster,), {"ERRORS_ALLOW_RETRY": kept})


#: What redis says (RESP2, RESP3's HELLO, a command) when the URL gives no password and the
#: server asks for one: said in memcore's words, since HELLO's is about the protocol.
_NO_PASSWORD = (
    "Authentication required",
    "HELLO must be called with the client already authenticated",
    "NOAUTH",
)


def failure_said(exc: BaseException) -> str:
    """A redis failure as a message says it: masked; a password the server asks for and the
    URL lacks, a cluster URL at a single server, a cluster that is down and a cluster client's
    redirections run out ("TTL exhausted."), said as such."""
    text = mask_url(exc)
    if any(words in text for words in _NO_PASSWORD):
        return (
            "the server asks for a password and the URL gives none "
            "(redis://:PASSWORD@host:port/db, or redis://USER:PASSWORD@... for an ACL user)"
        )
    if "Cluster mode is not enabled on this node" in text:
        return (
            "that server is no Redis Cluster node (cluster mode is not enabled on it): name a "
            "single server with redis://host:port/db (rediss:// for TLS)"
        )
    if "All slots are not covered" in text or "The cluster is down" in text:
        return (
            "the cluster is down: some of its hash slots have no node serving them (a node "
            "failed with no replica to take over, or slots were left unassigned); "
            "`redis-cli --cluster check host:port` says which"
        )
    if text.strip() == "TTL exhausted.":
        return (
            "the cluster kept redirecting the command (MOVED, ASK, TRYAGAIN: the session's "
            "hash slot is being moved between nodes, or a failover is under way); try again "
            "once it settles"
        )
    return text


def cluster_node_message(url: str) -> str:
    """What a ``redis://`` URL that reached a Redis Cluster node is told: it would see only the
    sessions of that node's slots (and fail on the others with a bare ``MOVED``)."""
    return (
        f"{mask_url(url)} is a Redis Cluster node, where one server's URL reaches only the "
        f"sessions whose slots it serves: use {url.split('://', 1)[0]}+cluster://host:port"
    )


class RedisConnection:
    """The client of a ``RedisStore``, per event loop (see the module docstring), and
    ``_script`` / ``_guard``, through which every command of the store goes; the timeouts and
    retries are as ``RedisStore`` says."""

    def __init__(
        self,
        url: str,
        *,
        socket_timeout: float | None = None,
        connect_timeout: float | None = None,
        retries: int = 2,
    ) -> None:
        parsed = parse_redis_url(url)
        # (checked as the URL's are: ``inf`` waited for ever, a negative one failed in redis-py)
        socket_timeout = given_seconds("socket_timeout", socket_timeout)
        connect_timeout = given_seconds("connect_timeout", connect_timeout)
        self.url = url
        self.cluster = parsed.cluster
        self._client_url = parsed.client_url
        self._seeds = parsed.seeds
        self._mod = import_redis()
        # (options that decode replies as text, which break binary records, were refused by
        # ``parse_redis_url`` with every other parameter memcore cannot work with)
        exceptions = importlib.import_module("redis.exceptions")
        self._errors: tuple[type[BaseException], ...] = (
            exceptions.RedisError,
            # (not a RedisError: what the cluster client raises when no node answers as a
            # cluster, e.g. a plain server or nothing at the address)
            exceptions.RedisClusterException,
            OSError,
            asyncio.TimeoutError,
        )
        self._options: dict[str, Any] = {
            "socket_timeout": socket_timeout or parsed.socket_timeout or DEFAULT_SOCKET_TIMEOUT,
            "socket_connect_timeout": (
                connect_timeout or parsed.connect_timeout or DEFAULT_CONNECT_TIMEOUT
            ),
        }
        if retries >= 0:
            backoff = importlib.import_module("redis.backoff")
            retry = importlib.import_module("redis.asyncio.retry")
            self._options["retry"] = retry.Retry(
                backoff.ExponentialBackoff(cap=0.5, base=0.05),
                retries,
                supported_errors=(exceptions.ConnectionError,),
            )
        self._check_options()
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scripts: dict[str, Any] = {}
        self._closer: AsyncGenerator[None, None] | None = None
        self._checked: asyncio.Task[None] | None = None  # the new client's layout check
        self._pid = os.getpid()

    @property
    def timeouts(self) -> tuple[float, float]:
        """``(socket_timeout, connect_timeout)`` in seconds, as the client is given them."""
        return self._options["socket_timeout"], self._options["socket_connect_timeout"]

    def _check_options(self) -> None:
        """Query options redis-py does not know fail here as a ``ValidationError``, not as a
        ``TypeError`` from the first command: the client and (on one server) a connection are
        made without connecting."""
        try:
            client = self._make_client()
            if not self.cluster:
                client.connection_pool.make_connection()
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                f"invalid redis URL {mask_url(self.url)!r}: {mask_url(exc)}"
            ) from None

    def _make_client(self) -> Any:
        if self.cluster:
            nodes = self._more_seeds(importlib.import_module("redis.asyncio.cluster"))
            return cluster_client_class().from_url(self._client_url, **nodes, **self._options)
        return self._mod.Redis.from_url(self._client_url, **self._options)

    def _more_seeds(self, module: ModuleType) -> dict[str, Any]:
        """redis-py's ``startup_nodes`` for a cluster URL naming several nodes: the nodes past
        the first, which ``from_url`` takes from the URL itself. The client asks each in turn
        for the cluster's layout until one answers, so any node that is up will do."""
        more = [module.ClusterNode(host, port) for host, port in self._seeds[1:]]
        return {"startup_nodes": more} if more else {}

    async def _connect(self) -> Any:
        """The client for the running event loop, made on first use in each loop."""
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is loop and self._pid == os.getpid():
            checked = self._checked
            if checked is not None and not checked.done():
                await asyncio.shield(checked)  # another caller made the client: its check
            return self._client
        if self._client is not None and self._pid == os.getpid():
            self._abandon(self._client)
        # in a forked child the parent's sockets are shared: just forget them, never shut down
        self._client = self._closer = None
        self._pid = os.getpid()
        try:
            client = self._make_client()
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                f"invalid redis URL {mask_url(self.url)!r}: {mask_url(exc)}"
            ) from None
        except self._errors as exc:
            raise BackendError(
                f"redis connect failed on {mask_url(self.url)}: {failure_said(exc)}"
            ) from exc
        self._client, self._loop = client, loop
        self._scripts = {name: client.register_script(text) for name, text in SCRIPTS.items()}
        # An async generator the loop finalizes at its end (asyncio.run calls
        # shutdown_asyncgens): the client is then closed in its own loop, cleanly.
        self._closer = self._close_at_loop_end(client)
        await self._closer.__anext__()
        # every caller waits for this one check (callers arriving meanwhile too, see above)
        self._checked = checked = loop.create_task(self._refuse_legacy(client))
        await asyncio.shield(checked)
        return client

    async def _refuse_legacy(self, client: Any) -> None:
        """Data in the layout before Redis Cluster support is invisible to this one: a replica
        would see its sessions empty and write beside them. Refuse, once per new client, until
        ``memcore migrate-redis`` has moved it."""
        try:
            if await self._is_cluster_node(client):
                problem = BackendError(cluster_node_message(self.url))
            elif not await client.exists(LEGACY_SESSIONS_KEY):
                return
            else:
                problem = BackendError(
                    f"{mask_url(self.url)} holds memcore data in the layout before Redis "
                    f"Cluster support: move it with `memcore migrate-redis {mask_url(self.url)}` "
                    "first"
                )
        except self._errors as exc:
            problem = BackendError(
                f"redis connect failed on {mask_url(self.url)}: {failure_said(exc)}"
            )
            problem.__cause__ = exc
        if self._client is client:  # the next call connects and checks again (after a migration)
            self._client = self._closer = None
        with contextlib.suppress(*self._errors):
            await client.aclose()
        raise problem

    async def _is_cluster_node(self, client: Any) -> bool:
        """Whether a ``redis://`` URL reached a node of a cluster, where it would see only the
        sessions of that node's slots and fail on the others with a bare ``MOVED`` (``INFO
        cluster``; a server that refuses INFO, as some hosted ones do, counts as no cluster)."""
        if self.cluster:
            return False
        exceptions = importlib.import_module("redis.exceptions")
        try:
            info = await client.info("cluster")
        except exceptions.ResponseError:
            return False
        return str(info.get("cluster_enabled", 0)) == "1"

    async def _close_at_loop_end(self, client: Any) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with contextlib.suppress(*self._errors):
                await client.aclose()

    async def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        if (
            self._client is None
            or self._loop is not asyncio.get_running_loop()
            or self._pid != os.getpid()
            or (self._checked is not None and not self._checked.done())
        ):
            await self._connect()
        return await self._scripts[name](keys=keys, args=args)

    @staticmethod
    def _connections(client: Any) -> list[Any]:
        pool = getattr(client, "connection_pool", None)
        found = [
            *getattr(pool, "_available_connections", ()),
            *getattr(pool, "_in_use_connections", ()),
        ]
        manager = getattr(client, "nodes_manager", None)
        nodes = {
            id(node): node
            for where in ("nodes_cache", "startup_nodes")
            for node in getattr(manager, where, {}).values()
        }
        for node in nodes.values():
            found += getattr(node, "_connections", ())
        return found

    @classmethod
    def _abandon(cls, client: Any) -> None:
        """Drop a client made in an event loop that is gone: its connections cannot be closed
        through that loop any more, so shut their sockets down directly."""
        for conn in cls._connections(client):
            writer = getattr(conn, "_writer", None)
            if writer is None:
                continue
            transport = writer.transport
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(Exception):
                writer.close()  # schedules on the old loop; fails harmlessly if it is closed
            cls._release_socket(transport)
            conn._writer = conn._reader = None
        manager = getattr(client, "nodes_manager", None)
        if manager is not None and hasattr(manager, "default_node"):
            manager.default_node = None  # (a cluster client so marked was closed: no warning)
        if manager is not None and hasattr(client, "_initialize"):
            client._initialize = True  # (the same mark in redis-py 5's cluster client)

    @staticmethod
    def _release_socket(transport: Any) -> None:
        """Close the socket of a transport whose event loop is closed (a loop ended by
        ``loop.close()`` alone, without ``shutdown_asyncgens``): its own close would run on that
        loop and never does, so the descriptor stayed open until the garbage collector found it
        (a ``ResourceWarning`` then). asyncio offers no public way; where its selector
        transport's socket is not where this expects, the collector still closes it."""
        loop = getattr(transport, "_loop", None)
        raw = getattr(transport, "_sock", None)
        if loop is None or not loop.is_closed() or not isinstance(raw, socket.socket):
            return
        with contextlib.suppress(OSError):
            raw.close()
        with contextlib.suppress(AttributeError):
            transport._sock = None  # (closed: nothing to warn of when it is collected)

    @contextlib.contextmanager
    def _guard(
        self, what: str, session_id: str | None = None, key: str | None = None
    ) -> Iterator[None]:
        """Redis failures as ``BackendError``; a key or field of ``session_id`` that is not what
        memcore writes there (``key``: the one a plain command read) as
        ``CorruptedMemoryError``."""
        try:
            yield
        except self._errors as exc:
            damage = damage_said(exc, session_id, key)
            if damage is not None:
                raise CorruptedMemoryError(damage) from exc
            raise BackendError(
                f"redis {what} failed on {mask_url(self.url)}: {failure_said(exc)}"
            ) from exc

    async def too_large(self, size: int) -> str | None:
        """After a commit failed: why, when its one argument of ``size`` bytes is over the
        server's ``proto-max-bulk-len`` (512 MB by default), past which Redis closes the
        connection, so the failure reads as a reset socket; None otherwise. The limit is asked
        for (``CONFIG GET``; the default when that is refused, as by hosted servers)."""
        if size <= 1 << 20:  # (the smallest limit Redis takes)
            return None
        limit = 512 << 20
        refused: tuple[type[BaseException], ...] = (
            *self._errors,
            ValueError,
            TypeError,
            AttributeError,
        )
        for _ in range(2):  # (redis-py 5.0 may hand back the connection the server just closed)
            try:
                found = await (await self._connect()).config_get("proto-max-bulk-len")
                limit = int(next(iter(found.values())))
                break
            except refused:
                continue
        if size <= limit:
            return None
        return (
            f"the commit's records are {size:,} bytes in one argument, over the server's "
            f"proto-max-bulk-len ({limit:,}), past which Redis closes the connection: commit "
            "fewer or smaller items at a time, or raise proto-max-bulk-len"
        )

    async def close(self) -> None:
        """Close the client; a later call makes a new one."""
        client, loop, closer = self._client, self._loop, self._closer
        self._client, self._loop, self._closer = None, None, None
        checked, self._checked = self._checked, None
        if client is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._pid != os.getpid():
            return  # a forked child: the sockets are the parent's
        if checked is not None and not checked.done() and checked.get_loop() is running:
            # the new client's layout check, still connecting: ended first, or it opens
            # connections (a cluster's nodes) after the client was closed, left to nobody
            checked.cancel()
            await asyncio.wait((checked,))
        if running is not loop or closer is None:
            self._abandon(client)
            return
        with self._guard("close"):
            await closer.aclose()

    def sync_client(self) -> Any:
        """A short-lived synchronous client on the same server or cluster (tests, admin)."""
        if self.cluster:
            cluster = importlib.import_module("redis.cluster")
            nodes = self._more_seeds(cluster)
            return cluster.RedisCluster.from_url(self._client_url, **nodes, **self._sync_options())
        return importlib.import_module("redis").Redis.from_url(
            self._client_url, **self._sync_options()
        )

    def _sync_options(self) -> dict[str, Any]:
        return {k: v for k, v in self._options.items() if k != "retry"}


__all__ = ["RedisConnection", "cluster_client_class", "cluster_node_message", "failure_said"]
