"""Calls of the tools that neither touch a file nor run a shell command, each said as what it
did: a skill loaded, a slash command run, a background task's output waited for, a question
put to the user, a web page fetched, a web search, an MCP server's tool called. Said by their
tool name and one input (``WebFetch url=...``), or by the name alone (``TaskOutput``), they
told a later reader, and recall, nothing of what happened.

``memcore.claude_code.tools.describe_call`` asks here before its generic fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from memcore.claude_code.commands import one_line

#: The most characters of a question, of a fetch's prompt, of a skill's arguments said.
QUESTION_CHARS = 200
PROMPT_CHARS = 160
#: The most options of a question said beside it, and arguments of an MCP tool's call.
OPTIONS_SAID = 4
MCP_ARGUMENTS_SAID = 4


def describe_other(tool: str, tool_input: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``describe_call``'s statement and metadata for these tools; None for any other call, or
    one without the input that says what it did."""
    if tool == "Skill":
        return _skill(tool_input)
    if tool == "SlashCommand" and _text(tool_input.get("command")):
        # (not ``command``: that key is a shell command's, whose outcome the digest reports)
        command = tool_input["command"]
        return f"Ran the slash command `{one_line(command, 200)}`", {"slash_command": command}
    if tool == "TaskOutput" and _text(tool_input.get("task_id")):
        task = tool_input["task_id"]
        waited = "Waited for" if tool_input.get("block") is True else "Read"
        return f"{waited} the output of background task `{one_line(task, 60)}`", {"task_id": task}
    if tool == "AskUserQuestion":
        return _questions(tool_input.get("questions"))
    url, prompt = tool_input.get("url"), tool_input.get("prompt")
    if tool == "WebFetch" and _text(url):
        why = f": {one_line(prompt, PROMPT_CHARS)}" if _text(prompt) else ""
        return f"Fetched `{one_line(url, 200)}`{why}", {"url": url}
    if tool == "WebSearch" and _text(tool_input.get("query")):
        query = tool_input["query"]
        return f"Searched the web for `{one_line(query, 200)}`", {"query": query}
    if tool.startswith("mcp__") and tool.count("__") >= 2:
        return _mcp_call(tool, tool_input)
    if tool == "TaskList":
        return "Listed the session's tasks", {}
    return None


def _mcp_call(tool: str, tool_input: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A call of an MCP server's tool (``mcp__<server>__<tool>``): the tool, the server, and its
    arguments that are plain values."""
    _, server, name = tool.split("__", 2)
    given = [
        f"{key}={one_line(str(value), 80)}"
        for key, value in list(tool_input.items())[:MCP_ARGUMENTS_SAID]
        if isinstance(key, str) and isinstance(value, (str, int, float, bool)) and value != ""
    ]
    with_args = f" ({', '.join(given)})" if given else ""
    return f"Called `{name}` of MCP server `{server}`{with_args}", {"mcp_server": server}


def _text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _skill(tool_input: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """A skill loaded: its name says what the next steps follow (its instructions, which Claude
    Code injects as a message of their own, are no memory: ``records.scaffolding_kind``)."""
    skill, args = tool_input.get("skill"), tool_input.get("args")
    if not _text(skill):
        return None
    given = f" with `{one_line(args, PROMPT_CHARS)}`" if _text(args) else ""
    return f"Used the skill `{one_line(skill, 120)}`{given}", {"skill": skill}


def _questions(questions: object) -> tuple[str, dict[str, Any]] | None:
    """The questions put to the user, each with its first options (the user's answer is read
    from the result: ``memcore.claude_code.answers``)."""
    if not isinstance(questions, list):
        return None
    said: list[str] = []
    for question in questions:
        if not isinstance(question, Mapping) or not _text(question.get("question")):
            continue
        text = one_line(question["question"], QUESTION_CHARS)
        options = question.get("options")
        labels = [
            one_line(o["label"], 60)
            for o in (options if isinstance(options, list) else [])
            if isinstance(o, Mapping) and _text(o.get("label"))
        ]
        if labels:
            more = ", ..." if len(labels) > OPTIONS_SAID else ""
            text += f" (options: {', '.join(labels[:OPTIONS_SAID])}{more})"
        said.append(text)
    if not said:
        return None
    return "Asked the user: " + " / ".join(said), {"questions": len(said)}


__all__ = ["MCP_ARGUMENTS_SAID", "OPTIONS_SAID", "PROMPT_CHARS", "QUESTION_CHARS", "describe_other"]
