"""An agent's tool calls and their results, as ``RecordParser`` reads them (a mixin of it): each
call described (the fact, not the dump), each result paired with its call, the files' texts kept
to compare a later ``Write`` with, background tasks' output, and the user's answers to the
agent's questions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memcore.claude_code.answers import answer_text, user_answers
from memcore.claude_code.background import (
    BACKGROUND_COMMAND_CHARS,
    SHELL_OUTPUT_TOOL,
    as_command_result,
    read_shell_output,
    read_task_output,
    still_running,
)
from memcore.claude_code.commands import one_line, shown_command
from memcore.claude_code.links import FixLinker
from memcore.claude_code.next_actions import NextActions
from memcore.claude_code.parser_part import ParserPart
from memcore.claude_code.records import block_texts
from memcore.claude_code.task_list import TaskList
from memcore.claude_code.tools import (
    EDIT_TOOLS,
    READ_TOOLS,
    access_key,
    describe_call,
    describe_result,
    file_text,
    tool_target,
)
from memcore.model import MemoryItem, Priority

#: The most of a file's text kept while parsing, to compare a later ``Write`` with.
FILE_TEXT_CHARS = 200_000

#: Tools whose results are cheap to get again (a file can be re-read): kept at low priority.
_REREADABLE = {"Read", "Grep", "Glob", "NotebookRead", "WebFetch", "WebSearch", "TodoWrite"}


def _name_enclosing(call: MemoryItem, inside: str, max_chars: int) -> bool:
    """Say in an edit's call which definition it changed (``Edit `a.go` in `run()`, changing
    ...``), once its result has told it: the call holds what changed, and a question about the
    function finds it by that name. Whether it did."""
    head, sep, rest = call.content.partition("`, ")
    if not sep or head.count("`") != 1 or f"`{inside}`" in head:
        return False
    named = f"{head}` in `{inside}`, {rest}"
    if len(named) > max_chars:  # (a call cut to the limit already: left as it was cut)
        return False
    call.content = named
    call.metadata["enclosing"] = inside
    return True


def _block_text(content: Any) -> str:
    """Text of a tool_result's content: a string, or a list of text (and image) blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(block_texts(content))
    return "" if content is None else str(content)


