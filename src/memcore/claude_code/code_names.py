"""The names and lines of code in an agent's edits and reads: what an edit changed and where,
what a file defines and calls. Plain text heuristics over the common languages of agent sessions
(Python, Go, JS/TS, Rust, Ruby, Elixir, shell, Java, C#, Kotlin, Swift, PHP, C, C++, Lua): no
parser, so any language reads, roughly.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from memcore.lazy_re import lazy_compile

#: Names an edit or a file gives at most.
MAX_NAMES = 40
#: A read keeps at most this many of the names its text calls (the most called).
CALLS_LIMIT = 8

# Definitions in the common languages of agent sessions (see the module doc); the name is the
# group ``name``. Three forms: a keyword (``def``, ``fn``, ``class``, ``fun``...) after any
# modifiers; in the languages that write none for a method (Java, C#, a TS class), modifiers,
# maybe a type, and the name called (``public BigDecimal total(Cart c)``, ``private async
# load()``): the group ``method`` is set; a C-family signature or a bare ``name() {`` opening a
# body (``_C_FUNCTION``): the group ``cfunc`` or ``bare``.
_MODIFIER = (
    r"(?:pub(?:\(\w+\))?|public|private|protected|internal|fileprivate|open|override|abstract|"
    r"final|sealed|data|inline|suspend|partial|readonly|virtual|extern|unsafe|async|static|"
    r"synchronized|mutating|local)\s+"
)
#: A method's type before its name: a word (not a statement's: ``async with lock(``), maybe
#: generic, an array, nullable.
_METHOD_TYPE = (
    r"(?!(?:with|for|if|while|return|await|yield|new|throw|case|when|else|do|in|of|not)\b)"
    r"[A-Za-z_][\w.]*(?:<[^()\n]*>)?(?:\[\])*\??\s+"
)
#: A C-family function's signature on one line, opening its body (``int main(int argc) {``,
#: ``std::string Cart::name() const {``, ``void *alloc(size_t n) {``): up to three type words,
#: none a statement's (``return f() {``, Rust's ``match f() {``), a class's qualifier maybe,
#: then the name; or a name with empty parentheses opening a body, as shell functions and JS
#: class methods are written (``cleanup() {``, ``render() {``). Tried after the keyword form.
_C_TYPE_WORD = r"[A-Za-z_][\w:]*+(?:<[^()\n]*>)?[ \t*&]++"
_NOT_A_TYPE = (
    r"(?!(?:else|return|new|delete|throw|case|goto|await|yield|go|defer|not|in|of|and|or|raise|"
    r"assert|print|puts|echo|typeof|sizeof|using|import|from|package|if|for|foreach|while|"
    r"switch|do|when|then|elif|match|catch|with|lock|until|unless)\b)"
)
_NOT_A_NAME = r"(?!(?:if|for|foreach|while|switch|catch|function|func|return|else|do|with)\b)"
_C_FUNCTION = (
    r"(?=[^\n{]*+\{[ \t]*(?:\r?\n|$))"  # (a gate: the line's first brace ends it)
    rf"(?:(?P<cfunc>){_NOT_A_TYPE}(?:{_C_TYPE_WORD}){{1,3}}(?:[A-Za-z_]\w*::)*{_NOT_A_NAME}"
    r"(?=[A-Za-z_]\w*\s*\([^;{}\n]*\)[\w \t&]*\{[ \t]*(?:\r?\n|$))"
    rf"|(?P<bare>){_NOT_A_NAME}(?=[A-Za-z_]\w*\s*\(\)\s*\{{[ \t]*(?:\r?\n|$)))"
)
#: (the modifiers read once for both forms, the method form tried only after one, ``(?(mod)``;
#: JS's ``export`` and ``default`` are no method's: ``export default defineConfig(`` calls)
_DEFINITION_BODY = (
    rf"\s*+(?:(?:export|default)\s+)*(?:(?P<mod>{_MODIFIER})(?:{_MODIFIER})*)?"
    rf"(?:(?(mod)(?P<method>)(?:{_METHOD_TYPE})?(?=[A-Za-z_][\w.]*\s*\()|(?!))"
    r"|(?:def|class|func(?:\s*\([^)]*\))?|function\*?|type|interface|struct|enum|trait|impl|fn|"
    r"fun|module|defmodule|defp?|defmacro|const|let|var|val|static|object|protocol|extension|"
    rf"namespace|record|CREATE\s+TABLE)\s+|{_C_FUNCTION})"
    r"(?P<name>[A-Za-z_][\w.]*)"
)


def _portable(pattern: str) -> str:
    """``pattern`` as this Python reads it: its possessive quantifiers (``*+``, ``++``: Python
    3.11+) made plain on 3.10. Each of them here is followed by what cannot match what it
    would give back (``[\\w:]*+`` by ``<`` or a blank), so the plain one finds the same
    matches, only by trying more ways to fail."""
    if sys.version_info >= (3, 11):
        return pattern
    return pattern.replace("*+", "*").replace("++", "+")


_DEFINITION_BODY = _portable(_DEFINITION_BODY)
_DEFINITION = lazy_compile(_DEFINITION_BODY)  # one line's (``match``)
# Every line's, led by the newline before the line (``_definitions`` gives the text one in
# front): a pattern that starts with a literal lets the engine skip to the next newline at C
# speed, where ``^`` with MULTILINE is tried at every character (a quarter of the time).
_DEFINITION_LINES = lazy_compile("\n" + _DEFINITION_BODY)
# (possessive: a name not followed by ``(`` is given up at once, not tried shorter, which
# cannot match either; it halves the time of a findall over a file)
_CALL = lazy_compile(_portable(r"\b([A-Za-z_][A-Za-z0-9_]*+(?:\.[A-Za-z_][A-Za-z0-9_]*+)*+)\("))
# A name of 3+ ASCII characters, whole (no word character on either side), and not after a
# backslash (``"\nTo continue"`` names no ``nTo``). Its first letter comes first, the check of
# what is before it after: a pattern led by a character set is scanned for at C speed, one led
# by a look-behind is tried at every character (the same matches in half the time).
_WORD = lazy_compile(r"[A-Za-z_](?<![\w\\][A-Za-z_])[A-Za-z0-9_]{2,}\b")
_KEYWORD_TEXT = """
    and are assert async await break case catch class const continue def default defer delete do
    elif else enum except export extends false finally for from func function go goto if impl
    import in interface is lambda let match module new nil none not null or package pass print
    private protected pub public raise range return select self static struct super switch this
    throw true try type typeof var void while with yield len str int float bool dict list set
    string error nil err ctx fmt println printf sprintf errorf append make map true false
    final readonly sealed override abstract virtual internal synchronized mutating fileprivate
    init deinit get constructor
    """
_KEYWORDS = frozenset(_KEYWORD_TEXT.split())


#: A test's or a loop's numbered locals (``msg1``, ``ref2``, ``t0``): a digit makes no name of
#: these, which every test file has by the dozen.
_NUMBERED_LOCAL = lazy_compile(r"[a-z]{1,4}\d{1,2}")


_DIGIT = lazy_compile(r"[0-9]")


def _code_like(word: str) -> bool:
    """``snake_case``, a digit (not a numbered local, nor a hex value), or ``camelCase``: a
    name, not a word. (``word`` is ASCII, a match of ``_WORD``.)"""
    tail = word[1:]
    return (
        "_" in word.strip("_")
        or (
            _DIGIT.search(word) is not None
            and not _NUMBERED_LOCAL.fullmatch(word)
            and not _HEX_VALUE.fullmatch(word)
        )
        or (tail != tail.lower() and word != word.upper())
    )


#: A colour or a hash written in hex (``f87171``, ``3b307b2``): a value, not a name.
_HEX_VALUE = lazy_compile(r"[0-9a-f]{6,}|[0-9A-F]{6,}")


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


#: What opens a definition of a name in most languages: a keyword, a Go method's receiver
#: maybe, then the name (``func (s *S) Name(``, ``class Name``, ``const Name =``).
_DEFINING = (
    r"\b(?:def|func|fun|function|class|const|let|var|type|interface|struct|enum|fn|trait|impl"
    r"|module|object|val|record|protocol|typealias|macro|defp?|sub|proc)\s+"
    r"(?:\([^)]{0,80}\)\s*)?"
)


#: Words before a call that opens a block, which a C-family definition's type is not.
_NOT_TYPES = frozenset(
    [
        "if",
        "while",
        "for",
        "switch",
        "return",
        "else",
        "case",
        "await",
        "new",
        "throw",
        "go",
        "defer",
        "not",
        "and",
        "or",
        "in",
        "elif",
        "unless",
        "until",
        "catch",
        "yield",
    ]
)


def is_defined_in(name: str, text: str) -> bool:
    """Whether ``text`` defines ``name``: a definition keyword before it, or an assignment of a
    function to it (``name = function``, ``name = (...) =>``, ``name: function``)."""
    escaped = re.escape(name)
    if re.search(_DEFINING + escaped + r"\b", text):
        return True
    # a C-family function or method: a type before the name, its parameters, then its body
    # opens on the line (``static int load_items(const char *p) {``, ``List<Item> f(...) {``)
    for found in re.finditer(
        r"(?m)^[ \t]*[\w<>\[\],:*&. \t]*?(\w+)[>\]*&]*\s+(?:\w+::)?"
        + escaped
        + r"\s*\([^;{}]{0,300}\)[\w\s,.:]{0,80}\{",
        text,
    ):
        if found.group(1) not in _NOT_TYPES:  # (``if load_items(c) {`` calls it)
            return True
    return (
        re.search(escaped + r"\s*[:=]\s*(?:async\s+)?(?:function\b|\([^)]{0,200}\)\s*=>)", text)
        is not None
    )


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


def _replaced_lines(old: list[str], new: list[str]) -> Iterator[tuple[str, str]]:
    """The pairs of lines of ``old`` and ``new`` that a diff replaces one for one."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    old_mid, new_mid = old[start : len(old) - end], new[start : len(new) - end]
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
    for word in _WORD.findall(changed):
        if word.lower() in _KEYWORDS or word in codes:
            continue
        appeared = (word in new_words) != (word in old_words)
        if _code_like(word) or word in calls:
            ranked[word] += 3 if appeared else 1
    ranked = Counter({n: r for n, r in ranked.items() if not _NUMBERED_LOCAL.fullmatch(n)})
    names = [n for n, _ in sorted(ranked.items(), key=lambda kv: (-kv[1], kv[0]))]
    return [_with_call(n, calls) for n in names[:MAX_NAMES]]


