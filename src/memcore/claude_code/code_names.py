"""The names in code an agent read or wrote: what a text defines and calls, and the patterns
that find them (what an edit changed is :mod:`memcore.claude_code.edit_changes`'s). Plain text
heuristics over the common languages of agent sessions
(Python, Go, JS/TS, Rust, Ruby, Elixir, shell, Java, C#, Kotlin, Swift, PHP, C, C++, Lua): no
parser, so any language reads, roughly.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from memcore.lazy_re import lazy_compile

#: Names an edit or a file gives at most.
MAX_NAMES = 40
#: A read keeps at most this many of the names its text calls (the most called).
CALLS_LIMIT = 8

# Definitions in the common languages of agent sessions (see the module doc); the name is the
# group ``name``. Three forms: a keyword (``def``, ``fn``, ``class``, ``fun``...) after any
# modifiers; in the languages that write none for a method (Java, C#, a TS class), modifiers,
# maybe a type, and the name called (``public BigDecimal total(Cart c)``, ``private async
# load()``): the group ``method`` is set; a C-family signature, a bare ``name() {`` or an
# indented JS method (``  load(id) {``) opening a body (``_C_FUNCTION``): the group ``cfunc``,
# ``bare`` or ``jsmethod``.
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
_NOT_A_NAME = (
    r"(?!(?:if|for|foreach|while|switch|catch|function|func|return|else|elseif|elsif|do|with)\b)"
)
_C_FUNCTION = (
    r"(?=[^\n{]*+\{[ \t]*(?:\r?\n|$))"  # (a gate: the line's first brace ends it)
    rf"(?:(?P<cfunc>){_NOT_A_TYPE}(?:{_C_TYPE_WORD}){{1,3}}(?:[A-Za-z_]\w*::)*{_NOT_A_NAME}"
    r"(?=[A-Za-z_]\w*\s*\([^;{}\n]*\)[\w \t&]*\{[ \t]*(?:\r?\n|$))"
    rf"|(?P<bare>){_NOT_A_NAME}(?=[A-Za-z_]\w*\s*\(\)\s*\{{[ \t]*(?:\r?\n|$))"
    # an indented method with parameters, as JS and TS classes and objects write one
    # (``  load(id: string): Promise<Item> {``): no call inside its parentheses (a call given
    # a callback, ``describe('x', function() {``, is none), a return type maybe
    rf"|(?P<jsmethod>)(?<=[ \t]){_NOT_A_TYPE}{_NOT_A_NAME}(?=[A-Za-z_$][\w$]*\s*(?:<[^()\n]*>)?"
    r"\([^;{}()\n]*\)(?:\s*:\s*[^;{}()=\n]+?)?\s*\{[ \t]*(?:\r?\n|$)))"
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
    ranked: dict[str, tuple[int, int, int]] = {}
    for index, (head, name, method) in enumerate(_definitions(text)):
        if name.lower() not in _KEYWORDS and name not in ranked:
            rank = _definition_rank(head, method)
            if rank < _LOCAL_RANK:  # (a ``const``/``let``/``var`` in a block: a local)
                ranked[name] = (_privacy(name), rank, index)
    names = sorted(ranked, key=lambda n: ranked[n])
    return [_with_call(n, calls) for n in names[:MAX_NAMES]]


def _privacy(name: str) -> int:
    """How internal a name is by the convention of the languages that mark it: public first,
    then ``_private``, then the ``__special__`` methods every class has (``__init__`` says
    less of a file than the names its users call)."""
    last = name.rsplit(".", 1)[-1]
    if last.startswith("__") and last.endswith("__"):
        return 2
    return 1 if last.startswith("_") else 0


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


def is_definition_line(line: str) -> bool:
    """Whether ``line`` defines something (``def f(``, ``type T struct {``, ``class C``)."""
    return _DEFINITION.match(line.strip()) is not None


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
    return any(found.group(form) is not None for form in ("method", "cfunc", "bare", "jsmethod"))


__all__ = [
    "CALLS_LIMIT",
    "MAX_NAMES",
    "called_names",
    "defined_names",
    "is_defined_in",
    "is_definition_line",
    "read_outline",
]
