"""Documents handed to the agent as its task: a plan, a spec, review feedback.

A file the agent reads is not memory: it can be read again. A plan the user attached
(``.context/attachments/plan.md``), a spec under ``docs/plans/``, a ``REVIEW.md`` the agent is
asked to resolve are different: they say what was asked, in the user's stead, and a handover
note keeps what they ask for. Such a document is recognized by its name (a prose file whose name
or folder says plan, spec, requirements, design, review, ...); of its text only the statements
that name something exact (a code span, a path, a called name) are kept, one line each, as the
read's ``brief`` metadata -- never the document itself.
"""

from __future__ import annotations

from memcore._kernels import prose
from memcore.lazy_re import lazy_compile

#: Prose files: only these can be a brief.
_DOCUMENT_SUFFIXES = (".md", ".mdx", ".markdown", ".txt", ".rst")
#: A name or folder that says the document is a task: a plan, a spec, feedback to resolve.
_BRIEF_NAME = lazy_compile(
    r"(?i)(?:^|[/_.\s-])(?:plans?|specs?|specification|requirements?|design|proposal|rfc|adr|"
    r"todo|tasks?|review|feedback|issue|prd|brief|attachments?)(?:[/_.\s-]|\d|$)"
)
_FENCE = ("```", "~~~")
#: A heading's, a list item's or a quote's mark (a checklist's box too); a list's mark has a
#: blank after it (``**Label:**`` opens with emphasis, not with a ``*`` item).
_MARK = lazy_compile(r"^(?:#+|[-*+](?=\s)|\d+[.)](?=\s)|>)\s*(?:\[[ xX]\]\s+)?")
#: At most this many lines of one brief, each at most this many characters.
MAX_BRIEF_LINES = 80
_LINE_CHARS = 240
_MIN_WORDS = 3
_SENTENCE_END = lazy_compile(r"(?<=[.!?])\s+(?=[A-Z`(])")


def is_brief_path(path: str) -> bool:
    """Whether the file at ``path`` is a document that states a task (by its name and folder)."""
    lower = path.lower()
    if not lower.endswith(_DOCUMENT_SUFFIXES):
        return False
    tail = "/".join(lower.replace("\\", "/").split("/")[-2:])  # the file and its folder
    return _BRIEF_NAME.search(tail) is not None


def _paragraphs(text: str) -> list[str]:
    """The document's paragraphs and list items, each on one line (hard-wrapped lines joined;
    headings, list marks and emphasis taken off; code blocks and tables left out)."""
    out: list[str] = []
    current: list[str] = []
    fenced = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(_FENCE):
            fenced = not fenced
            line = ""
        if fenced or not line or line[0] == "|":
            if current:
                out.append(" ".join(current))
                current = []
            continue
        # a heading or a list item starts a new block, as does a bold lead-in (``**File:**``)
        marked = _MARK.match(line) is not None or line.startswith("**")
        if marked and current:
            out.append(" ".join(current))
            current = []
        current.append(_MARK.sub("", line).replace("**", "").strip())
        if line.startswith("#"):  # a heading is a block of its own
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return out


def brief_lines(text: str, limit: int = MAX_BRIEF_LINES) -> list[str]:
    """The sentences of a brief that name something exact, in order, one line each (at most
    ``limit``; a repeat said once)."""
    out: dict[str, None] = {}
    for block in _paragraphs(text):
        for sentence in _SENTENCE_END.split(block):
            line = sentence.strip()
            if len(line.split()) < _MIN_WORDS or not prose.find_identifiers(line):
                continue
            if len(line) > _LINE_CHARS:
                cut = line[:_LINE_CHARS].rsplit(" ", 1)[0]
                if cut.count("`") % 2:  # no code span left open
                    cut = cut[: cut.rfind("`")].rstrip()
                line = cut + "\u2026"
            out.setdefault(line, None)
            if len(out) >= limit:
                return list(out)
    return list(out)


__all__ = ["MAX_BRIEF_LINES", "brief_lines", "is_brief_path"]
