"""An SQLite journal row no read can take (another program or a hand edit: a record that is no
blob, a key that is neither text nor NULL, a packed row that does not decode): every read of
the journal failed, so recovery said "journal unreadable" and changed nothing, an intact
session was "intact; nothing to do" while ``verify`` kept naming it, and a damaged item could
not be rebuilt at all.

Recovery now moves such a row aside as it was (the table ``damaged_commits``), a marker in its
place, and goes on: a replay crosses the marker only when the items' versions put every damaged
key's last change in a readable entry, so a lost write is never replaced by an older one (the
cases of ``test_redis_journal_aside``, on an SQLite file).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from memcore import DistributedMemoryManager, create_backup
from memcore.recovery import recover_corrupted_memory, verify_session
from memcore.stores import open_store
from tests.cli_support import run_cli
from tests.store_support import journal_after_a_commit

ASIDE = "the table damaged_commits"


def _fill(tmp_path: Path, *, backup_after: int | None = None, packed: bool = False) -> str:
    """Session ``s`` in a new file: ``k0``..``k3`` one commit each, then ``k0`` written again
    (v5; with ``packed``, ``k0`` and ``k4`` together: one packed row); with ``backup_after``, a
    backup after that many commits. Its URL."""
    url = f"sqlite:///{tmp_path / 'm.db'}"

    async def fill() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        for n, key in enumerate(["k0", "k1", "k2", "k3", "k0"]):
            manager.set("s", key, {"content": f"lint rule {n}"})
            if packed and n == 4:
                manager.set("s", "k4", {"content": "lint rule 4b"})
            await manager.sync_session_memory("s")
            if n + 1 == backup_after:
                await create_backup("s", url)
        await manager.close()

    asyncio.run(fill())
    return url


def _sql(url: str, sql: str, *args: Any) -> list[Any]:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with conn:
            return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _items(url: str) -> dict[str, bytes]:
    return dict(_sql(url, "SELECT key, record FROM items WHERE session = 's'"))


def _damage_row(url: str, version: int, cell: str = "record = 'garbage'") -> None:
    _sql(url, f"UPDATE commits SET {cell} WHERE session = 's' AND version = ?", version)


def _damage_item(url: str, key: str) -> None:
    _sql(url, "UPDATE items SET record = X'0064616d61676564' WHERE key = ?", key)


def _verify(url: str) -> Any:
    return asyncio.run(verify_session("s", url, deep=True))


def _moved(url: str) -> list[Any]:
    return _sql(url, "SELECT journal_of, at_version, version, key, record FROM damaged_commits")


def test_a_garbage_row_is_named_moved_aside_and_kept(tmp_path: Path) -> None:
    url = _fill(tmp_path)
    _damage_row(url, 5)
    before = _items(url)
    health = _verify(url)
    assert not health.ok
    said = "; ".join(health.problems)
    assert "its record is not a blob (found str)" in said
    assert "the journal row of version 5" in said
    assert "`memcore recover s` moves it aside" in said
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert "1 unreadable journal row (of version 5) moved to " + ASIDE in result.message
    assert _items(url) == before
    assert _moved(url) == [("s", 5, 5, "k0", "garbage")]
    assert _verify(url).ok
    again = recover_corrupted_memory("s", url)  # (nothing left to move)
    assert again.success
    assert "intact" in again.message
    assert journal_after_a_commit(url, "s", 5) == [(5, ""), (6, "k9")]
    assert _moved(url) == []


def test_a_delta_across_a_marker_is_read_from_the_items(tmp_path: Path) -> None:
    """A replica at v3 reads what changed since: the marker's row says nothing of v5's key, so
    the items say it (``k3`` at v4 and ``k0`` at v5), never a key ''."""
    url = _fill(tmp_path)
    _damage_row(url, 5, "key = X'6b30'")
    assert recover_corrupted_memory("s", url).success
    items = _items(url)

    async def delta() -> dict[str, bytes]:
        store = open_store(url)
        try:
            return dict((await store.read_changes("s", 3)).records)
        finally:
            await store.close()

    assert asyncio.run(delta()) == {"k0": items["k0"], "k3": items["k3"]}

    async def replica() -> list[str]:
        manager = DistributedMemoryManager(url, replica_id="reader")
        await manager.sync_session_memory("s")
        state = manager.state("s")
        await manager.close()
        return sorted(item.content for item in state.values())

    assert asyncio.run(replica()) == [f"lint rule {n}" for n in (1, 2, 3, 4)]


def test_a_damaged_item_is_rebuilt_past_a_row_moved_aside(tmp_path: Path) -> None:
    url = _fill(tmp_path)
    before = _items(url)
    _damage_row(url, 5, "version = 'five'")
    _damage_item(url, "k1")
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert result.rebuild_required
    assert "(of version 5) moved to " + ASIDE in result.message
    assert "1 journal entry moved aside crossed" in result.message
    assert _items(url) == before
    assert _moved(url) == [("s", 5, "five", "k0", _moved(url)[0][4])]
    assert _verify(url).ok


def test_a_packed_row_that_does_not_decode_is_crossed(tmp_path: Path) -> None:
    """v5 wrote ``k0`` and ``k4`` in one packed row, which rotted; ``k2``'s item is damaged:
    its last change (v3) is read, the intact ``k0`` and ``k4`` are kept."""
    url = _fill(tmp_path, packed=True)
    before = _items(url)
    _damage_row(url, 5, "record = X'c1676172626167'")
    _damage_item(url, "k2")
    assert "does not decode" in "; ".join(_verify(url).problems)
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert "(of version 5) moved to " + ASIDE in result.message
    assert _items(url) == before
    assert _moved(url)[0][3] is None


def test_a_backup_and_the_journal_since_it_serve_across_a_rotted_row(tmp_path: Path) -> None:
    """v3's row (``k2``'s only write) rotted after a backup at v2, and ``k3`` is damaged: its
    item row says it last changed at v4, which the journal still reads."""
    url = _fill(tmp_path, backup_after=2)
    before = _items(url)
    _damage_row(url, 3)
    _damage_item(url, "k3")
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert not result.rebuild_required
    assert "(of version 3) moved to " + ASIDE in result.message
    assert "backup" in result.message
    assert _items(url) == before


def test_a_row_moved_aside_that_was_a_damaged_key_s_last_write_is_not_guessed(
    tmp_path: Path,
) -> None:
    """v5 rewrote ``k0`` and its row rotted; ``k0``'s item is damaged too. The journal's
    readable ``k0`` is v1's, older: nothing tells v5's value, so no item is written (the row is
    moved aside all the same, kept)."""
    url = _fill(tmp_path)
    _damage_row(url, 5)
    _damage_item(url, "k0")
    damaged = _items(url)
    result = recover_corrupted_memory("s", url)
    assert not result.success
    assert "moved to " + ASIDE in result.message
    assert "nothing else was changed" in result.message
    assert _items(url) == damaged
    assert _moved(url) == [("s", 5, 5, "k0", "garbage")]


def test_memcore_recover_says_what_it_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``memcore verify`` reads no journal; ``memcore verify --deep`` does (as
    ``verify_session(deep=True)``), and names the row (it said the session ok, and a user had
    no command that would tell)."""
    url = _fill(tmp_path)
    _damage_row(url, 2, "record = 'garbage'")
    code, out, _ = run_cli(capsys, "verify", "--store", url)
    assert code == 0, out
    code, out, _ = run_cli(capsys, "verify", "--deep", "--store", url, "s")
    assert code == 1, out
    assert "s: CORRUPTED: journal unreadable" in out
    assert "the journal row of version 2" in out
    code, out, err = run_cli(capsys, "recover", "--store", url, "s")
    assert code == 0, out + err
    assert "(of version 2) moved to " + ASIDE in out
    assert _verify(url).ok
    code, out, _ = run_cli(capsys, "verify", "--deep", "--store", url)
    assert code == 0, out
