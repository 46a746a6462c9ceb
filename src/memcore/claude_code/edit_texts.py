"""What an edit changed, read from its texts: the names it defined or changed, the lines it
added, took out and kept around, the sections a document gained, renames, a document's title.

An agent's edit is an ``old_string``/``new_string`` pair (a ``Write``: a whole file); the fact
worth keeping is "changed ``total()``: ``return round(x, 2)``", not the pair. Pure functions of
the tool's name and input, split from ``tools`` (which says each call in one statement).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from memcore.claude_code.briefs import brief_lines
from memcore.claude_code.code_names import MAX_NAMES, defined_names, is_defined_in
from memcore.claude_code.commands import one_line
from memcore.claude_code.edit_changes import (
    changed_lines,
    changed_names,
    context_lines,
    renamed_names,
)
from memcore.lazy_re import lazy_compile

#: An edit's metadata keeps at most this many renames.
MAX_RENAMES = 12

#: Documents whose first heading is their title: a Write of one is said by it (the names in
#: its code samples say less of what it is). Plain ``.txt`` files are left out: most are lists
#: (``requirements.txt``) whose first ``#`` line is a comment.
DOCUMENT_SUFFIXES = (".md", ".mdx", ".markdown", ".rst")
_TITLE_CHARS = 120
_ATX_HEADING = lazy_compile(r"#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")
_UNDERLINE = lazy_compile(r"(=+|-+|~+|\^+)")
_NOT_A_TITLE = ("- ", "* ", "+ ", "> ", "#", "|", "```", "~~~")


def document_title(path: str, content: object) -> str | None:
    """The title of a document written whole: its first heading (``# Title``, or a line
    underlined with ``===`` or ``---`` as markdown and reStructuredText allow), outside YAML
    front matter and code fences, cut to a line; None for other files or without one."""
    if not isinstance(content, str) or not path.lower().endswith(DOCUMENT_SUFFIXES):
        return None
    lines = content.splitlines()[:60]
    if lines and lines[0].strip() == "---":  # YAML front matter: its fields are no title
        ends = [n for n, line in enumerate(lines[1:], 1) if line.strip() == "---"]
        lines = lines[ends[0] + 1 :] if ends else lines[1:]
    previous = ""
    fenced = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced, previous = not fenced, ""
            continue
        if fenced:
            continue
        heading = _ATX_HEADING.fullmatch(stripped)
        if heading:
            return _title(heading.group(1))
        if previous and len(stripped) >= 3 and _UNDERLINE.fullmatch(stripped):
            return _title(previous)
        previous = "" if stripped.startswith(_NOT_A_TITLE) else stripped
    return None


def _title(text: str) -> str | None:
    printable = "".join(ch for ch in text if ch.isprintable()).strip()
    return one_line(printable, _TITLE_CHARS) or None


#: How much of each text of an edit (its old and new strings, a written file) is read for the
#: names and lines it changed: its first lines up to this many characters. Agents' edits are
#: far smaller; a generated file of megabytes would otherwise cost a hook seconds.
EDIT_ANALYZED_CHARS = 65_536


def _edit_text(text: object) -> str:
    """``text`` (a string, else nothing) cut to ``EDIT_ANALYZED_CHARS`` after a whole line."""
    if not isinstance(text, str):
        return ""
    if len(text) <= EDIT_ANALYZED_CHARS:
        return text
    cut = text.rfind("\n", 0, EDIT_ANALYZED_CHARS)
    return text[: cut + 1] if cut > 0 else text[:EDIT_ANALYZED_CHARS]


def _edit_pairs(tool: str, tool_input: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An edit's ``(old, new)`` texts (a Write: the empty text, then the file), as far as they
    are read (``EDIT_ANALYZED_CHARS``)."""
    if tool == "Write":
        return [("", _edit_text(tool_input.get("content")))]
    pairs: list[tuple[str, str]] = []
    if tool == "MultiEdit" and isinstance(tool_input.get("edits"), list):
        for edit in tool_input["edits"]:
            if isinstance(edit, Mapping):
                old, new = edit.get("old_string", ""), edit.get("new_string", "")
                pairs.append((_edit_text(str(old)), _edit_text(str(new))))
    else:
        old = tool_input.get("old_string", "")
        new = tool_input.get("new_string", tool_input.get("new_source", ""))
        pairs.append((_edit_text(old), _edit_text(new)))
    return pairs


