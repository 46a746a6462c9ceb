"""The candidate lines of a session digest: one statement each, with its section and score.

Imported Claude Code items carry what the digest needs in their metadata (``kind``, ``tool``,
``file_path``, ``names``, ``added_lines``, ``removed_lines``, ``defines``, ``calls``, ``command``,
``exit_code``, ``error_lines``, ``fixed_by``, ``todos``, ``statement``, ``brief``; see
:mod:`memcore.claude_code.transcripts`); any other item is a note, and its own text is the
statement. Scores say what a developer taking over needs first: the requests, the results and
decisions, the edited files and their names, the checks that failed and what fixed them; then
reads, lookups and narration. The agent's own prose (which sentences count, and the spare ones)
is :mod:`memcore.digest_prose`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from memcore._kernels import prose
from memcore.claude_code.answers import QUESTION_WORDS
from memcore.claude_code.compaction import is_compaction_summary
from memcore.claude_code.records import ANSWER, ATTACHED_ONLY, command_request
from memcore.claude_code.titles import BRANCH_LEAD, TITLE_LEAD_IN
from memcore.claude_code.transcripts import KIND_PRIORITY
from memcore.digest_asked import (
    BRIEF_CALLS,
    REQUEST_WORDS,
    brief_lines,
    head_text,
    head_words,
    plan_lines,
    request_rest,
    sub_agent_brief_lines,
    summary_request_lines,
    written_by_sub_agent,
)
from memcore.digest_commands import (
    ActionRuns,
    CommandRuns,
    action_lines,
    command_lines,
    command_result,
    git_lines,
    outside_call,
    record_action,
)
from memcore.digest_diagnoses import said_overtaken_diagnoses
from memcore.digest_done import announced_edits
from memcore.digest_errors import claude_code_s_own_lookup, error_line, with_verdict
from memcore.digest_file_commands import (
    deleted_files,
    moved_files,
    reverted_files,
    said_deleted_later,
)
from memcore.digest_file_lines import file_lines
from memcore.digest_listed import listed_open
from memcore.digest_open import (
    CLOSING_QUESTION,
    LATEST_OPEN,
    UNDER_WAY,
    agreed_to,
    open_lines,
    pending_since,
    pending_still,
    said_done_steps,
    summary_open_lines,
    under_way,
)
from memcore.digest_options import (
    as_offered,
    chosen_option,
    named_options,
    options_of,
    overridden,
)
from memcore.digest_prose import (
    Candidate,
    count_identifiers,
    cut_word_list,
    cut_words,
    line_identifiers,
    statements,
)
from memcore.digest_reports import failure_said, unmet_report
from memcore.digest_state import said_before_it_failed, said_overtaken
from memcore.digest_undone import undone_edits
from memcore.digest_work import (
    ENCLOSING_WEIGHT,
    FileWork,
    code_span,
    failed_edit,
    file_call,
    is_failed_edit,
    session_root,
    shown_path,
    strs,
    undo_edits,
    write_result,
)
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem
from memcore.session_items import is_pasted_output, is_scaffolding, resent_requests

_SHORT_REPLY = 12
#: The most words of a reply that only agrees ("yes, go ahead please").
_AGREEING_WORDS = 5
#: A reply that only tells how things went ("it worked!", "still no", "perfect, thanks"): the
#: user said it, they asked nothing. At most one more word ("great, now commit" asks).
_FEEDBACK = lazy_compile(
    r"(?i)(?:ok(?:ay)?|yes|yeah|yep|no|nope|great|perfect|nice|cool|thanks|thank you|awesome"
    r"|lgtm|still|it (?:works|worked|still|failed|fails)|that (?:works|worked|did it))\b"
)
_WORD = lazy_compile(r"\w+")
#: The kinds :func:`is_agent` and :func:`has_statements` test, for the inlined tests.
_AGENT_KINDS = frozenset(KIND_PRIORITY)
_STATEMENT_KINDS = frozenset({"fact", "thinking", "summary"})
_EDITS = ("Edit", "MultiEdit", "Write", "NotebookEdit")
_NOTE_WORDS = 80
#: The worth of the session's title (newer Claude Code versions write one): a few words that
#: say what the session was about, above its first request's line.
TITLE_SCORE = 9.0


def _todos(value: Any) -> list[tuple[str, str]]:
    """``[status, content]`` pairs of a todo list's metadata."""
    pairs: list[tuple[str, str]] = []
    for entry in value if isinstance(value, (list, tuple)) else []:
        if isinstance(entry, (list, tuple)) and len(entry) == 2:
            status, content = entry
            if isinstance(status, str) and isinstance(content, str) and content.strip():
                pairs.append((status, content))
    return pairs


