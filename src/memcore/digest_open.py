"""What a digest says is still open: the task list's steps not done (and those done), the
latest request not answered yet, the agent's offer or question at the end of its last turn, and
the work under way when a session was cut off mid-turn. Part of :mod:`memcore.digest_lines`,
which calls these with its pass over the items.
"""

from __future__ import annotations

from collections.abc import Sequence

from memcore._kernels import prose
from memcore.claude_code.compaction import PENDING_SECTIONS, summary_pending
from memcore.claude_code.records import command_request
from memcore.claude_code.titles import CLOSING_QUESTION
from memcore.claude_code.tools import EDIT_TOOLS, quoted_list
from memcore.digest_asked import REQUEST_WORDS
from memcore.digest_file_commands import CODE_SPAN
from memcore.digest_options import named_options, options_of
from memcore.digest_prose import (
    BULLET,
    SENTENCE_WORDS,
    Candidate,
    cut_word_list,
    cut_words,
)
from memcore.digest_reports import failure_said
from memcore.digest_settled import RESTATED_REQUEST, hinted
from memcore.digest_work import code_span, shown_path
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem
from memcore.wide_letters import WIDE_STOPS

_OPEN_WORDS = lazy_compile(
    # ("a TODO marker", "TODO comments": the thing written in the code, not work left open)
    r"(?i)\b(todo(?!s?\s+(?:markers?|comments?|notes?|tags?|placeholders?)\b)|next step|"
    r"still (need|to)|not yet|pending|follow[- ]up|open question|"
    r"left to do|(?:should|shall) (?:we|i)|would you (like|prefer)|do you want|(what )?do you think"
    r"|which (approach|option|one|way|of these)"
    # "remaining" of work only ("The remaining ~20ms is the `f()` call" is a measurement)
    r"|remaining (work|tasks?|steps?|items?|issues?|todos?|failures?|errors?|bugs?|changes))\b"
    # an offer or a choice put to the user in Chinese (want me to, do you need me to, whether
    # to, would you like, which approach), Japanese (shall I, is it all right, which) and Korean
    # (shall I, shall I for you, do you want, which)
    r"|\u8981\u6211|\u9700\u8981\u6211|\u662f\u5426|\u8981\u4e0d\u8981|\u60a8\u5e0c\u671b|\u4f60\u5e0c\u671b"
    r"|\u54ea\u79cd|\u54ea\u4e2a|\u3057\u307e\u3059\u304b|\u3057\u307e\u3057\u3087\u3046\u304b"
    r"|\u3088\u308d\u3057\u3044\u3067\u3059\u304b|\u3069\u3061\u3089"
    r"|\ud560\uae4c\uc694|\ub4dc\ub9b4\uae4c\uc694|\uc6d0\ud558\uc2dc\ub098\uc694|\uc5b4\ub290"
)
#: What every line ``_OPEN_WORDS`` finds holds (lowercased), tested before its search: a
#: long reply's lines are searched one by one, and most hold none.
_OPEN_HINTS = (
    "todo", "next step", "still ", "not yet", "pending", "follow", "open question", "left to do",
    "should ", "shall ", "would you", "do you", "which ", "remaining ",
    "\u8981\u6211", "\u9700\u8981\u6211", "\u662f\u5426", "\u8981\u4e0d\u8981",
    "\u60a8\u5e0c\u671b", "\u4f60\u5e0c\u671b", "\u54ea\u79cd", "\u54ea\u4e2a",
    "\u3057\u307e\u3059\u304b", "\u3057\u307e\u3057\u3087\u3046\u304b",
    "\u3088\u308d\u3057\u3044\u3067\u3059\u304b", "\u3069\u3061\u3089", "\ud560\uae4c\uc694",
    "\ub4dc\ub9b4\uae4c\uc694", "\uc6d0\ud558\uc2dc\ub098\uc694", "\uc5b4\ub290",
)  # fmt: skip


def _says_open(line: str) -> bool:
    """``_OPEN_WORDS.search(line)``, searched only where a hint of it is."""
    return hinted(line, _OPEN_HINTS) and _OPEN_WORDS.search(line) is not None


