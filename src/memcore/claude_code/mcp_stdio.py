"""The stdio transport of ``memcore mcp``: the SDK's ``stdio_server`` fed lines memcore read first.

The ``mcp`` SDK drops, without a word, a request line it cannot read: one holding a lone UTF-16
surrogate escape (``"\\ud800"``, what JavaScript's ``JSON.stringify`` writes for a string cut
inside an emoji; JSON allows it, the SDK's parser does not), a line that is not JSON, or one
nested too deeply for its parser. The client then waits for its timeout (Claude Code hangs
until its MCP timeout). Here each line is read before the SDK sees it: a lone surrogate escape
becomes ``\\ufffd`` (U+FFFD, as memcore's transcript reader reads one), so the request is
served; a line the SDK would still drop is answered with a JSON-RPC error (``-32700`` Parse
error when it is no JSON the SDK reads, ``-32600`` Invalid Request when it is JSON but no
JSON-RPC message), with the request's id when it has one, else ``null``; and the server goes on.

As the SDK's own ``stdio_server`` does on mcp 2.x, the wire is served from private duplicates of
fds 0 and 1 while fd 0 reads the null device and fd 1 writes to stderr, so that what a handler
or a child process prints misses the wire; both are put back on exit.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any, BinaryIO, TextIO, cast

import anyio
import anyio.to_thread

#: One backslash escape that matters: an escaped backslash (so that ``\\\\ud800``, a backslash
#: and the letters ``ud800``, is left alone), a surrogate pair (one character: kept), or a lone
#: high or low surrogate (group 1: made U+FFFD).
_ESCAPE = re.compile(
    r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)
_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600


def whole_characters(line: str) -> str:
    """``line`` (JSON text) with each lone surrogate escape as ``\\ufffd``; pairs kept."""
    if not _MAYBE_SURROGATE.search(line):
        return line
    return _ESCAPE.sub(lambda m: "\\ufffd" if m.group(1) else m.group(0), line)


def error_line(code: int, message: str, request_id: str | int | None = None) -> str:
    """A JSON-RPC error response, as one line (without its newline)."""
    error = {"code": code, "message": message}
    reply = {"jsonrpc": "2.0", "id": request_id, "error": error}
    return json.dumps(reply, ensure_ascii=False, separators=(",", ":"))


def _request_id(value: Any) -> str | int | None:
    """The id of a request (an object with a method), else ``None``: an error is not sent under
    the id of a response, which the client would take for the answer to its own request."""
    if not isinstance(value, dict) or "method" not in value:
        return None
    found = value.get("id")
    if isinstance(found, str) or (isinstance(found, int) and not isinstance(found, bool)):
        return found
    return None


def _sdk_parser() -> Callable[[str], object] | None:
    """How the SDK's stdio transport reads a line: ``jsonrpc_message_adapter.validate_json`` of
    ``mcp_types`` on mcp 2.x, ``JSONRPCMessage.model_validate_json`` on 1.x."""
    try:
        from mcp.server import stdio as sdk_stdio
    except ImportError:  # pragma: no cover (the caller needs mcp)
        return None
    types = getattr(sdk_stdio, "types", None)
    adapter = getattr(types, "jsonrpc_message_adapter", None)
    if adapter is not None:
        return lambda line: adapter.validate_json(line, by_name=False)
    message = getattr(types, "JSONRPCMessage", None)
    if message is not None:
        parse: Callable[[str], object] = message.model_validate_json
        return parse
    return None


def _is_json_error(exc: Exception) -> bool:
    """Whether the SDK's parser refused the line as JSON (too deep for it, say), not its shape."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return False
    with suppress(Exception):
        return any(error.get("type") == "json_invalid" for error in errors())
    return False


