"""Secrets masked in what a store already holds (``memcore mask-secrets``,
``memcore.claude_code.mask_stored``): the items saved with masking off come out as a masked
read would have made them; notes kept with ``remember`` stay; the history (journal, backups)
keeps the secrets until ``--drop-history``, after which recovery and replicas still work."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from memcore.claude_code import parse_transcript
from memcore.claude_code.mask_stored import history_holds_secrets, mask_text, masked_item
from memcore.claude_code.masking import OFF_SWITCH
from memcore.cli import main
from memcore.model import MemoryItem
from memcore.stores import open_store
from memcore.sync import DistributedMemoryManager
from tests.claude_code_support import SESSION
from tests.test_masking import AWS, GITHUB, OPENAI, SECRETS, _texts, _transcript


def test_a_stored_item_is_masked_as_its_transcript_s_line_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same transcript read with masking off, then its items masked, gives the items a
    read with masking on gives: one way of masking, whenever it is done."""
    path = _transcript(tmp_path / f"{SESSION}.jsonl")
    masked_on_read = parse_transcript(path).items
    monkeypatch.setenv(OFF_SWITCH, "0")
    kept = parse_transcript(path).items
    assert any(secret in _texts(kept) for secret in SECRETS)
    masked_later = [masked_item(item) or item for item in kept]
    assert _texts(masked_later) == _texts(masked_on_read)
    assert mask_text("a line\nwith no secret") == "a line\nwith no secret"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_mask_secrets_masks_the_store_and_drops_the_history_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    path = _transcript(tmp_path / f"{SESSION}.jsonl")
    monkeypatch.setenv(OFF_SWITCH, "0")  # (a store filled before the masking)
    _run(capsys, "import-claude-code", str(path), "--store", url)
    monkeypatch.delenv(OFF_SWITCH)
    note = f"the staging key is {AWS}: keep it"

    async def remember_and_back_up() -> None:
        manager = DistributedMemoryManager(url, replica_id="notes")
        item = MemoryItem("n1", note, metadata={"kind": "fact", "source": "mcp"})
        manager.set(SESSION, "n1", item)
        await manager.sync_session_memory(SESSION)
        await manager.close()
        from memcore.backups import create_backup

        await create_backup(SESSION, url)

    asyncio.run(remember_and_back_up())
    before = Path(tmp_path / "memory.db").read_bytes()
    dry = _run(capsys, "mask-secrets", "--store", url, "--dry-run")
    assert "would mask" in dry
    assert Path(tmp_path / "memory.db").read_bytes() == before  # (nothing written)
    done = _run(capsys, "mask-secrets", "--store", url)
    assert f"  {SESSION}: masked " in done
    assert "--drop-history takes them out" in done
    search = _run(capsys, "search", "token credentials key deploy", "--store", url, "-k", "20")
    for secret in (GITHUB, OPENAI):
        assert secret not in search

    async def stored() -> tuple[str, bool]:
        store = open_store(url)
        try:
            manager = DistributedMemoryManager(store, replica_id="reader")
            await manager.sync_session_memory(SESSION)
            texts = json.dumps(manager.state(SESSION), default=str)
            await manager.close()
            return texts, await history_holds_secrets(store, SESSION)
        finally:
            await store.close()

    texts, history = asyncio.run(stored())
    assert GITHUB not in texts
    assert OPENAI not in texts
    assert note in texts  # (remembered on purpose: as written)
    assert history  # (the journal and the backup hold them still)
    dropped = _run(capsys, "mask-secrets", "--store", url, "--drop-history")
    assert "its history dropped" in dropped
    texts, history = asyncio.run(stored())
    assert not history
    assert note in texts
    assert "all ok" in _run(capsys, "verify", "--store", url)
    assert "intact" in _run(capsys, "recover", SESSION, "--store", url)
    again = _run(capsys, "mask-secrets", "--store", url)
    assert "masked 0 span(s) in 0 of" in again
    assert "--drop-history" not in again


def test_dropped_history_leaves_no_secret_in_the_file_s_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows deleted from an SQLite file stay in its free pages unless the library zeroes
    them (Debian's SQLite does by default, others do not): every store connection asks for it.
    The connections here start with it off, as on such a build."""
    import sqlite3

    real_connect = sqlite3.connect

    def connect_without_secure_delete(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = real_connect(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect_without_secure_delete)
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    path = _transcript(tmp_path / f"{SESSION}.jsonl")
    monkeypatch.setenv(OFF_SWITCH, "0")
    _run(capsys, "import-claude-code", str(path), "--store", url)
    monkeypatch.delenv(OFF_SWITCH)
    files = sorted(tmp_path.glob("memory.db*"))
    assert any(GITHUB.encode() in f.read_bytes() for f in files)  # (saved unmasked)
    assert "its history dropped" in _run(capsys, "mask-secrets", "--store", url, "--drop-history")
    for file in sorted(tmp_path.glob("memory.db*")):
        for secret in (GITHUB, OPENAI):
            assert secret.encode() not in file.read_bytes(), file.name


def test_mask_secrets_on_redis(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    redis_url: str,
) -> None:
    """The same walk through a Redis store: masked, history dropped, verified."""
    path = _transcript(tmp_path / f"{SESSION}.jsonl")
    monkeypatch.setenv(OFF_SWITCH, "0")
    _run(capsys, "import-claude-code", str(path), "--store", redis_url)
    monkeypatch.delenv(OFF_SWITCH)
    assert f"  {SESSION}: masked " in _run(capsys, "mask-secrets", "--store", redis_url)
    assert "its history dropped" in _run(
        capsys, "mask-secrets", "--store", redis_url, "--drop-history"
    )

    async def history() -> bool:
        store = open_store(redis_url)
        try:
            return await history_holds_secrets(store, SESSION)
        finally:
            await store.close()

    assert not asyncio.run(history())
    assert "all ok" in _run(capsys, "verify", "--store", redis_url)
