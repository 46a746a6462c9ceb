"""How memcore's messages say to install what is missing."""

from __future__ import annotations

import shlex
import sys


def pip_command() -> str:
    """pip for the interpreter memcore runs in (its venv's, which a bare ``pip`` may not be)."""
    return f"{shlex.quote(sys.executable)} -m pip"


__all__ = ["pip_command"]