def build_candidates(
    items: Sequence[MemoryItem],
    root: str | None = None,
    *,
    thinking: bool = True,
    ongoing: bool = False,
    changed_elsewhere: frozenset[str] = frozenset(),
    part: str = "",
    continued: bool = False,
    undone: frozenset[str] | None = None,
) -> list[Candidate]:
    """Every candidate line of a digest of ``items`` (given in session order); files are named
    relative to ``root`` (by default the folder the first of ``items`` was made in). Without
    ``thinking``, the agent's thinking gives no line; with ``ongoing`` (the reader sees the
    items that follow), what was under way at the last of them is no line. ``part``: "before"
    or "after" when ``items`` are one side of a compaction, ``changed_elsewhere`` the files the
    other side changed (``changed_files``): see ``file_lines``. With ``continued`` (later items
    follow, whose lines say nothing of it), the last request is said as asked, not as open.
    ``undone``: ``undone_edits(items)``, when worked out already."""
    out: list[Candidate] = []
    n = max(1, len(items))
    files: dict[str, FileWork] = {}
    commands: dict[str, CommandRuns] = {}
    actions: dict[str, ActionRuns] = {}
    by_id = {item.id: item for item in items}
    last_conclusion = -1
    last_reply = last_action = -1  # the agent's last words and its last tool activity
    last_task: tuple[int, MemoryItem] | None = None
    todos: dict[str, tuple[int, str]] = {}
    first_task = True
    seen_sentences: set[str] = set()
    unfound: dict[str, list[tuple[int, MemoryItem]]] = {}  # searches that found nothing, by tool
    failure: int | None = None  # the line of a failed command the agent has not spoken of yet
    pending: list[Candidate] = []  # what the last compaction summary says was left to do
    options: dict[str, str] = {}  # the options the agent last offered, by number (see below)
    options_at = -1  # the reply that offered them
    offers: dict[int, dict[str, str]] = {}  # each reply's options, for ``open_lines``
    reports: list[str] = []  # the sub-agents' reports so far
    root = session_root(items) if root is None else root
    announced = announced_edits(items)  # replies whose announced change an edit then made
    resent = resent_requests(items)
    for seq, item in enumerate(items):
        meta = item.metadata
        raw_kind = meta.get("kind", "note")
        named = isinstance(raw_kind, str)  # metadata is anyone's: a kind may be no string
        kind = raw_kind if named else str(raw_kind)
        recency = seq / n
        if _is_title(meta):  # said once for the whole session: ``title_line``
            continue
        if kind == "brief" or (kind == "task" and meta.get("sidechain")):
            # a sub-agent's transcript opens with the brief its agent gave it (kind "task" as
            # older imports stored it): what the agent asked, not the user
            out.extend(sub_agent_brief_lines(item, seq, recency))
            continue
        if kind in ("task", "preference", "shortcut") and meta.get("source") != "mcp":
            # (a note remembered through the MCP tool is no request of the session: a note)
            if is_scaffolding(item):  # `/context`, a reminder stored by an older import: no task
                continue
            if item.id in resent:  # (sent again before any reply: said by its last form)
                continue
            words = item.content.split()
            text = " ".join(words)
            topic = False
            command = ""
            head = REQUEST_WORDS  # (the words its line says: see head_words)
            if kind == "shortcut":
                command, words = command_request(words)
                text = " ".join(words)
            if kind == "shortcut" and not command:
                line = f"- The user ran the command {code_span(text)}."
                score = 2.0
            elif kind == "preference":
                line = f"- The user's preference: {cut_word_list(words, REQUEST_WORDS)}"
                score = 7.0
            else:
                said = "pasted" if is_pasted_output(text) else _how_said(text, len(words))
                if command:  # (the command's name says what kind of work was asked)
                    said = f"asked ({code_span(command)})"
                # (a long request that is a document: said to the end of a paragraph)
                head = REQUEST_WORDS if command else head_words(item.content, words)
                shown = (
                    head_text(item.content, head, len(words))
                    if head < min(len(words), REQUEST_WORDS)
                    else cut_word_list(words, REQUEST_WORDS)
                )
                failed = "" if command else failure_said(item.content, shown)  # (its line first)
                if failed:
                    said = f"pasted{failed}" if said == "pasted" else f"{said}, pasting{failed}"
                line = f"- The user {said}: {shown}{named_options(text, options)}"
                if text.startswith(ATTACHED_ONLY):  # (files attached, no words: "attached X")
                    line = f"- The user attached {shown.removeprefix(ATTACHED_ONLY)}"
                short = len(text) < _SHORT_REPLY
                answered = _answered(meta)  # (an answer to the agent's question: said as one)
                if answered is None and len(words) <= _AGREEING_WORDS and last_reply >= 0:
                    answered = agreed_to(text, items[last_reply])  # ("Go ahead." to what)
                if answered is not None:
                    line, short = answered, False
                elif options_at == last_reply >= 0:  # "3", to the options just offered
                    picked = chosen_option(text, options)
                    if picked is not None:
                        line, short = f"- The user chose {picked}.", False
                score = 1.5 if short else 6.0 + (2.0 if first_task else 0.0) + recency
                topic = first_task and not short
                first_task = first_task and short
                last_task = (seq, item)
            out.append(Candidate("asked", seq, score, line, topic=topic))
            if len(words) > REQUEST_WORDS:  # the rest of a long request, where exact
                source = None if command else item.content
                out.extend(request_rest(text, words, seq, head, source))
            continue
        # is_agent, tool_name and has_statements, inlined: this loop runs once per item
        raw_tool = meta.get("tool")
        if not (
            meta.get("source") == "claude-code"
            or (named and kind in _AGENT_KINDS and "tool" in meta)
        ):
            out.extend(_note(item, seq, recency))
            if prose.concludes(item.content.lower()):
                last_conclusion = seq
            continue
        if kind in ("tool_call", "tool_result", "error"):
            last_action = seq
        if isinstance(meta.get("files_changed"), list):
            for path in strs(meta["files_changed"]):
                known = files.get(str(path))
                if known is None:
                    known = files[str(path)] = FileWork(str(path), seq, seq)
                known.tracked = True
            continue
        if kind == "tool_result" and raw_tool in ("Grep", "Glob") and isinstance(raw_tool, str):
            if meta.get("count") == 0:
                unfound.setdefault(raw_tool, []).append((seq, item))
            else:
                out.append(_search(item, seq, recency))
            continue
        if kind == "thinking" and not thinking:
            continue
        if meta.get("report") or (named and kind in _STATEMENT_KINDS and not meta.get("meta")):
            if meta.get("report"):
                reports.append(item.content)  # (what its sub-agents said they did)
            if failure is not None and not meta.get("report"):  # its first words after a failure
                verdict = with_verdict(out[failure], item.content)
                if verdict is not None:
                    out[failure] = verdict
                if verdict is not None or kind != "thinking":  # (its thinking may come first)
                    failure = None
            if is_compaction_summary(meta):
                out.extend(summary_request_lines(item, seq))
                pending = summary_open_lines(item, seq)  # (said unless a task list follows)
            found = statements(item, seq, recency, seen_sentences, edited=seq in announced)
            # (a reply opening with a verdict, "Yes, ...", answers a question as well)
            answer = kind == "fact" and ANSWER.match(item.content) is not None
            if answer or (found and max([c.score for c in found]) >= 5):
                last_conclusion = seq
            if kind == "fact" and meta.get("role") == "assistant":
                last_reply = seq
                offered = offers[seq] = options_of(item.content)
                if offered:  # (the latest list offered, and where)
                    options, options_at = offered, seq
                    found = as_offered(found, offered)
                    found = overridden(found, offered, items, seq)
            out.extend(found)
            continue
        tool = "" if raw_tool is None else str(raw_tool)
        if kind == "tool_call":
            if isinstance(meta.get("todos"), list):
                if tool == "TodoWrite":  # the whole list again: what it dropped is no longer open
                    listed = {content for _, content in _todos(meta["todos"])}
                    for content in [c for c, (_, st) in todos.items() if st != "completed"]:
                        if content not in listed:
                            del todos[content]
                for status, content in _todos(meta["todos"]):
                    todos[str(content)] = (seq, str(status))
            if isinstance(meta.get("file_path"), str):
                file_call(files, item, seq, root)
            if tool == "ExitPlanMode":
                out.extend(plan_lines(item, seq, recency, root))
            elif tool in BRIEF_CALLS and meta.get("brief"):
                out.extend(brief_lines(item, seq, recency, root, BRIEF_CALLS[tool]))
            else:
                beyond = outside_call(item, tool, seq, recency)  # the web, an MCP server
                if beyond is not None:
                    out.append(beyond)
            continue
        if kind in ("tool_result", "error"):
            if meta.get("rejected"):
                out.append(Candidate("asked", seq, 7.0 + recency, f"- {item.content}"))
                continue
            if tool == "Bash" and isinstance(meta.get("command"), str):
                command_result(commands, item, seq)
                if kind != "error":
                    out.extend(git_lines(meta, seq, recency))  # a commit, a push: results
                    record_action(actions, item, seq)  # a pull request opened, a task closed
                    deleted_files(files, meta, seq, root)
                    moved_files(files, meta, seq, root)
                    reverted_files(files, meta, root, seq)
            if tool in ("Read", "NotebookRead"):
                entry = files.get(shown_path(meta, root))
                if entry is not None and (kind == "error" or meta.get("is_error") is True):
                    entry.reads_failed += 1  # not there, or refused: not read (its result says so)
                elif entry is not None:
                    entry.reads_done += 1
                    for name in strs(meta.get("defines")):
                        entry.defines.setdefault(str(name), None)
                    for name in strs(meta.get("calls")):
                        entry.calls.setdefault(name, None)
                # (a document this session wrote or edited is the agent's own, not its task,
                # as is one its sub-agent said it wrote)
                if meta.get("brief") and not (
                    (entry is not None and (entry.edits or entry.created))
                    or written_by_sub_agent(str(meta.get("file_path", "")), reports)
                ):
                    out.extend(brief_lines(item, seq, recency, root))
            is_edit = tool in _EDITS
            if is_failed_edit(meta):
                failed_edit(files, meta, root)  # (it changed nothing)
            failure = None
            if kind == "error":
                if not claude_code_s_own_lookup(meta, root):
                    if tool == "Bash" or meta.get("failed_output"):
                        failure = len(out)  # (what the agent says next may be its verdict)
                    out.append(error_line(item, seq, recency, by_id, root, items))
            elif is_edit and meta.get("is_error") is not True:
                if tool == "Write":
                    write_result(files, meta, root)
                shown = shown_path(meta, root)
                if shown in files:
                    files[shown].last = seq
                    inside = meta.get("enclosing")
                    if isinstance(inside, str):  # the function changed counts most
                        names = files[shown].names
                        names[inside] = names.get(inside, 0) + ENCLOSING_WEIGHT
                        edit = files[shown].added.get(str(meta.get("tool_use_id")))
                        if edit is not None:
                            files[shown].added[str(meta.get("tool_use_id"))] = (*edit[:2], inside)
            continue
    out = said_deleted_later(out, files)  # (a result naming a file deleted after it)
    out = said_overtaken(out, items)  # (a failure said before a check of its kind passed)
    out = said_before_it_failed(out, items)  # (a fix the user's next words said failed)
    out = said_overtaken_diagnoses(out, items)  # (what the problem is, said again later)
    if undone is None:
        undone = undone_edits(items)
    undo_edits(files, undone)  # (an edit a later one undid changed nothing)
    out.extend(file_lines(files, n, changed_elsewhere, part))
    out.extend(command_lines(commands, n))
    # (an act whose pull request Claude Code's own note names already is said once, by it)
    linked = {_link_of(c.text) for c in out if c.text.startswith(PR_LINK)}
    out.extend(c for c in action_lines(actions, n) if _link_of(c.text) not in linked)
    out.extend(_unfound_lines(unfound, n))
    # A request is answered by a conclusion after it, or by the agent's words ending its turn
    # (nothing done after them): "Committed as a6c2d1b0." answers "commit the changes".
    answered_at = max(last_conclusion, last_reply if last_reply > last_action else -1)
    if continued:
        last_task = None  # (its answer may be in the items that follow)
    if last_task is not None and last_task[0] > answered_at:  # said once, under "open"
        at = last_task[0]  # (its lines past the first sit just after it: ``request_rest``)
        out = [c for c in out if not (c.section == "asked" and at <= c.seq < at + 1)]
    out.extend(open_lines(todos, last_task, answered_at, items, n, offers))
    out.extend(listed_open(items, todos, n))  # (to-do lists the work after them left undone)
    if last_task is not None and last_task[0] <= answered_at:  # (answered: not seen to work?)
        out.extend(unmet_report(items, last_task[0], root))
    if pending and pending_still(int(pending[0].seq), todos, last_task, items):
        out.extend(pending_since(pending, int(pending[0].seq), items))
    if last_action > last_reply and not ongoing:  # they end mid-turn: what was under way
        since = max(last_conclusion, last_task[0] if last_task is not None else -1)
        out.extend(under_way(items, since, root))
    return said_done_steps(out)