#: The same words saying that nothing is open ("no remaining issues", "nothing pending").
_NOTHING_OPEN = lazy_compile(r"(?i)\b(no|nothing|none|zero)\s+(remaining|pending|follow[- ]up)")
#: The agent's offer at the end of its turn ("Would you like me to also add X?"): said as one.
_OFFER = lazy_compile(
    r"(?i)^(?:would you like|do you want|want) me to\s+(.+?)\?*$|^(?:shall|should) i\s+(.+?)\?*$"
)


#: How the line of a step of the agent's task list marked done starts, and its worth.
DONE = "- Done: "
DONE_SCORE = 4.0
#: The share of a done step's words (its verb aside) that a result line of the agent's must
#: say for the step to be said already ("Done: Add suppression hint to warning message" beside
#: "Updated warning message to include suppression hint: ...").
DONE_COVERED = 0.75
_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "to",
        "of",
        "in",
        "for",
        "on",
        "with",
        "is",
        "it",
        "that",
        "this",
        "s",
        "t",
    ]
)


def said_done_steps(cands: list[Candidate]) -> list[Candidate]:
    """``cands`` without the done steps of the task list that a result line of the agent's says
    already, in other words (it says more: the step is one line fewer for the same fact). Only
    lines worth as much as the step count: one the digest would give up first does not stand in
    for it."""
    steps = [c for c in cands if c.section == "decisions" and c.text.startswith(DONE)]
    if not steps:
        return cands
    least = min(step.score for step in steps)  # (a line worth less stands in for no step)
    others = [
        (c.score, _stems(c.text))
        for c in cands
        if c.section == "decisions"
        and c.score >= least
        and not c.spare
        and not c.text.startswith(DONE)
    ]
    said: set[int] = set()
    for step in steps:
        words = _stems(step.text[len(DONE) :], skip_first=True)
        if words and any(
            score >= step.score and len(words & other) >= DONE_COVERED * len(words)
            for score, other in others
        ):
            said.add(id(step))
    return [c for c in cands if id(c) not in said] if said else cands


def _stems(text: str, *, skip_first: bool = False) -> frozenset[str]:
    """The stems of ``text``'s words but the commonest; with ``skip_first``, not its first (a
    step opens with its verb, "Add", where the result says "Added")."""
    return prose.stemmed_words(text, _STOP_WORDS, False, skip_first)


#: How the line of the latest request, not answered yet, starts (the digest seeds it: it is
#: what a next session must take up).
LATEST_OPEN = "- The latest request is not answered yet: "


#: A closing question shorter than this many words ("Which approach would you prefer?") is said
#: with the line before it, which holds what it asks about.
_SHORT_QUESTION = 10
_WIDE_STOPS = tuple(WIDE_STOPS)  # (for ``str.endswith``)
_SENTENCE_END = lazy_compile(rf"(?<=[.!?])\s+(?=\S)|(?<=[{WIDE_STOPS}])\s*(?=\S)")

#: How the line of the work under way when the items end starts (the agent was mid-turn).
UNDER_WAY = "- Under way when the session stopped: "
#: The words of the agent's last statement that line quotes.
_UNDER_WAY_WORDS = 40


def under_way(items: Sequence[MemoryItem], since: int, root: str | None) -> list[Candidate]:
    """The work under way when the items end, for a session cut off mid-turn (a compaction, a
    crash, a user who closed it): where the agent had got to (its last words) and the files it
    changed since its last result or the user's last request. Nothing when it said nothing
    since: a line of file names alone says no more than the files' own lines."""
    said: tuple[int, str] | None = None
    changed: dict[str, None] = {}
    for seq in range(max(since, 0), len(items)):  # (the result itself may say the next step)
        meta = items[seq].metadata
        kind = meta.get("kind")
        # the agent's latest words, or its latest thinking after them (what it had just
        # found: "There's a test failure in X. The test expected 42.9% but got 33.3%.")
        agent = meta.get("role") == "assistant" and not meta.get("meta")
        if kind in ("fact", "thinking") and agent:
            text = " ".join(BULLET.sub("", items[seq].content).split())
            if kind == "thinking":  # (its request said over is what was asked, not the state)
                text = _past_restated_request(text)
                if len(text.split()) < _THOUGHT_WORDS:  # ("Let me search for this."): no state
                    text = ""
            if text:
                said = (seq, text)
        elif kind == "tool_call" and meta.get("tool") in EDIT_TOOLS and meta.get("file_path"):
            shown = shown_path(meta, root)
            changed.pop(shown, None)  # the latest last
            changed[shown] = None
    if said is None:
        return []
    text = cut_words(said[1], _UNDER_WAY_WORDS)
    if changed:
        text += f" (changing {quoted_list(list(changed)[-3:])})"
    return [Candidate("open", said[0], 6.5, f"{UNDER_WAY}{text}")]


