"""The Claude Code integration on what others leave in its store and files, and beside others.

* A session is anyone's through the plain store API: a value that is no memory item (a dict, a
  string a library user committed) in a saved session, a project's notes or its registry is left
  out, warned of, by the MCP server's ``digest``, ``forget`` and ``sessions`` and by ``memcore
  forget``, as ``recall`` leaves it out, where it made them fail.
* A transcript only touched since its last save (its time changed, not what it holds) is saved
  again with nothing written: no new version of its session, its registry or its access log.
* ``memcore forget`` (and the MCP server's ``forget``) that cannot get a session's save turn,
  held by an import or a hook's save, fails and changes nothing: gone on without it, what it
  deleted the import wrote back, its entry over the mark.

Real SQLite stores and transcripts, real processes holding the locks; ``$HOME``,
``$MEMCORE_HOME`` and ``$XDG_DATA_HOME`` are the test's own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from memcore.access_log import ACCESS_LOG_SESSION
from memcore.claude_code import catch_up, forget
from memcore.claude_code.forget import is_forgotten
from memcore.claude_code.mcp_server import MemoryService
from memcore.claude_code.project import notes_session, registry_key, registry_session
from memcore.cli import main
from memcore.errors import ConflictError, NotFoundError
from memcore.stores import decode_entry, open_store
from memcore.stores.base import Entry, encode_entry, live_digest
from tests.claude_code_support import DATA
from tests.claude_hooks_support import (
    EARLIER,
    PROJECT,
    _hook,
    _payload,
    _place,
    _read_state,
    _read_version,
)

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


@pytest.fixture(autouse=True)
def own_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own ``$HOME``, ``$MEMCORE_HOME`` (the save turns' lock files) and
    ``$XDG_DATA_HOME``: nothing of the user's, nor another test's locks."""
    home = tmp_path / "home"
    (home / ".local" / "share").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("MEMCORE_HOME", str(home / "memcore"))
    return home


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


def _saved(tmp_path: Path, url: str, held_back: int = 0) -> tuple[Path, str]:
    """A transcript but its last ``held_back`` lines, saved by its ``session-end`` hook: its
    path and session id."""
    transcript, session = _place(tmp_path / "claude", EARLIER[0])
    if held_back:
        transcript.write_bytes(b"".join(_lines()[:-held_back]))
    code, out, err = _hook("session-end", _payload("SessionEnd", session, transcript), url)
    assert (code, out, err) == (0, "", "")
    return transcript, session


def _lines() -> list[bytes]:
    return (DATA / EARLIER[0]).read_bytes().splitlines(keepends=True)


async def _commit_foreign(url: str, session: str, key: str, value: object) -> None:
    """``value`` under ``key`` of ``session``, committed as another program would through the
    plain store API (no memory item; the session may not exist yet)."""
    store = open_store(url)
    try:
        snapshot = await store.read_snapshot(session)
        entries = {k: decode_entry(v) for k, v in snapshot.records.items()}
        stamp = max((e.stamp for e in entries.values()), default=0) + 1
        entries[key] = Entry(value, stamp, "another-program", False)
        records = {key: encode_entry(entries[key])}
        assert await store.commit(session, snapshot.version, records, live_digest(entries))
    finally:
        await store.close()


def _foreign(url: str, session: str, key: str, value: object) -> None:
    asyncio.run(_commit_foreign(url, session, key, value))


async def _service(url: str) -> tuple[Any, MemoryService]:
    store = open_store(url)
    return store, MemoryService(store, PROJECT)


def _warned_of(caplog: pytest.LogCaptureFixture, key: str) -> int:
    return sum(
        repr(key) in r.getMessage() and "no memory item" in r.getMessage() for r in caplog.records
    )


# --- values that are no memory items ---------------------------------------------------------


