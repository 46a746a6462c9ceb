"""A real three-node Redis Cluster on loopback for the tests and benchmarks.

Three ``redis-server --cluster-enabled yes`` processes on free ports whose cluster bus ports
(port + 10000) are free too and below 65536, joined by ``redis-cli --cluster create`` with no
replicas. Each node keeps an append-only file (``appendfsync everysec``: a reply is sent only
after its write reached the AOF through ``write(2)``), so a node killed with SIGKILL and started
again with the same config comes back with every acknowledged write.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

NODES = 3
BUS_OFFSET = 10_000
NODE_TIMEOUT_MS = 15_000  # Redis's default: a node busy in a long script is not failed


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel gives outgoing connections (Linux's ``ip_local_port_range``; its
    default elsewhere): a port free when chosen there may be any client's a moment later."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[:2]
        return int(low), int(high)
    except (OSError, ValueError):
        return 32_768, 60_999


def _port_span() -> tuple[int, int]:
    """Where cluster ports are chosen: below the ephemeral range, bus ports too, when there is
    room for that (the tests' clients open thousands of connections beside a cluster starting:
    a node whose port or bus port one of them took does not start); else anywhere."""
    low, _ = ephemeral_range()
    if low - BUS_OFFSET > 10_000 + 100:
        return 10_000, low - BUS_OFFSET
    return 20_000, 65_536 - BUS_OFFSET


def loopback_port(rng: random.Random | None = None) -> int:
    """A free loopback port for a single server, chosen as cluster ports are (below the ephemeral
    range when it leaves room): the OS's pick (bind to port 0) is an ephemeral port, which any of
    the tests' client connections may take between the choice and the server's bind."""
    rng = rng or random.Random()
    start, stop = _port_span()
    for _ in range(2000):
        port = rng.randrange(start, stop)
        if _bindable(port):
            return port
    raise RuntimeError("no free loopback port for a redis server")


def cluster_ports(count: int = NODES, rng: random.Random | None = None) -> list[int]:
    """``count`` distinct free ports whose bus ports (port + 10000) are free and below 65536,
    outside the ephemeral range when it leaves room (see ``_port_span``)."""
    rng = rng or random.Random()
    start, stop = _port_span()
    ports: list[int] = []
    for _ in range(2000):
        port = rng.randrange(start, stop)
        taken = {p for q in ports for p in (q, q + BUS_OFFSET)}
        if port in taken or port + BUS_OFFSET in taken:
            continue
        if _bindable(port) and _bindable(port + BUS_OFFSET):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError("no free loopback ports for a redis cluster")


def _command(port: int, *args: str, timeout: float = 2.0) -> bytes:
    """One command in RESP over a raw socket (no client library: the fixture must not depend on
    the code under test); returns the raw reply."""
    payload = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
            head, sep, _ = data.partition(b"\r\n")
            if not sep:
                continue
            if not head.startswith(b"$") or int(head[1:]) < 0:
                return data  # a simple reply: one line
            if len(data) >= len(head) + 2 + int(head[1:]) + 2:
                return data


def serves(port: int, process: subprocess.Popen[bytes]) -> bool:
    """Whether ``process`` is the redis-server answering on ``port``: a PONG alone may come from
    another test worker's server that took the port first (ours then exits, unable to bind)."""
    with contextlib.suppress(OSError, ValueError):
        reply = _command(port, "INFO", "server", timeout=0.5)
        for line in reply.split(b"\r\n"):
            if line.startswith(b"process_id:"):
                return int(line.partition(b":")[2]) == process.pid and process.poll() is None
    return False


class RedisClusterNodes:
    """Three cluster nodes on 127.0.0.1 that tests may kill and start again."""

    def __init__(self, workdir: Path) -> None:
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if server is None or cli is None:
            raise RuntimeError(
                "redis-server and redis-cli are needed for the cluster tests "
                "(apt-get install redis-server redis-tools)"
            )
        self.server, self.cli = server, cli
        self.workdir = workdir
        self.ports = cluster_ports()
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def _options(self, port: int) -> list[str]:
        node_dir = self.workdir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        options = {
            "port": str(port),
            "bind": "127.0.0.1",
            "dir": str(node_dir),
            "cluster-enabled": "yes",
            "cluster-config-file": f"nodes-{port}.conf",
            "cluster-node-timeout": str(NODE_TIMEOUT_MS),
            "save": "",
            "appendonly": "yes",
            "appendfsync": "everysec",
            "protected-mode": "yes",
        }
        return [part for name, value in options.items() for part in (f"--{name}", value)]

    def start_node(self, port: int) -> None:
        self.processes[port] = subprocess.Popen(
            [self.server, *self._options(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if _command(port, "PING", timeout=0.2).startswith(b"+PONG"):
                    if serves(port, self.processes[port]):
                        return
                    break  # another server's port: ours cannot bind it
            if self.processes[port].poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"cluster node on port {port} did not start")

    def start(self, attempts: int = 3) -> None:
        """Start the nodes and join them; a node that does not start (its port taken since it
        was chosen) is tried again on other ports, ``attempts`` times in all."""
        for attempt in range(attempts):
            try:
                self._start()
                return
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                self.ports = cluster_ports()

    def _start(self) -> None:
        try:
            for port in self.ports:
                self.start_node(port)
            subprocess.run(
                [
                    self.cli,
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{p}" for p in self.ports),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=60,
            )
            self.wait_ok()
        except BaseException:
            self.stop()
            raise

    def cluster_ok(self) -> bool:
        for port in self.ports:
            try:
                info = _command(port, "CLUSTER", "INFO", timeout=0.5)
            except OSError:
                return False
            if b"cluster_state:ok" not in info or b"cluster_slots_ok:16384" not in info:
                return False
        return True

    def wait_ok(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.cluster_ok():
            if time.monotonic() > deadline:
                raise RuntimeError("the redis cluster did not reach cluster_state:ok")
            time.sleep(0.05)

    def kill_node(self, port: int) -> None:
        """SIGKILL one node (no shutdown, no final AOF rewrite)."""
        process = self.processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def restart_node(self, port: int) -> None:
        """Kill one node and start it again with the same config, data dir and port."""
        self.kill_node(port)
        self.start_node(port)
        self.wait_ok()

    def flush(self) -> None:
        for port in self.ports:
            _command(port, "FLUSHALL")

    def clean_url(self) -> str:
        """The cluster's URL with every node emptied (killed nodes started again first)."""
        for port in self.ports:
            process = self.processes.get(port)
            if process is None or process.poll() is not None:
                self.processes.pop(port, None)
                self.start_node(port)
        self.wait_ok()
        self.flush()
        return self.url

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


__all__ = [
    "BUS_OFFSET",
    "NODES",
    "RedisClusterNodes",
    "cluster_ports",
    "ephemeral_range",
    "loopback_port",
    "serves",
]