#: The fewest words of thinking that say where the work stood (fewer: a step announced).
_THOUGHT_WORDS = 8


def _past_restated_request(text: str) -> str:
    """``text`` from its first sentence that does not say the user's request over ("The user
    wants me to research why scrolling ..."); empty when every sentence does."""
    sentences = _SENTENCE_END.split(text)
    while sentences and RESTATED_REQUEST.match(sentences[0]):
        sentences.pop(0)
    return " ".join(sentences)


def _offered_before(
    items: Sequence[MemoryItem], seq: int, offers: dict[int, dict[str, str]]
) -> dict[str, str]:
    """The options the agent's latest reply before item ``seq`` listed (see
    ``memcore.digest_options``), looked for among the 40 items before it."""
    for at in range(seq - 1, max(-1, seq - 40), -1):
        meta = items[at].metadata
        if meta.get("kind") == "fact" and meta.get("role") == "assistant":
            offered = _options(items, at, offers)
            if offered:
                return offered
    return {}


def _options(
    items: Sequence[MemoryItem], at: int, offers: dict[int, dict[str, str]]
) -> dict[str, str]:
    """``options_of`` item ``at``'s text, from ``offers`` when its lines were built (a long
    reply's patterns were run there already)."""
    known = offers.get(at)
    return options_of(items[at].content) if known is None else known


#: How what a compaction summary left to do is said: as of the compaction, in its words.
PENDING_AT_COMPACTION = "- Pending at the compaction (Claude's summary): "
NEXT_AT_COMPACTION = "- Next step at the compaction (Claude's summary): "
ALSO_PENDING = "- Also pending then: "


def summary_open_lines(item: MemoryItem, seq: int) -> list[Candidate]:
    """What a compaction summary (``item``) says was left to do: its pending tasks, the first
    led by where they come from and the others under it (each said with that lead when alone),
    and its next step, under "open" -- not said as results, which they are not."""
    out: list[Candidate] = []
    kept = item.metadata.get("pending")  # (the importer's, from the summary whole)
    pending = [
        (p[0], p[1], p[2] == 1)
        for p in (kept if isinstance(kept, (list, tuple)) else ())
        if isinstance(p, (list, tuple))
        and len(p) == 3
        and p[0] in PENDING_SECTIONS
        and isinstance(p[1], str)
        and p[1].strip()
    ] or [(s, t, d == 1) for s, t, d in summary_pending(item.content)]  # (none kept: its text)
    first = True
    for at, (section, text, nested) in enumerate(pending):
        said = cut_words(text, SENTENCE_WORDS)
        where = seq + at / 1000
        if section != "pending tasks":
            line = f"{NEXT_AT_COMPACTION}{said}"  # (often the pending tasks again: room left)
            out.append(Candidate("open", where, 3.0, line, spare=True))
            continue
        alone = f"{PENDING_AT_COMPACTION}{said}"
        if first:
            out.append(Candidate("open", where, 6.0, alone))
        elif nested:  # (a step of the task before it, under it)
            out.append(Candidate("open", where, 4.0 - at / 100, f"  - {said}", lead=alone))
        else:
            line = f"{ALSO_PENDING}{said}"
            out.append(Candidate("open", where, 5.5 - at / 100, line, lead=alone))
        first = False
    return out