_FUNCTION_WORDS = lazy_compile(r"\b(def|defp|defmacro|func|function|fn|fun)\b")
_TYPE_WORDS = lazy_compile(
    r"\b(class|struct|interface|trait|impl|enum|module|defmodule|object|protocol|extension"
    r"|namespace|record)\b"
)


def _definitions(text: str) -> Iterator[tuple[str, str, bool]]:
    """Each definition in ``text``: the line's text up to the name (``_definition_rank``'s
    ``head``; from the end of the previous definition's name when blank lines are between, as
    ``^\\s*`` with MULTILINE matches), the name, and whether it is a method written with no
    keyword."""
    for found in _DEFINITION_LINES.finditer("\n" + text):
        yield found.group(0)[1:], found.group("name"), _called(found)


#: ``_definition_rank`` of a constant or variable declared inside a block.
_LOCAL_RANK = 4


def _definition_rank(head: str, method: bool = False) -> int:
    """Functions first, then classes and the like, then types, then top-level constants; a
    ``method`` (called, with no keyword) is a function."""
    if _FUNCTION_WORDS.search(head):
        return 0
    if _TYPE_WORDS.search(head):
        return 1
    if method:
        return 0
    if re.search(r"\btype\b", head):
        return 2
    return 3 if not head[:1].isspace() else 4


