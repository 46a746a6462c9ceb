"""The to-do items a session's words listed and its work did not do: the agent's "Next steps:",
"Remaining work:", "Files NOT YET updated:" lists (a lead-in of ``digest_subject.TODO_LEAD``),
unchecked boxes (``- [ ] ...``), and the user's such lists in a request. They are no results
(``digest_subject`` keeps them out of "Decisions and results"), but what a session leaves undone
is what its next one needs most: the items the work after the list did not touch are said
under "Still open". Part of :mod:`memcore.digest_lines`.

Only the latest list of the agent and the user's latest count (a list given again is the
current one: the earlier one's items were done, dropped or listed again), and an item is done
when what it names (a path, a name, a command) was touched after it, a task list's step done
says it, or later words of either side say most of it ("implement the enhanced export now").
"""

from __future__ import annotations

from collections.abc import Sequence

from memcore._kernels import prose
from memcore.digest_prose import Candidate, cut_words, line_identifiers
from memcore.digest_settled import hinted
from memcore.digest_subject import TODO_LEAD
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

#: A list item, its indentation and its text; an unchecked box in it, and a checked one.
_ITEM = lazy_compile(r"^(\s*)(?:[-*+\u2022]|\d{1,2}[.)])[ \t]+(.*)$")
_UNCHECKED = lazy_compile(r"^\[ \]\s+")
_CHECKED = lazy_compile(r"^\[[xX]\]\s+")
_FENCES = ("```", "~~~")
#: The words an item's line says, and its lead-in's.
ITEM_WORDS = 25
_LEAD_WORDS = 6
#: Verbs and words of a to-do item that say nothing of which work it is ("Implement the import
#: functionality": "import" and "functionality" say it): left out when later words are compared.
_PLAIN = """a an and the to of in for on with is it that this be by as at or from into its all
    add added adding implement implemented implementing update updated updating fix fixed
    fixing create created make write run test tests check use support new also any
    should need needs still then now more"""
_PLAIN_WORDS = frozenset(_PLAIN.split())
#: The share of an item's telling words later words must say for it to count as done.
_SAID_SHARE = 0.67
#: The items one line says at most (the others counted).
_ITEMS_SAID = 8
#: How the lines start: the list's lead-in (or the box) and whose it is.
OPEN_LISTED = "- Still open ({}): "
#: What every line ``TODO_LEAD`` matches holds (lowercased): most replies hold none, and a test
#: of these spares them the walk over their lines.
_TODO_HINTS = (
    "not yet", "still ", "remaining", "outstanding", "left to do", "next step", "todo", "to-do",
    "what's", "whats",
)  # fmt: skip


def listed_items(text: str) -> list[tuple[str, str]]:
    """The to-do items of ``text`` (a reply or a request) as ``(lead, item)``: the top-level
    items of each list whose lead-in says it is still to do (:data:`TODO_LEAD`), and unchecked
    boxes anywhere (lead empty unless such a lead-in opens their list); checked boxes are done.
    Code blocks are no lists."""
    out: list[tuple[str, str]] = []
    if "[ ]" not in text and not hinted(text, _TODO_HINTS):  # no box, no to-do lead-in
        return out
    lead: str | None = None  # the lead-in of the to-do list being read
    # the last line that is no item: whether it leads in a to-do list is asked only when an
    # item follows it (most lines of prose are followed by more prose)
    before: str | None = None
    indent = -1  # its items' indentation
    fenced = False
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith(_FENCES):
            fenced = not fenced
            continue
        if fenced or not stripped:
            continue
        item = _ITEM.match(raw)
        if item is None:
            before, lead, indent = stripped, None, -1
            continue
        if before is not None:
            lead = _lead_text(before) if TODO_LEAD.match(before) else None
            before = None
        depth = len(item.group(1).expandtabs())
        said = item.group(2).strip()
        if _CHECKED.match(said):
            continue
        boxed = _UNCHECKED.match(said)
        if lead is not None and indent < 0:
            indent = depth
        if lead is not None and depth == indent:
            out.append((lead, _item_text(said[boxed.end() :] if boxed else said)))
        elif boxed is not None:
            out.append((lead or "", _item_text(said[boxed.end() :])))
    return [(lead, said) for lead, said in out if said]


