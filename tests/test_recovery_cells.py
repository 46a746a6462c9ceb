"""Recovery of an SQLite session whose cells hold what memcore never writes there (another
program or a hand edit): a version that is no number, a record that is no blob. Every read of
it raised ``CorruptedMemoryError``, so recovery could not start and the command the store-wide
commands named for it failed too (``memcore.stores.sqlite_cells``)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from memcore import DistributedMemoryManager
from memcore.errors import CorruptedMemoryError
from memcore.recovery import recover_corrupted_memory, verify_session, verify_store
from tests.cli_support import run_cli
from tests.test_cli_damaged_stores import _fill


def _filled(tmp_path: Path) -> tuple[str, Path]:
    """A store at ``tmp_path`` holding ``alpha`` and ``beta``, three items each."""
    path = tmp_path / "m.db"
    url = f"sqlite:///{path}"
    _fill(url)
    return url, path


def _edit(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(sql)
    conn.close()


def _contents(url: str, session: str) -> list[str]:
    async def read() -> list[str]:
        manager = DistributedMemoryManager(url, replica_id="reader")
        await manager.sync_session_memory(session)
        state = manager.state(session)
        await manager.close()
        return sorted(item.content for item in state.values())

    return asyncio.run(read())


def test_a_version_that_is_no_number_is_set_from_the_session_s_rows(tmp_path: Path) -> None:
    url, path = _filled(tmp_path)
    _edit(path, "UPDATE meta SET version = 'abc' WHERE session = 'beta'")
    result = recover_corrupted_memory("beta", url)
    assert result.success, result.message
    assert "its version, not a number, set to 1" in result.message
    assert _contents(url, "beta") == [f"lint rule {n} of beta" for n in range(3)]
    assert asyncio.run(verify_store(url)).corrupted == ()


def test_a_record_that_is_no_blob_is_moved_aside_and_the_item_rebuilt(tmp_path: Path) -> None:
    url, path = _filled(tmp_path)
    _edit(path, "UPDATE items SET record = 'not a record' WHERE session = 'alpha' AND key = 'k1'")
    result = recover_corrupted_memory("alpha", url)
    assert result.success, result.message
    assert "1 unreadable item row(s) moved to the table damaged_items" in result.message
    assert _contents(url, "alpha") == [f"lint rule {n} of alpha" for n in range(3)]
    conn = sqlite3.connect(path)
    moved = conn.execute("SELECT session, key, record FROM damaged_items").fetchall()
    conn.close()
    assert moved == [("alpha", "k1", "not a record")]  # (kept as it was, for inspection)
    assert _contents(url, "beta") == [f"lint rule {n} of beta" for n in range(3)]


def test_the_recover_command_takes_a_session_too_damaged_to_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store-wide commands name ``memcore recover --store URL SESSION`` for such a session:
    the command must not refuse it for the damage it is there to repair."""
    url, path = _filled(tmp_path)
    _edit(path, "UPDATE meta SET version = 'abc' WHERE session = 'beta'")
    code, out, err = run_cli(capsys, "recover", "--store", url, "beta")
    assert (code, err) == (0, "")
    assert out.startswith("recovered: session 'beta': its version, not a number, set to 1")
    code, out, _ = run_cli(capsys, "verify", "--store", url)
    assert code == 0
    assert "all ok" in out


def test_a_repair_that_cannot_be_finished_says_what_it_did_change(tmp_path: Path) -> None:
    """The row moved aside was changed, so a failure after it says "nothing else": the state
    itself is left as it was (its journal compacted away and no backup kept to rebuild from)."""
    url, path = _filled(tmp_path)
    _edit(path, "DELETE FROM commits")
    _edit(path, "UPDATE meta SET journal_floor = version WHERE session = 'alpha'")
    _edit(path, "UPDATE items SET record = 'not a record' WHERE session = 'alpha' AND key = 'k1'")
    result = recover_corrupted_memory("alpha", url)
    assert not result.success
    assert result.message.startswith(
        "session 'alpha': 1 unreadable item row(s) moved to the table damaged_items; "
    )
    assert result.message.endswith("nothing else was changed")
    assert _contents(url, "alpha") == ["lint rule 0 of alpha", "lint rule 2 of alpha"]


def test_a_deleted_session_leaves_no_row_moved_aside(tmp_path: Path) -> None:
    from memcore.stores import open_store

    url, path = _filled(tmp_path)
    _edit(path, "UPDATE items SET record = 'not a record' WHERE session = 'alpha' AND key = 'k1'")
    assert recover_corrupted_memory("alpha", url).success

    async def delete() -> None:
        store = open_store(url)
        await store.delete_session("alpha")
        await store.close()

    asyncio.run(delete())
    conn = sqlite3.connect(path)
    left = conn.execute("SELECT count(*) FROM damaged_items").fetchone()[0]
    conn.close()
    assert left == 0


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        (
            "UPDATE items SET record = 'hello' WHERE session = 'alpha' AND key = 'k1'",
            "unreadable: the record of key 'k1' of session 'alpha' is not a blob (found str)",
        ),
        (
            "UPDATE meta SET version = 'abc' WHERE session = 'alpha'",
            "unreadable: the version of session 'alpha' is not an integer (found str)",
        ),
    ],
    ids=["a record that is text", "a version that is text"],
)
@pytest.mark.parametrize("deep", [False, True], ids=["shallow", "deep"])
def test_verify_session_reports_a_session_it_cannot_read(
    tmp_path: Path, sql: str, said: str, deep: bool
) -> None:
    """``verify_session`` reports such a session as not ok, the cell named in its problems, as
    ``verify_store`` does (it raised ``CorruptedMemoryError``); the other sessions are ok."""
    url, path = _filled(tmp_path)
    _edit(path, sql)
    health = asyncio.run(verify_session("alpha", url, deep=deep))
    assert (health.ok, health.problems) == (False, (said,))
    whole = asyncio.run(verify_store(url, deep=deep))
    assert [(s.session_id, s.problems) for s in whole.sessions] == [
        ("alpha", (said,)),
        ("beta", ()),
    ]
    assert asyncio.run(verify_session("beta", url, deep=deep)).ok


def test_verify_session_raises_for_a_store_damaged_as_a_whole(tmp_path: Path) -> None:
    """A store no read can take (its schema version zeroed) is no one session's damage: raised,
    as by ``verify_store``, not reported as the session's."""
    url, path = _filled(tmp_path)
    _edit(path, "PRAGMA user_version = 0")
    with pytest.raises(CorruptedMemoryError, match="its schema version is 0"):
        asyncio.run(verify_session("alpha", url))
    with pytest.raises(CorruptedMemoryError, match="its schema version is 0"):
        asyncio.run(verify_store(url))