def read_outline(
    text: str, limit: int, calls_limit: int = CALLS_LIMIT
) -> tuple[list[str], list[str]]:
    """What a file read holds: ``defined_names(text)[:limit]`` and the names it calls most
    beside those (``called_names``), from one scan of its calls."""
    calls = _CALL.findall(text)
    defines = _defined(text, set(calls))[:limit]
    return defines, _most_called(calls, defines, calls_limit)


def defined_names(text: str) -> list[str]:
    """Names a file defines: its functions first, then its classes, types and top-level
    constants, each group in file order."""
    return _defined(text, set(_CALL.findall(text)))


def _defined(text: str, calls: set[str]) -> list[str]:
    ranked: dict[str, tuple[int, int]] = {}
    for index, (head, name, method) in enumerate(_definitions(text)):
        if name.lower() not in _KEYWORDS and name not in ranked:
            rank = _definition_rank(head, method)
            if rank < _LOCAL_RANK:  # (a ``const``/``let``/``var`` in a block: a local)
                ranked[name] = (rank, index)
    names = sorted(ranked, key=lambda n: ranked[n])
    return [_with_call(n, calls) for n in names[:MAX_NAMES]]


def called_names(text: str, skip: Sequence[str] = (), limit: int = CALLS_LIMIT) -> list[str]:
    """The names ``text`` calls most (``name()``), most called first, then in order of first
    call; not the keywords, nor the names in ``skip``."""
    return _most_called(_CALL.findall(text), skip, limit)


