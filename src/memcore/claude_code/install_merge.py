"""memcore's entries in Claude Code's settings and MCP config: which are its own, adding the
missing ones, taking its own out, and leaving everyone else's alone.

An entry is memcore's own when it runs this environment's memcore exactly as install writes it:
a hook handler whose command starts with ``<this environment's memcore> hook EVENT`` (the
absolute path install writes, or ``<python> -m memcore``), an ``mcpServers.memcore`` stdio
server whose command is that path and whose arguments start with ``mcp``. Options after those
words (``--store``, ``--budget``), the handler's other keys (``timeout``) and the group's
``matcher``, or the server's ``env``, may be the user's edits: the entry is still memcore's own.
Install leaves an own entry as it is (it only adds what is missing), so a re-install keeps the
user's edits; uninstall takes own entries out, edited or not, since they run the memcore being
uninstalled (leaving one would leave Claude Code running it).

Any other entry is the user's, even one that runs a memcore (another environment's path, a
``memcore`` server over HTTP): install keeps it and says so, and adds nothing of its own for
that event or server name (two memcores saving the same session would race), unless asked to
replace it (``--replace``); uninstall never removes it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from memcore.errors import ValidationError

#: Claude Code hook events memcore listens to, and the ``memcore hook`` event each runs.
HOOK_EVENTS: dict[str, str] = {
    "SessionStart": "session-start",
    "PreCompact": "pre-compact",
    "SessionEnd": "session-end",
}
#: Hooks install does not add but a user may (the README's ``Stop``): uninstall takes out this
#: environment's, as it does its own, since they run the memcore being uninstalled.
ADDED_BY_HAND: dict[str, str] = {"Stop": "stop"}
MCP_SERVER_NAME = "memcore"
#: Seconds Claude Code waits for a hook before going on without it.
HOOK_TIMEOUT = 30

REPLACE_HINT = "--replace puts this environment's in its place"
Handler = Callable[[object], bool]


def hook_command(command: list[str], name: str, store: str | None) -> str:
    return shlex.join([*command, "hook", name, *(["--store", store] if store else [])])


def wanted_hook(command: list[str], event: str, store: str | None) -> dict[str, Any]:
    """The handler install writes for ``event``."""
    wanted: dict[str, Any] = {
        "type": "command",
        "command": hook_command(command, HOOK_EVENTS[event], store),
    }
    if event != "SessionStart":
        wanted["timeout"] = HOOK_TIMEOUT
    return wanted


def wanted_server(command: list[str], store: str | None) -> dict[str, Any]:
    """The ``mcpServers.memcore`` entry install writes."""
    args = [*command[1:], "mcp", *(["--store", store] if store else [])]
    return {"type": "stdio", "command": command[0], "args": args, "env": {}}


def _words(entry: object) -> list[str] | None:
    if not isinstance(entry, Mapping) or entry.get("type") != "command":
        return None
    try:
        return shlex.split(str(entry.get("command", "")))
    except ValueError:
        return None


def is_own_hook(entry: object, command: list[str], name: str) -> bool:
    """A handler that runs this environment's memcore ``hook name`` (options may follow)."""
    words = _words(entry)
    head = [*command, "hook", name]
    return words is not None and words[: len(head)] == head


def _memcore_runner(entry: object, name: str) -> str | None:
    """The words before ``hook name`` when the handler runs some memcore's hook ``name``
    (``/opt/tools/memcore``, ``python3 -m memcore``), else None. Only those words are ever
    shown: the options after them may hold a store's password."""
    words = _words(entry) or []
    for at in range(1, len(words) - 1):
        if words[at] == "hook" and words[at + 1] == name:
            runner = words[at - 1]
            via_module = runner == "memcore" and at >= 2 and words[at - 2] == "-m"
            if Path(runner).name == "memcore" or via_module:
                return shlex.join(words[:at])
    return None


def _own(command: list[str], name: str) -> Handler:
    return lambda entry: is_own_hook(entry, command, name)


def _any_memcore(name: str) -> Handler:
    return lambda entry: _memcore_runner(entry, name) is not None


def _handlers(groups: list[Any]) -> list[object]:
    return [
        entry
        for group in groups
        if isinstance(group, Mapping) and isinstance(group.get("hooks"), list)
        for entry in group["hooks"]
    ]


def _drop_handlers(groups: list[Any], drop: Handler) -> list[Any]:
    """``groups`` without the handlers ``drop`` picks; a group left with none goes, every other
    entry (a group of others, ``null``, a number) stays exactly as it was."""
    kept: list[Any] = []
    for group in groups:
        if not isinstance(group, Mapping) or not isinstance(group.get("hooks"), list):
            kept.append(group)
            continue
        others = [entry for entry in group["hooks"] if not drop(entry)]
        if len(others) == len(group["hooks"]):
            kept.append(group)
        elif others:
            kept.append({**group, "hooks": others})
    return kept


def _event_groups(hooks: Mapping[str, Any], event: str) -> list[Any]:
    groups = hooks.get(event, [])
    if not isinstance(groups, list):
        raise ValidationError(f"the settings' hooks.{event} is not a list; nothing was changed")
    return groups


