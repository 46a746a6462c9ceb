"""What an agent's edit changed, from its old and new texts: the names it renamed, changed,
added or took out, the lines that say the change and those around it, and the function or class
it was made in. Built on :mod:`memcore.claude_code.code_names`'s patterns (definitions, calls,
words), which say what a text defines and calls.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from memcore.claude_code.code_names import (
    _CALL,
    _DEFINITION,
    _KEYWORDS,
    _NUMBERED_LOCAL,
    _WORD,
    MAX_NAMES,
    _callable,
    _code_like,
    _definition_rank,
    _definitions,
    _named,
    _rank,
    _with_call,
)
from memcore.lazy_re import lazy_compile

_TOKEN = lazy_compile(r"\\[A-Za-z]|[A-Za-z_$][\w$]*|\S")  # (an escape is one token)


def _affix(a: str, b: str) -> int:
    """The length of the longer of the two names' common start and common end."""
    return max(_common(a, b), _common(a[::-1], b[::-1]))


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def renamed_names(old: str, new: str, limit: int = 12) -> list[tuple[str, str]]:
    """The names an edit replaced one for one where the code around them stayed the same
    (``TypegenPlugin`` by ``CodegenPlugin``), the old name gone and the new one new: a rename,
    which says more than the two names apart. Lines are matched first (as a diff does), then
    the tokens of each changed line against its counterpart with as many tokens: linear in the
    text, so a whole file rewritten (a ``Write`` after a ``Read``) costs little. Words of prose
    replaced by others (``quick`` by ``fast``) are none: a name counts when one side looks like
    code (``snake_case``, ``camelCase``, a digit) or the two share a start or an end of 4."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    if not old_lines or not new_lines:
        return []
    found: dict[tuple[str, str], None] = {}
    for old_line, new_line in _replaced_lines(old_lines, new_lines):
        old_tokens, new_tokens = _TOKEN.findall(old_line), _TOKEN.findall(new_line)
        if len(old_tokens) != len(new_tokens):
            continue
        for a, b in zip(old_tokens, new_tokens, strict=True):
            if a == b or (a, b) in found or not (_WORD.fullmatch(a) and _WORD.fullmatch(b)):
                continue
            if a.lower() in _KEYWORDS or b.lower() in _KEYWORDS:
                continue
            if _code_like(a) or _code_like(b) or _affix(a, b) >= 4:
                found[(a, b)] = None
    if not found:
        return []
    # renamed: the old name gone, the new one new (else one use of a name became another's)
    before, after = set(_WORD.findall(old)), set(_WORD.findall(new))
    found = {(a, b): None for a, b in found if a not in after and b not in before}
    # one name replaced by two (``seen`` by ``deletedSeen`` here, ``changedSeen`` there) was
    # split, not renamed: neither is told
    olds = Counter(a for a, _ in found)
    news = Counter(b for _, b in found)
    return [(a, b) for a, b in found if olds[a] == 1 and news[b] == 1][:limit]


#: The most lines on each side, past those the two texts open and end with alike, that
#: ``renamed_names`` matches as a diff does (in time up to the product of the two): an edit
#: rewriting more (a file of thousands of lines, every line touched) has its lines paired by
#: position when both sides have as many, else no renames told.
DIFF_LINES = 3000


def _middles(old: list[str], new: list[str]) -> tuple[int, list[str], list[str]]:
    """Where ``old`` and ``new`` start to differ, and their lines between those both open and
    end with alike (which a diff need not look at)."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return start, old[start : len(old) - end], new[start : len(new) - end]


def _replaced_lines(old: list[str], new: list[str]) -> Iterator[tuple[str, str]]:
    """The pairs of lines of ``old`` and ``new`` that a diff replaces one for one."""
    _, old_mid, new_mid = _middles(old, new)
    if len(old_mid) > DIFF_LINES or len(new_mid) > DIFF_LINES:
        if len(old_mid) == len(new_mid):
            yield from zip(old_mid, new_mid, strict=True)
        return
    matcher = difflib.SequenceMatcher(None, old_mid, new_mid)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            yield from zip(old_mid[i1:i2], new_mid[j1:j2], strict=True)


