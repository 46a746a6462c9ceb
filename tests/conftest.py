"""Shared fixtures: kernel implementations (compiled ``c`` and pure ``py``), a real redis-server
and a real three-node Redis Cluster (``tests/redis_cluster.py``), each started once per session.

The ``c`` parameter really imports the compiled module, so a missing build is an error, not a
pass. It is skipped only when this install runs pure on purpose (``MEMCORE_NO_EXTENSIONS=1`` or an
install built with it), which is how the pure-only CI run proves that path.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

# Session starts here save no other transcripts of their folder in the background (a hook's
# catch-up, ``memcore.claude_code.catch_up``): a detached process writing to a test's store
# while the test reads it would make it flaky. The catch-up's own tests turn it on.
os.environ["MEMCORE_CATCH_UP"] = "0"

from memcore import _kernels
from tests.redis_cluster import RedisClusterNodes, loopback_port, serves
from tests.sync_support import backend  # noqa: F401  (the every-store fixture of the sync tests)

IMPLEMENTATIONS = ("c", "py")


def import_kernel(family: str, impl: str) -> ModuleType:
    """Import one family's twin by implementation id; ``c`` skips only in a deliberate pure run."""
    if impl == "py":
        return importlib.import_module(f"memcore._pure.{family}")
    if not _kernels.NATIVE:
        pytest.skip("pure-only run: compiled kernels deliberately not built/used")
    return importlib.import_module(f"memcore._native.{family}")


def _implementation_fixture(family: str) -> Callable[..., ModuleType]:
    @pytest.fixture(scope="session", params=IMPLEMENTATIONS)
    def fixture(request: pytest.FixtureRequest) -> ModuleType:
        return import_kernel(family, request.param)

    fixture.__doc__ = f"The {family} kernel family, once compiled (id c) and once pure (id py)."
    return fixture


checksums_impl = _implementation_fixture("checksums")
patterns_impl = _implementation_fixture("patterns")
regression_impl = _implementation_fixture("regression")
pipeline_impl = _implementation_fixture("pipeline")
records_impl = _implementation_fixture("records")
prose_impl = _implementation_fixture("prose")


@pytest.fixture(scope="session", autouse=True)
def _no_user_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test touches the user's own data: memcore's default folder (``default_home``: the
    store, the hooks' lock files) is a temporary one, whatever the shell running the tests
    sets (a test that needs ``$MEMCORE_HOME`` sets its own: ``memcore_home``)."""
    saved = {name: os.environ.get(name) for name in ("MEMCORE_HOME", "XDG_DATA_HOME")}
    os.environ.pop("MEMCORE_HOME", None)
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data-home"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def native_kernels() -> Callable[[str], ModuleType]:
    """``native_kernels("checksums")`` -> the compiled module (skips in a pure-only run)."""
    return lambda family: import_kernel(family, "c")


@pytest.fixture(scope="session")
def pure_kernels() -> Callable[[str], ModuleType]:
    """``pure_kernels("checksums")`` -> the pure-Python twin."""
    return lambda family: import_kernel(family, "py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _kernels.NATIVE:
        return
    skip = pytest.mark.skip(reason="pure-only run: compiled kernels deliberately not built/used")
    for item in items:
        if "native_only" in item.keywords:
            item.add_marker(skip)


# --- a real redis-server on a free loopback port -------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on (for "nothing there" URLs); servers take
    ``loopback_port()``, outside the range this draws from."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server child process on 127.0.0.1 that tests may stop and start again."""

    def __init__(self, workdir: Path) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError(
                "redis-server is not installed; the test command installs it (apt-get install "
                "redis-server)"
            )
        self.executable = executable
        self.workdir = workdir
        self.port = loopback_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.started = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _options(self) -> list[str]:
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "dir": str(self.workdir),
            "save": "",
            "appendonly": "yes",
            "appendfsync": "everysec",
            "protected-mode": "yes",
        }
        return [part for name, value in options.items() for part in (f"--{name}", value)]

    def start(self, attempts: int = 3) -> None:
        """Start the server; the first start tries other ports when its port was taken since it
        was chosen. A restart keeps its port: the tests restart it to find their data there."""
        for attempt in range(1 if self.started else attempts):
            if attempt:
                self.port = loopback_port()
            if self._start_once():
                self.started = True
                return
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def _start_once(self) -> bool:
        process = self.process = subprocess.Popen(
            [self.executable, *self._options()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        if serves(self.port, process):
                            return True
                        break  # another server's port: ours cannot bind it
            except OSError:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            sock.recv(16)

    def clean_url(self) -> str:
        """The URL of an emptied database, the server started again if a test stopped it."""
        if self.process is None:
            self.start()
        self.flush()
        return self.url


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session; use ``redis_url`` for a clean database per test."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.clean_url()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """One three-node Redis Cluster for the session (see tests/redis_cluster.py); use
    ``redis_cluster_url`` for emptied nodes per test."""
    nodes = RedisClusterNodes(tmp_path_factory.mktemp("redis-cluster"))
    nodes.start()
    try:
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterNodes) -> str:
    return redis_cluster.clean_url()


@pytest.fixture(params=["single", "cluster"])
def any_redis_url(request: pytest.FixtureRequest) -> str:
    """A clean single server's URL, then a clean cluster's: a test run on both."""
    fixture = "redis_url" if request.param == "single" else "redis_cluster_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def memcore_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ``$MEMCORE_HOME`` so nothing touches the user's own data."""
    home = tmp_path / "memcore-home"
    home.mkdir()
    monkeypatch.setenv("MEMCORE_HOME", str(home))
    return home


def pytest_report_header(config: pytest.Config) -> str:
    mode = "compiled kernels" if _kernels.NATIVE else "pure-Python twins"
    switch = os.environ.get("MEMCORE_NO_EXTENSIONS", "")
    return f"memcore kernels in use: {mode} (MEMCORE_NO_EXTENSIONS={switch!r})"


@pytest.fixture
def held_turn() -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    """A function holding a session's lock (``save_turns.lock_path``: the lock saves, imports
    and forgets take) from another process until the test ends; it returns that process."""
    import sys

    from memcore.claude_code.save_turns import lock_path

    holders: list[subprocess.Popen[str]] = []

    def hold(session: str) -> subprocess.Popen[str]:
        script = (
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(300)\n"
        )
        path = lock_path(session)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        holder = subprocess.Popen(
            [sys.executable, "-c", script, path], stdout=subprocess.PIPE, text=True
        )
        holders.append(holder)
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        return holder

    yield hold
    for holder in holders:
        holder.kill()
        holder.wait()