def _edit_names(tool: str, tool_input: Mapping[str, Any]) -> list[str]:
    if tool == "Write":
        return defined_names(_edit_text(tool_input.get("content")))
    names: dict[str, None] = {}
    for old, new in _edit_pairs(tool, tool_input):
        for name in changed_names(old, new):
            names.setdefault(name, None)
    return list(names)[:MAX_NAMES]


def _in_code_spans(names: list[str], tool: str, tool_input: Mapping[str, Any]) -> list[str]:
    """Of the names a document's edit changed, those its text writes as code (in backticks or
    a fenced block): its prose's capitalized words (``GitHub``) are no names it changed."""
    code = " ".join(
        found.group(1) or found.group(2)
        for _, new in _edit_pairs(tool, tool_input)
        for found in _CODE_SPAN.finditer(new)
    )
    return [name for name in names if name.removesuffix("()") in code]


#: A code span or a fenced block's body in a document's text.
_CODE_SPAN = lazy_compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.DOTALL)


def _edit_renames(tool: str, tool_input: Mapping[str, Any], before: str | None) -> list[list[str]]:
    """The ``[old, new]`` names an edit renamed (see ``renamed_names``), in order; a ``Write``
    against ``before``, the file as last read (none: nothing to compare with)."""
    found: dict[tuple[str, str], None] = {}
    pairs = _edit_pairs(tool, tool_input)
    if tool == "Write":
        pairs = [(before, pairs[0][1])] if before else []
    for old, new in pairs:
        replaced = renamed_names(old, new)
        # a rename when the edit renames a definition (its other names replaced one for one
        # are that rename's uses); names replaced where no definition changed are a call or a
        # reference moved to another name, which may well be defined beside the old one
        if any(is_defined_in(a, old) or is_defined_in(b, new) for a, b in replaced):
            for pair in replaced:
                found.setdefault(pair, None)
    return [list(pair) for pair in found][:MAX_RENAMES]


#: A replace-all edit's texts longer than this (or of several lines) are no one thing replaced.
REPLACED_ALL_CHARS = 80


def _replaced_all(tool: str, tool_input: Mapping[str, Any]) -> list[list[str]]:
    """The ``[old, new]`` texts of an edit made with ``replace_all``, each one line: every
    ``'#9ca3af'`` in the file became ``'#006644'``, every ``Phoenix.ConnTest.build_conn()``
    became ``build_conn()``. Such an edit says in a few words what it did to the whole file,
    which its added lines (one occurrence's) do not."""
    edits = tool_input.get("edits") if tool == "MultiEdit" else [tool_input]
    found: dict[tuple[str, str], None] = {}
    for edit in edits if isinstance(edits, list) else ():
        if not isinstance(edit, Mapping) or edit.get("replace_all") is not True:
            continue
        old, new = edit.get("old_string"), edit.get("new_string")
        if not isinstance(old, str) or not isinstance(new, str):
            continue
        old, new = old.strip(), new.strip()
        # (a backtick in either cannot be quoted as code in the digest's line)
        if not old or old == new or "\n" in old + new or "`" in old + new:
            continue
        if len(old) <= REPLACED_ALL_CHARS and len(new) <= REPLACED_ALL_CHARS:
            found.setdefault((old, new), None)
    return [list(pair) for pair in found][:MAX_RENAMES]


def _from_texts(
    tool: str, tool_input: Mapping[str, Any], pick: Callable[[str, str], list[str]], most: int
) -> list[str]:
    """What ``pick(old, new)`` finds in each of an edit's texts (``_edit_pairs``), best first,
    each once, at most ``most``."""
    found: dict[str, None] = {}
    for old, new in _edit_pairs(tool, tool_input):
        for line in pick(old, new):
            found.setdefault(line, None)
    return list(found)[:most]


def _edit_lines(tool: str, tool_input: Mapping[str, Any], *, removed: bool = False) -> list[str]:
    """The lines an edit added (``removed``: the lines it took out), best first."""
    pick = (lambda old, new: changed_lines(new, old)) if removed else changed_lines
    return _from_texts(tool, tool_input, pick, 8)