#: A linter's rule code (``G304``, ``E501``, ``SC2086``, ``TS7006``), or a note's tag
#: (``TODO(ENT-221)``): the text after a comment mark names one in an edit that silences a rule
#: (``//nolint:gosec // G304: ...``) or leaves a note, not a name the edit changed.
_LINT_CODE = lazy_compile(r"\b(?:[A-Z]{1,4}[0-9]{2,5}|TODO|FIXME|XXX|HACK)\b")
_COMMENT_MARK = lazy_compile(r"//|#|--|/\*")


def _lint_codes(text: str) -> set[str]:
    """The rule codes and note tags ``text`` names only in comments (after a comment mark on
    their line)."""
    in_comments: set[str] = set()
    in_code: set[str] = set()
    for line in text.splitlines():
        mark = _COMMENT_MARK.search(line)
        cut = len(line) if mark is None else mark.start()
        in_code.update(_LINT_CODE.findall(line, 0, cut))
        in_comments.update(_LINT_CODE.findall(line, cut))
    return in_comments - in_code


#: A command's option in a script an edit wrote (``New-Item -ItemType Directory``, ``go mod
#: download -modcacherw``, ``--dry-run``): a dash right after a word and a space.
_FLAG = lazy_compile(r"(?<=[\w\"'] )--?([A-Za-z][\w-]*)")


def _flags(text: str) -> set[str]:
    """The words ``text`` writes only as a command's options: what a command was told, not a
    name the edit changed."""
    flagged = {part for flag in _FLAG.findall(text) for part in _WORD.findall(flag)}
    if not flagged:
        return flagged
    return flagged - set(_WORD.findall(_FLAG.sub(" ", text)))


def changed_names(old: str, new: str) -> list[str]:
    """The names an edit changed: definitions in changed lines first, then the definition the
    change sits in, then called or code-like names that appear or disappear. Functions and
    calls are written ``name()``."""
    old_lines = {_unlisted(line) for line in old.splitlines()}
    new_lines = new.splitlines()
    changed_new = [line for line in new_lines if _unlisted(line) not in old_lines]
    new_set = {_unlisted(line) for line in new_lines}
    changed_old = [line for line in old.splitlines() if _unlisted(line) not in new_set]
    changed = "\n".join(changed_new + changed_old)
    ranked: Counter[str] = Counter()
    changed_calls = set(_CALL.findall(changed))
    calls = changed_calls | set(_CALL.findall(new))
    for _, name, _ in _definitions(changed):
        ranked[name] += 100
    # the definition enclosing the first change (context lines above it, its block still
    # open there: a function added after another is in neither)
    first = _first_written(new_lines, old_lines)
    if first is not None:
        line = new_lines[first]
        found = _open_definition(new_lines[:first], _indent(line + "x"), any_rank=True)
        if found:
            ranked[found.group("name")] += 50
    old_words = set(_WORD.findall(old))
    new_words = set(_WORD.findall(new))
    codes = _lint_codes(changed)
    for call in changed_calls:
        if call.split(".")[-1].lower() not in _KEYWORDS and len(call) > 2 and call not in codes:
            ranked[call] += 2
    flags = _flags(changed)
    # a word the changed lines write only as a part of a dotted call (``setTimeout`` and
    # ``test`` of ``test.setTimeout(``) is that call's: its weight goes to the call, not to a
    # name of its own that says the call again
    dotted = [call for call in changed_calls if "." in call]
    holding: dict[str, list[str]] = {}  # each part of a dotted call: the calls it is part of
    for call in dotted:
        for part in set(call.split(".")):
            holding.setdefault(part, []).append(call)
    alone = set(_WORD.findall(_without_calls(changed, set(dotted)))) if dotted else set()
    for word in _WORD.findall(changed):
        if word.lower() in _KEYWORDS or word in codes or word in flags:
            continue
        appeared = (word in new_words) != (word in old_words)
        if _code_like(word) or word in calls:
            weight = 3 if appeared else 1
            holders = holding.get(word)
            if holders and word not in alone:
                for call in holders:
                    ranked[call] += weight
            else:
                ranked[word] += weight
    ranked = Counter({n: r for n, r in ranked.items() if not _NUMBERED_LOCAL.fullmatch(n)})
    names = [n for n, _ in sorted(ranked.items(), key=lambda kv: (-kv[1], kv[0]))]
    return [_with_call(n, calls) for n in names[:MAX_NAMES]]


