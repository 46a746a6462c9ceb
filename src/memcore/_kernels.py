"""The one place that chooses between the compiled kernels and their pure-Python twins.

Every other module imports kernel families from here (``from memcore._kernels import
checksums``), never from ``_native`` or ``_pure`` directly. The choice is made once, at import:

* ``MEMCORE_NO_EXTENSIONS=1`` (or a non-CPython interpreter) selects the pure twins;
* an install built with that switch (recorded by ``setup.py`` in ``_build_mode.py``) runs pure;
* otherwise the compiled kernels are required, and a missing or broken build is a loud
  ``ImportError`` naming the switch, never a silent slow path.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

FAMILIES = (
    "checksums",
    "patterns",
    "regression",
    "pipeline",
    "text",
    "grouping",
    "partition",
    "records",
    "search",
    "prose",
)


def _switch_on() -> bool:
    return os.environ.get("MEMCORE_NO_EXTENSIONS", "") not in ("", "0")


def _native_expected() -> bool:
    # (``sys.implementation``, not ``platform``: importing that costs every process ~3 ms)
    if _switch_on() or sys.implementation.name != "cpython":
        return False
    try:
        from memcore._build_mode import NATIVE_BUILT  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # a source tree: expect compiled kernels, fail loudly if absent
        return True
    return bool(NATIVE_BUILT)


NATIVE: bool = _native_expected()


def load(family: str) -> ModuleType:
    """Import one kernel family in the selected mode."""
    if family not in FAMILIES:
        raise AttributeError(f"no kernel family {family!r}")
    if not NATIVE:
        return importlib.import_module(f"memcore._pure.{family}")
    try:
        return importlib.import_module(f"memcore._native.{family}")
    except ImportError as exc:
        raise ImportError(
            f"memcore's compiled kernel {family!r} could not be imported ({exc}). "
            "Build it with `pip install .` (needs a C compiler), or set MEMCORE_NO_EXTENSIONS=1 "
            "to use the pure-Python twins."
        ) from exc


#: Rule modules whose Python source a compiled build also compiles, unchanged, with mypyc
#: (``setup.py``): the digest's rules, too many and too branchy to write twice. Their compiled
#: twins live in ``memcore._native.digest_rules``, built from every ``memcore/digest_*.py``.
RULES = ("digest_engine",)
RULES_PACKAGE = "memcore._native.digest_rules"


def load_rules(name: str) -> ModuleType:
    """Import one rule module (``RULES``) in the selected mode: its compiled twin when the
    compiled kernels are in use, else the Python module. In a source tree (no
    ``_build_mode.py``), compiled rules older than their source are refused loudly: they would
    run the rules as they were at the last build, not as the source reads."""
    if name not in RULES:
        raise AttributeError(f"no rule module {name!r}")
    if not NATIVE:
        return importlib.import_module(f"memcore.{name}")
    rebuild = (
        "Build them with `pip install .` (needs a C compiler; in a source tree, `python setup.py "
        "build_ext --inplace`), or set MEMCORE_NO_EXTENSIONS=1 to use the pure-Python twins."
    )
    try:
        package = importlib.import_module(RULES_PACKAGE)
        module = importlib.import_module(f"{RULES_PACKAGE}.{name}")
    except ImportError as exc:
        raise ImportError(
            f"memcore's compiled rules {name!r} could not be imported ({exc}). {rebuild}"
        ) from exc
    from memcore.lazy_re import adopt_patterns

    for loaded, rules in list(sys.modules.items()):  # (the engine imported the other rules)
        if loaded.startswith(f"{RULES_PACKAGE}.") and rules is not None:
            adopt_patterns(rules)
    if not _installed_build():  # (a source tree: its compiled rules may be older than it)
        from pathlib import Path

        from memcore._rules_source import RULES_SOURCES, rules_source_digest

        here = str(Path(__file__).resolve().parent)
        if getattr(package, "SOURCE_DIGEST", None) != rules_source_digest(here):
            raise ImportError(
                f"memcore's compiled rules {name!r} were built from another version of their "
                f"source ({RULES_SOURCES} in {here} changed since). {rebuild}"
            )
    return module


def _installed_build() -> bool:
    """Whether this memcore is an install built by ``setup.py`` (it wrote ``_build_mode.py``),
    not a source tree."""
    try:
        import memcore._build_mode  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


if TYPE_CHECKING:  # the typed pure twins are the source of truth for signatures
    from memcore._pure import checksums as checksums
    from memcore._pure import grouping as grouping
    from memcore._pure import partition as partition
    from memcore._pure import patterns as patterns
    from memcore._pure import pipeline as pipeline
    from memcore._pure import prose as prose
    from memcore._pure import records as records
    from memcore._pure import regression as regression
    from memcore._pure import search as search
    from memcore._pure import text as text
else:

    def __getattr__(name: str) -> ModuleType:
        # Families load on first use, so an import of memcore does not pay for all of them.
        module = load(name)
        globals()[name] = module
        return module


__all__ = [
    "FAMILIES",
    "NATIVE",
    "RULES",
    "RULES_PACKAGE",
    "load",
    "load_rules",
]
