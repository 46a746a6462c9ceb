"""Options named by number, spelled out: "let's go with option 1" says nothing to a reader who
did not see the list the agent offered ("1. **Add to Agent interface**: ..."), and "Would you
like Option 1 or Option 3?" nothing without its headings ("### Option 1: Extract helpers").
The digest gives each such reference the title the agent gave that option, from its latest
message that listed options. The options a reply offers are said as offered, not as changes
made; a recommendation the user chose against says what the user chose, and its reasons are
not said. Part of :mod:`memcore.digest_lines`.
"""

from __future__ import annotations

from collections.abc import Sequence

from memcore.digest_prose import Candidate, cut_words
from memcore.digest_settled import FOLDED_TO_ASCII, hinted
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

#: "option 1", "Option #2", "approach 4", "alternative B" in a request or a question.
_REFERENCE = lazy_compile(r"(?i)\b(?:option|approach|alternative)\s*#?(\d|[a-d])\b")
#: A line that titles an option: "### Option 1: Extract helpers (Recommended)", "**Approach
#: 4 - Per-file pools**", "- Option 2: Full unification".
_TITLED = lazy_compile(
    r"(?im)^[ \t]*(?:#{1,6}[ \t]+|[-*][ \t]+)?\**(?:option|approach|alternative)[ \t]+#?"
    r"(\d|[a-d])\b\**[ \t]*[:.)\u2014\u2013-]*[ \t]*(.*?)[ \t]*$"
)
#: A numbered item whose first words are bold: "1. **Add to Agent interface**: ..." (taken for
#: an option only in a message that speaks of options).
_NUMBERED = lazy_compile(r"(?m)^[ \t]*(\d)[.)][ \t]+\*\*(.+?)\*\*")
_SPEAKS_OF_OPTIONS = lazy_compile(r"(?i)\b(?:options|approaches|alternatives)\b")
#: An option's title is said in at most this many words.
TITLE_WORDS = 8
#: What a line ``_TITLED`` takes opens with (lowercased, after its marks), and what a message
#: ``_SPEAKS_OF_OPTIONS`` finds holds: each pattern is run only where its words are (a
#: case-blind search costs about ten times a test of the lowercased text).
_TITLE_OPENERS = ("option", "approach", "alternative")
_TITLE_MARKS = " \t#*-"
_SPOKEN = ("options", "approaches", "alternatives")


def _title(text: str) -> str:
    return cut_words(text.replace("**", "").strip().rstrip(":").strip(), TITLE_WORDS)


def options_of(text: str) -> dict[str, str]:
    """The options a message lists, by their number or letter (lowercase): its titled lines,
    else, in a message that speaks of options, its numbered items' bold first words."""
    found: dict[str, str] = {}
    if "ption" not in text and "pproach" not in text and "lternative" not in text:
        return found  # (most messages list none: no pattern run over them)
    if _may_title(text):
        for match in _TITLED.finditer(text):
            title = _title(match.group(2))
            if title:
                found.setdefault(match.group(1).lower(), title)
    if not found and hinted(text, _SPOKEN):
        # the numbered list after the last words that speak of options (a message may list
        # its findings first, "3. **No structured logging**", then the options to choose from)
        for spoken in reversed([m.end() for m in _SPEAKS_OF_OPTIONS.finditer(text)]):
            found = _numbered_run(text, spoken)
            if found:
                break
    return found


def _may_title(text: str) -> bool:
    """Whether a line of ``text`` may be one ``_TITLED`` takes: one of ``_TITLE_OPENERS`` with
    only marks before it on its line. A letter that lowercasing does not make ASCII (or makes
    two letters: the places would shift) leaves it to the pattern."""
    if not text.isascii() and any(c in text for c in FOLDED_TO_ASCII):
        return True
    lowered = text.lower()
    for word in _TITLE_OPENERS:
        at = lowered.find(word)
        while at >= 0:
            if not lowered[lowered.rfind("\n", 0, at) + 1 : at].strip(_TITLE_MARKS):
                return True
            at = lowered.find(word, at + 1)
    return False


def _numbered_run(text: str, start: int) -> dict[str, str]:
    """The bold-titled numbered items from ``start`` on, until a number comes again (another
    list)."""
    found: dict[str, str] = {}
    for match in _NUMBERED.finditer(text, start):
        if match.group(1) in found:
            break
        title = _title(match.group(2))
        if title:
            found[match.group(1)] = title
    return found


def named_options(text: str, options: dict[str, str]) -> str:
    """What to add to a line of ``text`` that names options by number: " (option 1: Add to
    Agent interface; option 3: Keep as-is)"; empty when it names none that ``options`` has."""
    if not options:
        return ""
    refs = dict.fromkeys(m.group(1).lower() for m in _REFERENCE.finditer(text))
    # (an option whose title the line says already needs no saying again)
    said = [
        f"option {ref}: {options[ref]}"
        for ref in refs
        if ref in options and options[ref].rstrip(".").lower() not in text.lower()
    ]
    return f" ({'; '.join(said)})" if said else ""