def _lead_text(line: str) -> str:
    """A to-do list's lead-in as its line names it ("### Next Steps" -> "Next Steps")."""
    text = line.lstrip("#>*- \t").replace("**", "").strip().rstrip(":").strip()
    return cut_words(text, _LEAD_WORDS)


def _item_text(said: str) -> str:
    """An item's words on one line, bold marks out, cut to ``ITEM_WORDS``."""
    return cut_words(" ".join(said.replace("**", "").split()).rstrip(":"), ITEM_WORDS)


def _telling(text: str) -> frozenset[str]:
    """The stems of ``text``'s words that say which work it is (see ``_PLAIN_WORDS``; no
    numbers: "Sprint 2" and "Step 2" are no work of their own)."""
    stems = prose.stemmed_words(text.lower(), _PLAIN_WORDS, False, False)
    return frozenset(stem for stem in stems if not stem.isdigit())


#: An item's label ("Sprint 1:", "Step 2 -") and its asides in brackets: no part of what
#: later words must say of it.
_LABEL = lazy_compile(r"^[^:.!?]{1,30}?(?::|\s[-\u2013\u2014])\s+(?=\S)")
_ASIDE = lazy_compile(r"\s*\([^)]*\)")


def _core(text: str) -> str:
    """What a to-do item says of its work, without its label and asides: "Sprint 1: Implement
    enhanced export (manifest, RENDERED.md)" -> "Implement enhanced export"."""
    core = _ASIDE.sub("", text)
    label = _LABEL.match(core)
    if label is not None and len(label.group(0).split()) <= 3 and core[label.end() :].strip():
        core = core[label.end() :]
    return core


#: Where later words are cut to be compared with an item: lines, and sentences in them.
_LINE_OR_SENTENCE = lazy_compile(r"\n|(?<=[.!?])\s+")


def listed_open(
    items: Sequence[MemoryItem], todos: dict[str, tuple[int, str]], n: int
) -> list[Candidate]:
    """The "Still open" lines of the items of the latest to-do list of the agent and of the
    user (see the module) that nothing after them did: what they name untouched since, and
    neither a step of the task list nor later words saying most of them. Each item once, a
    list's on one line led by whose list it is (a line cut to fit keeps its first ones)."""
    latest: dict[str, tuple[int, list[tuple[str, str]]]] = {}
    for seq in range(len(items) - 1, -1, -1):  # (from the end: only the latest lists count)
        meta = items[seq].metadata
        kind, role = meta.get("kind"), meta.get("role")
        agent = kind == "fact" and role == "assistant" and not meta.get("sidechain")
        if not (agent or (kind == "task" and role == "user")):
            continue
        who = "agent" if agent else "user"
        if who in latest:
            continue
        found = listed_items(items[seq].content)
        if found:
            latest[who] = (seq, found)
            if len(latest) == 2:
                break
    if not latest:
        return []
    steps = [(content, status) for content, (_, status) in todos.items()]
    out: list[Candidate] = []
    said: set[str] = set()
    for who, (at, found) in sorted(latest.items(), key=lambda entry: entry[1][0]):
        touched = _touched_after(items, at)
        words: list[frozenset[str]] | None = None  # (read only for an item no name settles)
        by_lead: dict[str, list[str]] = {}
        for lead, text in found:
            key = " ".join(text.lower().split())
            if key in said or _named_done(text, touched):
                continue
            if words is None:  # (only the lines that may say one of these items)
                words = _words_after(items, at, [_telling(_core(listed)) for _, listed in found])
            if _said_done(text, words, steps):
                continue
            said.add(key)
            by_lead.setdefault(lead, []).append(text)
        for k, (lead, texts) in enumerate(by_lead.items()):
            where = f'the {who}\'s "{lead}"' if lead else f"unchecked in the {who}'s list"
            shown = texts[:_ITEMS_SAID]
            more = len(texts) - len(shown)
            listed = "; ".join(shown) + (f"; and {more} more" if more else "")
            line = f"{OPEN_LISTED.format(where)}{listed}"
            out.append(Candidate("open", at + (k + 1) / 1000, 6.0 + at / n, line))
    return out


