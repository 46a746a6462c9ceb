"""``memcore forget``: a saved Claude Code session taken out of the store, its history with it,
and kept out: neither the hooks, session-start's catch-up nor ``import-claude-code`` save it
again from its transcript, until ``--undo``."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from memcore.access_log import ACCESS_LOG_SESSION
from memcore.backups import decode_backup
from memcore.claude_code import catch_up
from memcore.claude_code.forget import is_forgotten
from memcore.claude_code.project import registry_key, registry_session
from memcore.cli import main
from memcore.stores import decode_entry, open_store
from tests.claude_code_support import DATA
from tests.claude_hooks_support import (
    EARLIER,
    PROJECT,
    _context,
    _hook,
    _payload,
    _place,
    _read_state,
)

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")

#: Words of the first request of EARLIER[0]'s session, found in no other session saved here.
ITS_WORDS = "surface to the user"


@pytest.fixture(params=["sqlite", "redis", "redis_cluster"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param != "sqlite":
        return str(request.getfixturevalue(f"{request.param}_url"))
    return f"sqlite:///{tmp_path / 'memory.db'}"


def _save(tmp_path: Path, url: str, source: str) -> tuple[Path, str]:
    transcript, session = _place(tmp_path, source)
    code, out, err = _hook("session-end", _payload("SessionEnd", session, transcript), url)
    assert (code, out, err) == (0, "", "")
    return transcript, session


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _sessions(url: str) -> list[str]:
    async def go() -> list[str]:
        store = open_store(url)
        try:
            return list(await store.list_sessions())
        finally:
            await store.close()

    return asyncio.run(go())


def _history(url: str, session: str) -> list[bytes]:
    """Every record a session's journal and backups hold."""

    async def go() -> list[bytes]:
        store = open_store(url)
        try:
            held = [entry.record for entry in await store.read_journal(session)]
            for info in await store.list_backups(session):
                backup = decode_backup(await store.get_backup(session, info.backup_id), session)
                held.extend(backup.records.values())
            return held
        finally:
            await store.close()

    return asyncio.run(go())


def _start(url: str) -> str:
    payload = _payload("SessionStart", "a-new-session", None, source="startup")
    code, out, err = _hook("session-start", payload, url)
    assert code == 0, err
    return _context(out)