async def test_the_mcp_tools_leave_out_a_registry_value_that_is_no_entry(
    tmp_path: Path, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A string in the project's registry made ``sessions``, ``digest``, ``recall`` and
    ``forget`` fail: each reads the registry's entries first."""
    _, session = await asyncio.to_thread(_saved, tmp_path, url)
    await _commit_foreign(url, registry_session(PROJECT), "their-key", "not an entry")
    store, service = await _service(url)
    try:
        with caplog.at_level(logging.WARNING):
            assert [s["session"] for s in await service.sessions()] == [session]
            assert "## " in await service.digest()
            assert await service.recall("surface to the user")
            with pytest.raises(NotFoundError):
                await service.forget("their-key")
        assert _warned_of(caplog, "their-key") == 1  # (once, however often it is read)
    finally:
        await service.close()
        await store.close()


async def test_digest_and_forget_of_a_saved_session_leave_out_a_value_that_is_no_item(
    tmp_path: Path, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A dict another program committed to a saved session made its ``digest`` fail, and the
    ``forget`` of any of its memories (its entry is made again from the items left)."""
    _, session = await asyncio.to_thread(_saved, tmp_path, url)
    items = await asyncio.to_thread(_read_state, url, session)
    await _commit_foreign(url, session, "their-key", {"foo": "surface to the user"})
    store, service = await _service(url)
    try:
        with caplog.at_level(logging.WARNING):
            assert "## " in await service.digest(session)
            (hit, *_) = await service.recall("surface to the user", k=3)
            assert hit.id in items
            assert await service.forget(hit.id) == session
            with pytest.raises(NotFoundError):  # (not a memory: none of its business)
                await service.forget("their-key")
        assert _warned_of(caplog, "their-key") >= 1
    finally:
        await service.close()
        await store.close()
    left = await _raw_keys(url, session)
    assert hit.id not in left
    assert "their-key" in left  # (left as it was)
    entry = (await asyncio.to_thread(_read_state, url, registry_session(PROJECT)))[
        registry_key(session)
    ]
    assert entry.metadata["items"] == len(items) - 1  # made again from the items left


async def _raw_keys(url: str, session: str) -> list[str]:
    store = open_store(url)
    try:
        snapshot = await store.read_snapshot(session)
        return [k for k, v in snapshot.records.items() if not decode_entry(v).deleted]
    finally:
        await store.close()


async def test_digest_and_forget_of_the_notes_leave_out_a_value_that_is_no_item(
    tmp_path: Path, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """In the project's notes, a string under a key made ``digest`` of the notes fail, and
    ``forget`` of that key (or ``remember`` of a note whose id it is) a ValidationError."""
    await asyncio.to_thread(_saved, tmp_path, url)
    store, service = await _service(url)
    try:
        kept = await service.remember("the cart totals round half up", kind="decision")
        await _commit_foreign(url, notes_session(PROJECT), "note:theirs", "plain text")
        with caplog.at_level(logging.WARNING):
            assert "cart totals" in await service.digest(service.notes)
            with pytest.raises(NotFoundError):
                await service.forget("note:theirs")
            assert await service.forget(kept) == service.notes
        assert _warned_of(caplog, "note:theirs") == 1
    finally:
        await service.close()
        await store.close()
    assert list(await _raw_keys(url, notes_session(PROJECT))) == ["note:theirs"]


def test_memcore_forget_passes_over_a_registry_value_under_the_session_s_key(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another project's registry holding a dict under the session's key (no entry: nothing
    memcore filed) made ``memcore forget`` of the session fail."""
    _, session = _saved(tmp_path, url)
    elsewhere = registry_session("/srv/another/project")
    _foreign(url, elsewhere, registry_key(session), {"theirs": True})
    assert main(["forget", session, "--store", url]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"forgot session '{session}'" in out
    assert PROJECT in out
    assert is_forgotten(_read_state(url, registry_session(PROJECT))[registry_key(session)])
    assert asyncio.run(_raw_keys(url, elsewhere)) == [registry_key(session)]  # (theirs, kept)


def test_a_save_writes_its_entry_over_a_value_under_its_key_that_is_no_entry(
    tmp_path: Path, url: str
) -> None:
    """A string another program committed under the session's own registry key (memcore's
    key, in memcore's session) made every save of the session fail: read as no entry, the
    save reads the transcript whole and writes its entry over it."""
    transcript, session = _saved(tmp_path, url, held_back=5)
    _foreign(url, registry_session(PROJECT), registry_key(session), "not an entry")
    transcript.write_bytes(b"".join(_lines()))
    code, out, err = _hook("session-end", _payload("SessionEnd", session, transcript), url)
    assert (code, out, err) == (0, "", "")
    entry = _read_state(url, registry_session(PROJECT))[registry_key(session)]
    assert entry.metadata["session_id"] == session
    assert entry.metadata["items"] == len(_read_state(url, session))
    assert not is_forgotten(entry)


# --- a transcript touched, not changed -------------------------------------------------------


def _versions(url: str, session: str) -> tuple[int, int, int]:
    """The versions of what a save writes: the session, its project's registry, the access
    log."""
    return (
        _read_version(url, session),
        _read_version(url, registry_session(PROJECT)),
        _read_version(url, ACCESS_LOG_SESSION),
    )


def _touch(path: Path, later: float = 100.0) -> None:
    then = path.stat().st_mtime + later
    os.utime(path, (then, then))


@pytest.mark.parametrize("event", ["session-end", "stop", "pre-compact"])
def test_a_transcript_only_touched_is_saved_again_with_nothing_written(
    tmp_path: Path, url: str, event: str
) -> None:
    transcript, session = _saved(tmp_path, url, held_back=1)
    before = _versions(url, session)
    entry = _read_state(url, registry_session(PROJECT))[registry_key(session)]
    _touch(transcript)
    name = {"session-end": "SessionEnd", "stop": "Stop", "pre-compact": "PreCompact"}[event]
    assert _hook(event, _payload(name, session, transcript), url) == (0, "", "")
    assert _versions(url, session) == before
    assert _read_state(url, registry_session(PROJECT))[registry_key(session)] == entry
    # and then it grows: read on as ever
    with transcript.open("ab") as more:
        more.write(_lines()[-1])
    assert _hook(event, _payload(name, session, transcript), url) == (0, "", "")
    assert _read_version(url, registry_session(PROJECT)) > before[1]
    read_to = _read_state(url, registry_session(PROJECT))[registry_key(session)].metadata
    assert read_to["read_to"][str(transcript)][0] == transcript.stat().st_size


def test_a_touched_transcript_ending_in_a_half_written_line_writes_nothing(
    tmp_path: Path, url: str
) -> None:
    """Its last line is not read (it waits for its end), so the entry's offset is not the
    file's size: a save reads on from there, finds the same half line, and writes nothing."""
    transcript, session = _place(tmp_path / "claude", EARLIER[0])
    lines = _lines()
    transcript.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    payload = _payload("SessionEnd", session, transcript)
    assert _hook("session-end", payload, url) == (0, "", "")
    read_to = _read_state(url, registry_session(PROJECT))[registry_key(session)].metadata
    size, _, offset = read_to["read_to"][str(transcript)]
    assert offset < size == transcript.stat().st_size
    before = _versions(url, session)
    for later in (100.0, 200.0):
        _touch(transcript, later)
        assert _hook("session-end", payload, url) == (0, "", "")
        assert _hook("stop", _payload("Stop", session, transcript), url) == (0, "", "")
        assert _versions(url, session) == before


def test_a_start_does_not_catch_up_with_a_transcript_only_touched(tmp_path: Path, url: str) -> None:
    """Touched an hour ago, a saved transcript was caught up by every start of the week
    (the saves' test took its time for a change), each one a process saving nothing."""
    from memcore.claude_code.session_start import project_records

    transcript, session = _saved(tmp_path, url, held_back=1)
    then = time.time() - 3600
    os.utime(transcript, (then, then))
    own = transcript.parent / "ffffffff-0000-4000-8000-000000000001.jsonl"

    async def records() -> list[Any]:
        store = open_store(url)
        try:
            return await project_records(store, PROJECT)
        finally:
            await store.close()

    assert catch_up.missed(str(own), own.stem, asyncio.run(records()), cwd=PROJECT) == []
    with transcript.open("ab") as more:  # (grown: caught up)
        more.write(_lines()[-1])
    os.utime(transcript, (then, then))
    found = catch_up.missed(str(own), own.stem, asyncio.run(records()), cwd=PROJECT)
    assert found == [(session, transcript)]


# --- forget without the save turn ------------------------------------------------------------


def test_memcore_forget_that_cannot_get_the_turn_fails_and_changes_nothing(
    tmp_path: Path,
    url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    held_turn: Any,
) -> None:
    """An import holds the session's turn while it writes the session: a forget that went on
    after waiting in vain deleted what the import then wrote back, and the import's entry
    took the place of its mark. It fails instead, saying why, and changes nothing."""
    _, session = _saved(tmp_path, url)
    monkeypatch.setattr(forget, "TURN_WAIT", 0.3)  # (30 s in use)
    before = _versions(url, session)
    state = _read_state(url, session)
    held_turn(session)
    assert main(["forget", session, "--store", url]) == 1
    err = capsys.readouterr().err
    assert "nothing was forgotten" in err
    assert "could not get the lock" in err
    assert session in err
    assert _versions(url, session) == before
    assert _read_state(url, session) == state
    assert not is_forgotten(_read_state(url, registry_session(PROJECT))[registry_key(session)])
    # a dry run changes nothing: it goes on and says what would go
    assert main(["forget", session, "--store", url, "--dry-run"]) == 0
    assert f"would forget session '{session}'" in capsys.readouterr().out
    # and so does --older-than, of every session at once
    assert main(["forget", "--older-than", "0", "--store", url]) == 1
    assert "nothing was forgotten" in capsys.readouterr().err
    assert _versions(url, session) == before


async def test_the_mcp_forget_that_cannot_get_the_turn_fails_and_changes_nothing(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, held_turn: Any
) -> None:
    _, session = await asyncio.to_thread(_saved, tmp_path, url)
    monkeypatch.setattr(forget, "TURN_WAIT", 0.3)
    store, service = await _service(url)
    try:
        (hit, *_) = await service.recall("surface to the user", k=3)
        before = await asyncio.to_thread(_versions, url, session)
        held_turn(session)
        with pytest.raises(ConflictError, match="could not get the lock"):
            await service.forget(hit.id)
        assert await asyncio.to_thread(_versions, url, session) == before
    finally:
        await service.close()
        await store.close()
    assert hit.id in await asyncio.to_thread(_read_state, url, session)
