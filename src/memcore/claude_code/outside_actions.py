"""What a command did outside the repository: a pull request opened, merged or edited, a comment
posted, an issue closed in the project's tracker, a forge's variable or secret set; and what
``claude_code.remote_acts`` tells: another machine changed over ``ssh``, a package published, a
deployment applied.

Such acts are results a next agent must know (the pull request it should not open again, the
reviewer's comments already answered, the tracker's tasks already closed), and the agent's own
words rarely repeat them. The command says what kind of act it was (``gh pr create``, ``gh api
... -X POST``, ``bd close``); its output says what came of it: the forge's URL of what it made
(in a JSON answer, its ``html_url``) or the tool's own line ("✓ Closed spotter-gqc.6: ...").
"""

from __future__ import annotations

import functools
import json

from memcore.claude_code.commands import normalize_command, one_line
from memcore.claude_code.remote_acts import is_remote_act, remote_act_shown, split_words
from memcore.lazy_re import lazy_compile

#: Commands that write to a system outside the repository: a forge's pull requests, issues,
#: releases and workflows (``gh``, ``glab``), the settings it keeps for the repository (its
#: variables and secrets, the repository itself), its API with a method that writes (``-X
#: POST``) or with fields (which ``gh api`` sends as a POST), and an issue tracker's tasks
#: (``bd``).
_ACTION = lazy_compile(
    r"^(?:gh\s+(?:pr|issue|release|label|gist)\s+(?:create|merge|close|reopen|edit|ready|comment"
    r"|review|delete|lock|unlock|transfer|develop|upload)\b"
    r"|gh\s+(?:workflow\s+(?:run|enable|disable)|run\s+(?:rerun|cancel))\b"
    r"|gh\s+(?:variable|secret)\s+(?:set|delete|remove)\b|gh\s+cache\s+delete\b"
    r"|gh\s+repo\s+(?:create|edit|delete|rename|archive|unarchive|fork)\b"
    r"|glab\s+(?:mr|issue|release)\s+(?:create|merge|close|reopen|note|update|approve|delete)\b"
    r"|bd\s+(?:create|close|update|reopen|delete|dep\s+add)\b)"
)
_API = lazy_compile(r"^gh\s+api\b")
#: ``gh api``'s method (``-X POST``, ``--method=PATCH``); with none it sends fields as a POST.
_API_WRITES = lazy_compile(r"(?:-X\s*|--method[=\s]+)(?:POST|PATCH|PUT|DELETE)\b")
_API_READS = lazy_compile(r"(?:-X\s*|--method[=\s]+)GET\b")
#: ``gh api graphql``: sent as a POST whatever it asks; a query only reads.
_GRAPHQL = lazy_compile(r"^gh\s+api\s+(?:-\S+\s+)*graphql\b")
_DRY_RUN = lazy_compile(r"\s--dry-run\b")
_API_FIELDS = frozenset({"-f", "-F", "--field", "--raw-field", "--input"})
#: Options whose value is text the act carried (a body, a message): the command is named
#: without them (the output says what came of it); a title is said apart.
_TEXT_OPTIONS = frozenset(
    {
        "-f", "-F", "--field", "--raw-field", "--input", "--body", "-b", "--body-file",
        "--title", "-t", "--reason", "-m", "--message", "--notes", "-n", "--description",
        "-d", "--jq", "-q", "--template",
    }
)  # fmt: skip
_TITLE_OPTIONS = frozenset({"--title", "-t"})
_SHOWN_WORDS = 10
_OUTPUT_LINES = 2
_TITLE_WORDS = 14


@functools.lru_cache(maxsize=4096)
def is_outside_action(command: str) -> bool:
    """Whether ``command`` (as run; a chain's first command counts) writes outside the
    repository."""
    core = normalize_command(command)
    if _DRY_RUN.search(core):
        return False  # (what it would do, not done)
    if _ACTION.match(core):
        return True
    # (the remote command read as run too: plumbing inside its quotes is no plumbing here)
    if is_remote_act(core) or is_remote_act(" ".join(command.split())):
        return True
    if not _API.match(core) or _API_READS.search(core):
        return False
    if _GRAPHQL.match(core):  # (always a POST: only a mutation writes)
        return "mutation" in core
    if _API_WRITES.search(core):
        return True
    return any(word in _API_FIELDS or word.startswith("--field=") for word in split_words(core))