def test_a_forgotten_session_leaves_the_store_and_stays_out(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript, gone = _save(tmp_path, url, EARLIER[0])
    _, kept = _save(tmp_path, url, EARLIER[1])
    assert ITS_WORDS in _start(url)
    registry = registry_session(PROJECT)
    assert any(ITS_WORDS.encode() in record for record in _history(url, registry))

    code, out, err = _cli(capsys, "forget", gone[:8], "--store", url)
    assert code == 0, err
    assert f"forgot session '{gone}': " in out
    assert PROJECT in out

    assert gone not in _sessions(url)
    assert kept in _sessions(url)
    told = _start(url)
    assert ITS_WORDS not in told
    assert gone[:8] not in told
    for listed in (
        _cli(capsys, "sessions", "--store", url)[1],
        _cli(capsys, "sessions", "--store", url, "--project", PROJECT)[1],
    ):
        lines = listed.splitlines()
        assert any(line.startswith(f"  {kept[:8]}  ") for line in lines)
        assert not any(line.startswith(f"  {gone[:8]}  ") for line in lines)
        assert f"  forgotten: {gone[:8]} (`memcore forget --undo ID`" in listed
    assert _cli(capsys, "search", ITS_WORDS, "--store", url)[1].count(gone) == 0
    # what the project's list and the access log were before: gone from their history too
    marks = _read_state(url, registry)
    assert is_forgotten(marks[registry_key(gone)])
    assert all(ITS_WORDS.encode() not in record for record in _history(url, registry))
    for record in _history(url, registry):
        value = decode_entry(record).value
        if isinstance(value, dict) and value.get("id") == registry_key(gone):
            assert is_forgotten(value)
    assert gone not in _read_state(url, ACCESS_LOG_SESSION)
    if url.startswith("sqlite"):
        for file in sorted(tmp_path.glob("memory.db*")):
            assert ITS_WORDS.encode() not in file.read_bytes(), file.name

    # and kept out: a hook of its session (resumed, say), an import, an import that rereads
    assert _hook("session-end", _payload("SessionEnd", gone, transcript), url)[0] == 0
    assert gone not in _sessions(url)
    out = _cli(capsys, "import-claude-code", str(transcript.parent), "--store", url)[1]
    assert "1 session(s) forgotten (memcore forget): not imported" in out
    out = _cli(capsys, "import-claude-code", str(transcript.parent), "--store", url, "--reread")[1]
    assert "1 session(s) forgotten" in out
    assert gone not in _sessions(url)
    assert ITS_WORDS not in _start(url)


def test_undo_lets_the_next_save_bring_it_back(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript, gone = _save(tmp_path, url, EARLIER[0])
    assert _cli(capsys, "forget", gone, "--store", url)[0] == 0
    for again in (gone, gone[:8]):  # ("the store holds nothing of session" read as a wrong id)
        code, _, err = _cli(capsys, "forget", again, "--store", url)
        assert code == 1
        assert f"error: session '{gone}' is already forgotten" in err
        assert "--undo" in err
    code, out, err = _cli(capsys, "forget", gone[:8], "--store", url, "--undo")
    assert code == 0, err
    assert f"session '{gone}' may be saved again" in out
    assert gone not in _sessions(url)  # (nothing deleted came back by itself)
    assert _hook("session-end", _payload("SessionEnd", gone, transcript), url)[0] == 0
    assert gone in _sessions(url)
    assert ITS_WORDS in _start(url)
    code, _, err = _cli(capsys, "forget", gone, "--store", url, "--undo")
    assert code == 1
    assert "is not marked forgotten" in err


def test_a_dry_run_changes_nothing(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, gone = _save(tmp_path, url, EARLIER[0])
    before = _read_state(url, registry_session(PROJECT))
    code, out, err = _cli(capsys, "forget", gone, "--store", url, "--dry-run")
    assert code == 0, err
    assert f"would forget session '{gone}': " in out
    assert gone in _sessions(url)
    assert _read_state(url, registry_session(PROJECT)) == before


def test_what_cannot_be_forgotten_is_said(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from memcore import DistributedMemoryManager, MemoryItem

    async def fill() -> None:
        async with DistributedMemoryManager(url, replica_id="w") as manager:
            manager.set("plain", "k", MemoryItem("k", "a note"))
            await manager.sync_session_memory("plain")

    asyncio.run(fill())
    code, _, err = _cli(capsys, "forget", "nothing-here", "--store", url)
    assert code == 1
    assert "the store holds nothing of session 'nothing-here'" in err
    code, _, err = _cli(capsys, "forget", ACCESS_LOG_SESSION, "--store", url)
    assert code == 1
    assert "memcore's own session" in err
    code, _, err = _cli(capsys, "forget", "plain", "--store", url, "--undo", "--dry-run")
    assert code == 2
    # a session of the library's own (no project, no access log): its items go, nothing more
    code, out, err = _cli(capsys, "forget", "plain", "--store", url)
    assert code == 0, err
    assert "1 item(s); filed under no project" in out
    assert "plain" not in _sessions(url)


def test_session_start_does_not_catch_up_with_a_forgotten_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start's catch-up saves the transcripts of the folder that no entry says were read:
    a forgotten session's has none, and must not be saved again by it."""
    first, gone = _place(tmp_path, EARLIER[0])
    own = first.parent / "ffffffff-0000-4000-8000-000000000001.jsonl"
    own.write_bytes(first.read_bytes().replace(gone.encode(), own.stem.encode()))
    then = time.time() - 3600
    os.utime(first, (then, then))
    monkeypatch.setenv(catch_up.OFF_SWITCH, "1")
    assert catch_up.missed(str(own), own.stem, []) == [(gone, first)]
    assert catch_up.missed(str(own), own.stem, [], forgotten={gone}) == []


def test_the_note_of_an_import_s_cut_goes_too(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from memcore.cli.import_unchanged import CUTS_SESSION

    transcript, session = _place(tmp_path, EARLIER[0])
    args = ["import-claude-code", str(transcript), "--store", url, "--max-chars", "500"]
    assert _cli(capsys, *args)[0] == 0
    assert session in _read_state(url, CUTS_SESSION)
    code, out, err = _cli(capsys, "forget", session, "--store", url)
    assert code == 0, err
    assert CUTS_SESSION in out  # (its history dropped)
    assert session not in _read_state(url, CUTS_SESSION)


def test_a_folder_whose_sessions_were_all_forgotten_is_no_project_above_another(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session started below a folder with memory is filed under that folder's project; a
    folder left with only the marks of forgotten sessions holds no memory: one started below it
    is its own project again."""
    from memcore.claude_code.project import known_project

    _, gone = _save(tmp_path, url, EARLIER[0])
    below = PROJECT + "/cmd/entire"

    async def project_of(folder: str) -> str:
        store = open_store(url)
        try:
            return await known_project(store, folder)
        finally:
            await store.close()

    assert asyncio.run(project_of(below)) == PROJECT
    assert _cli(capsys, "forget", gone, "--store", url)[0] == 0
    assert asyncio.run(project_of(below)) == below


def test_a_start_beside_a_forgotten_transcript_launches_no_save_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The session-start hook reads the forgotten sessions from the same read of the project's
    list as its context, and gives them to the catch-up."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    transcript, gone = _save(tmp_path, url, EARLIER[0])
    _save(tmp_path, url, EARLIER[1])
    assert _cli(capsys, "forget", gone, "--store", url)[0] == 0
    own = transcript.parent / "ffffffff-0000-4000-8000-000000000001.jsonl"
    own.write_bytes(transcript.read_bytes().replace(gone.encode(), own.stem.encode()))
    then = time.time() - 3600
    os.utime(transcript, (then, then))
    monkeypatch.setenv(catch_up.OFF_SWITCH, "1")
    started: list[object] = []  # (what each start would save: launch(found, cwd, url))

    def launch(found: object, *_: object) -> bool:
        started.append(found)
        return True

    monkeypatch.setattr(catch_up, "launch", launch)
    payload = _payload("SessionStart", own.stem, own, source="startup")
    assert _hook("session-start", payload, url)[0] == 0
    assert started == []
    assert _cli(capsys, "forget", gone, "--store", url, "--undo")[0] == 0
    assert _hook("session-start", payload, url)[0] == 0
    assert started == [[(gone, transcript)]]


def _days_since(stamp: str) -> float:
    """Days from ``stamp`` (UTC) to now."""
    from datetime import datetime, timezone

    then = datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - then).total_seconds() / 86400


def test_the_sessions_inactive_for_longer_than_a_number_of_days(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.claude_hooks_support import OTHER_PROJECT_FILE

    _, older = _save(tmp_path, url, EARLIER[0])  # last active 2026-01-07
    _, newer = _save(tmp_path, url, EARLIER[1])  # 2026-01-20
    spotter = "/home/marco/projects/spotter"
    transcript, other = _place(tmp_path, OTHER_PROJECT_FILE, spotter)  # 2026-02-10
    assert _hook("session-end", _payload("SessionEnd", other, transcript, spotter), url)[0] == 0
    days = f"{_days_since('2026-01-14T00:00:00'):.2f}"

    code, out, err = _cli(capsys, "forget", "--older-than", days, "--store", url, "--dry-run")
    assert code == 0, err
    assert f"would forget session '{older}'" in out
    assert "1 session(s) last active more than" in out
    assert older in _sessions(url)

    code, out, err = _cli(capsys, "forget", "--older-than", days, "--store", url)
    assert code == 0, err
    assert {older, newer, other} & set(_sessions(url)) == {newer, other}
    # of one project only: the other project's older session stays
    args = ["forget", "--older-than", "0", "--project", PROJECT, "--store", url]
    code, out, err = _cli(capsys, *args)
    assert code == 0, err
    assert f"forgot session '{newer}'" in out
    assert {older, newer, other} & set(_sessions(url)) == {other}
    code, out, _ = _cli(capsys, "forget", "--older-than", "100000", "--store", url)
    assert "0 session(s) last active more than 100000 day(s) ago forgotten" in out
    for before_the_year_one in ("999999", "1e9"):  # (no date that far back: nothing that old)
        code, out, err = _cli(capsys, "forget", "--older-than", before_the_year_one, "--store", url)
        assert (code, err) == (0, "")
        # a whole number said whole ("1e+09 day(s)" was not what was typed)
        assert f"0 session(s) last active more than {float(before_the_year_one):.0f} day" in out


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["abc", "--older-than", "3"],
        ["abc", "--project", "/x"],
        ["--older-than", "-1"],
        ["--older-than", "soon"],
        ["--older-than", "3", "--undo"],
    ],
)
def test_forget_s_arguments_that_do_not_go_together(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    assert main(["forget", *args, "--store", url]) == 2
    assert "memcore forget" in capsys.readouterr().err


@pytest.mark.parametrize("days", ["1e400", "inf"])
def test_days_past_a_float_s_range_must_be_finite(
    days: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``1e400`` was "a number of days, 0 or more": it is one, but infinite."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    assert main(["forget", "--older-than", days, "--store", url]) == 2
    err = capsys.readouterr().err
    assert f"argument --older-than: a number of days must be finite (got '{days}')" in err
    assert err.count("\n") == 1


def test_a_project_whose_sessions_were_all_forgotten_is_listed_by_its_marks(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--undo`` needs the id: ``memcore sessions`` still names it when nothing else is left."""
    _, gone = _save(tmp_path, url, EARLIER[0])
    assert _cli(capsys, "forget", gone, "--store", url)[0] == 0
    for args in ([], ["--project", PROJECT]):
        code, out, err = _cli(capsys, "sessions", "--store", url, *args)
        assert code == 0, err
        assert out.splitlines() == [
            f"{PROJECT} (0 sessions)",
            f"  forgotten: {gone[:8]} (`memcore forget --undo ID` lets one be saved again)",
        ]


@pytest.mark.parametrize("damage", ["registry_digest", "access_log_record"])
def test_a_store_that_fails_verification_stops_forget_before_anything_goes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    """A registry whose history (which holds the session's digests) could not be dropped, or a
    note of memcore's that cannot be read: nothing is forgotten, not even in part, and the
    error says what to repair."""
    import sqlite3

    url = f"sqlite:///{tmp_path / 'memory.db'}"
    _, gone = _save(tmp_path, url, EARLIER[0])
    _, other = _save(tmp_path, url, EARLIER[1])
    registry = registry_session(PROJECT)
    with sqlite3.connect(tmp_path / "memory.db") as db:
        if damage == "registry_digest":
            db.execute(
                "UPDATE meta SET digest = (digest | 1) - (digest & 1) WHERE session = ?",
                (registry,),
            )
        else:
            (record,) = db.execute(
                "SELECT record FROM items WHERE session = ? AND key = ?",
                (ACCESS_LOG_SESSION, other),
            ).fetchone()
            damaged = bytearray(record)
            damaged[len(damaged) // 2] ^= 0xFF
            db.execute(
                "UPDATE items SET record = ? WHERE session = ? AND key = ?",
                (bytes(damaged), ACCESS_LOG_SESSION, other),
            )
    code, _, err = _cli(capsys, "forget", gone, "--store", url)
    assert code == 1
    damaged_session = registry if damage == "registry_digest" else ACCESS_LOG_SESSION
    assert repr(damaged_session) in err
    assert "recover" in err
    assert gone in _sessions(url)
    assert not is_forgotten(_read_state(url, registry)[registry_key(gone)])


def test_one_memory_forgotten_leaves_the_digests_and_stays_out(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The MCP server's ``forget(id)`` of a saved session's memory: session-start, the
    session's list and its count no longer tell of it (its entry is made again), and neither a
    later save of its transcript nor an import that rereads it brings it back."""
    from memcore.claude_code.mcp_server import MemoryService

    transcript, session = _save(tmp_path, url, EARLIER[0])
    assert ITS_WORDS in _start(url)
    (key,) = [k for k, i in _read_state(url, session).items() if ITS_WORDS in i.content]
    before = len(_read_state(url, session))

    async def forget() -> list[dict[str, object]]:
        store = open_store(url)
        service = MemoryService(store, PROJECT)
        try:
            assert await service.forget(key) == session
            return await service.sessions()
        finally:
            await service.close()
            await store.close()

    (listed,) = asyncio.run(forget())
    assert ITS_WORDS not in str(listed["summary"])
    assert listed["items"] == before - 1
    assert ITS_WORDS not in _start(url)
    assert ITS_WORDS not in _cli(capsys, "sessions", "--store", url)[1]

    os.utime(transcript, (time.time(), time.time()))  # (read again: it looks changed)
    assert _hook("session-end", _payload("SessionEnd", session, transcript), url)[0] == 0
    out = _cli(capsys, "import-claude-code", str(transcript.parent), "--store", url, "--reread")
    assert out[0] == 0, out[2]
    assert key not in _read_state(url, session)
    assert len(_read_state(url, session)) == before - 1
    assert ITS_WORDS not in _start(url)
