"""JSON's own names for the values a JSON text holds, for messages about a file or a line that
holds one where an object was expected: a user who wrote ``null`` knows no ``NoneType``."""

from __future__ import annotations

#: Python's type of each JSON value, by JSON's name for it (``bool`` before ``int``: it is one).
_NAMES: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def json_name(value: object) -> str:
    """JSON's name of ``value`` as ``json.loads`` returns it (``null``, ``boolean``, ``number``,
    ``string``, ``array``, ``object``); Python's type name for anything else."""
    return _NAMES.get(type(value), type(value).__name__)


__all__ = ["json_name"]
