"""Read and write the JSON files the Claude Code installer merges into, as strictly as Claude
Code's own parser reads them.

Python's ``json`` takes ``NaN`` and ``Infinity`` (not JSON: Claude Code would refuse the file)
and turns a number too large for a double (``1e400``) into ``inf``, which it would write back as
``Infinity``: both are refused here, so the installer never writes a file Claude Code cannot
read. A file is read as bytes (no newline translation), so a backup or a restored file is the
user's file byte for byte, CRLF line ends included.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from memcore.claude_code.json_names import json_name
from memcore.errors import ValidationError


class _NotJson(ValueError):
    """A value Python's parser takes and JSON does not (said in the message)."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NotJson(f"the number {text} is too large for Claude Code to read")
    return value


def parse(text: str) -> Any:
    """``text`` as JSON, strictly (see the module's docstring); ``ValueError`` when it is not."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


#: The largest settings or MCP config file read (Claude Code's ``.claude.json`` keeps each
#: project's history too, so it can be a few MiB).
MAX_FILE_BYTES = 256 << 20


def read_text(path: Path) -> str:
    """The file's exact text (bytes decoded as UTF-8, line ends kept)."""
    return path.read_bytes().decode("utf-8")


def read_json(path: Path) -> tuple[str | None, dict[str, Any]]:
    """The file's text and its JSON object (``None, {}`` when there is no file; an empty file
    is an empty object). A file that is not a JSON object is refused: nothing may be written
    over what the installer cannot read."""
    if not path.exists():
        return None, {}
    try:
        if not path.is_file():  # (a FIFO would never end, /dev/zero never stop, a device go)
            raise ValidationError(f"{path} is not a regular file; nothing was changed")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValidationError(
                f"{path} is larger than {MAX_FILE_BYTES >> 20} MiB, no Claude Code settings file "
                "this could be; nothing was changed"
            )
        text = read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}; nothing was changed") from exc
    if not text.strip():
        return text, {}
    try:
        data = parse(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "nothing was changed"
        ) from exc
    except (_NotJson, RecursionError) as exc:
        why = str(exc) if isinstance(exc, _NotJson) else "nested too deeply"
        raise ValidationError(f"{path} is not valid JSON ({why}); nothing was changed") from exc
    if not isinstance(data, dict):
        raise ValidationError(
            f"{path} holds a JSON {json_name(data)}, not an object; nothing was changed"
        )
    return text, data


def read_json_quietly(path: Path) -> dict[str, Any] | None:
    """A backup's JSON object, or None when it cannot be read as one (it is then never taken
    for the file it backed up, so never given back nor removed)."""
    try:
        text = read_text(path)
        data = parse(text) if text.strip() else {}
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def dump(data: Mapping[str, Any]) -> str:
    """The installer's layout: two-space indents, non-ASCII as is (escaped only where it could
    not be written as UTF-8: a lone surrogate that ``\\ud800`` in the user's file made)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    return text


__all__ = ["dump", "parse", "read_json", "read_json_quietly", "read_text"]
