"""Registry entries an older memcore's digest rules made, made again by later saves, one a save."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memcore.claude_code.project import registry_session
from memcore.model import MemoryItem
from memcore.stores import open_store
from memcore.sync import DistributedMemoryManager
from tests.claude_code_support import DATA
from tests.claude_hooks_support import (  # noqa: F401  (the fixture url)
    PROJECT,
    _hook,
    _payload,
    _place,
    _read_state,
    _save_earlier,
    url_fixture,
)

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


async def _age_entries(url: str) -> None:
    """Leave the project's registry as an older memcore left it: its own digests, no rules."""
    store = open_store(url)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="an-older-memcore")
    registry = registry_session(PROJECT)
    try:
        await manager.sync_session_memory(registry)
        for key, value in manager.state(registry).items():
            item = MemoryItem.coerce(value)
            meta = {k: v for k, v in item.metadata.items() if k != "made_by"}
            manager.set(registry, key, MemoryItem(item.id, "- an older digest", metadata=meta))
        await manager.sync_session_memory(registry)
    finally:
        await manager.close()
        await store.close()


def test_entries_made_by_older_rules_are_made_again_one_a_save(tmp_path: Path, url: str) -> None:
    """After an upgrade, the sessions saved before it would be brought back by the old digest
    rules for good: each later save of the project makes one such entry again from its
    session's stored items (the latest active first), as a save of that session would."""
    from memcore.claude_code.project import STORED_DIGEST_TOKENS, SessionRecord, digest_rules
    from memcore.digest import session_digest

    earlier = [session for _, session in _save_earlier(tmp_path, url)]
    asyncio.run(_age_entries(url))
    lines = (DATA / "entireio__cli__880d23f9.jsonl").read_bytes().splitlines(keepends=True)
    transcript, session = _place(tmp_path, "entireio__cli__880d23f9.jsonl")
    payload = _payload("Stop", session, transcript)
    remade: list[list[str]] = []
    for part in (lines[: len(lines) // 2], lines):  # two saves of a third session
        transcript.write_bytes(b"".join(part))
        assert _hook("stop", payload, url)[1:] == ("", "")
        entries = [
            SessionRecord.from_item(item)
            for item in _read_state(url, registry_session(PROJECT)).values()
        ]
        remade.append([e.session_id for e in entries if e.made_by == digest_rules()])
    by_id = {entry.session_id: entry for entry in entries}
    latest = max(earlier, key=lambda s: (by_id[s].last_activity, by_id[s].session_id))
    assert sorted(remade[0]) == sorted([session, latest])  # the latest active one first
    assert sorted(remade[1]) == sorted([session, *earlier])
    for entry in entries:
        items = list(_read_state(url, entry.session_id).values())
        assert entry.digest == session_digest(items, STORED_DIGEST_TOKENS).text


async def _old_entries(manager: DistributedMemoryManager, registry: str, *sessions: str) -> None:
    """Registry entries of ``sessions``, made by no rules (as before rules were named)."""
    from memcore.claude_code.project import SessionRecord, registry_key

    for session in sessions:
        record = SessionRecord(session_id=session, cwd=PROJECT, digest="- old", updated_at="t")
        manager.set(registry, registry_key(session), record.to_item())
    await manager.sync_session_memory(registry)


async def test_an_older_entry_is_not_made_again_while_its_own_save_runs() -> None:
    """Another session's entry is made again in that session's save turn, not waited for: while
    its own save holds the turn, that save makes the entry (from the items as it leaves them);
    once the turn is free, the next save makes it again."""
    from memcore.claude_code.save_turns import session_turn
    from memcore.claude_code.stale_entries import refresh_stale_record

    store = open_store("memory://")
    manager = DistributedMemoryManager(storage_backend=store, replica_id="r")
    registry = registry_session(PROJECT)
    try:
        await _old_entries(manager, registry, "busy", "saved")
        async with session_turn("busy") as held:
            assert held
            assert await refresh_stale_record(manager, registry, "saved") is None
        assert await refresh_stale_record(manager, registry, "saved") == "busy"
    finally:
        await manager.close()
        await store.close()


async def test_an_older_entry_whose_items_are_gone_is_marked_not_made() -> None:
    """An entry whose session holds nothing any more keeps its digest, marked as made by the
    current rules so that no later save tries again; the session just saved is never taken."""
    from memcore.claude_code.project import SessionRecord, digest_rules
    from memcore.claude_code.stale_entries import refresh_stale_record

    store = open_store("memory://")
    manager = DistributedMemoryManager(storage_backend=store, replica_id="r")
    registry = registry_session(PROJECT)
    try:
        await _old_entries(manager, registry, "gone", "saved")
        assert await refresh_stale_record(manager, registry, "saved") == "gone"
        gone = SessionRecord.from_item(MemoryItem.coerce(manager.get(registry, "session:gone")))
        assert (gone.digest, gone.made_by) == ("- old", digest_rules())
        assert await refresh_stale_record(manager, registry, "saved") is None
    finally:
        await manager.close()
        await store.close()
