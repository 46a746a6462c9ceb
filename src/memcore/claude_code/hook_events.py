"""The names of ``memcore hook``'s events, its help text and how it reads its switches, apart
from the hooks themselves: ``memcore --help`` shows them without importing what a hook runs."""

from __future__ import annotations

import os

EVENTS = ("session-start", "pre-compact", "session-end", "stop")
SAVING_EVENTS = ("pre-compact", "session-end", "stop")
DEFAULT_BUDGET = 2000

HOOK_HELP = (
    "Claude Code runs this at its lifecycle events (`memcore install-claude-code` sets it\n"
    "up), with the hook's JSON on stdin. pre-compact, session-end and stop save the session's\n"
    "transcript (sub-agents included) into the store, filed under its project; session-start\n"
    "prints what earlier sessions of the project learned as the session's additional context.\n"
    "A hook never breaks the session: any failure exits 0 with one line on stderr.\n"
    f"Events: {', '.join(EVENTS)}."
)


def switched_off(variable: str) -> bool:
    """Whether the environment turns off what ``variable`` switches (``0``, ``no``, ``off`` or
    ``false``, in any case): the Claude Code integration's opt-outs, set where Claude Code runs."""
    return os.environ.get(variable, "").strip().lower() in ("0", "no", "off", "false")


__all__ = ["DEFAULT_BUDGET", "EVENTS", "HOOK_HELP", "SAVING_EVENTS", "switched_off"]
