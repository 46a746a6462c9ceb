"""What a piece of transcript text is: a user's request, Claude Code's own scaffolding, or an
assistant's conclusion, decision or narration.

Claude Code writes its machinery into the conversation as if the user had typed it: task
notifications, system reminders, "[Request interrupted by user]", local-command caveats and
output, slash-command wrappers, the continuation summary after a compaction. None of that is
something the user asked, so none of it may become a ``task`` or reach a summary. The parser
does not import scaffolding as memory at all; it counts it in ``Transcript.skipped_types``
under ``scaffolding:<what>`` (slash commands stay, as ``shortcut`` items, except Claude Code's
own session-control commands such as ``/context`` or ``/exit``; compaction summaries stay, as
``summary`` items marked ``compaction``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from memcore.lazy_re import lazy_compile
from memcore.model import Priority

_COMMAND_NAME = lazy_compile(r"<command-name>\s*(/?[\w:.-]+)\s*</command-name>")
_COMMAND_ARGS = lazy_compile(r"<command-args>(.*?)</command-args>", re.DOTALL)
COMPACTION_PREFIX = "This session is being continued from a previous conversation"

_SCAFFOLDING_PREFIXES: tuple[tuple[str, str], ...] = (
    ("<task-notification", "task-notification"),
    ("<agent-notification", "agent-notification"),
    ("<system-reminder", "system-reminder"),
    ("<local-command-caveat", "local-command-caveat"),
    ("<local-command-stdout", "local-command-stdout"),
    ("<local-command-stderr", "local-command-stderr"),
    ("<bash-input", "bash-input"),
    ("<bash-stdout", "bash-stdout"),
    ("<bash-stderr", "bash-stderr"),
    ("<user-prompt-submit-hook", "hook-output"),
    # a hook refused the prompt: Claude Code writes its reason as a user message
    ("Operation stopped by hook:", "hook-blocked"),
    ("[Request interrupted by user", "interrupted"),
    ("<system_instruction", "system-instruction"),
    # a skill's instructions, injected when the agent loads it: the call names the skill
    ("Base directory for this skill:", "skill-instructions"),
)

#: Claude Code's own session-control commands (``/context``, ``/exit``, ``/model`` ...): they
#: steer the tool, not the work, so they are scaffolding -- not a request, not a shortcut worth
#: recalling. One list, read by the transcript parser, the digest and the hooks.
SESSION_CONTROL = frozenset(
    {
        "/add-dir", "/agents", "/bashes", "/bug", "/clear", "/compact", "/config", "/context",
        "/cost", "/doctor", "/exit", "/export", "/help", "/hooks", "/ide", "/login", "/logout",
        "/mcp", "/memory", "/model", "/output-style", "/permissions", "/plugin",
        "/privacy-settings", "/quit", "/release-notes", "/resume", "/rewind", "/sandbox",
        "/status", "/statusline", "/terminal-setup", "/theme", "/todos", "/upgrade", "/usage",
        "/vim",
    }
)  # fmt: skip

# A stated preference: an instruction about how to work from now on, not a one-off request. The
# marker must open an instruction (``Always run the tests``, ``Please never push to main``,
# ``You should always ...``) or be ``from now on``: "always" inside a purpose clause ("so we are
# always using the latest code?"), a quoted title ("Reason Never Displayed") or pasted text is no
# preference. Only short sentences count: a pasted review or log is no instruction.
_LEAD_IN = (
    r"(?:(?:ok(?:ay)?|and|also|so|but|please|note)[,:]?\s+)*"
    r"(?:(?:you|we|claude)\s+(?:should|must|need to)\s+)?"
)
_PREFERENCE_STRONG = lazy_compile(
    rf"(?i)^{_LEAD_IN}(?:always|never|do not ever|don't ever|every time)\b|\bfrom now on\b"
)
_PREFERENCE_WEAK = lazy_compile(
    r"\b(i prefer|prefer to|i'd rather|i would rather|please use|please don't|don't use|"
    r"do not use|avoid using|i like|my preference)\b",
    re.IGNORECASE,
)
#: The user picking one of the options the agent offered ("I like a slightly edited
#: option2", "I'd rather go with approach B"): this session's choice, no lasting preference.
_PICKS_OPTION = lazy_compile(r"(?i)\b(?:option|approach|alternative|variant)\s*#?(?:\d|[a-d]\b)")
#: A state the user says is meant ("we removed the session commands on purpose"): an agent that
#: takes it for a gap to fill undoes the user's choice, so it is kept as one.
_DELIBERATE = lazy_compile(r"(?i)\b(on purpose|intentionally|by design|deliberately)\b")
#: A sentence longer than this many words is no stated preference (pasted text, a long request).
_PREFERENCE_WORDS = 30
_SENTENCE_SPLIT = lazy_compile(r"(?<=[.!?])\s+|\n+")

# Assistant statements. A conclusion reports what is now known or done; a decision says what
# will be done and why; narration announces the next step ("Let me read the file").
CONCLUSION = lazy_compile(
    r"(?i)\b(all \d+ tests? pass\w*|tests? (now )?pass\w*|\d+ (passed|failed)|passes|passing|"
    r"fixed|the (bug|issue|problem|error|cause|fix) (is|was)|root cause|turns out|"
    r"found (that|the)|works now|now works|is working|succeeded|completed|implemented|added|"
    r"removed|updated|renamed|refactored|created|done\b|confirmed|verified|builds? (cleanly|ok)|"
    r"no (more )?(errors|failures|issues)|because)"
)
#: A reply that opens with a verdict ("Yes, `x` is correct", "No -- it is only used in ...")
#: answers a question the user asked: a conclusion.
ANSWER = re.compile(r"(?i)(yes|no|correct|exactly|not quite)\b *[,.:;!\u2013\u2014-]")
DECISION = lazy_compile(
    r"(?i)\b(i('ll| will) (use|keep|go with|switch|change)|we (should|need to|will|must)|"
    r"decided|decision|instead of|rather than|the (best|right|simplest) (approach|way|fix)|"
    r"option \d|approach|plan is|going with|trade-?off)\b"
)
NARRATION = lazy_compile(
    r"(?i)^(let me|let's|now let me|now i('ll| will)|i('ll| will) (now |first )?(start|check|look|"
    r"read|run|search|examine|investigate|explore|verify|see)|first,? (let me|i)|next,? (let me|i)|"
    r"perfect[.!]|great[.!]|good[.!]|excellent[.!]|ok(ay)?[.!,]|now\b|looking at)"
)


_WRAPPERS = lazy_compile(r"<(system-reminder|system_instruction)>.*?</\1>\s*", re.DOTALL)


#: Files an app attached to the user's message, listed in an instruction block (Conductor:
#: "The user has attached these files. Read them before proceeding." then "- /path" lines).
_ATTACHED = lazy_compile(r"(?s)<system_instruction>\s*The user has attached these files\b(.*?)</")
_LISTED_PATH = lazy_compile(r"(?m)^[ \t]*- (\S[^\n]*?)[ \t]*$")


def attached_files(text: str, cwd: object = None) -> list[str]:
    """The files an instruction block says the user attached to ``text``, relative to ``cwd``
    when inside it: they are the request (a plan, a log), though the block itself is not."""
    if "has attached these files" not in text:
        return []
    here = f"{cwd.rstrip('/')}/" if isinstance(cwd, str) and cwd.strip("/") else None
    found: list[str] = []
    for block in _ATTACHED.findall(text):
        for path in _LISTED_PATH.findall(block):
            found.append(path[len(here) :] if here and path.startswith(here) else path)
    return found


def strip_wrappers(text: str) -> str:
    """The user's own words: text without the instruction blocks tools wrap around it
    (``<system-reminder>``, ``<system_instruction>``)."""
    if "<system" not in text:
        return text
    return _WRAPPERS.sub("", text).strip()


def typed_newlines(text: str) -> str:
    """The user's text as typed: Claude Code's prompt takes a backslash at a line's end as a
    new line (backslash, then Enter), which its 2.0 versions stored with the backslash kept
    ("this is the CSS:\\" and a new line): read whole, the backslashes are noise."""
    return text.replace("\\\n", "\n") if "\\\n" in text else text


def is_session_control(text: str) -> bool:
    """Whether ``text`` is one of Claude Code's session-control commands (:data:`SESSION_CONTROL`),
    as the transcript records it (``<command-name>/context</command-name>...``) or as an imported
    command line (``/model opus``)."""
    head = text.lstrip()
    if head.startswith("<command-"):
        found = _COMMAND_NAME.search(text)
        name = found.group(1) if found else ""
    elif head.startswith("/"):
        name = head.split(None, 1)[0]
    else:
        return False
    return name.lower() in SESSION_CONTROL


def block_texts(blocks: list[Any]) -> list[str]:
    """The texts of a list of content blocks (a message's, a tool result's, a queued prompt's):
    strings and text blocks as they are, an image as ``[image]``, anything else left out."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping):
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                parts.append(block["text"])
            elif block.get("type") == "image":
                parts.append("[image]")
    return parts


#: How memcore's own session-start context begins (``memcore.claude_code.session_start``):
#: Claude Code hands a hook's context back in the transcript, and memory taken from it would be
#: memory of memory, said again at every later start.
MEMCORE_CONTEXT_MARK = "# memcore: "


def scaffolding_kind(text: str) -> str | None:
    """Which piece of Claude Code's machinery ``text`` is, or None for real user text."""
    head = text.lstrip()[:120]
    for prefix, name in _SCAFFOLDING_PREFIXES:
        if head.startswith(prefix):
            return name
    if MEMCORE_CONTEXT_MARK in head:  # (alone, or after Claude Code's "... hook success: ")
        return "memcore-context"
    if head.lower().startswith("caveat: the messages below were generated by the user"):
        return "local-command-caveat"
    if head.startswith("<command-message>") and not _COMMAND_NAME.search(text):
        return "command-message"
    if (head[:1] == "/" or head.startswith("<command-")) and is_session_control(text):
        return "session-control"
    return None


#: How a request that is only attached files reads (their paths follow): "the attached
#: `plan.md`" (a digest says "The user attached `plan.md`").
ATTACHED_ONLY = "the attached "


#: How much of one text (a message, a tool's output) the import reads to understand it: a
#: message pasted at megabytes, or a tool's output that large, is read by its head and its end
#: (where a command's errors are), never whole, so that one huge record cannot hold a hook up
#: for seconds. Claude Code's own tools return far less (the largest text of the development
#: transcripts is 137 KB).
ANALYZED_CHARS = 256_000


def analysis_view(text: str) -> str:
    """``text``, or its first three quarters of ``ANALYZED_CHARS`` and its last quarter
    joined by a line saying how much was left out between them."""
    if len(text) <= ANALYZED_CHARS:
        return text
    head, tail = ANALYZED_CHARS * 3 // 4, ANALYZED_CHARS // 4
    left_out = len(text) - head - tail
    return f"{text[:head]}\n[{left_out} characters left out]\n{text[-tail:]}"


def classify_user_text(text: str) -> tuple[str, float]:
    """The kind of a user's typed message and how sure that reading is."""
    if _COMMAND_NAME.search(text):
        return "shortcut", 0.9
    sentences = [
        sentence.strip(" -*>\t")
        for sentence in _SENTENCE_SPLIT.split(text)
        if len(sentence.split()) <= _PREFERENCE_WORDS
    ]
    if any(_PREFERENCE_STRONG.search(sentence) for sentence in sentences):
        return "preference", 0.9
    if any(
        _PREFERENCE_WEAK.search(sentence) and not _PICKS_OPTION.search(sentence)
        for sentence in sentences
    ):
        return "preference", 0.75
    if any(_DELIBERATE.search(s) and not s.rstrip().endswith("?") for s in sentences):
        return "preference", 0.75  # (asked whether it was meant, it is a question)
    return "task", 1.0


def command_text(text: str) -> tuple[str, str]:
    """A slash command's name and the command line it stands for (``/commit -m 'x'``)."""
    name = _COMMAND_NAME.search(text)
    args = _COMMAND_ARGS.search(text)
    command = name.group(1) if name else ""
    return command, f"{command} {args.group(1).strip() if args else ''}".strip()


#: A slash command is given a request when its arguments hold this many words (not flags):
#: ``/workflows:plan make the warning optional ...`` asks for work; ``/deploy staging``,
#: ``/fix-issue 123`` and ``/commit -m "wip"`` run a shortcut.
COMMAND_REQUEST_WORDS = 4
_PLAIN_WORD = lazy_compile(r"[^\W\d_]{2,}")


def command_request(words: list[str]) -> tuple[str, list[str]]:
    """A slash command's name and its arguments' words when these are a request (see
    ``COMMAND_REQUEST_WORDS``); else ``("", words)``: the command line is a shortcut run."""
    if len(words) < 2 or not words[0].startswith("/") or words[1].startswith("-"):
        return "", words
    args = words[1:]
    plain = sum(1 for word in args if _PLAIN_WORD.fullmatch(word.strip(".,;:!?\"'()")))
    return (words[0], args) if plain >= COMMAND_REQUEST_WORDS else ("", words)


def statement_kind(text: str) -> str:
    """``conclusion``, ``decision`` or ``narration`` for an assistant's text."""
    if CONCLUSION.search(text) or ANSWER.match(text):
        return "conclusion"
    if DECISION.search(text):
        return "decision"
    return "narration"


#: Assistant text priority by statement kind: what was concluded outweighs what was announced.
STATEMENT_PRIORITY = {
    "conclusion": Priority.HIGH,
    "decision": Priority.HIGH,
    "narration": Priority.LOW,
}


def assistant_statement(text: str) -> tuple[str, Priority]:
    """The statement kind of an assistant text block and the priority it earns. Short text that
    announces the next step is narration even when it names a result in passing."""
    stripped = text.strip()
    if NARRATION.match(stripped) and len(stripped) < 200:
        return "narration", Priority.LOW
    kind = statement_kind(stripped)
    if kind == "narration" and len(stripped) > 400:  # a long answer: normal weight
        return "answer", Priority.NORMAL
    return kind, STATEMENT_PRIORITY[kind]


__all__ = [
    "ANSWER",
    "COMMAND_REQUEST_WORDS",
    "COMPACTION_PREFIX",
    "CONCLUSION",
    "DECISION",
    "NARRATION",
    "SESSION_CONTROL",
    "STATEMENT_PRIORITY",
    "assistant_statement",
    "attached_files",
    "classify_user_text",
    "command_request",
    "command_text",
    "is_session_control",
    "scaffolding_kind",
    "statement_kind",
    "strip_wrappers",
    "typed_newlines",
]
