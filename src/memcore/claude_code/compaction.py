"""Claude Code's compaction summary, read by its sections.

The summary Claude Code writes when it compacts a session numbers its sections ("1. Primary
Request and Intent:", "2. Key Technical Concepts:", "3. Files and Code Sections:", ... "9.
Optional Next Step:"). Its request section is what the user asked before the compaction, often
the only account of it left (a session continued from another starts with the summary); the
other sections are statements like the agent's own, except the user's messages quoted again
and the request (a request, not a statement).
"""

from __future__ import annotations

from collections.abc import Mapping

from memcore.lazy_re import lazy_compile

#: A section's heading: its number, its title (bold or not), a colon; or the same as a markdown
#: heading ("## 1. Primary Request and Intent"), whose colon may be missing. At a line's start:
#: an indented "5. All hook handlers: dispatch ..." is an item of a list inside a section.
_HEADING = lazy_compile(
    r"(?m)^(?:(#{1,6})[ \t]*)?\d+\.[ \t]*\**(?P<title>[A-Z][A-Za-z ,&/-]{2,60}?)\**[ \t]*"
    r"(?::\**|(?(1)[ \t]*$|(?!)))"
)
_REQUEST = "primary request and intent"
#: What was left to do when the session was compacted: the summary's open work, not results.
PENDING_SECTIONS = ("pending tasks", "optional next step")
#: Sections whose lines are no statements of the session's work.
_NOT_STATEMENTS = frozenset({_REQUEST, "all user messages", *PENDING_SECTIONS})
#: How a summary says nothing was left ("None.", "No pending tasks", "None explicitly
#: requested", "All tasks completed", "No next step - the task is complete").
_NOTHING_LEFT = lazy_compile(
    r"(?i)(?:(?:none|n/a|nothing)(?:[\s,:-]+\w+){0,4}[.!]?$"
    r"|no\b(?! doubt)[^.]{0,40}?\b(?:pending|left|remain|requested|next step|further"
    r"|outstanding|tasks?)\b"
    r"|all (?:\w+ )?(?:tasks?|work|items?) (?:are |is |have been )?(?:complete|completed|done"
    r"|finished)\b)"
)
#: A list item's mark, with its indentation.
_ITEM_MARK = lazy_compile(r"^\s*(?:[-*+\u2022]|\d{1,2}[.)])\s+")


def is_compaction_summary(metadata: Mapping[str, object]) -> bool:
    """Whether an item's ``metadata`` marks it as Claude Code's compaction summary (the
    importer's ``summary`` item marked ``compaction``)."""
    return metadata.get("kind") == "summary" and metadata.get("compaction") is True


#: The first words of a numbered line that is a statement, not a section's title: the
#: analysis before the sections numbers its steps too ("4. I then read many key files:").
_STATEMENT_OPENING = frozenset({"i", "we", "you", "they", "he", "she", "it", "the user"})


def _is_statement(title: str) -> bool:
    words = title.split(None, 2)
    return bool(words) and (
        words[0].lower() in _STATEMENT_OPENING or " ".join(words[:2]).lower() == "the user"
    )


def _sections(summary: str) -> list[tuple[str, int, int]]:
    """(lowercased title, start, end) of each numbered section, the text before the first one
    (the summary's preamble and analysis) under the title "". A numbered line that states
    something ("4. I then read many key files:", a step of the analysis) is no section's
    heading: it stays in the text of the section it is in, the lead-in of its list."""
    heads = [h for h in _HEADING.finditer(summary) if not _is_statement(h.group("title"))]
    out = [("", 0, heads[0].start() if heads else len(summary))]
    for at, head in enumerate(heads):
        end = heads[at + 1].start() if at + 1 < len(heads) else len(summary)
        out.append((head.group("title").strip().lower(), head.end(), end))
    return out


def summary_request(summary: str) -> list[str]:
    """The words of the summary's "Primary Request and Intent" section (markdown bold marks
    removed); empty when it has none."""
    for title, start, end in _sections(summary):
        if title == _REQUEST:
            return summary[start:end].replace("**", "").split()
    return []


def summary_statements(summary: str) -> str:
    """The summary without the sections that hold no statements of the work (see
    ``_NOT_STATEMENTS``): what its sentences are taken from."""
    kept = [summary[s:e] for title, s, e in _sections(summary) if title not in _NOT_STATEMENTS]
    return "\n".join(kept)


def summary_pending(summary: str) -> list[tuple[str, str, int]]:
    """What the summary says was left to do, as ``(section, text, depth)``: each item of its
    "Pending Tasks" list (the section's lines, when it has no list), 1 deep when nested in
    another, and its "Optional Next Step" whole; each on one line. "None" says there is
    nothing."""
    out: list[tuple[str, str, int]] = []
    for title, start, end in _sections(summary):
        if title not in PENDING_SECTIONS:
            continue
        body = summary[start:end].replace("**", "")
        if title == "optional next step":
            pieces = [(body, 0)]
        else:
            lines = [line for line in body.splitlines() if line.strip()]
            items = [line for line in lines if _ITEM_MARK.match(line)]
            top = min((len(line) - len(line.lstrip()) for line in items), default=0)
            pieces = [(line, int(len(line) - len(line.lstrip()) > top)) for line in items] or [
                (line, 0) for line in lines
            ]
        for piece, depth in pieces:
            text = " ".join(_ITEM_MARK.sub("", piece).split())
            if text and not _NOTHING_LEFT.match(text):
                out.append((title, text, depth))
    return out


__all__ = [
    "PENDING_SECTIONS",
    "is_compaction_summary",
    "summary_pending",
    "summary_request",
    "summary_statements",
]
