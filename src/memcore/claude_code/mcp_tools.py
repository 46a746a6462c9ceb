"""The MCP tools' ties to the SDK: each tool registered with its own types (some mcp 1.x
releases ask ``issubclass()`` of each annotation); what memcore raises on purpose given to the
model as the SDK's ``ToolError`` with memcore's one-line message; arguments the tool's schema
refuses said in one line each, not as pydantic's report. The tools themselves are
:func:`memcore.claude_code.mcp_server.build_server`'s.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, get_type_hints

from memcore.errors import MemcoreError

_F = TypeVar("_F", bound=Callable[..., Awaitable[str]])


def tool(server: Any, *, name: str, description: str) -> Callable[[_F], _F]:
    """Register ``fn`` as an MCP tool (a typed stand-in for the SDK's untyped decorator).

    What memcore raises on purpose (a bad argument, a session not of this project, nothing
    saved yet) becomes the SDK's ``ToolError``: the client reads memcore's message, and the
    server logs no traceback. Any other exception is a crash, reported as the SDK does."""
    tool_error = tool_error_class()

    def register(fn: _F) -> _F:
        # the types themselves, not this module's postponed strings: some mcp 1.x releases ask
        # issubclass() of each parameter's annotation
        fn.__annotations__ = get_type_hints(fn, include_extras=True)

        @functools.wraps(fn)
        async def guarded(*args: Any, **kwargs: Any) -> str:
            try:
                return await fn(*args, **kwargs)
            except MemcoreError as exc:
                raise tool_error(describe(exc)) from None

        server.add_tool(guarded, name=name, description=description)
        return fn

    return register


def concise_argument_errors(server: Any) -> None:
    """Arguments the tool's schema refuses (checked by the SDK, through pydantic, before the
    tool runs) reach the model as one line per argument, ``k: Input should be a valid integer
    (got 'abc')``, instead of pydantic's report with its error codes and a web address. (mcp
    2.x asks the server's ``call_tool`` at each request; 1.x bound it to its low-level server
    when the server was made, so there it is registered again.) A tool's own refusal (memcore's
    message), which the SDK wraps as "Error executing tool X: ...", reaches the model
    unwrapped."""
    tool_error = tool_error_class()
    call_tool = server.call_tool

    @functools.wraps(call_tool)
    async def call_tool_concisely(name: str, arguments: dict[str, Any], *args: Any) -> Any:
        try:
            return await call_tool(name, arguments, *args)
        except tool_error as exc:
            if isinstance(exc.__cause__, tool_error):  # memcore's own, which the SDK wrapped
                raise exc.__cause__ from None  # ("Error executing tool digest: ...")
            refused = argument_errors(exc.__cause__)
            if refused is None:
                raise
            raise tool_error(f"{name}: bad arguments: {refused}") from exc.__cause__

    server.call_tool = call_tool_concisely
    lowlevel = getattr(server, "_mcp_server", None)  # mcp 1.x: bound when the server was made
    if lowlevel is not None and hasattr(lowlevel, "call_tool"):
        takes = inspect.signature(lowlevel.call_tool).parameters  # (added in 1.10)
        options = {"validate_input": False} if "validate_input" in takes else {}
        lowlevel.call_tool(**options)(call_tool_concisely)


#: How much of a refused value an argument error repeats.
REFUSED_VALUE_SHOWN = 60


def argument_errors(cause: BaseException | None) -> str | None:
    """A pydantic ``ValidationError``'s errors on one line, or None for any other cause."""
    from pydantic import ValidationError as RefusedArguments  # the mcp package's dependency

    if not isinstance(cause, RefusedArguments):
        return None
    parts = []
    for error in cause.errors():
        where = ".".join(str(part) for part in error.get("loc", ())) or "arguments"
        part = f"{where}: {error.get('msg', 'invalid')}"
        if error.get("type") != "missing":
            value = repr(error.get("input"))
            if len(value) > REFUSED_VALUE_SHOWN:
                value = value[: REFUSED_VALUE_SHOWN - 3] + "..."
            part += f" (got {value})"
        parts.append(part)
    return "; ".join(parts) or None


def describe(exc: MemcoreError) -> str:
    """The error's message (a ``NotFoundError`` is a ``KeyError``, whose ``str`` is quoted)."""
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text or type(exc).__name__


def tool_error_class() -> type[Exception]:
    """The SDK's ``ToolError``: in ``mcp.server.mcpserver`` on mcp 2.x, ``fastmcp`` on 1.x."""
    try:
        module = importlib.import_module("mcp.server.mcpserver.exceptions")
    except ImportError:
        module = importlib.import_module("mcp.server.fastmcp.exceptions")
    error: type[Exception] = module.ToolError
    return error


__all__ = [
    "REFUSED_VALUE_SHOWN",
    "argument_errors",
    "concise_argument_errors",
    "describe",
    "tool",
    "tool_error_class",
]
