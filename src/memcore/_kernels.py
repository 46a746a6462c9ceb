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


__all__ = ["FAMILIES", "NATIVE", "load"]