#: How the line of Claude Code's note of the session's pull request starts
#: (``claude_code.side_records``).
PR_LINK = "- The session's pull request is #"


def _link_of(text: str) -> str:
    return text.rstrip(".").rsplit(" ", 1)[-1]


def _is_title(meta: Mapping[str, Any]) -> bool:
    return meta.get("session_title") in TITLE_LEAD_IN and meta.get("source") == "claude-code"


def title_line(items: Sequence[MemoryItem]) -> Candidate | None:
    """The session's title (newer Claude Code versions write one; older ones a ``summary``
    record), the user's over Claude Code's, the latest of each: what the session was about
    in a few words, said first (``seq`` -1: before every item, and never held back with the
    items a compaction summarized, wherever the title was written)."""
    titles = {str(i.metadata["session_title"]): i for i in items if _is_title(i.metadata)}
    title = titles.get("custom") or titles.get("ai")
    if title is None:
        return None
    return Candidate("asked", -1.0, TITLE_SCORE, f"- {' '.join(title.content.split())}")


#: Branches that name no task: the line of work is said by a topic branch only.
_NO_TOPIC_BRANCHES = frozenset({"main", "master", "develop", "development", "trunk", "HEAD"})
#: The worth of the branch's line: a few words that often carry the ticket or the task
#: (``alex/ent-112-checkpoint-id-reuse-bug``), when a session starts mid-work above all.
BRANCH_SCORE = 4.0