def _without_calls(text: str, calls: set[str]) -> str:
    """``text`` with each of the dotted ``calls`` (``test.setTimeout(``) blanked out, in one
    scan of its calls (an edit may write thousands)."""
    parts: list[str] = []
    last = 0
    for found in _CALL.finditer(text):
        if found.group(1) in calls:
            parts.append(text[last : found.start()])
            parts.append(" (")
            last = found.end()
    parts.append(text[last:])
    return "".join(parts)


_COMMENT_STARTS = ("//", "#", "*", "/*", "--", '"""', "'''")


#: Locals every function has: a line that names one of them beside keywords only (``if err !=
#: nil {``, ``return nil, err``) is error plumbing, not the change. (Keywords alone may be the
#: change: a ``default:`` taken out, ``return true`` become ``return``.)
_STOCK_LOCALS = frozenset(("err", "ctx"))
#: Words that only open or close a block: ``} else {``, ``try:`` say nothing alone.
_BLOCK_WORDS = frozenset(("else", "try", "finally", "then", "end", "begin"))


def _names_something(line: str) -> bool:
    """Whether ``line`` holds a word, and is neither error plumbing (see ``_STOCK_LOCALS``)
    nor a block's edge (``_BLOCK_WORDS``)."""
    words = [word.lower() for word in _WORD.findall(line)]
    if _BLOCK_WORDS.issuperset(words):  # (no word at all, too)
        return False
    return not all(word in _KEYWORDS for word in words) or _STOCK_LOCALS.isdisjoint(words)


def changed_lines(old: str, new: str, limit: int = 8) -> list[str]:
    """The new lines that say how an edit changed the code: definitions first, then
    assignments and calls; short, code-bearing lines only (no comments, no lone braces)."""
    old_lines = {_unlisted(line).strip() for line in old.splitlines()}
    return _code_lines(
        (line for line in new.splitlines() if _unlisted(line).strip() not in old_lines), limit
    )


def context_lines(old: str, new: str, limit: int = 4) -> list[str]:
    """The code lines an edit kept around its change (in both texts): where it was made."""
    old_lines = {_unlisted(line).strip() for line in old.splitlines()}
    return _code_lines(
        (line for line in new.splitlines() if _unlisted(line).strip() in old_lines), limit
    )


def _code_lines(lines: Iterable[str], limit: int) -> list[str]:
    """Short, code-bearing lines, definitions first, then assignments and calls."""
    scored: list[tuple[int, int, str]] = []
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not 6 <= len(line) <= 100 or "`" in line:
            continue
        if line.startswith(_COMMENT_STARTS) or not _names_something(line):
            continue
        if _DEFINITION.match(line):
            rank = 0
        elif "=" in line or ":" in line or _CALL.search(line):
            rank = 1
        else:
            rank = 2
        scored.append((rank, index, line))
    return [line for _, _, line in sorted(scored)[:limit]]


def enclosing_definition(tool_use_result: Any, max_lines: int = 400) -> str | None:
    """The function or class an edit changed, from the file as it was before the edit (Claude
    Code records it with the edit's result): the nearest definition above the edited text."""
    if not isinstance(tool_use_result, Mapping):
        return None
    original = tool_use_result.get("originalFile")
    old = tool_use_result.get("oldString")
    if not isinstance(original, str) or not isinstance(old, str) or not old.strip():
        return None
    at = original.find(old)
    if at < 0:
        return None
    new = tool_use_result.get("newString")
    if isinstance(new, str) and old in new:  # text only added: where it went, not what it kept
        return _inserted_into(original[:at], old, new)
    end = at + len(old)
    if isinstance(new, str):
        line_start = original.rfind("\n", 0, at) + 1
        lead = original[line_start:at]  # (the edit's first line, whole)
        old_lines, new_lines = (lead + old).splitlines(), (lead + new).splitlines()
        spans = _changed_spans(old_lines, new_lines)
        if spans:
            return _changed_in(original, line_start, end, old_lines, new_lines, spans, max_lines)
    # (no new text, or none a diff can tell: a definition in the edited text, else the one
    # above it)
    for head_text, name, method in _definitions(old):
        if _definition_rank(head_text, method) <= 1 and name.lower() not in _KEYWORDS:
            return _callable(name, head_text, method)
    at += len(old) - len(old.lstrip())  # (from the edit's first line with text)
    start = original.rfind("\n", 0, at) + 1  # that line, whole
    floor = _indent(original[start:at] + "x")
    if _COMMENT.match(original[at : at + 3]):  # a comment over a definition is that one's
        below = _documented(original[end:], floor)
        if below is not None:
            return below
    above = _open_definition(original[:start].splitlines()[-max_lines:], floor)
    return _named(above) if above else None


