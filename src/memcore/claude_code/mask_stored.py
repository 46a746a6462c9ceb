"""Secrets masked in what a store already holds: the items saved before the masking of
:mod:`memcore.claude_code.masking` existed, or with it switched off, and what memcore made of
them (the project registries' digests, the access log).

A transcript is masked line by line as it is read; a store filled before that keeps its
secrets, and the transcripts may be gone (Claude Code deletes them after a month), so reading
them again is no cure. This walks the stored items instead: each string of an item (its
content, every string in its metadata) is masked as the same text would be in a transcript's
line, and an item that changes is written back through the sync layer, as any write is. Notes
kept with the MCP server's ``remember`` (``source: mcp``) are what a user or a model chose to
keep, and stay as written, as they are when kept.

What the items were before stays in the history: each session's journal (every commit's
records) and its backups. ``drop_history`` takes it out of the sessions that changed: their
journal is cut through the version that masked them, their backups are deleted, and one new
backup is made of the masked state, so recovery still has a base at the journal's floor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from memcore.claude_code.masking import mask_line
from memcore.errors import CorruptedMemoryError
from memcore.model import MemoryItem
from memcore.stores.base import Store

#: A replica id of this walk's own (its writes are told apart in the journal).
REPLICA = "memcore-mask-secrets"
#: The mark a masked secret leaves (``[masked aws key]``): counted to say how many were masked.
MARK = "[masked "


def mask_text(text: str) -> str:
    """``text`` with its secrets masked as a transcript's line holding it would have them: the
    patterns work on JSON text (escaped newlines, quotes), so the text is masked as a JSON
    string, then read back."""
    encoded = json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")
    masked = mask_line(encoded)
    if masked is encoded:
        return text
    value = json.loads(masked.decode("utf-8", "surrogatepass"))
    return value if isinstance(value, str) else text


def _masked_value(value: Any) -> Any:
    """``value`` (metadata: JSON-like) with every string in it masked; the same object when
    nothing in it changed."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        changed = {k: _masked_value(v) for k, v in value.items()}
        return value if all(changed[k] is value[k] for k in value) else changed
    if isinstance(value, list):
        items = [_masked_value(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def masked_item(item: MemoryItem) -> MemoryItem | None:
    """``item`` with its secrets masked, or None when it holds none (or is a note kept with
    the MCP server's ``remember``, which stays as written)."""
    if item.metadata.get("source") == "mcp":
        return None
    content = mask_text(item.content)
    metadata = _masked_value(item.metadata)
    if content is item.content and metadata is item.metadata:
        return None
    return MemoryItem(
        id=item.id,
        content=content,
        priority=item.priority,
        created_at=item.created_at,
        metadata=dict(metadata),
    )


@dataclass(slots=True)
class SessionMasked:
    """What masking did to one session."""

    session: str
    items: int = 0  # items that held a secret (written back masked)
    masks: int = 0  # masked spans added (a secret in an item's text and in its metadata: two)
    version: int = 0  # the session's version after the masking commit
    history: bool = False  # its journal or a backup holds an item with a secret
    history_dropped: bool = False  # its journal cut and its backups replaced


@dataclass(slots=True)
class MaskReport:
    """What :func:`mask_store` did (or, with ``dry_run``, would do)."""

    sessions: list[SessionMasked] = field(default_factory=list)
    items_read: int = 0
    #: sessions that could not be read at all (a damaged version or record), with why: left
    #: as they are, the others masked
    damaged: list[tuple[str, CorruptedMemoryError]] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(s.items for s in self.sessions)

    @property
    def masks(self) -> int:
        return sum(s.masks for s in self.sessions)


def _marks(item: MemoryItem) -> int:
    return item.content.count(MARK) + json.dumps(item.metadata, default=str).count(MARK)


def _item_and_masked(value: Any) -> tuple[MemoryItem, MemoryItem] | None:
    """A stored value (an entry's) as an item, and that item masked; None when it holds no
    secret, or is no item (a value some program stored: not ours)."""
    try:
        item = MemoryItem.coerce(value)
    except ValueError:
        return None
    masked = masked_item(item)
    return None if masked is None else (item, masked)


async def history_holds_secrets(store: Store, session: str) -> bool:
    """Whether the session's journal, or one of its backups, holds an item with a secret."""
    from memcore.backups import decode_backup
    from memcore.errors import MemcoreError
    from memcore.stores import decode_entry

    for entry in await store.read_journal(session):
        try:
            value = decode_entry(entry.record).value
        except MemcoreError:  # (a damaged entry: recovery's business, not this walk's)
            continue
        if _item_and_masked(value) is not None:
            return True
    for info in await store.list_backups(session):
        try:
            backup = decode_backup(await store.get_backup(session, info.backup_id), session, info)
        except MemcoreError:
            continue
        entries = backup.entries.values()
        if any(_item_and_masked(e.value) for e in entries if not e.deleted):
            return True
    return False


async def mask_store(
    store: Store, *, dry_run: bool = False, drop_history: bool = False
) -> MaskReport:
    """Mask the secrets of every item of every session of ``store`` (see the module doc)."""
    from memcore.backups import drop_history as drop_session_history
    from memcore.sync import DistributedMemoryManager

    report = MaskReport()
    for session in sorted(await store.list_sessions()):
        manager = DistributedMemoryManager(storage_backend=store, replica_id=REPLICA)
        try:
            try:
                await manager.sync_session_memory(session)
            except CorruptedMemoryError as exc:  # (one damaged session stops no other)
                report.damaged.append((session, exc))
                continue
            found = SessionMasked(session)
            for key, value in manager.state(session).items():
                report.items_read += 1
                both = _item_and_masked(value)
                if both is None:
                    continue
                item, masked = both
                found.items += 1
                found.masks += _marks(masked) - _marks(item)
                if not dry_run:
                    manager.set(session, key, masked)
            if found.items and not dry_run:
                found.version = (await manager.sync_session_memory(session)).version
        finally:
            await manager.close()
        found.history = await history_holds_secrets(store, session)
        if not (found.items or found.history):
            continue
        if drop_history and not dry_run:
            await drop_session_history(store, session)
            found.history, found.history_dropped = False, True
        report.sessions.append(found)
    return report


__all__ = [
    "MARK",
    "REPLICA",
    "MaskReport",
    "SessionMasked",
    "mask_store",
    "mask_text",
    "masked_item",
]