class ToolRecords(ParserPart):
    """What ``RecordParser`` makes of the agent's tool calls and their results."""

    max_chars: int
    tool_calls: dict[str, tuple[str, dict[str, Any]]]
    background: dict[str, str]
    call_items: dict[str, MemoryItem]
    #: the calls answered before the offset a parse reads on from, by id, and the parser's own
    #: copy of a stored item (``memcore.claude_code.resume``)
    answered_calls: dict[str, MemoryItem]
    own_copy: Callable[[MemoryItem], MemoryItem]
    file_texts: dict[str, tuple[str, bool]]
    linker: FixLinker
    actions: NextActions
    tasks: TaskList

    if TYPE_CHECKING:  # defined by RecordParser

        def stream_text(
            self, message: Mapping[str, Any], text: str, *, thinking: bool = False
        ) -> None: ...

    def tool_use(
        self,
        item_id: str,
        block: Mapping[str, Any],
        when: datetime,
        meta: dict[str, Any],
        message: Mapping[str, Any],
    ) -> None:
        tool = block["name"]
        raw_input = block.get("input")
        tool_input: dict[str, Any] = dict(raw_input) if isinstance(raw_input, Mapping) else {}
        target = tool_target(tool, tool_input)
        self.out.accesses.append(access_key(tool, tool_input))
        path = tool_input.get("file_path") if tool == "Write" else None
        before = self.file_before(path) if isinstance(path, str) else None
        described, details = describe_call(tool, tool_input, self.root, before)
        written = tool_input.get("content")
        if isinstance(path, str) and isinstance(written, str):
            self.file_texts[path] = (written[:FILE_TEXT_CHARS], False)
        if tool == "TaskUpdate":
            described, details = self.tasks.update(tool_input, described, details)
        item = self.add(
            item_id,
            "tool_call",
            described,
            when,
            {**meta, "tool": tool, "tool_use_id": block.get("id") or "", **target, **details},
            Priority.NORMAL if tool in EDIT_TOOLS else None,
        )
        if isinstance(block.get("id"), str):
            self.tool_calls[block["id"]] = (tool, target)
            if tool == "TaskCreate":
                self.tasks.created(block["id"], tool_input)
            if item is not None:
                self.call_items[block["id"]] = item
        self.stream_text(message, json.dumps(tool_input, default=str))

    def file_before(self, path: str) -> str | None:
        """The file's text as last read or written in this parse (None: not seen)."""
        if path not in self.file_texts:
            return None
        text, numbered = self.file_texts[path]
        return file_text(text) if numbered else text

    def tool_result(
        self,
        item_id: str,
        block: Mapping[str, Any],
        when: datetime,
        meta: dict[str, Any],
        tool_use_result: Any,
    ) -> None:
        raw_id = block.get("tool_use_id")
        use_id = raw_id if isinstance(raw_id, str) else ""
        if use_id not in self.tool_calls and use_id in self.answered_calls:
            self.answered_again(use_id)
        tool, target = self.tool_calls.get(use_id, ("unknown", {}))
        if tool == "TaskCreate":
            learned = self.tasks.result(use_id, tool_use_result)
            created = self.call_items.get(use_id)
            if learned is not None and created is not None:
                created.metadata["task_list_id"] = learned
        text = _block_text(block.get("content"))
        failed = bool(block.get("is_error"))
        if (
            tool == "AskUserQuestion"
            and not failed
            and self.answers(item_id, when, meta, use_id, tool_use_result, text)
        ):
            return
        if tool in ("TaskOutput", SHELL_OUTPUT_TOOL) and not failed:
            task = read_task_output(text) if tool == "TaskOutput" else None
            if tool == SHELL_OUTPUT_TOOL:  # (older versions': a background shell's output)
                shell = read_shell_output(target.get("shell_id", ""), tool_use_result, text)
                task = None if shell is None else shell[0]
                if shell is not None and shell[1] is not None:
                    told = one_line(shell[1], BACKGROUND_COMMAND_CHARS)
                    self.background.setdefault(shell[0].task_id, told)
            if task is not None and not task.finished:
                details = {"task_id": task.task_id, "status": task.status}
                described = still_running(task, self.background)
                self.add(item_id, "tool_result", described, when, {**meta, "tool": tool, **details})
                return
            if task is not None and task.task_type == "local_bash":  # a command's output
                tool = "Bash"
                target, text, failed = as_command_result(task, self.background)
            elif task is not None:  # a sub-agent's report, without the envelope
                text = task.output
        described, details = describe_result(tool, target, text, failed, tool_use_result, self.root)
        is_error = failed or details.get("exit_code", 0) != 0 or "failed_output" in details
        path = target.get("file_path")
        if tool in READ_TOOLS and not is_error and isinstance(path, str):
            self.file_texts[path] = (text[:FILE_TEXT_CHARS], True)  # numbered: stripped if used
        if tool == "Bash" and "task_id" in details:  # started in the background: its command
            started = shown_command(str(target.get("command", "")), BACKGROUND_COMMAND_CHARS)
            self.background[details["task_id"]] = started
        rejected = bool(details.get("rejected"))
        refused = bool(details.get("refused"))  # a guard of Claude Code's (HARNESS_GUARDS)
        kind = "error" if is_error and not rejected and not refused else "tool_result"
        priority = None if is_error or tool not in _REREADABLE else Priority.LOW
        if rejected:
            priority = Priority.HIGH  # what the user said instead is an instruction
        item = self.add(
            item_id,
            kind,
            described,
            when,
            {
                **meta,
                "tool": tool,
                "tool_use_id": use_id,
                "is_error": is_error,
                **target,
                **details,
            },
            priority,
        )
        call = self.call_items.get(use_id)
        inside = details.get("enclosing")
        if (
            call is not None
            and isinstance(inside, str)
            and _name_enclosing(call, inside, self.max_chars)
        ):
            self.actions.said_again(call)
        if not rejected and not refused:
            self.linker.result(tool, target, not is_error, item, call)

    def answered_again(self, use_id: str) -> None:
        """A call answered before the offset read on from, answered again (its result's record
        written again, with other content): known again, as a parse of the whole file knows it."""
        call = self.answered_calls.pop(use_id)
        tool = str(call.metadata.get("tool", ""))
        self.tool_calls[use_id] = (tool, tool_target(tool, call.metadata))
        self.call_items[use_id] = self.own_copy(call)

    def answers(
        self,
        item_id: str,
        when: datetime,
        meta: dict[str, Any],
        use_id: str,
        tool_use_result: Any,
        text: str,
    ) -> bool:
        """The user's answers to the agent's questions, each a user message (see
        ``memcore.claude_code.answers``). Whether there were any."""
        found = user_answers(tool_use_result, text)
        for n, (question, answer) in enumerate(found):
            said = {**meta, "role": "user", "answer_to": question, "answer": answer}
            said["tool_use_id"] = use_id
            self.text(
                f"{item_id}:answer:{n}", "user", answer_text(question, answer), when, said, {}
            )
        return bool(found)


__all__ = ["FILE_TEXT_CHARS", "ToolRecords"]
