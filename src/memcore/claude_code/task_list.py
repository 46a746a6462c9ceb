"""Claude Code's task list as todo entries: ``TaskCreate`` names a task, ``TaskUpdate`` names it
only by the id Claude Code gave it (in the create's result), so the parser remembers the ids to
say which task an update moved -- otherwise work done stays listed as open.

The entries are ``[status, subject]`` pairs under ``metadata["todos"]``, as ``TodoWrite``'s, the
subject written as :func:`memcore.claude_code.tools.describe_call` writes a created task's. The
create and update calls keep the task's id (``metadata["task_list_id"]``), so that a parse that
reads on from where an earlier one stopped learns the subjects back from the items it stored
(:mod:`memcore.claude_code.resume`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memcore.claude_code.commands import one_line
from memcore.claude_code.tools import TODO_CHARS


class TaskList:
    """The subjects of one transcript's tasks, by id, and the create calls awaiting their ids."""

    def __init__(self) -> None:
        self.subjects: dict[str, str] = {}
        self.pending: dict[str, Mapping[str, Any]] = {}  # tool_use_id -> the create's input

    def created(self, use_id: str, tool_input: Mapping[str, Any]) -> None:
        """A ``TaskCreate`` call: its result will say the id."""
        self.pending[use_id] = tool_input

    def result(self, use_id: str, tool_use_result: Any) -> str | None:
        """A ``TaskCreate`` result (``{"task": {"id": ..., "subject": ...}}``): the id is known.
        Returns it (None when the result names no task with a subject)."""
        tool_input = self.pending.pop(use_id, {})
        task = tool_use_result.get("task") if isinstance(tool_use_result, Mapping) else None
        if not isinstance(task, Mapping) or task.get("id") is None:
            return None
        subject = task.get("subject")
        if not isinstance(subject, str):
            subject = tool_input.get("subject")
        if not isinstance(subject, str) or not subject.strip():
            return None
        self.subjects[str(task["id"])] = subject
        return str(task["id"])

    def update(
        self, tool_input: Mapping[str, Any], described: str, details: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """A ``TaskUpdate`` call's statement and metadata: the task's subject and new status as a
        todo entry, when the task is known (else the call as described)."""
        task_id, status = tool_input.get("taskId"), tool_input.get("status")
        subject = tool_input.get("subject")
        if not isinstance(subject, str) or not subject.strip():
            subject = self.subjects.get(str(task_id), "")
        elif task_id is not None:
            self.subjects[str(task_id)] = subject
        if not subject or not isinstance(status, str) or not status:
            return described, details
        subject = one_line(subject, TODO_CHARS)
        said = f"Task {status.replace('_', ' ')}: {subject}"
        told = {**details, "todos": [[status, subject]]}
        if task_id is not None:
            told["task_list_id"] = str(task_id)
        return said, told


__all__ = ["TaskList"]
