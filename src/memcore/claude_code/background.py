"""Background tasks: a ``Bash`` call run in the background, and ``TaskOutput``, which reads
what a background task (a shell command or a sub-agent) has written so far.

A ``TaskOutput`` result is a small XML-ish envelope (``<task_id>``, ``<task_type>``,
``<status>``, ``<exit_code>``, ``<output>``). A background shell's output is a command's
output, to be described as one (its command, exit status and error lines), not a sub-agent's
report whose sentences are findings: a compiler warning quoted from it is no decision. A task
still running has no outcome yet, and a sub-agent's partial output is its tool trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_STARTED = re.compile(r"running in background with ID: ([\w-]+)")
_FIELD = re.compile(r"<(task_id|task_type|status|exit_code)>\s*([^<]*?)\s*</\1>")
_OUTPUT = re.compile(r"<output>\n?(.*?)\n?</output>", re.DOTALL)
_DONE = frozenset({"completed", "failed", "killed"})


@dataclass(frozen=True, slots=True)
class TaskOutput:
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


__all__ = ["TaskOutput", "as_command_result", "read_task_output", "started_task", "still_running"]