_Span = tuple[int, int, int, int]


#: The most lines of the one side times those of the other, past those the two texts open and
#: end with alike, that ``_changed_spans`` matches as a diff does (in time up to that product:
#: a diff of 3,000 lines against as many, a third of them changed, takes a second); an edit
#: rewriting more is said to be in the first definition of its old text, as when no new text
#: is known. (Lines only added cost little: a few old lines against many new.)
SPAN_DIFF_CELLS = 600 * 600


def _changed_spans(old_lines: list[str], new_lines: list[str]) -> list[_Span]:
    """Where the edit's new lines differ from its old ones, as a diff's ``(i1, i2, j1, j2)``
    (old lines ``i1:i2`` became new lines ``j1:j2``); none past ``SPAN_DIFF_CELLS`` between
    the lines both open and end with."""
    start, old_mid, new_mid = _middles(
        [_unlisted(line) for line in old_lines], [_unlisted(line) for line in new_lines]
    )
    if len(old_mid) * len(new_mid) > SPAN_DIFF_CELLS:
        return []
    matcher = difflib.SequenceMatcher(None, old_mid, new_mid, autojunk=False)
    return [
        (i1 + start, i2 + start, j1 + start, j2 + start)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _changed_in(
    original: str,
    start: int,
    end: int,
    old_lines: list[str],
    new_lines: list[str],
    spans: list[_Span],
    max_lines: int,
) -> str | None:
    """Where an edit's first change is: a definition of the edited text (``original[start:
    end]``, from its first line whole) whose block it changed (:func:`_changed_definition`),
    else the comment over the definition below it, else the definition still open at its
    first changed line (from the file's ``max_lines`` lines above and the edited text's above
    it); none when that line is at the top of the file. (The file is read around the edit only
    when the edited text does not tell.)"""
    touched = _changed_definition(old_lines, new_lines, spans)
    if touched is not None:
        return touched
    i1, i2, j1, j2 = spans[0]
    changed = next((line for line in [*old_lines[i1:i2], *new_lines[j1:j2]] if line.strip()), None)
    if changed is None:
        return None
    floor = _indent(changed + "x")
    if i2 > i1 and _COMMENT.match(old_lines[i1].strip()):  # a comment over a definition
        below = _documented("\n".join(old_lines[i1:]) + "\n" + original[end:], floor)
        if below is not None:
            return below
    head = original[:start].splitlines()[-max_lines:]
    above = _open_definition([*head, *old_lines[:i1]], floor)
    return _named(above) if above else None


def _changed_definition(
    old_lines: list[str], new_lines: list[str], spans: list[_Span]
) -> str | None:
    """The first function or class defined in the edit's old lines whose block (its doc
    comment, its line, then the lines indented deeper; see :func:`_indent`) the edit changed:
    a line of it replaced or taken out, or lines inserted inside it (lines inserted right after
    its last one are in it when indented deeper than its definition)."""
    replaced = [(i1, i2) for i1, i2, _, _ in spans if i1 < i2]  # (lines replaced or gone)
    ends = [i2 for _, i2 in replaced]
    inserted = [(i1, j1, j2) for i1, i2, j1, j2 in spans if i1 == i2]
    inserted_at = [i1 for i1, _, _ in inserted]
    for at, line in enumerate(old_lines):
        found = _DEFINITION.match(line)
        if not found or _rank(found) > 1 or found.group("name").lower() in _KEYWORDS:
            continue
        depth = _indent(line)
        index = at  # (from the comment right above it, its doc comment)
        while index and _COMMENT.match(old_lines[index - 1].strip()):
            index -= 1
        end = at + 1
        while end < len(old_lines):
            below = old_lines[end]
            if below.strip() and _indent(below) <= depth and not below.lstrip().startswith(")"):
                break
            end += 1
        # (the spans are in order and apart: the first ending past the block's start, and
        # the first insertion past it, are the only ones to look at)
        at_span = bisect.bisect_right(ends, index)
        if at_span < len(replaced) and replaced[at_span][0] < end:  # a line of it replaced
            return _named(found)
        at_insert = bisect.bisect_right(inserted_at, index)
        if at_insert < len(inserted) and inserted_at[at_insert] <= end:  # lines inserted
            i1, j1, j2 = inserted[at_insert]
            first = next((text for text in new_lines[j1:j2] if text.strip()), None)
            if i1 < end or (first is not None and _indent(first) > depth):
                return _named(found)
    return None


def _open_definition(
    lines: Sequence[str], floor: int, *, any_rank: bool = False
) -> re.Match[str] | None:
    """The nearest definition among ``lines`` (those above a line indented ``floor``) whose
    block is still open at the end of them (see :func:`_indent`): a function or a class (any
    definition with ``any_rank``)."""
    for line in reversed(lines):
        if not line.strip():
            continue
        indent = _indent(line)
        above = _DEFINITION.match(line) if indent < floor else None  # (a block still open)
        if (
            above
            and (any_rank or _rank(above) <= 1)
            and above.group("name").lower() not in _KEYWORDS
        ):
            return above
        if not line.lstrip().startswith(")"):  # (a signature's closing line is no block's end)
            floor = min(floor, indent)
    return None


def _first_written(new_lines: Sequence[str], old_lines: set[str]) -> int | None:
    """Where the first line an edit wrote (one not in the old text) is in the new one."""
    for index, line in enumerate(new_lines):
        if line.strip() and _unlisted(line) not in old_lines:
            return index
    return None


def _unlisted(line: str) -> str:
    """A line as an edit's texts are compared: without the comma that ends an item of a list
    (JSON, a literal, arguments), which an edit adds or takes when it adds or takes the next
    item: ``"outDir": "dist",`` kept as the last item is no line the edit changed."""
    return line.rstrip().removesuffix(",").rstrip()


def _inserted_into(before: str, old: str, new: str, max_lines: int = 400) -> str | None:
    """The function or class the text an edit added (keeping its old text whole) went into:
    the definition open at the first added line, from the file above it and the kept lines
    before it; an added definition whose block is at the file's top is in none."""
    new_lines = new.splitlines()
    first = _first_written(new_lines, {_unlisted(line) for line in old.splitlines()})
    if first is None:
        return None
    start = before.rfind("\n") + 1
    new_lines[0] = before[start:] + new_lines[0]  # (the edit's first line, whole)
    above = [*before[:start].splitlines()[-max_lines:], *new_lines[:first]]
    found = _open_definition(above, _indent(new_lines[first] + "x"))
    return _named(found) if found else None


#: How a comment line starts in the languages agents edit most (``#`` for Python and shell,
#: ``//`` and ``/*``/`` *`` for C-like ones, ``--`` for SQL and Lua).
_COMMENT = lazy_compile(r"#|//|/\*|\*|--")


def _documented(after: str, indent: int) -> str | None:
    """The definition right under a comment block (its doc comment) that ends where ``after``
    starts: the next line that is no comment, when it defines something at the block's
    ``indent``."""
    for line in after.splitlines()[:40]:
        stripped = line.strip()
        if not stripped or _COMMENT.match(stripped):
            continue
        found = _DEFINITION.match(line)
        if (
            found
            and _indent(line) == indent
            and _rank(found) <= 1
            and found.group("name").lower() not in _KEYWORDS
        ):
            return _named(found)
        return None
    return None


def _indent(line: str) -> int:
    """How deep ``line`` is indented (tabs as 4 spaces). A definition encloses a line below it
    only while every line between is indented deeper than the definition: a line as shallow
    ends its block (Python's dedent, the ``}`` that closes a function, top-level code after a
    shell function), so an edit after it belongs to no definition above, or to an outer one."""
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip())


__all__ = [
    "DIFF_LINES",
    "changed_lines",
    "changed_names",
    "context_lines",
    "enclosing_definition",
    "renamed_names",
]
