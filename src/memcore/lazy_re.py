"""Regular expressions compiled when first used, not when their module is imported.

memcore's modules hold their patterns as module constants, 94 of them. Compiling the 74 a
``stop`` hook's process imports took 73 M instructions (valgrind), a tenth of that process when
it saves a turn's records, and it uses 28 of them: a hook, a command, an import each use a few,
and every process is new. ``lazy_compile`` returns a stand-in that compiles its pattern on the
first use of any of its methods or attributes. Then it puts the compiled pattern in its place
in the module that made it (every global of that module bound to the stand-in), so that the
module's own later uses are a compiled pattern's, at no cost. A module that imported the
stand-in by name would keep it, and get the compiled pattern's bound methods from its slots
(about 300 instructions more a call than a compiled pattern's): the few patterns other modules
import by name (the prose kernel's, ``BULLET``, ``ANSWER``, ``TOOL_ERROR_TAG``) are compiled
with ``re.compile`` as before.
"""

from __future__ import annotations

import re
import sys
from types import ModuleType
from typing import Any, cast

from memcore.errors import ValidationError

#: What a stand-in answers for, as its compiled pattern does.
_FORWARDED = (
    "search",
    "match",
    "fullmatch",
    "finditer",
    "findall",
    "sub",
    "subn",
    "split",
    "scanner",
    "pattern",
    "flags",
    "groups",
    "groupindex",
)


class _LazyPattern:
    """A pattern's source and flags until first used; then the compiled pattern's methods."""

    __slots__ = ("_source", "_flags", "_home", "_compiled", *_FORWARDED)
    _compiled: re.Pattern[str]

    def __init__(self, source: str, flags: int, home: dict[str, Any]) -> None:
        self._source = source
        self._flags = flags
        self._home = home  # the globals of the module that made it

    def _compile(self) -> re.Pattern[str]:
        try:
            return self._compiled
        except AttributeError:
            compiled = re.compile(self._source, self._flags)
            for name in _FORWARDED:
                setattr(self, name, getattr(compiled, name))
            self._compiled = compiled
            home = self._home
            for name, value in list(home.items()):  # (one C call: safe beside other threads)
                if value is self:
                    home[name] = compiled
            return compiled

    def __getattr__(self, name: str) -> Any:
        # reached only for a slot not set yet (or a name a pattern does not have)
        if name not in _FORWARDED:
            raise AttributeError(name)
        return getattr(self._compile(), name)

    def __repr__(self) -> str:
        return repr(self._compile())


def lazy_compile(source: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(source, flags)``, done when the pattern is first used (see the module).

    For module constants used through their methods and attributes (``search``, ``sub``,
    ``pattern``...); not a ``re.Pattern`` for ``isinstance`` nor for the ``re`` module's own
    functions.
    """
    # (checked now, not at the first use: ``None`` was a TypeError in whatever module first
    # searched with it; a pattern's own syntax is still checked when it is compiled)
    if type(source) is not str:
        raise ValidationError(f"a lazy pattern's source is a str (got {type(source).__name__})")
    if isinstance(flags, bool) or not isinstance(flags, int):
        raise ValidationError(f"a lazy pattern's flags are an int (got {type(flags).__name__})")
    home = sys._getframe(1).f_globals
    return cast("re.Pattern[str]", _LazyPattern(source, flags, home))


def adopt_patterns(module: ModuleType) -> None:
    """Make ``module``'s stand-ins put their compiled pattern in ``module`` when first used.

    A module compiled by mypyc (``memcore._native.digest_rules``) runs its top level with no
    Python frame of its own, so ``lazy_compile`` took the importer's globals for its home: its
    stand-ins would never be replaced, and each use would pay the stand-in's slots."""
    home = vars(module)
    for value in list(home.values()):
        if isinstance(value, _LazyPattern) and not hasattr(value, "_compiled"):
            value._home = home


__all__ = ["adopt_patterns", "lazy_compile"]
