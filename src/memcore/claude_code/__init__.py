"""memcore inside Claude Code: reading its transcripts, and (in sibling modules) its hooks, the MCP
server and the installer.

``transcripts`` finds and parses session transcripts into memory items and an access sequence,
``records`` tells requests from scaffolding and conclusions from narration, ``tools`` turns tool
calls and results into statements, ``links`` ties failures to their fixes;
the public names are re-exported here so ``from memcore.claude_code import parse_transcript``
keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memcore.claude_code.transcripts import (
        KIND_PRIORITY,
        MalformedLine,
        TokenSample,
        Transcript,
        access_key,
        classify_user_text,
        default_projects_dir,
        find_transcripts,
        group_by_session,
        is_transcript_name,
        looks_like_transcript,
        parse_lines,
        parse_transcript,
        parse_transcripts,
        project_dir_name,
    )

__all__ = [
    "KIND_PRIORITY",
    "MalformedLine",
    "TokenSample",
    "Transcript",
    "access_key",
    "classify_user_text",
    "default_projects_dir",
    "find_transcripts",
    "group_by_session",
    "is_transcript_name",
    "looks_like_transcript",
    "parse_lines",
    "parse_transcript",
    "parse_transcripts",
    "project_dir_name",
]
#: The re-exported names, imported on first use: a hook that only reads the registry
#: (``session-start``) must not pay for importing (and compiling the patterns of) the parser.
_LAZY = frozenset(__all__)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from memcore.claude_code import transcripts

        value = getattr(transcripts, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