#: Past this many tool calls after a compaction, what its summary left to do is no longer
#: what is open: the work since took it up (or left it), and the session's own lines say so.
PENDING_CALLS = 20


def pending_still(
    at: int,
    todos: dict[str, tuple[int, str]],
    last_task: tuple[int, MemoryItem] | None,
    items: Sequence[MemoryItem],
) -> bool:
    """Whether what the compaction summary at ``at`` left to do is still what is open: no task
    list kept since, no request of the user's since, at most ``PENDING_CALLS`` tool calls."""
    if any(seq > at for seq, _ in todos.values()) or (last_task is not None and last_task[0] > at):
        return False
    calls = sum(1 for item in items[at + 1 :] if item.metadata.get("kind") == "tool_call")
    return calls <= PENDING_CALLS


def pending_since(
    pending: list[Candidate], at: int, items: Sequence[MemoryItem]
) -> list[Candidate]:
    """What the compaction summary at ``at`` left to do, as the work since leaves it: a task
    naming a name that an edit since changed was taken up (not said as open: the edit's own
    lines say what was done); the others, after tool calls since, said with how many (pending
    then, perhaps done now: "Pending at the compaction ... (worked on since: 9 tool calls)")."""
    calls = 0
    changed: set[str] = set()
    for item in items[at + 1 :]:
        meta = item.metadata
        if meta.get("kind") != "tool_call":
            continue
        calls += 1
        names = meta.get("names")
        if meta.get("tool") in EDIT_TOOLS and isinstance(names, list):
            changed.update(str(name).removesuffix("()") for name in names)
            enclosing = meta.get("enclosing")  # (the function the edit was made in)
            if isinstance(enclosing, str):
                changed.add(enclosing.removesuffix("()"))
    if not calls:
        return pending
    since = f" (worked on since: {calls} tool call{'s' if calls > 1 else ''})"
    out: list[Candidate] = []
    for line in pending:
        spans = {span.removesuffix("()") for span in CODE_SPAN.findall(line.text)}
        if spans & changed:
            continue
        if line.text.startswith(PENDING_AT_COMPACTION):
            line = line._replace(text=line.text + since)
        if line.lead is not None and line.lead.startswith(PENDING_AT_COMPACTION):
            line = line._replace(lead=line.lead + since)
        out.append(line)
    return out


def open_lines(
    todos: dict[str, tuple[int, str]],
    last_task: tuple[int, MemoryItem] | None,
    answered_at: int,
    items: Sequence[MemoryItem],
    n: int,
    offers: dict[int, dict[str, str]] | None = None,
) -> list[Candidate]:
    """The task list's steps (open, or done), the user's last request when nothing answered it,
    and what the agent's last replies leave open (a closing question, open words). ``offers``:
    the options of the replies whose lines were built (``options_of`` by item), when known."""
    offers = {} if offers is None else offers
    out: list[Candidate] = []
    for content, (seq, status) in todos.items():
        if status in ("pending", "in_progress"):
            state = "in progress" if status == "in_progress" else "pending"
            out.append(Candidate("open", seq, 6.0 + seq / n, f"- Still {state}: {content}"))
        elif status == "completed":
            out.append(Candidate("decisions", seq, DONE_SCORE + seq / n, f"{DONE}{content}"))
    if last_task is not None and last_task[0] > answered_at:
        seq, item = last_task
        command, words = command_request(item.content.split())  # (a request to a command)
        text = cut_word_list(words, REQUEST_WORDS)
        asked = f"{code_span(command)}: {text}" if command else text
        failed = "" if command else failure_said(item.content, text)  # (what failed, first)
        if failed:
            asked = f"(the user pasted{failed}) {asked}"
        asked += named_options(item.content, _offered_before(items, seq, offers))
        calls = sum(1 for later in items[seq + 1 :] if later.metadata.get("kind") == "tool_call")
        if calls:  # (not answered is not untouched: the agent may be most of the way there)
            asked += f" (worked on since: {calls} tool call{'s' if calls > 1 else ''})"
        out.append(Candidate("open", seq, 8.0, f"{LATEST_OPEN}{asked}"))
    for seq in range(len(items) - 1, max(-1, len(items) - 40), -1):
        item = items[seq]
        if item.metadata.get("kind") == "fact" and item.metadata.get("role") == "assistant":
            if last_task is not None and last_task[0] > seq:
                break  # the user spoke after it: their request is what is open, if anything
            lines = item.content.splitlines()
            # (a sub-agent's question is to its agent, which answers it: not the user's to take up)
            closing = -1 if item.metadata.get("sidechain") else _closing_question(lines)
            for at, sentence in enumerate(lines):
                if at == closing:
                    said = _with_line_before(lines, at)
                    named = named_options(said, _options(items, seq, offers))
                    text = f"{CLOSING_QUESTION}{cut_words(said, SENTENCE_WORDS)}{named}"
                    out.append(Candidate("open", seq, 7.0, text))
                elif (
                    _says_open(sentence)
                    and len(sentence.split()) >= 4
                    and not _NOTHING_OPEN.search(sentence)
                ):
                    said = _as_offer(BULLET.sub("", sentence).strip())
                    out.append(Candidate("open", seq, 5.5, f"- {cut_words(said, SENTENCE_WORDS)}"))
            break
    return out