def with_hooks(
    settings: dict[str, Any], command: list[str], store: str | None, replace: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """``settings`` with memcore's hooks added where missing, and what was kept or replaced."""
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict):
        raise ValidationError("the settings' 'hooks' is not a JSON object; nothing was changed")
    merged_hooks = dict(hooks)
    notes: list[str] = []
    for event, name in HOOK_EVENTS.items():
        groups = _event_groups(hooks, event)
        wanted = wanted_hook(command, event, store)
        handlers = _handlers(groups)
        own = [h for h in handlers if is_own_hook(h, command, name)]
        runners = [r for h in handlers if (r := _memcore_runner(h, name)) and h not in own]
        if own == [wanted] and not runners:
            continue  # installed, as install writes it
        if not replace and own:
            if wanted not in own:
                notes.append(
                    f"hooks.{event}: memcore's hook, changed since install: kept as it is "
                    "(--replace writes it anew)"
                )
            continue
        if not replace and runners:
            notes.append(
                f"hooks.{event}: runs another memcore ({runners[0]}): kept, this one's not "
                f"added; {REPLACE_HINT}"
            )
            continue
        if own or runners:
            notes.append(f"hooks.{event}: the memcore hook there replaced")
        kept = _drop_handlers(groups, _any_memcore(name))
        merged_hooks[event] = [*kept, {"hooks": [wanted]}]
    if merged_hooks == hooks:
        return settings, notes
    return {**settings, "hooks": merged_hooks}, notes


def without_hooks(settings: dict[str, Any], command: list[str]) -> tuple[dict[str, Any], list[str]]:
    """``settings`` without memcore's own hooks (a ``Stop`` hook added by hand too), and the other
    memcores' hooks left there."""
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return settings, []
    cleaned: dict[str, Any] = {}
    notes: list[str] = []
    changed = False
    events = {**HOOK_EVENTS, **ADDED_BY_HAND}
    for event, groups in hooks.items():
        if event not in events or not isinstance(groups, list):
            cleaned[event] = groups
            continue
        name = events[event]
        kept = _drop_handlers(groups, _own(command, name))
        notes += [
            f"hooks.{event}: runs another memcore ({runner}), not this environment's: left"
            for h in _handlers(kept)
            if (runner := _memcore_runner(h, name))
        ]
        if kept == groups:
            cleaned[event] = groups
            continue
        changed = True
        if kept:
            cleaned[event] = kept
    if not changed:
        return settings, notes
    out = dict(settings)
    if cleaned:
        out["hooks"] = cleaned
    else:
        del out["hooks"]
    return out, notes


def is_own_server(entry: object, command: list[str]) -> bool:
    """A stdio server that runs this environment's ``memcore mcp`` (options and env may differ)."""
    if not isinstance(entry, Mapping) or entry.get("type", "stdio") != "stdio":
        return False
    args = entry.get("args")
    head = [*command[1:], "mcp"]
    return (
        entry.get("command") == command[0] and isinstance(args, list) and args[: len(head)] == head
    )


def _describe_server(entry: object) -> str:
    """A server in a few words, never its URL or arguments (they may hold keys)."""
    if not isinstance(entry, Mapping):
        return "not a server object"
    kind = entry.get("type", "stdio")
    if kind == "stdio" and isinstance(entry.get("command"), str):
        return f"runs {entry['command']}"
    return f"type {kind}"


def _servers(config: Mapping[str, Any]) -> dict[str, Any]:
    servers = config.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise ValidationError("the MCP config's 'mcpServers' is not a JSON object")
    return servers


def with_server(
    config: dict[str, Any], command: list[str], store: str | None, replace: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """``config`` with memcore's MCP server added when the name is free, and what was kept."""
    servers = _servers(config)
    wanted = wanted_server(command, store)
    where = f"mcpServers.{MCP_SERVER_NAME}"
    if MCP_SERVER_NAME in servers:
        existing = servers[MCP_SERVER_NAME]
        if existing == wanted:
            return config, []
        own = is_own_server(existing, command)
        if not replace:
            if own:
                return config, [
                    f"{where}: memcore's server, changed since install: kept as it is "
                    "(--replace writes it anew)"
                ]
            return config, [
                f"{where}: another server by that name ({_describe_server(existing)}): kept, "
                f"this one's not added; {REPLACE_HINT}"
            ]
        notes = [f"{where}: the server there ({_describe_server(existing)}) replaced"]
    else:
        notes = []
    return {**config, "mcpServers": {**servers, MCP_SERVER_NAME: wanted}}, notes


def without_server(config: dict[str, Any], command: list[str]) -> tuple[dict[str, Any], list[str]]:
    """``config`` without memcore's own MCP server (another by that name is left, and said)."""
    servers = config.get("mcpServers")
    if not isinstance(servers, dict) or MCP_SERVER_NAME not in servers:
        return config, []
    if not is_own_server(servers[MCP_SERVER_NAME], command):
        what = _describe_server(servers[MCP_SERVER_NAME])
        return config, [
            f"mcpServers.{MCP_SERVER_NAME}: another server ({what}), not this environment's "
            "memcore: left"
        ]
    out = dict(config)
    rest = {k: v for k, v in servers.items() if k != MCP_SERVER_NAME}
    if rest:
        out["mcpServers"] = rest
    else:
        del out["mcpServers"]
    return out, []


__all__ = [
    "HOOK_EVENTS",
    "HOOK_TIMEOUT",
    "MCP_SERVER_NAME",
    "hook_command",
    "is_own_hook",
    "is_own_server",
    "wanted_hook",
    "wanted_server",
    "with_hooks",
    "with_server",
    "without_hooks",
    "without_server",
]