#: A reply that is only an option's number or letter: "3", "2.", "option b", "#1".
_PICK = lazy_compile(r"(?i)(?:option|approach|alternative)?\s*#?(\d|[a-d])[.)!]?")


def chosen_option(text: str, options: dict[str, str]) -> str | None:
    """What a reply that only names one of the ``options`` just offered chose: "option 3: Add
    structured logging" for "3"; None for any other reply. A bare number says nothing to a
    reader who did not see the list, and it is the user's decision between them."""
    picked = _PICK.fullmatch(text.strip())
    if picked is None:
        return None
    ref = picked.group(1).lower()
    return f"option {ref}: {options[ref]}" if ref in options else None


#: The agent's recommendation of one of the options it listed ("I'd recommend **Option 1**").
_RECOMMENDED = lazy_compile(
    r"(?i)\brecommend\w*\b[^.\n]{0,40}?\b(?:option|approach|alternative)\s*#?(\d|[a-d])\b"
)


def user_overrode(text: str, options: dict[str, str], later: Sequence[str]) -> str:
    """What to add to a line of ``text`` that recommends one of ``options`` when the user's
    first words after it (``later``, in order) that name an option name another: " (the user
    chose option 2: With semantic meaning)"; empty otherwise. The recommendation alone read as
    the decision, and a brief kept it over the user's choice."""
    if "ecommend" not in text:
        return ""
    found = _RECOMMENDED.search(text)
    if found is None:
        return ""
    for words in later:
        refs = {m.group(1).lower() for m in _REFERENCE.finditer(words)}
        if not refs:
            continue
        chosen = next(iter(refs)) if len(refs) == 1 else None
        if chosen is None or chosen == found.group(1).lower() or chosen not in options:
            return ""
        return f" (the user chose option {chosen}: {options[chosen]})"
    return ""


#: A list item's marker: "- ", "* ", "1. ", "2) ".
_ITEM = lazy_compile(r"[ \t]*(?:[-*+]|\d{1,2}[.)])[ \t]+(\S.*)")


def recommendation_reasons(text: str) -> list[str]:
    """The list items under ``text``'s recommendation of an option when its line leads them in
    ("I'd recommend **Option 1** because:" then "- Shows the full path ..."), their marks and
    bold taken out; none when no such line ends with a colon. Once the user chose another
    option, they argue for what was not done."""
    lines = text.splitlines()
    for at, line in enumerate(lines):
        if "ecommend" not in line or not line.rstrip().endswith(":"):
            continue
        if _RECOMMENDED.search(line.replace("**", "")) is None:
            continue
        reasons: list[str] = []
        for below in lines[at + 1 :]:
            item = _ITEM.fullmatch(below)
            if item is None:
                if below.strip() or reasons:
                    break
                continue  # (a blank line between the lead-in and its list)
            reasons.append(" ".join(item.group(1).replace("**", "").split()))
        return reasons
    return []


def as_offered(found: list[Candidate], offered: dict[str, str]) -> list[Candidate]:
    """``found``, a reply's lines, with those that say one of the options it offers said as
    offered ("- Option 1 offered: Remove `Reason` - YAGNI, it's dead code"): alone, an option
    nobody took read as a change made."""
    out = []
    for cand in found:
        text = cand.text[2:]
        for number, title in offered.items():
            if text.startswith(title.rstrip("\u2026")):
                cand = cand._replace(text=f"- Option {number} offered: {text}")
                if cand.lead is not None:
                    cand = cand._replace(lead=None)
                break
        out.append(cand)
    return out


def overridden(
    found: list[Candidate], offered: dict[str, str], items: Sequence[MemoryItem], seq: int
) -> list[Candidate]:
    """``found``, a reply's lines, with its recommendation of one of the options it offers
    followed by the one the user chose instead, when the user's next words naming an option
    name another (``user_overrode``)."""
    if not any("ecommend" in cand.text for cand in found):
        return found
    later = [
        item.content
        for item in items[seq + 1 :]
        if item.metadata.get("role") == "user"
        and item.metadata.get("kind") not in ("tool_result", "error")
    ]
    out = []
    overrode = False
    for cand in found:
        chose = user_overrode(cand.text, offered, later)
        if chose:
            cand = cand._replace(text=f"{cand.text.rstrip('.')}{chose}.", names=None)
            overrode = True
        out.append(cand)
    if overrode:  # (its reasons argue for what was not done: not said)
        reasons = [r[:_REASON_PREFIX] for r in recommendation_reasons(items[seq].content)]
        out = [
            cand
            for cand in out
            if not any(_plain(cand.text[2:]).startswith(r) for r in reasons if r)
        ]
    return out


#: How much of a reason's words tell its line apart (a line may be cut, or end otherwise).
_REASON_PREFIX = 40


def _plain(text: str) -> str:
    return " ".join(text.replace("**", "").split())


__all__ = [
    "TITLE_WORDS",
    "as_offered",
    "chosen_option",
    "named_options",
    "options_of",
    "overridden",
    "recommendation_reasons",
    "user_overrode",
]