#: A reply that only agrees ("Go ahead.", "yes, do it", "sounds good"): what it agreed to is
#: the agent's question before it.
_AGREEING = lazy_compile(
    r"(?i)^(?:(?:ok(?:ay)?|yes|yeah|yep|sure|great|perfect|please),?\s*)*(?:go ahead|do it|"
    r"proceed|sounds good|go for it|ship it|lgtm|yes|yep|yeah|sure|ok(?:ay)?|please do|continue)"
    r"[.!]*(?:\s+(?:please|thanks))?[.!]*$"
    # in Chinese (OK, fine, yes, right, go on, no problem, please go on), Japanese (yes,
    # please, go ahead) and Korean (yes, sounds good, go on)
    r"|^(?:\u597d\u7684|\u597d|\u53ef\u4ee5|\u884c|\u662f\u7684|\u5bf9|\u7ee7\u7eed"
    r"|\u6ca1\u95ee\u9898|\u8bf7\u7ee7\u7eed|\u306f\u3044|\u304a\u9858\u3044\u3057\u307e\u3059"
    r"|\u3069\u3046\u305e|\ub124|\uc88b\uc544\uc694|\uacc4\uc18d)[\u3002\uff01!.\s]*$"
)


def agreed_to(reply: str, before: MemoryItem | None) -> str | None:
    """The line of a reply that only agrees (``_AGREEING``) to the question the agent's reply
    ``before`` it ended on ("Shall I go ahead with this, or ...?"): '- The user answered "...":
    Go ahead.', as an answer to a question the agent asked with its tool is said; None when the
    reply says more, or the agent asked nothing."""
    if before is None or not _AGREEING.match(reply.strip()):
        return None
    lines = before.content.splitlines()
    at = _closing_question(lines)
    if at < 0:
        return None
    asked = cut_words(_with_line_before(lines, at), SENTENCE_WORDS)
    return f'- The user answered "{asked}": {" ".join(reply.split())}'


#: A reply ending on the user's go ("Ready to start TC01 whenever you say go.", "Let me know
#: when you're ready."): what comes next waits for the user, as a closing question's does.
_AWAITS_GO = lazy_compile(
    r"(?i)\b(?:whenever you(?:'re| are)? (?:ready|say)|when(?:ever)? you say (?:go|the word)|"
    r"let me know when you(?:'re| are) ready|just say (?:go|the word))\b"
)


def _closing_question(lines: list[str]) -> int:
    """The index of the question a reply ends on, put to the user (its last line, not in a
    code block nor a list item, ending with ``?`` and asking what the user wants: an
    offer or a choice, :data:`_OPEN_WORDS`; or waiting for the user's go, ``_AWAITS_GO``);
    -1 when it ends on none."""
    for at in range(len(lines) - 1, -1, -1):
        line = lines[at].strip()
        if not line:
            continue
        if _AWAITS_GO.search(line) and not BULLET.match(line):
            return at
        if (
            not line.endswith(("?", "\uff1f"))
            or BULLET.match(line)
            or line.startswith(("```", "~~~"))
        ):
            return -1
        return at if _says_open(line) and _as_offer(line) == line else -1
    return -1


