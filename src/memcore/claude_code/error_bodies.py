"""An API's error answer in a command's output, said by its messages: a JSON document on one
line (GitHub's GraphQL ``{"data":{"repository":null},"errors":[{"type":"NOT_FOUND",...,
"message":"Could not resolve to a Repository with the name 'o/r'."}]}``, its REST API's
``{"message":"Not Found","documentation_url":...}``, ``{"error":{"message":...}}``) states its
failure in its ``message`` fields; the rest of it (types, paths, locations) is the answer's
shape. Used by :func:`memcore.claude_code.commands.error_lines`.
"""

from __future__ import annotations

import json
from typing import Any

#: The longest line read as a JSON document (a longer one is data, not an error's answer).
_MOST_CHARS = 20_000
#: The most messages one document gives.
_MOST_MESSAGES = 3


def json_messages(line: str) -> list[str]:
    """The error messages of ``line`` when it is a JSON object that has some (its
    ``message``, its ``errors``' messages, its ``error``), in order, once each; else none."""
    if not (line.startswith("{") and line.endswith("}")) or len(line) > _MOST_CHARS:
        return []
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # (not JSON, or nested past what Python reads)
        return []
    if not isinstance(value, dict):
        return []
    found: list[str] = []
    for message in (_message(value), *_listed(value.get("errors")), _message(value.get("error"))):
        if message and message not in found:
            found.append(message)
    return found[:_MOST_MESSAGES]


def _message(value: Any) -> str:
    """A message field's text (``{"message": "..."}``), or the value itself when it is text
    (``"error": "bad credentials"``)."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return " ".join(value["message"].split())
    return ""


def _listed(errors: Any) -> list[str]:
    return [_message(error) for error in errors] if isinstance(errors, list) else []


__all__ = ["json_messages"]