def _edit_headings(tool: str, tool_input: Mapping[str, Any]) -> list[str]:
    """The headings an edit of a document added (``added_headings``), at most 8."""
    return _from_texts(tool, tool_input, added_headings, 8)


def added_headings(old: str, new: str) -> list[str]:
    """The markdown headings (``## Commands``) in ``new`` that ``old`` does not have, outside
    code fences, in order; not a new document's title (its first heading, of level 1), which
    says what the file is, not what it holds."""
    had = {line.strip() for line in old.splitlines()}
    out: list[str] = []
    fenced = False
    for line in new.splitlines():
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or stripped in had or "`" in stripped or len(stripped) > 100:
            continue
        heading = _ATX_HEADING.fullmatch(stripped)
        if heading and heading.group(1).strip():
            out.append(stripped)
    if out and not old.strip() and out[0].startswith("# "):
        out = out[1:]
    return out


#: A document's edit keeps at most this many of the statements it added.
MAX_DOCUMENT_STATEMENTS = 20
_FENCES = ("```", "~~~")


def document_statements(tool: str, tool_input: Mapping[str, Any]) -> list[str]:
    """The statements an edit of a document added that name something exact (a command, a
    path, a version: ``Run a single test: `npm test -- <pattern>```), in order, at most
    ``MAX_DOCUMENT_STATEMENTS`` (``briefs.brief_lines`` of its added lines). A CLAUDE.md or a
    README the agent writes is what it learned of the project; its code-bearing lines alone
    (``added_lines``, which leave out lines with code spans) keep lead-ins instead."""
    found: dict[str, None] = {}
    for old, new in _edit_pairs(tool, tool_input):
        had = {line.strip() for line in old.splitlines()}
        # the lines the edit kept are blanked (each a break between paragraphs), its fences kept
        # (a code block's lines stay code, fenced in the old text or the new)
        added = "\n".join(
            line if line.strip() not in had or line.lstrip().startswith(_FENCES) else ""
            for line in new.splitlines()
        )
        for line in brief_lines(added, MAX_DOCUMENT_STATEMENTS):
            found.setdefault(line, None)
    return list(found)[:MAX_DOCUMENT_STATEMENTS]


def _edit_context(tool: str, tool_input: Mapping[str, Any]) -> list[str]:
    """The code lines an edit kept around its changes, best first."""
    return _from_texts(tool, tool_input, context_lines, 4)


def edit_facts(
    tool: str, tool_input: Mapping[str, Any], path: str, before: str | None
) -> dict[str, Any]:
    """What an edit of ``path`` changed, as the metadata the digest and the linker read:
    ``names``, ``added_lines`` and, where there are some, ``headings`` and ``statements``
    (documents: :func:`document_statements`),
    ``removed_lines`` and ``context_lines`` (edits, not writes), ``renamed``,
    ``replaced_all``, ``title``;
    ``before``: the file's text as last read, which a ``Write`` is compared with (renames)."""
    facts: dict[str, Any] = {}
    document = path.lower().endswith(DOCUMENT_SUFFIXES)
    names = _edit_names(tool, tool_input)
    if document:
        names = _in_code_spans(names, tool, tool_input)
    facts["names"] = names
    facts["added_lines"] = _edit_lines(tool, tool_input)
    if document:
        # a section is what a document's edit adds (its lines with a colon are lead-ins, not
        # the assignments they are in code): the digest says these
        headings = _edit_headings(tool, tool_input)
        if headings:
            facts["headings"] = headings
        statements = document_statements(tool, tool_input)
        if statements:
            facts["statements"] = statements
    if tool != "Write":  # what the edit took out: a renamed string, a replaced call
        facts["removed_lines"] = _edit_lines(tool, tool_input, removed=True)
        context = _edit_context(tool, tool_input)  # and the code kept around the change
        if context:
            facts["context_lines"] = context
    renamed = _edit_renames(tool, tool_input, before)
    if renamed:
        facts["renamed"] = renamed
    replaced = [pair for pair in _replaced_all(tool, tool_input) if pair not in renamed]
    if replaced:
        facts["replaced_all"] = replaced
    title = document_title(path, tool_input.get("content")) if tool == "Write" else None
    if title:
        facts["title"] = title
    return facts