def _with_line_before(lines: list[str], at: int) -> str:
    """The question that ends line ``at`` (a closing question): its last sentence, with the
    sentence before it when the question is short and says what it asks about only there
    ("Which approach would you prefer?"), from the line before if need be (prose only)."""
    said = _SENTENCE_END.split(BULLET.sub("", lines[at]).strip())
    question = said.pop()
    if prose.count_words(question) >= _SHORT_QUESTION:  # (Chinese counted two letters a word)
        return question
    if said:
        asked = _with_alternatives(said, question)
        if _GOES_ON.match(asked):  # (the option before is lines up, over a block it showed)
            prior = _prose_before(lines, at)
            if prior:
                prior = prior.rstrip(":").rstrip()
                asked = f"{prior if prior.endswith(('.', '!', '?')) else prior + '.'} {asked}"
        return asked
    for before in range(at - 1, max(-1, at - 4), -1):
        prior = lines[before].strip()
        if prior:
            if prior.startswith(("```", "~~~", "|", "#")) or prior.endswith(("```", ":")):
                return question
            return _with_alternatives(_SENTENCE_END.split(BULLET.sub("", prior)), question)
    return question


def _prose_before(lines: list[str], at: int) -> str:
    """The last sentence of the nearest prose line above line ``at``, past a code block and
    blank lines (what a block after it showed: "The fix could be to change the paths:"); empty
    when there is none close by."""
    fenced = False
    for before in range(at - 1, max(-1, at - 16), -1):
        prior = lines[before].strip()
        if prior.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or not prior:
            continue
        if prior.startswith(("|", "#")):
            return ""
        return _SENTENCE_END.split(BULLET.sub("", prior))[-1]
    return ""


def _with_alternatives(sentences: list[str], question: str) -> str:
    """``question`` with the last of ``sentences`` before it, and the ones before that while
    each goes on from the one before ("We could use `ab/c123/<session>/` paths. Or store an
    array of sessions. Which approach would you prefer?": the first option too)."""
    taken = [sentences[-1]]
    for sentence in reversed(sentences[:-1]):
        if not _GOES_ON.match(taken[0]) or len(taken) > _ALTERNATIVES:
            break
        taken.insert(0, sentence)
    # (sentences are joined by a space, but after a wide stop by none: Chinese and Japanese
    # write none between them)
    joined = taken[0]
    for sentence in [*taken[1:], question]:
        joined += sentence if joined.endswith(_WIDE_STOPS) else f" {sentence}"
    return joined


#: A sentence that goes on from the one before it ("Or ...", "Alternatively, ..."), and how
#: many more such sentences a closing question takes.
_GOES_ON = lazy_compile(r"(?i)^(?:or|alternatively|otherwise|and|also)\b")
_ALTERNATIVES = 2


def _as_offer(sentence: str) -> str:
    """ "Would you like me to also add **X**?" as what it is, an offer the user has not taken
    up: "The agent offered to also add X." (a question to the user reads as one to the
    reader)."""
    found = _OFFER.match(sentence)
    if found is None or " or " in sentence:  # (a choice put to the user stays a question)
        return sentence
    offered = (found.group(1) or found.group(2)).replace("**", "").removesuffix(" for you")
    verb = "offered" if found.group(1) is not None else "asked whether"
    return f"The agent {verb} to {offered}."


__all__ = [
    "ALSO_PENDING",
    "CLOSING_QUESTION",
    "DONE",
    "DONE_SCORE",
    "LATEST_OPEN",
    "NEXT_AT_COMPACTION",
    "PENDING_AT_COMPACTION",
    "UNDER_WAY",
    "agreed_to",
    "open_lines",
    "pending_since",
    "pending_still",
    "said_done_steps",
    "summary_open_lines",
    "under_way",
]
