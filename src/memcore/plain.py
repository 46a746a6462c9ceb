"""Values made plain: the same value built of exact builtin types, read once.

A subclass of ``list``, ``dict``, ``str`` (...) may override the methods an encoder or a hash
calls (``__iter__``, ``items``, ``encode``, ``__len__``), and two readers calling them could
see two different values: a record whose msgpack array header counted the list's real items
while its iterator gave fewer (a truncated payload, under a valid checksum), or a record and a
digest that disagree. ``plain_value`` reads such values once, through the base type's own
C-level methods (``list.__iter__``, ``dict.items``, ``str.__str__``: what the compiled kernels
read), and what it returns is what gets encoded and hashed. Values of exact types are never
given to it: ``memcore.codec`` calls it only when its encoder meets something else.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from memcore._pure._checksum_tables import MAX_DEPTH
from memcore.errors import ValidationError
from memcore.model import MemoryItem, Priority, plain_str, to_utc_datetime

_ALL = slice(None)
# (the descriptors of the base types: a subclass's own attributes have no say)
_DATETIME_PARTS = (
    *(vars(date)[name] for name in ("year", "month", "day")),
    *(vars(datetime)[name] for name in ("hour", "minute", "second", "microsecond", "tzinfo")),
)
_FOLD = vars(datetime)["fold"]
_ITEM_FIELDS = tuple(vars(MemoryItem)[name] for name in MemoryItem.__slots__)


def plain_value(value: Any) -> Any:
    """``value`` built of exact builtin types (and exact, valid ``MemoryItem``s).

    Subclasses of ``str``, ``int``, ``float``, ``bytes``, ``bytearray``, ``list``, ``dict``
    and ``datetime`` become their base type, holding what the object really holds; tuples
    become lists (msgpack and the state hash treat them alike); a ``MemoryItem`` (or subclass)
    is rebuilt from its fields, checked as its constructor checks them (``ValidationError``).
    Anything else is left for the encoder to accept or refuse.
    """
    return _plain(value, 0)


def _plain(value: Any, depth: int) -> Any:
    kind = type(value)
    if value is None or kind is bool or kind is str or kind is int or kind is float:
        return value
    if depth >= MAX_DEPTH:
        raise ValidationError(
            f"value nested deeper than {MAX_DEPTH} levels (a container that holds itself?)"
        )
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, element in dict.items(value):
            out[plain_str(key)] = _plain(element, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        elements = list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)
        return [_plain(element, depth + 1) for element in elements]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, bytes):
        return bytes.__getitem__(value, _ALL)
    if isinstance(value, bytearray):
        return bytearray.__getitem__(value, _ALL)
    if isinstance(value, datetime):
        return value if kind is datetime else exact_datetime(value)
    if isinstance(value, MemoryItem):
        return _plain_item(value, depth + 1)
    return value


def exact_datetime(moment: datetime) -> datetime:
    """An exact ``datetime`` of ``moment``'s fields (and zone), read by ``datetime``'s own
    descriptors: a subclass's properties and methods have no say."""
    year, month, day, hour, minute, second, micro, zone = (
        part.__get__(moment) for part in _DATETIME_PARTS
    )
    return datetime(year, month, day, hour, minute, second, micro, zone, fold=_FOLD.__get__(moment))


def _plain_item(item: MemoryItem, depth: int) -> MemoryItem:
    """An exact ``MemoryItem`` of ``item``'s plain fields, refused as ``MemoryItem()`` refuses
    them: a field changed after construction (``item.id = 5``) made a record no replica reads."""
    item_id, content, priority, created_at, metadata = (
        _plain(field.__get__(item), depth) for field in _ITEM_FIELDS
    )
    if type(item_id) is not str or not item_id:
        raise ValidationError(f"item id must be a non-empty string (got {item_id!r})")
    if type(content) is not str:
        raise ValidationError(
            f"item {item_id!r}: content must be a string (got {type(content).__name__})"
        )
    if not isinstance(created_at, datetime):
        raise ValidationError(
            f"item {item_id!r}: created_at must be a datetime (got {type(created_at).__name__})"
        )
    if type(metadata) is not dict:
        raise ValidationError(f"item {item_id!r}: metadata must be a mapping")
    if not all(type(key) is str for key in metadata):
        raise ValidationError(f"item {item_id!r}: metadata keys must be strings")
    return MemoryItem._trusted(
        item_id, content, Priority.parse(priority), to_utc_datetime(created_at), metadata
    )


__all__ = ["exact_datetime", "plain_value"]
