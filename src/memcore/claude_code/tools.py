"""Tool calls and their results as facts: what was touched and what came of it, not the dump.

A coding agent's memory needs "read ``src/cart.py`` lines 1-80", "edited ``src/cart.py``,
changing ``total()``", "``pytest -q`` failed (exit 1): ``assert 10.01 == 10.0``", "grep ``round\\(``
found 3 files" -- not the file that was read nor the thousand lines a command printed. The file
can be read again; the fact that it was read, and why it mattered, cannot.

Everything here is a pure function of a tool's name, input and result text, so the transcript
parser stays a thin loop and the rules can be tested one by one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from memcore.claude_code.background import SHELL_OUTPUT_TOOL, shell_id, started_task
from memcore.claude_code.briefs import brief_lines, is_brief_path
from memcore.claude_code.code_names import CALLS_LIMIT, called_names, defined_names, read_outline
from memcore.claude_code.commands import (
    TOOL_ERROR_TAG,
    error_lines,
    exit_code,
    is_check_command,
    is_trivial_command,
    masked_failure,
    one_line,
    outcome_lines,
    shown_command,
)
from memcore.claude_code.edit_changes import (
    changed_lines,
    changed_names,
    context_lines,
    enclosing_definition,
)
from memcore.claude_code.edit_texts import edit_facts
from memcore.claude_code.git_results import commits_made, git_result_lines, refs_pushed
from memcore.claude_code.other_calls import describe_other
from memcore.claude_code.outside_actions import action_result, is_outside_action
from memcore.claude_code.records import analysis_view
from memcore.lazy_re import lazy_compile

#: Tools that change a file: their result says which names changed.
EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
#: Tools that only look.
READ_TOOLS = frozenset({"Read", "NotebookRead"})
SEARCH_TOOLS = frozenset({"Grep", "Glob"})
#: The tool that starts a sub-agent: ``Task``, named ``Agent`` by newer Claude Code versions.
SUB_AGENT_TOOLS = frozenset({"Task", "Agent"})
#: Tools whose input names one file: the file is the thing accessed.
FILE_TOOLS = {
    "Read": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "Write": "file_path",
    "NotebookEdit": "notebook_path",
    "NotebookRead": "notebook_path",
}

#: A todo entry's text is cut at this many characters (TodoWrite, TaskCreate, TaskUpdate alike).
TODO_CHARS = 160
#: How a proposed plan's item begins (its title follows; the digest names the plan by it).
PLAN_PROPOSED = "Plan proposed: "
_MAX_READ_NAMES = 20
#: Tool errors that are Claude Code's guards on its own tools, not failures of the work: a call
#: cancelled because a parallel one failed, an edit of a file not read first.
HARNESS_GUARDS = ("Sibling tool call errored", "File has not been read yet")

_PATHS = lazy_compile(
    r"(?<![\w/.~-])(?:\.{0,2}/)?(?:[\w.@-]+/)+[\w.@-]*\w\.[A-Za-z0-9]{1,10}(?![\w/])"
)
#: A character a JSON answer escaped (``gh ... --jq`` writes ``>`` as ``\u003e``): read as
#: itself before paths are looked for, or ``\u003etests/a.ts`` named ``u003etests/a.ts``.
_JSON_ESCAPE = lazy_compile(r"\\u00([0-9a-fA-F]{2})")


def _unescaped(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 16))


_DIFF_SIDES = ("a/", "b/")


def _tidied(paths: list[str]) -> list[str]:
    """``paths`` with a review's mention of a file (CodeRabbit's ``@tests/a.ts``) said as the
    file's path, once: when the path is named without its ``@`` as well, or when it opens on a
    dot (``@.planning/x.md``: a package's scope never does); and without a path cut short in
    the output (``a.spec.t`` in a quoted comment cut at its length) beside the whole one; and a
    diff's ``a/x`` and ``b/x`` (``diff --git a/x b/x``) as ``x``."""
    if len(paths) < 2 and not (paths and paths[0][:1] == "@"):
        return paths
    named = set(paths)
    said = [
        path[1:] if path[:1] == "@" and (path[1:2] == "." or path[1:] in named) else path
        for path in paths
    ]
    said = [
        path[2:]
        if path[:2] in _DIFF_SIDES and {f"a/{path[2:]}", f"b/{path[2:]}"} <= named
        else path
        for path in said
    ]
    return [
        path
        for path in dict.fromkeys(said)
        if not any(
            other != path and other.startswith(path) and other[len(path) :].isalnum()
            for other in said
        )
    ]


#: A path a program's output names that is no file of the session: a placeholder of a help
#: text (``path/to/file.js``), a name the transcript had redacted (``.REDACTED.txt``), or a
#: repository a ``git push`` names (``obsessiondb/chkit.git``).
_PLACEHOLDER_PATH = lazy_compile(r"(?:^|/)path/to/|REDACTED|\.git$")
#: A Read result's line number, before each line of the file: ``     1→`` (or, as ``cat -n``
#: writes it and some Claude Code versions did, ``     1<tab>``), with the newline before it: a
#: pattern led by a literal is scanned for at C speed, where a MULTILINE ``^`` is tried at
#: every character (the text is given a newline in front)
_READ_PREFIX = lazy_compile(r"\n *\d+(?:\u2192|\t)")
_FOUND = lazy_compile(r"^Found (\d+) (files?|lines?|matches?)", re.MULTILINE)
#: A content search's line around a match, printed ``path-LINE-text`` (``path:LINE:text`` is
#: the match itself): the path is the part before ``-LINE-``.
_CONTEXT_LINE = lazy_compile(r"^(\S+?\.\w+)-\d+-")
_SPACE = lazy_compile(r"\s")
_MATCH_LINE = lazy_compile(r"^[^:\s]+:\d+:")
_REJECTED = "The user doesn't want to proceed with this tool use."
_USER_SAID = "the user said:\n"


#: A search's input asking for lines around each match (``-A 15``): its result's lines are
#: then mostly context, and the matches are the lines that say ``path:LINE:`` (or ``LINE:``).
_CONTEXT_FLAGS = ("-A", "-B", "-C", "context")
_MATCHED = lazy_compile(r"^(?:[^:\s]+:)?\d+:")


def access_key(tool: str, tool_input: Mapping[str, Any]) -> str:
    """The prefetcher's name for what a tool call touched: a file, a search, a command, a tool."""
    key = FILE_TOOLS.get(tool)
    if key and isinstance(tool_input.get(key), str):
        return f"file:{tool_input[key]}"
    if tool in SEARCH_TOOLS and isinstance(tool_input.get("pattern"), str):
        return f"search:{tool_input['pattern']}"
    if tool == "Bash" and isinstance(tool_input.get("command"), str):
        command = " ".join(tool_input["command"].split())
        return f"cmd:{command[:200]}"
    return f"tool:{tool}"


def tool_target(tool: str, tool_input: Mapping[str, Any]) -> dict[str, str]:
    """What a call names (file, pattern, command, path, url, query): its result goes under it."""
    target: dict[str, str] = {}
    for name in ("file_path", "notebook_path", "pattern", "command", "path", "url", "query"):
        value = tool_input.get(name)
        if isinstance(value, str):
            target["file_path" if name == "notebook_path" else name] = value
    # lines around each match asked for (see ``_found``); "around": a call's metadata, which
    # holds its target, read again by a later save (``resume``)
    if tool == "Grep" and any(tool_input.get(flag) for flag in (*_CONTEXT_FLAGS, "around")):
        target["around"] = "matches"
    if tool == SHELL_OUTPUT_TOOL:  # the background shell it reads
        shell = shell_id(tool_input)
        if shell is not None:
            target["shell_id"] = shell
    return target


def display_path(path: str, cwd: str | None) -> str:
    """``path`` relative to the session's working folder when inside it (shorter, and how people
    name files), else as given; a Windows folder's too, with forward slashes
    (``C:\\shop\\src\\a.py`` under ``C:\\shop`` is ``src/a.py``: the agent's own words and its
    shell's commands name it so, and one file keeps one name)."""
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1 :]
    if cwd and "\\" in cwd and path.startswith(cwd.rstrip("\\") + "\\"):
        return path[len(cwd.rstrip("\\")) + 1 :].replace("\\", "/")
    return path


