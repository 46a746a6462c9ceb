"""memcore inside Claude Code: reading its transcripts, and (in sibling modules) its hooks, the MCP
server and the installer.

``transcripts`` finds and parses session transcripts into memory items and an access sequence,
``records`` tells requests from scaffolding and conclusions from narration, ``tools`` turns tool
calls and results into statements, ``links`` ties failures to their fixes;
the public names are re-exported here so ``from memcore.claude_code import parse_transcript``
keeps working.
"""

from __future__ import annotations

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