def branch_line(items: Sequence[MemoryItem]) -> Candidate | None:
    """The topic branch the session worked on (the latest its records name; the one before it
    too when it changed, and the main branch it went on on after it), said with what was
    asked; None on a main branch or without one."""
    branches: dict[str, None] = {}
    last = ""  # (the latest branch named, a main one included)
    for item in items:
        branch = item.metadata.get("git_branch")
        if isinstance(branch, str) and branch:
            last = branch
            if branch not in _NO_TOPIC_BRANCHES:
                branches.pop(branch, None)  # (the latest last)
                branches[branch] = None
    if not branches:
        return None
    *earlier, latest = branches
    before = f" (earlier {code_span(earlier[-1])})" if earlier else ""
    # (the session went on on a main branch after it: its work since was there)
    after = f", then on {code_span(last)}" if last != latest and last != "HEAD" else ""
    line = f"{BRANCH_LEAD}{code_span(latest)}{before}{after}."
    return Candidate("asked", -0.5, BRANCH_SCORE, line)


def _answered(meta: Mapping[str, Any]) -> str | None:
    """The line of the user's answer to the agent's question (``AskUserQuestion``: the import
    keeps the question in ``answer_to``, the answer in ``answer``), None for any other item."""
    question, answer = meta.get("answer_to"), meta.get("answer")
    if not isinstance(question, str) or not isinstance(answer, str) or not answer.split():
        return None
    asked = cut_words(question, QUESTION_WORDS)
    return f'- The user answered "{asked}": {cut_word_list(answer.split(), REQUEST_WORDS)}'