def _most_called(calls: Iterable[str], skip: Sequence[str], limit: int) -> list[str]:
    known = {name.rstrip("()") for name in skip}
    counts: Counter[str] = Counter()
    for name in calls:
        last = name.rsplit(".", 1)[-1]
        if len(last) > 3 and last.lower() not in _KEYWORDS and name not in known:
            counts[name] += 1
    return [f"{name}()" for name, _ in counts.most_common(limit)]


def _with_call(name: str, calls: set[str]) -> str:
    return f"{name}()" if name in calls else name


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


def is_definition_line(line: str) -> bool:
    """Whether ``line`` defines something (``def f(``, ``type T struct {``, ``class C``)."""
    return _DEFINITION.match(line.strip()) is not None


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
    for head, name, method in _definitions(old):  # a definition in the edited text: that one
        if _definition_rank(head, method) <= 1 and name.lower() not in _KEYWORDS:
            return _callable(name, head, method)
    end = at + len(old)
    at += len(old) - len(old.lstrip())  # (from the edit's first line with text)
    start = original.rfind("\n", 0, at) + 1  # that line, whole
    floor = _indent(original[start:at] + "x")
    if _COMMENT.match(original[at : at + 3]):  # a comment over a definition is that one's
        below = _documented(original[end:], floor)
        if below is not None:
            return below
    above = _open_definition(original[:start].splitlines()[-max_lines:], floor)
    return _named(above) if above else None


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


def _callable(name: str, head: str, method: bool = False) -> str:
    return f"{name}()" if _definition_rank(head, method) == 0 else name


def _rank(found: re.Match[str]) -> int:
    """``_definition_rank`` of a ``_DEFINITION`` match."""
    return _definition_rank(found.group(0), _called(found))


def _named(found: re.Match[str]) -> str:
    """The name a ``_DEFINITION`` match defines, as :func:`_callable` writes it."""
    return _callable(found.group("name"), found.group(0), _called(found))


def _called(found: re.Match[str]) -> bool:
    """Whether a ``_DEFINITION`` match is a function written with no keyword: a method after
    its modifiers, a C-family signature or a bare ``name() {``."""
    return any(found.group(form) is not None for form in ("method", "cfunc", "bare"))


__all__ = [
    "CALLS_LIMIT",
    "MAX_NAMES",
    "called_names",
    "changed_lines",
    "changed_names",
    "context_lines",
    "defined_names",
    "enclosing_definition",
    "is_defined_in",
    "read_outline",
    "renamed_names",
]