def is_absolute_path(path: str) -> bool:
    """Whether ``path`` is absolute on the machine that wrote it: POSIX (``/a``) or Windows
    (``C:\\a``, ``C:/a``, ``\\\\server\\share``), whatever this machine is."""
    return path.startswith(("/", "\\\\")) or (
        len(path) > 2 and path[1] == ":" and path[0].isalpha() and path[2] in "\\/"
    )


def _range(tool_input: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    offset = tool_input.get("offset")
    limit = tool_input.get("limit")
    start = offset if isinstance(offset, int) and offset > 0 else 1
    if isinstance(limit, int) and limit > 0:
        return f"{start}-{start + limit - 1}"
    lines = meta.get("lines_read")
    if isinstance(lines, int) and lines > 0:
        return f"{start}-{start + lines - 1}"
    return f"{start}-end" if start > 1 else "all"


def describe_call(
    tool: str, tool_input: Mapping[str, Any], cwd: str | None, before: str | None = None
) -> tuple[str, dict[str, Any]]:
    """A tool call as one statement, and the metadata the digest and the linker read;
    ``before``: the file's text as last read, which a ``Write`` is compared with (renames)."""
    meta: dict[str, Any] = {}
    path = tool_input.get("file_path", tool_input.get("notebook_path"))
    if isinstance(path, str):
        meta["file_path"] = path
        shown = display_path(path, cwd)
        if tool in READ_TOOLS:
            meta["lines"] = _range(tool_input, {})
            return f"Read `{shown}` (lines {meta['lines']})", meta
        if tool in EDIT_TOOLS:
            meta.update(edit_facts(tool, tool_input, path, before))
            names, lines = meta["names"], meta["added_lines"]
            verb = "Write" if tool == "Write" else "Edit"
            how = "defining" if tool == "Write" else "changing"
            named = f", {how} {quoted_list(names)}" if names else ""
            # (a document: what it states, its code spans its own; code: its lines as code)
            said = meta.get("statements") or [f"`{line}`" for line in lines]
            added = f": {'; '.join(said)}" if said else ""
            return f"{verb} `{shown}`{named}{added}", meta
        return f"{tool} `{shown}`", meta
    if tool == "Bash" and isinstance(tool_input.get("command"), str):
        command = tool_input["command"]
        meta["command"] = command
        desc = tool_input.get("description")
        why = f" ({one_line(desc, 100)})" if isinstance(desc, str) and desc else ""
        return f"Run `{shown_command(command, 300)}`{why}", meta
    if tool in SEARCH_TOOLS and isinstance(tool_input.get("pattern"), str):
        meta["pattern"] = tool_input["pattern"]
        where = tool_input.get("path")
        if isinstance(where, str):
            meta["path"] = where
        inside = f" in `{display_path(where, cwd)}`" if isinstance(where, str) else ""
        return f"{tool} for `{one_line(tool_input['pattern'], 120)}`{inside}", meta
    if tool == "TodoWrite" and isinstance(tool_input.get("todos"), list):
        todos = [
            [str(t.get("status", "")), one_line(str(t.get("content", "")), TODO_CHARS)]
            for t in tool_input["todos"]
            if isinstance(t, Mapping)
        ]
        meta["todos"] = todos
        return "Todo list: " + "; ".join(f"[{s}] {c}" for s, c in todos), meta
    if tool == "TaskCreate" and isinstance(tool_input.get("subject"), str):
        meta["todos"] = [["pending", one_line(tool_input["subject"], TODO_CHARS)]]
        return f"Task created: {one_line(tool_input['subject'], TODO_CHARS)}", meta
    if tool == "ExitPlanMode" and isinstance(tool_input.get("plan"), str):  # the agent's plan
        plan = tool_input["plan"]
        meta["brief"] = brief_lines(plan)
        title = next((line for line in plan.splitlines() if line.strip()), "")
        return f"{PLAN_PROPOSED}{one_line(title.lstrip('# '), 160)}", meta
    if tool in SUB_AGENT_TOOLS and isinstance(tool_input.get("description"), str):
        meta["description"] = tool_input["description"]
        prompt = tool_input.get("prompt")
        if isinstance(prompt, str):  # what the agent asked its sub-agent: a brief it wrote
            meta["brief"] = brief_lines(prompt)
        return f"Sub-agent task: {one_line(tool_input['description'], 160)}", meta
    other = describe_other(tool, tool_input)
    if other is not None:
        return other
    for key in ("url", "query", "description", "subject", "prompt"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            meta[key] = value
            return f"{tool} {key}={one_line(value, 200)}", meta
    return tool, meta


# what names a rejected call that has no file: its command, address, pattern or description
_REJECTED_SUBJECTS = ("command", "url", "pattern", "description")


def quoted_list(names: Sequence[str]) -> str:
    """Names as code spans, joined for a sentence (a, b and c)."""
    quoted = [f"`{n}`" for n in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _article(word: str) -> str:
    """ "an" before a word that starts with a vowel letter ("an Edit call"), else "a"."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _is_image(text: str, tool_use_result: Any) -> bool:
    """Whether a read's result is an image (Claude Code reads a PNG or a JPEG as one: its
    blocks are ``[image]`` here, ``toolUseResult`` says ``"type": "image"``)."""
    if isinstance(tool_use_result, Mapping) and tool_use_result.get("type") == "image":
        return True
    return text.strip() == "[image]"


def describe_result(
    tool: str,
    target: Mapping[str, Any],
    text: str,
    is_error: bool,
    tool_use_result: Any,
    cwd: str | None,
) -> tuple[str, dict[str, Any]]:
    """A tool result as one statement (never the file that was read nor the whole output), and
    its metadata: ``exit_code`` for commands, ``count`` for searches, ``error_lines``."""
    meta: dict[str, Any] = {}
    path = target.get("file_path")
    shown = display_path(path, cwd) if isinstance(path, str) else ""
    whole, text = text, analysis_view(text)  # (read whole only for the lines it counts)
    if is_error and text.startswith(_REJECTED):
        said = text.split(_USER_SAID, 1)[1].strip() if _USER_SAID in text else ""
        meta["rejected"] = True
        reply = f"; the user said: {one_line(said, 400)}" if said else ""
        subject = shown or next(
            (str(target[k]) for k in _REJECTED_SUBJECTS if isinstance(target.get(k), str)), ""
        )
        if not subject:  # nothing names what it would have done: the call itself
            # (a result whose call is not in the transcript is of an "unknown" tool)
            call = "a tool call" if tool in ("", "unknown") else f"{_article(tool)} {tool} call"
            return f"The user rejected {call}{reply}", meta
        return f"The user rejected {tool} of `{one_line(subject, 200)}`{reply}", meta
    if is_error and any(guard in text for guard in HARNESS_GUARDS):
        # Claude Code's own guard, not a failure of the work: nothing to fix, nothing learned
        meta["refused"] = True
        what = f" of `{shown}`" if shown else ""
        said = one_line(TOOL_ERROR_TAG.sub("", text), 160)
        return f"Claude Code refused {tool}{what}: {said}", meta
    if tool == "Bash":
        command = shown_command(str(target.get("command", "")), 300)
        code = exit_code(text, is_error)
        meta["exit_code"] = code
        started = None if is_error else started_task(text)
        if started is not None:  # its outcome comes by TaskOutput
            meta["task_id"] = started
            return f"`{command}` started in the background", meta
        if is_error or code != 0:
            lines = error_lines(text)
            meta["error_lines"] = lines
            said = ": " + " | ".join(lines) if lines else " with no output"
            return f"`{command}` failed (exit {code}){said}", meta
        masked = masked_failure(command, text)
        if masked:  # a check piped into tail: its output says what its exit status cannot
            meta["error_lines"] = masked
            meta["failed_output"] = True
            return f"`{command}` failed (its output; the pipe exited 0): " + " | ".join(
                masked
            ), meta
        whole_command = str(target.get("command", ""))
        commits, pushed = commits_made(whole_command, text), refs_pushed(whole_command, text)
        if commits:
            meta["commits"] = commits  # ``[branch, sha, subject]``: what the digest says done
        if pushed:
            meta["pushed"] = pushed
        outcome = outcome_lines(text) if is_check_command(command) else []
        if is_outside_action(whole_command):  # (the URL of what it made, or its first lines)
            acted = action_result(text)
            if acted:
                meta["acted"] = acted
        if commits or pushed:  # (git's own words for what it saved or sent)
            outcome = git_result_lines(commits, pushed)[:3]
        scanned = _JSON_ESCAPE.sub(_unescaped, text) if "\\u00" in text else text
        in_output = (p for p in _PATHS.findall(scanned) if not _PLACEHOLDER_PATH.search(p))
        paths = _tidied(list(dict.fromkeys(display_path(p, cwd) for p in in_output)))[:8]
        if paths:
            meta["paths"] = paths  # the files a command named (git status, a diff --stat...)
        # (its first three lines with text: enough to tell an answer of one or two)
        short = [one_line(line) for line in islice(_lines_with_text(text), 3)]
        if short and short[0].startswith(("{", "[")):
            short = []  # data (a JSON answer), not a sentence about the outcome
        if not outcome and 0 < len(short) <= 2 and not is_trivial_command(command):
            outcome = short  # a short answer ("[main 1a2b3c] Fix rounding") is the outcome
        meta["outcome"] = outcome
        said = f": {' | '.join(outcome)}" if outcome else ""
        named = f"; it named {quoted_list(paths[:4])}" if paths and not outcome else ""
        return f"`{command}` succeeded (exit 0){said}{named}", meta
    if is_error:
        lines = _tool_error_lines(text)
        meta["error_lines"] = lines
        what = f" `{shown}`" if shown else ""
        return f"{tool}{what} failed: " + " | ".join(lines), meta
    if tool in READ_TOOLS and _is_image(whole, tool_use_result):
        return f"Read `{shown}`: an image", meta  # (a screenshot, a diagram: no lines, no text)
    if tool in READ_TOOLS:
        lines_read = _lines_read(whole, tool_use_result)
        meta["lines_read"] = lines_read
        # the outline of what was read (its definitions), never its text
        body = file_text(text)
        defines, meta["calls"] = read_outline(body, _MAX_READ_NAMES)
        meta["defines"] = defines
        if isinstance(path, str) and is_brief_path(path):  # a plan, a spec: what was asked
            meta["brief"] = brief_lines(body)
        outline = f", defining {quoted_list(defines)}" if defines else ""
        return f"Read `{shown}`: {lines_read} lines{outline}", meta
    if tool in EDIT_TOOLS:
        created = isinstance(tool_use_result, Mapping) and tool_use_result.get("type") == "create"
        if tool == "Write" and isinstance(tool_use_result, Mapping) and "type" in tool_use_result:
            meta["created"] = created  # a Write of a file that was there rewrote it
        inside = enclosing_definition(tool_use_result)
        if inside:
            meta["enclosing"] = inside
        where = f" in `{inside}`" if inside else ""
        return f"{'Created' if created else 'Updated'} `{shown}`{where}", meta
    if tool in SEARCH_TOOLS:
        count = _found(whole, tool_use_result, target)
        meta["count"] = count
        more = ""
        if isinstance(tool_use_result, Mapping) and tool_use_result.get("truncated") is True:
            meta["truncated"] = True  # Claude Code lists the first 100: there were more
            more = " or more"
        files = _hit_files(text, cwd)
        hits = f" in {', '.join(f'`{f}`' for f in files)}" if files else ""
        pattern = one_line(str(target.get("pattern", "")), 120)
        return f"{tool} `{pattern}` found {count}{more}{hits}", meta
    if (tool in SUB_AGENT_TOOLS or tool == "TaskOutput") and text:
        meta["report"] = True  # a sub-agent's report: its statements are findings
        return whole, meta
    return f"{tool} done: {one_line(text, 300)}" if text else f"{tool} done", meta


#: Folders of installed dependencies: a search's hits there are not the project's files.
_DEPENDENCIES = frozenset(["node_modules", "vendor", ".venv", "venv", "site-packages", "Pods"])
#: Result lines a search's hits are looked for in (a content search can print thousands).
_HIT_LINES = 400


def _dependency_folder(shown: str) -> str | None:
    """``example/node_modules/`` for ``example/node_modules/x/package.json``; None for a path
    outside every dependency folder."""
    parts = shown.split("/")
    for at, part in enumerate(parts[:-1]):
        if part in _DEPENDENCIES:
            return "/".join(parts[: at + 1]) + "/"
    return None


def _hit_files(text: str, cwd: str | None, limit: int = 3) -> list[str]:
    """The first files a search hit (from ``path`` or ``path:line:text`` result lines), the
    project's own before those of its dependencies: only when it hit nothing else, the
    dependency folder its first hit is in (``node_modules/``, not three packages' READMEs)."""
    files: dict[str, None] = {}
    elsewhere: str | None = None
    lines = text.splitlines()[:_HIT_LINES]
    # lines around a match come only with matches (``path:LINE:``): a list of files, the
    # default output, names its files whole, a date or a number in their names included
    content = any(_MATCH_LINE.match(line) for line in lines)
    for line in lines:
        if _FOUND.match(line) or not line.strip() or line == "--":  # ("--": between groups)
            continue
        path = line.split(":", 1)[0].strip()
        context = _CONTEXT_LINE.match(path) if content and not _MATCH_LINE.match(line) else None
        if context is not None:  # a line around a match (``-A``/``-B``/``-C``): its file's
            path = context.group(1)
        if ("/" in path or "." in path) and not _SPACE.search(path) and len(path) < 200:
            shown = display_path(path, cwd)
            folder = _dependency_folder(shown)
            if folder is not None:
                elsewhere = elsewhere or folder
                continue
            files.setdefault(shown, None)
            if len(files) >= limit:
                break
    return list(files) if files or elsewhere is None else [elsewhere]


def _tool_error_lines(text: str) -> list[str]:
    """What a failed call of a tool other than a shell says went wrong: Claude Code's message
    (``<tool_use_error>``) is its first line, and what follows echoes the call's input ("String:
    ..." after "Found 2 matches of the string to replace"), whatever words of failure that
    code holds; any other failure's lines as a command's are read (``error_lines``)."""
    if TOOL_ERROR_TAG.match(text.lstrip()):
        first = next(_lines_with_text(TOOL_ERROR_TAG.sub("", text)), "").strip()
        if first:  # (its first sentence: the rest says how to call the tool instead)
            end = first.find(". ")
            return [one_line(first[: end + 1] if end > 0 else first)]
    return error_lines(text)


def file_text(text: str) -> str:
    """A ``Read`` result's text without its line numbers: the file as it was read."""
    return _READ_PREFIX.sub("\n", "\n" + text)[1:]


def _lines_with_text(text: str) -> Iterator[str]:
    return (line for line in text.splitlines() if line.strip())


def _lines_read(text: str, tool_use_result: Any) -> int:
    if isinstance(tool_use_result, Mapping):
        file = tool_use_result.get("file")
        if isinstance(file, Mapping) and isinstance(file.get("numLines"), int):
            return int(file["numLines"])
    return len(_READ_PREFIX.findall("\n" + text))


def _found(text: str, tool_use_result: Any, target: Mapping[str, Any]) -> int:
    """How much a search found: its matches (with lines around them asked for: the lines of
    matches, not of context), else the files or lines Claude Code counted."""
    if target.get("around"):
        matched = sum(1 for line in text.splitlines() if _MATCHED.match(line))
        if matched:
            return matched
    if isinstance(tool_use_result, Mapping):
        for key in ("numFiles", "numLines", "numMatches"):
            value = tool_use_result.get(key)
            if isinstance(value, int) and value:
                return value
    found = _FOUND.search(text)
    if found:
        return int(found.group(1))
    if text.startswith("No ") or not text.strip():
        return 0
    return sum(1 for line in text.splitlines() if line.strip())


__all__ = [
    "CALLS_LIMIT",
    "EDIT_TOOLS",
    "FILE_TOOLS",
    "PLAN_PROPOSED",
    "READ_TOOLS",
    "SEARCH_TOOLS",
    "TODO_CHARS",
    "access_key",
    "called_names",
    "changed_lines",
    "changed_names",
    "context_lines",
    "defined_names",
    "describe_call",
    "describe_result",
    "display_path",
    "enclosing_definition",
    "file_text",
    "is_absolute_path",
    "quoted_list",
    "tool_target",
]