def _note(item: MemoryItem, seq: int, recency: float) -> list[Candidate]:
    text = " ".join(item.content.split())
    if not text:
        return []
    kind = item.metadata.get("kind")
    if kind == "error":
        return [
            Candidate(
                "errors",
                seq,
                5.0 + item.priority.rank + recency,
                f"- Error: {cut_words(text, _NOTE_WORDS)}",
            )
        ]
    score = 2.0 + 1.5 * item.priority.rank + recency + min(count_identifiers(text), 4) * 0.3
    placed = _NOTE_PLACES.get(kind) if isinstance(kind, str) else None
    if placed is not None:  # (what is still to do is open; what was decided, a decision)
        section, label, more = placed
        return [Candidate(section, seq, score + more, f"- {label}{cut_words(text, _NOTE_WORDS)}")]
    label = _kind_label(kind) if isinstance(kind, str) and kind not in ("note", "fact") else ""
    return [Candidate("notes", seq, score, f"- {label}{cut_words(text, _NOTE_WORDS)}")]


#: Where the items of another agent's own kinds (not imported from Claude Code: the kinds the
#: MCP server's ``remember`` takes, an agent's to-dos and decisions) are said, how they are led,
#: and what that adds to their worth: a to-do is what is open, a decision what was decided.
_NOTE_PLACES = {
    "todo": ("open", "To do: ", 3.0),
    "decision": ("decisions", "Decided: ", 1.0),
}