def _touched_after(items: Sequence[MemoryItem], at: int) -> set[str]:
    """What the items after item ``at`` touched: paths, their base names, names, commands'
    words."""
    touched: set[str] = set()
    for item in items[at + 1 :]:
        meta = item.metadata
        if meta.get("kind") != "tool_call":
            continue
        for key in ("file_path", "pattern", "path"):
            value = meta.get(key)
            if isinstance(value, str) and value:
                touched.add(value)
                touched.add(value.rstrip("/").rsplit("/", 1)[-1])
        for key in ("names", "defines"):
            value = meta.get(key)
            if isinstance(value, list):
                touched.update(str(name).removesuffix("()") for name in value)
        for key in ("enclosing", "command"):
            value = meta.get(key)
            if isinstance(value, str):
                touched.add(value.removesuffix("()"))
                if key == "command":
                    touched.update(value.split())
    return touched


def _words_after(
    items: Sequence[MemoryItem], at: int, owns: list[frozenset[str]] | None = None
) -> list[frozenset[str]]:
    """The telling words of what either side said after item ``at``, line by line (a long
    reply's table holds most words of any item somewhere; the user's asking for it takes it
    up, the agent's words only when they say it done). With ``owns``, the telling words of the
    items they are for: a text or line that cannot say enough of any of them is not read (see
    ``_may_say``), which changes no item's ``_said_done``."""
    words: list[frozenset[str]] = []
    for item in items[at + 1 :]:
        meta = item.metadata
        kind = meta.get("kind")
        if kind in ("fact", "task") and not meta.get("sidechain"):
            if owns is not None and not _may_say(item.content.lower(), owns):
                continue  # (nor can any of its lines)
            agent = kind == "fact"
            words.extend(
                _telling(line)
                for line in _LINE_OR_SENTENCE.split(item.content)
                if (owns is None or _may_say(line.lower(), owns))
                and (not agent or _says_done(line))
            )
    return words


def _may_say(lowered: str, owns: list[frozenset[str]]) -> bool:
    """Whether the lowercased text ``lowered`` holds enough of one of ``owns`` (items' telling
    words) for a line of it to say that item (``_said_done``): a line's telling words are stems
    of its lowercased words, each a piece of the text (a reply's lines cost most of a digest's
    to-do check: cut at sentences, each tested for saying a thing done)."""
    for own in owns:
        if own and sum(1 for stem in own if stem in lowered) >= _SAID_SHARE * len(own):
            return True
    return False


#: The agent's words that say a thing done ("Added ...", "The docs are in the README now"),
#: and those that do not, whatever else they say: a question ("Would you like me to also
#: implement the import functionality?"), what may, will or is still to be.
_DONE_WORDS = lazy_compile(r"(?i)\b(?:done|complete|finished|now|\w{3,}ed)\b")
_NOT_DONE = lazy_compile(
    r"(?i)\?\W*$|\b(?:would|could|should|will|shall|can|may|might|next|remaining|still|not yet"
    r"|todo|later|need|needs|want|if)\b|'ll\b"
)


#: What every line ``_DONE_WORDS`` finds holds (lowercased): tested before its search.
_DONE_HINTS = ("ed", "done", "complete", "now")


def _says_done(line: str) -> bool:
    return (
        hinted(line, _DONE_HINTS)
        and _DONE_WORDS.search(line) is not None
        and _NOT_DONE.search(line) is None
    )


def _named_done(text: str, touched: set[str]) -> bool:
    """Whether something the to-do item ``text`` names was touched after it was listed."""
    for name in line_identifiers(text):
        bare = name.strip("`").removesuffix("()")
        if bare in touched or bare.rstrip("/").rsplit("/", 1)[-1] in touched:
            return True
        if " " in bare and all(word in touched for word in bare.split()):
            return True  # (a command named: its words run)
    return False


def _said_done(text: str, later: list[frozenset[str]], steps: list[tuple[str, str]]) -> bool:
    """Whether a step of the task list or later words say most of the to-do item ``text``'s
    telling words (it is the task list's, or was done)."""
    own = _telling(_core(text))
    if not own:
        return False
    need = _SAID_SHARE * len(own)
    return any(len(own & _telling(step)) >= need for step, _ in steps) or any(
        len(own & other) >= need for other in later
    )


__all__ = ["ITEM_WORDS", "OPEN_LISTED", "listed_items", "listed_open"]
