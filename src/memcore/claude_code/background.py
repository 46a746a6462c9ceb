"""Background tasks: a ``Bash`` call run in the background, and ``TaskOutput``, which reads
what a background task (a shell command or a sub-agent) has written so far (``BashOutput`` read
a background shell in older versions: :func:`read_shell_output`).

A ``TaskOutput`` result is a small XML-ish envelope (``<task_id>``, ``<task_type>``,
``<status>``, ``<exit_code>``, ``<output>``). A background shell's output is a command's
output, to be described as one (its command, exit status and error lines), not a sub-agent's
report whose sentences are findings: a compiler warning quoted from it is no decision. A task
still running has no outcome yet, and a sub-agent's partial output is its tool trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from memcore.claude_code.commands import is_trivial_command, unquoted_words
from memcore.lazy_re import lazy_compile

_STARTED = lazy_compile(r"running in background with ID: ([\w-]+)")
_FIELD = lazy_compile(r"<(task_id|task_type|status|exit_code)>\s*([^<]*?)\s*</\1>")
_OUTPUT = lazy_compile(r"<output>\n?(.*?)\n?</output>", re.DOTALL)
_DONE = frozenset({"completed", "failed", "killed"})  # (a running one is "running")


#: Where Claude Code keeps its background tasks' output (per user id, per project).
_TASK_OUTPUT = lazy_compile(r"^(?:/private)?/tmp/claude-\d+/.+/tasks/[^/]+$")


def is_task_output(path: str) -> bool:
    """Whether ``path`` is a background task's output file (``/tmp/claude-1000/<project>/
    tasks/b1.output``): Claude Code's, read to follow a task, not a file of the project."""
    return _TASK_OUTPUT.search(path) is not None


def follows_task(command: str) -> bool:
    """Whether a shell command only looks at background tasks' output (``sleep 5 && tail -3
    /tmp/claude-1000/<project>/tasks/b1.output``): a wait on Claude Code's own files, whose
    news is the task's, not a command of the work."""
    return is_trivial_command(command) and any(map(is_task_output, unquoted_words(command)))


def only_started(meta: Mapping[str, Any]) -> bool:
    """Whether an item's metadata is a ``Bash`` call's result that only says it started its
    command in the background (exit status 0 for the start): how the command ended is a later
    record's (``background``), so this one is no pass of it."""
    return "task_id" in meta and meta.get("background") is not True and meta.get("kind") != "error"


class TaskOutput(NamedTuple):
    """One ``TaskOutput`` result, read from its envelope."""

    task_id: str
    task_type: str  # local_bash, local_agent, ...
    status: str  # running, completed, failed, killed
    exit_code: int | None
    output: str

    @property
    def finished(self) -> bool:
        return self.status in _DONE


def started_task(text: str) -> str | None:
    """The task id a ``Bash`` call run in the background was given (None: it ran in front)."""
    found = _STARTED.search(text[:300])
    return found.group(1) if found else None


def read_task_output(text: str) -> TaskOutput | None:
    """The envelope of a ``TaskOutput`` result (None: not one, e.g. an older plain text)."""
    head = text.split("<output>", 1)[0]
    fields = dict(_FIELD.findall(head))
    if "task_type" not in fields or "status" not in fields:
        return None
    code = fields.get("exit_code", "")
    body = _OUTPUT.search(text)
    return TaskOutput(
        task_id=fields.get("task_id", ""),
        task_type=fields["task_type"],
        status=fields["status"],
        exit_code=int(code) if code.lstrip("-").isdigit() else None,
        output=body.group(1) if body else "",
    )


#: The tool that read a background shell before ``TaskOutput`` (Claude Code 1.x-2.0), and
#: the input fields that named the shell in its versions.
SHELL_OUTPUT_TOOL = "BashOutput"
#: How much of a background command is kept to name its later output by.
BACKGROUND_COMMAND_CHARS = 300
_SHELL_ID_FIELDS = ("bash_id", "shellId", "shell_id", "id")
_SHELL_FIELD = lazy_compile(r"<(status|exit_code)>\s*([^<]*?)\s*</\1>")
_SHELL_STREAM = lazy_compile(r"<(stdout|stderr)>\n?(.*?)\n?</\1>", re.DOTALL)
_SHELL_TIMESTAMP = lazy_compile(r"<timestamp>[^<]*</timestamp>")


def shell_id(tool_input: Mapping[str, Any]) -> str | None:
    """The background shell a ``BashOutput`` call reads (its input named it in several ways)."""
    return next(
        (tool_input[f] for f in _SHELL_ID_FIELDS if isinstance(tool_input.get(f), str)), None
    )


def read_shell_output(
    shell: str, tool_use_result: Any, text: str
) -> tuple[TaskOutput, str | None] | None:
    """A ``BashOutput`` result (of the background shell ``shell``) as a ``TaskOutput``, and the
    command when the result names it: from its structured result (``shellId``, ``command``,
    ``status``, ``exitCode``, ``stdout``, ``stderr``), else from its text (``<status>``,
    ``<exit_code>``, ``<stdout>``, ``<stderr>``). None when it says no status."""
    if isinstance(tool_use_result, Mapping) and isinstance(tool_use_result.get("status"), str):
        found = tool_use_result
        code = found.get("exitCode")
        streams = [found.get("stdout"), found.get("stderr")]
        output = "\n".join(s for s in streams if isinstance(s, str) and s)
        command = found.get("command")
        if isinstance(found.get("shellId"), str):
            shell = found["shellId"]
        task = TaskOutput(
            shell,
            "local_bash",
            found["status"],
            code if isinstance(code, int) and not isinstance(code, bool) else None,
            output,
        )
        return task, command if isinstance(command, str) and command else None
    fields = dict(_SHELL_FIELD.findall(text[:2000]))
    if "status" not in fields:
        return None
    raw = fields.get("exit_code", "")
    output = "\n".join(body for _, body in _SHELL_STREAM.findall(text) if body)
    if not output:  # (some versions wrote the output after the status, unwrapped)
        output = _SHELL_TIMESTAMP.sub("", _SHELL_FIELD.sub("", text)).strip()
    code = int(raw) if raw.lstrip("-").isdigit() else None
    return TaskOutput(shell, "local_bash", fields["status"], code, output), None


def as_command_result(
    task: TaskOutput, commands: Mapping[str, str]
) -> tuple[dict[str, Any], str, bool]:
    """A finished background shell's output as the result of its ``Bash`` call: the call's
    target (its command, when the call that started the task was seen, and the task), the
    output, and whether it failed."""
    command = commands.get(task.task_id) or f"background task {task.task_id}"
    failed = task.status != "completed" or (task.exit_code or 0) != 0
    code = task.exit_code if task.exit_code is not None else (1 if failed else 0)
    text = f"Exit code {code}\n{task.output}" if failed else task.output
    return {"command": command, "task_id": task.task_id, "background": True}, text, failed


def still_running(task: TaskOutput, commands: Mapping[str, str]) -> str:
    """What a look at a task that has not finished says: only that it runs."""
    if task.task_type == "local_bash":
        command = commands.get(task.task_id)
        what = f"`{command}`" if command else f"background task `{task.task_id}`"
        return f"{what} was still running in the background"
    return f"Sub-agent task `{task.task_id}` was still running"


__all__ = [
    "BACKGROUND_COMMAND_CHARS",
    "SHELL_OUTPUT_TOOL",
    "TaskOutput",
    "as_command_result",
    "read_shell_output",
    "read_task_output",
    "shell_id",
    "started_task",
    "still_running",
]