def _first_line(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        with suppress(Exception):
            for error in errors():
                return str(error.get("msg", "")) or str(exc).splitlines()[0]
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_line(line: str, parse: Callable[[str], object] | None) -> tuple[str | None, str | None]:
    """``(line to pass on, None)`` for a line the SDK reads once its lone surrogates are made
    whole; ``(None, error response)`` for one it would drop; ``(None, None)`` for a blank one."""
    if not line.strip():
        return None, None
    line = whole_characters(line)
    try:
        value = json.loads(line)
    except RecursionError:
        return None, error_line(PARSE_ERROR, "Parse error: nested too deeply to be read")
    except ValueError as exc:
        return None, error_line(PARSE_ERROR, f"Parse error: {exc}")
    if parse is None:
        return line, None
    try:
        parse(line)
    except Exception as exc:
        request_id = _request_id(value)
        if _is_json_error(exc):
            return None, error_line(PARSE_ERROR, f"Parse error: {_first_line(exc)}", request_id)
        message = "Invalid Request: not a JSON-RPC 2.0 request, notification or response"
        return None, error_line(INVALID_REQUEST, message, request_id)
    return line, None


class _Wire:
    """The client's end of stdout: whole lines, each written and flushed under one lock (the
    SDK's writer and the error replies share it)."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._lock = anyio.Lock()

    def _put(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()

    async def write(self, text: str) -> int:
        async with self._lock:
            await anyio.to_thread.run_sync(self._put, text.encode("utf-8", "replace"))
        return len(text)

    async def flush(self) -> None:
        """Each write is flushed already."""


class _Requests:
    """The client's lines for the SDK (``async for line in ...``), each made readable or, when it
    cannot be, answered on the wire and left out."""

    def __init__(self, file: BinaryIO, wire: _Wire) -> None:
        self._lines = anyio.wrap_file(file)
        self._wire = wire
        self._parse = _sdk_parser()

    def __aiter__(self) -> _Requests:
        return self

    async def __anext__(self) -> str:
        while True:
            raw = await self._lines.readline()
            if not raw:
                raise StopAsyncIteration
            line, error = check_line(raw.decode("utf-8", "replace"), self._parse)
            if line is not None:
                return line
            if error is not None:
                await self._wire.write(error + "\n")


def _dup_private(fd: int) -> int:
    """A close-on-exec duplicate of ``fd`` above the standard range."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows)
        duplicate = os.dup(fd)
        if duplicate <= 2:
            os.close(duplicate)
            raise OSError(f"the duplicate of fd {fd} landed in the standard range") from None
        return duplicate
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)


def _backed_by(stream: TextIO | None, fd: int) -> bool:
    try:
        return stream is not None and stream.buffer.fileno() == fd
    except (AttributeError, OSError, ValueError):
        return False


@contextmanager
def _claimed(
    fd: int, stream: TextIO, mode: str, diversion: Callable[[], int]
) -> Iterator[BinaryIO]:
    """The wire of ``fd`` from a private duplicate while ``fd`` is pointed at ``diversion``'s
    descriptor, put back on exit; ``stream``'s own buffer when that cannot be done."""
    private = _divert(fd, diversion) if _backed_by(stream, fd) else None
    if private is None:
        yield stream.buffer
        return
    try:
        # closefd=False and never closed: a worker thread may still block reading it.
        yield cast(BinaryIO, os.fdopen(private, mode, closefd=False))
    finally:
        with suppress(OSError):
            os.dup2(private, fd)


def _divert(fd: int, diversion: Callable[[], int]) -> int | None:
    """A private duplicate of ``fd``, once ``fd`` points at ``diversion``'s descriptor; None
    (``fd`` as it was) when either cannot be done."""
    try:
        private = _dup_private(fd)
    except OSError:
        return None
    try:
        other = diversion()
        try:
            os.dup2(other, fd)
        finally:
            os.close(other)
    except OSError:
        with suppress(OSError):
            os.dup2(private, fd)
        return None
    return private


def _null_in() -> int:
    return os.open(os.devnull, os.O_RDONLY)


def _stderr_out() -> int:
    try:
        return os.dup(2)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


@asynccontextmanager
async def stdio_streams() -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's ``(read_stream, write_stream)`` over this process's stdin and stdout, its lines
    read by :class:`_Requests` first."""
    from mcp.server.stdio import stdio_server

    if sys.stdout is not None:  # (what was printed before goes first)
        sys.stdout.flush()
    with (
        _claimed(0, sys.stdin, "rb", _null_in) as stdin,
        _claimed(1, sys.stdout, "wb", _stderr_out) as stdout,
    ):
        wire = _Wire(stdout)
        requests = _Requests(stdin, wire)
        async with stdio_server(cast(Any, requests), cast(Any, wire)) as streams:
            yield streams


async def run_stdio(server: Any) -> None:
    """Serve ``server`` (``MCPServer``, or ``FastMCP`` on mcp 1.x) as its ``run_stdio_async``
    does, over :func:`stdio_streams`; through ``run_stdio_async`` itself should the SDK keep its
    low-level server elsewhere."""
    lowlevel = getattr(server, "_lowlevel_server", None) or getattr(server, "_mcp_server", None)
    if lowlevel is None:  # pragma: no cover (an SDK other than 1.x and 2.x)
        await server.run_stdio_async()
        return
    async with stdio_streams() as (read_stream, write_stream):
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


__all__ = [
    "INVALID_REQUEST",
    "PARSE_ERROR",
    "check_line",
    "error_line",
    "run_stdio",
    "stdio_streams",
    "whole_characters",
]
