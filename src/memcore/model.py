"""The data memcore works on (:class:`MemoryItem`, :class:`Priority`) and the results it returns."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, TypeVar, cast

from memcore.errors import ValidationError

_RANKS = {"low": 0, "normal": 1, "high": 2, "critical": 3}
_T = TypeVar("_T")


def plain_str(value: _T) -> _T:
    """A ``str`` subclass as the plain ``str`` of its text (anything else as it is): an id or a
    text is its characters, and a subclass's own ``strip``, ``__len__``, ``__hash__`` or
    ``__eq__`` has no say in what they are."""
    if isinstance(value, str) and type(value) is not str:
        return cast(_T, str.__str__(value))
    return value


def checked_str(name: str, value: object) -> str:
    """``value`` as a plain ``str`` (:func:`plain_str`), or a ``ValidationError`` naming
    ``name``."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a str (got {type(value).__name__})")
    return value if type(value) is str else str.__str__(value)


class Priority(str, Enum):
    """How much an item matters: ``critical > high > normal > low``.

    A ``str`` enum so that stored and JSON forms are the plain names; comparisons go by rank, not
    by the alphabet.
    """

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self.value]

    @classmethod
    def parse(cls, value: Priority | str) -> Priority:
        """Accept a :class:`Priority` or its name in any case, else raise ``ValidationError``."""
        if isinstance(value, Priority):
            return value
        if isinstance(value, str) and value.lower() in _RANKS:
            return cls(value.lower())
        raise ValidationError(f"priority must be one of {', '.join(_RANKS)} (got {value!r})")

    def _other_rank(self, other: object) -> int:
        if isinstance(other, Priority):
            return other.rank
        if isinstance(other, str) and other.lower() in _RANKS:
            return _RANKS[other.lower()]
        raise TypeError(f"cannot compare Priority with {type(other).__name__}")

    def __lt__(self, other: object) -> bool:
        return self.rank < self._other_rank(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= self._other_rank(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > self._other_rank(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= self._other_rank(other)

    def __str__(self) -> str:
        return self.value


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def to_utc_datetime(value: datetime | str | float | int) -> datetime:
    """Normalize a timestamp to a tz-aware UTC datetime.

    Accepts aware datetimes, ISO-8601 strings (``Z`` allowed; one with no offset is read as UTC,
    the form text exports of UTC times take) and POSIX seconds. Naive datetimes are refused:
    in a program they are most often local time (``datetime.now()``), and guessing their zone
    silently shifts ages by hours, which moves items across compression levels.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValidationError(
                "created_at must be timezone-aware (use datetime.now(timezone.utc))"
            )
        return _in_utc(value)
    if isinstance(value, bool):
        raise ValidationError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        try:
            finite = math.isfinite(value)
        except OverflowError:  # (an int beyond any float: no time either)
            finite = False
        if not finite:
            raise ValidationError(f"not a finite timestamp: {value!r}")
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValidationError(f"timestamp out of range: {value!r}") from exc
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValidationError(f"not an ISO-8601 timestamp: {value!r}") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return _in_utc(parsed)
    raise ValidationError(f"not a timestamp: {value!r}")


def _in_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a ``ValidationError`` if that falls outside the years 1-9999 (year 1
    at +05:00, say)."""
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError as exc:
        raise ValidationError(f"timestamp out of range in UTC: {moment.isoformat()}") from exc


@dataclass(slots=True, init=False)
class MemoryItem:
    """One thing an agent remembers: a fact, a preference, a task, a tool result.

    ``priority`` takes a ``Priority`` or its name; ``created_at`` a timezone-aware datetime, an
    ISO-8601 string (UTC when it names no offset) or epoch seconds (default: now, UTC). Both
    are normalized on construction.
    """

    id: str
    content: str
    priority: Priority
    created_at: datetime
    metadata: dict[str, Any]

    def __init__(
        self,
        id: str,
        content: str,
        priority: Priority | str = Priority.NORMAL,
        created_at: datetime | str | float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        # a str subclass as the plain str of its text (as ``memcore.plain`` stores it): its own
        # ``strip`` or ``__len__`` answered for the text inside the summarizer, which kept an
        # empty summary of a whole note in the note's place
        if type(id) is not str or type(content) is not str:  # (no call on the common path)
            id, content = plain_str(id), plain_str(content)
        if not isinstance(id, str) or not id:
            raise ValidationError(f"item id must be a non-empty string (got {id!r})")
        if not isinstance(content, str):
            raise ValidationError(
                f"item {id!r}: content must be a string (got {type(content).__name__})"
            )
        self.id = id
        self.content = content
        self.priority = Priority.parse(priority)
        self.created_at = utc_now() if created_at is None else to_utc_datetime(created_at)
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, Mapping):
            raise ValidationError(f"item {id!r}: metadata must be a mapping")
        # (a dict subclass by its entries, as ``memcore.plain`` reads one: its own ``keys`` or
        # ``__iter__`` have no say in what is stored, nor in what the keys are checked on)
        copied = dict(metadata if type(metadata) is dict else _entries(metadata))
        if not all(isinstance(key, str) for key in copied):
            raise ValidationError(f"item {id!r}: metadata keys must be strings")
        self.metadata = copied

    @classmethod
    def _trusted(
        cls,
        id: str,
        content: str,
        priority: Priority,
        created_at: datetime,
        metadata: dict[str, Any],
    ) -> MemoryItem:
        """Build an item from fields already in normal form, skipping ``__init__``'s checks.

        For decoders of checksummed records only (``memcore._kernels.records``): the fields were
        validated when the item was written, and the decoder has checked their types; the
        metadata dict is taken as it is, not copied.
        """
        item = object.__new__(cls)
        item.id = id
        item.content = content
        item.priority = priority
        item.created_at = created_at
        item.metadata = metadata
        return item

    def to_dict(self) -> dict[str, Any]:
        """The plain form: what stores keep and what ``state_checksum`` hashes an item as."""
        return {
            "id": self.id,
            "content": self.content,
            "priority": self.priority.value,
            "created_at": self.created_at,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MemoryItem:
        """Build an item from a MemoryItem-shaped mapping (``id`` and ``content`` required)."""
        if not isinstance(data, Mapping):
            raise ValidationError(f"a memory item must be a mapping (got {type(data).__name__})")
        if isinstance(data, dict) and type(data) is not dict:
            # (a dict subclass by its entries, as its metadata is read: its own ``get`` or
            # ``__contains__`` raised a bare KeyError, or hid the fields it holds)
            data = dict(dict.items(data))
        missing = [name for name in ("id", "content") if name not in data]
        if missing:
            raise ValidationError(f"memory item is missing {', '.join(missing)}")
        unknown = set(data) - {"id", "content", "priority", "created_at", "metadata"}
        if unknown:
            raise ValidationError(f"memory item has unknown fields: {', '.join(sorted(unknown))}")
        return cls(
            id=data["id"],
            content=data["content"],
            priority=data.get("priority", Priority.NORMAL),
            # (absent or None: now, and no metadata; a falsy value is a value: 0 is 1970, and
            # metadata that is no mapping, even an empty list, is refused)
            created_at=data.get("created_at"),
            metadata=data.get("metadata"),
        )

    @classmethod
    def coerce(cls, value: MemoryItem | Mapping[str, Any]) -> MemoryItem:
        """Accept a MemoryItem or a MemoryItem-shaped mapping."""
        return value if isinstance(value, MemoryItem) else cls.from_dict(value)


def _entries(mapping: Mapping[str, Any]) -> Iterable[tuple[str, Any]] | Mapping[str, Any]:
    return dict.items(mapping) if isinstance(mapping, dict) else mapping


def coerce_items(items: object, what: str = "items") -> list[MemoryItem]:
    """A list of MemoryItems from ``items``: an iterable of MemoryItems or MemoryItem-shaped
    mappings. A mapping itself (a session's state, say) is refused by name rather than read
    as its keys, and so is anything not iterable."""
    if isinstance(items, Mapping):
        raise ValidationError(
            f"{what} must be a sequence of memory items, not a mapping (pass its .values())"
        )
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise ValidationError(
            f"{what} must be a sequence of memory items (got {type(items).__name__})"
        )
    return [_intact(MemoryItem.coerce(item)) for item in items]


def _intact(item: MemoryItem) -> MemoryItem:
    """``item`` if its fields are still in the form ``__init__`` gives them, else an item made
    afresh from them by ``__init__``: a field assigned since (``item.priority = "high"``,
    ``item.content = None``) is normalized or refused as ``MemoryItem()`` would, rather than
    failing as an ``AttributeError`` or a ``TypeError`` deep in what reads it."""
    if (
        type(item.id) is str
        and item.id
        and type(item.content) is str
        and type(item.priority) is Priority
        and isinstance(item.created_at, datetime)
        and item.created_at.tzinfo is timezone.utc  # (as ``__init__`` leaves it; else rebuilt)
        and type(item.metadata) is dict
    ):
        return item
    return MemoryItem(item.id, item.content, item.priority, item.created_at, item.metadata)


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conflict:
    """One key changed on both sides since the last common version, and how it was settled."""

    key: str
    local: Any
    remote: Any
    winner: str  # "local" or "remote"


@dataclass(frozen=True, slots=True)
class SyncResult:
    success: bool
    conflicts_resolved: int
    version: int
    synced_items: int
    conflicts: list[Conflict] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class MemorySyncMetadata:
    session_id: str
    last_sync: datetime | None
    version: int
    checksum: int


@dataclass(frozen=True, slots=True)
class CompressionMetadata:
    original_size: int
    compressed_size: int
    ratio: float
    levels: dict[str, int]


@dataclass(frozen=True, slots=True)
class MemoryStatus:
    current_mb: float
    baseline_mb: float
    growth_mb: float
    leak_detected: bool
    leak_rate_mb_per_hour: float
    recovered_mb: float = 0.0


@dataclass(frozen=True, slots=True)
class TransferableKnowledge:
    """What ``SessionKnowledgeTransfer.extract_knowledge`` gathered; ``written`` maps an item's
    id to the ``(HLC stamp, replica)`` of its write in the source session as of extraction, what
    the ``"timestamp"`` strategy weighs against the target's copy."""

    patterns: list[Any]
    preferences: list[Any]
    shortcuts: list[Any]
    common_tasks: list[Any]
    source_session: str
    extracted_at: datetime
    pattern_count: int
    written: dict[str, tuple[int, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransferResult:
    success: bool
    items_transferred: int
    conflicts_resolved: int
    merge_strategy: str
    conflicts: list[Conflict] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OverflowStrategy:
    actions_taken: list[str]
    tokens_saved: int
    final_token_count: int


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    success: bool
    message: str
    updates_applied: int
    rebuild_required: bool


__all__ = [
    "CompressionMetadata",
    "Conflict",
    "MemoryItem",
    "MemoryStatus",
    "MemorySyncMetadata",
    "OverflowStrategy",
    "Priority",
    "RecoveryResult",
    "SyncResult",
    "TransferResult",
    "TransferableKnowledge",
    "to_utc_datetime",
    "utc_now",
]