def _kind_label(kind: str) -> str:
    """How a note of another kind is led: its kind as words ("tool_result" -> "Tool result: ")."""
    words = " ".join(kind.replace("_", " ").replace("-", " ").split())
    return f"{words[:1].upper()}{words[1:]}: " if words else ""


def _how_said(text: str, words: int) -> str:
    """ "asked", or "said" for a reply that asks nothing (see ``_FEEDBACK``)."""
    found = _FEEDBACK.match(text) if words <= 4 and "?" not in text else None
    if found is not None and len(_WORD.findall(text, found.end())) <= 1:
        return "said"
    return "asked"


def tool_name(meta: Mapping[str, Any]) -> str:
    tool = meta.get("tool")
    return tool if isinstance(tool, str) else ""


def _pattern(meta: Mapping[str, Any]) -> str:
    return code_span(cut_words(" ".join(str(meta.get("pattern", "")).split()), 20))


def _search(item: MemoryItem, seq: int, recency: float) -> Candidate:
    """A lookup and what it found: cheap to redo, so a filler line."""
    meta = item.metadata
    raw = meta.get("count", 0)
    count = raw if isinstance(raw, int) and not isinstance(raw, bool) else 0
    where = item.content.split(" found ", 1)[1].split(" ", 1) if " found " in item.content else []
    hits = f" {where[1].removeprefix('or more ')}" if len(where) > 1 else ""
    noun = "match" if count == 1 else "matches"
    if meta.get("truncated") is True:  # the tool listed only the first ones
        noun = f"or more {noun}"
    line = f"- A {tool_name(meta)} search for {_pattern(meta)} found {count} {noun}{hits}."
    return Candidate("commands", seq, 1.0 + recency, line)


def _unfound_lines(unfound: dict[str, list[tuple[int, MemoryItem]]], n: int) -> list[Candidate]:
    """Searches that found nothing, a few of one tool to a line (each alone said little: an
    agent looking for a file that is not there tries several names in a row)."""
    out: list[Candidate] = []
    for tool, searches in unfound.items():
        for start in range(0, len(searches), 4):
            chunk = searches[start : start + 4]
            patterns = list(dict.fromkeys(_pattern(item.metadata) for _, item in chunk))
            seq = chunk[-1][0]
            if len(patterns) == 1:
                out.append(_search(chunk[-1][1], seq, seq / n))
                continue
            listed = ", ".join(patterns[:-1]) + " and " + patterns[-1]
            line = f"- {tool} searches for {listed} found nothing."
            out.append(Candidate("commands", seq, 1.0 + seq / n, line))
    return out


__all__ = [
    "CLOSING_QUESTION",
    "LATEST_OPEN",
    "UNDER_WAY",
    "Candidate",
    "branch_line",
    "build_candidates",
    "line_identifiers",
    "title_line",
]