@functools.lru_cache(maxsize=1024)
def action_shown(command: str) -> tuple[str, str]:
    """The act as the digest names it (the command without the text it carried, a few words)
    and its title (``--title``), if it gave one."""
    core = normalize_command(command)
    remote = remote_act_shown(core)
    if remote is not None:
        return remote, ""
    # (a text given by a command substitution or a heredoc ends what is read: its body is text)
    ends = [at for at in (core.find("$("), core.find("<<")) if at >= 0]
    if ends:
        core = core[: min(ends)].rstrip().rstrip("\"'")
    words = split_words(core)
    shown: list[str] = []
    title = ""
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in ("&&", "||", ";", "|"):
            break
        name, _, value = word.partition("=")
        if name in _TEXT_OPTIONS:
            if name in _TITLE_OPTIONS:
                title = value if value else ""
                skip = not value
                if not value:
                    at = words.index(word)
                    title = words[at + 1] if at + 1 < len(words) else ""
            else:
                skip = not value
            continue
        shown.append(word)
    said = " ".join(shown[:_SHOWN_WORDS]) + (" \u2026" if len(shown) > _SHOWN_WORDS else "")
    if not title and _GRAPHQL.match(core):  # (its query is its text: what it did is named there)
        fields = mutation_fields(core)
        title = f"mutation {', '.join(fields)}" if fields else ""
    title_words = title.split()
    if len(title_words) > _TITLE_WORDS:
        title = " ".join(title_words[:_TITLE_WORDS]) + "\u2026"
    return said, " ".join(title.split())


_FIELD_CALL = lazy_compile(r"([A-Za-z_]\w*)\s*\(")
_NAME = lazy_compile(r"\w+")


def mutation_fields(text: str) -> list[str]:
    """The fields a GraphQL mutation in ``text`` calls, once each, in order (``mutation { t1:
    resolveReviewThread(input: {...}) { thread { id } } }`` -> ``resolveReviewThread``): those at
    its top level, not the fields of what they return."""
    start = text.find("mutation")
    brace = text.find("{", start) if start >= 0 else -1
    if brace < 0:
        return []
    fields: list[str] = []
    braces = parens = 0
    at = brace
    while at < len(text):
        char = text[at]
        if char == "{":
            braces += 1
        elif char == "}":
            braces -= 1
            if braces == 0:
                break
        elif char == "(":
            parens += 1
        elif char == ")":
            parens -= 1
        elif braces == 1 and parens == 0 and (char.isalpha() or char == "_"):
            called = _FIELD_CALL.match(text, at)
            if called is not None and called.group(1) not in fields:
                fields.append(called.group(1))
            name = _NAME.match(text, at)  # (past the whole name: "a1b" is one)
            at = name.end() if name is not None else at + 1
            continue
        at += 1
    return fields


def action_result(text: str) -> list[str]:
    """What came of an act, by its output: the URL of what it made or changed (a JSON answer's
    ``html_url``), else its first lines."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            answer = json.loads(stripped)
        except (ValueError, RecursionError):
            return []  # (data cut short, or nested past reading: no line of it says it)
        if isinstance(answer, list):
            answer = answer[0] if answer and isinstance(answer[0], dict) else {}
        url = answer.get("html_url") if isinstance(answer, dict) else None
        # (a URL is one word: one with a line break or a space in it is no link)
        if not isinstance(url, str) or not url.startswith("https://"):
            return []
        return [url] if len(url.split()) == 1 and url == url.strip() else []
    lines = [one_line(line.strip()) for line in stripped.splitlines() if line.strip()]
    return lines[:_OUTPUT_LINES]


__all__ = ["action_result", "action_shown", "is_outside_action"]
