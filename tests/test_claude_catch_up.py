"""Sessions whose end was missed (no ``session-end``: print mode, a killed process, a closed
terminal) are saved when the next session of the project starts, by a detached process: the
transcripts of the folder that grew since memcore read them, or that it never read, written
in the last week and not in the last two minutes, at most ``MOST`` a start; never the starting
session's own, never before a store exists, never with ``MEMCORE_CATCH_UP=0``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from memcore.claude_code import catch_up
from memcore.claude_code.project import registry_session
from tests.claude_code_support import DATA
from tests.claude_hooks_support import EARLIER, PROJECT, _hook, _payload, _place, _read_state

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")

HOUR = 3600.0


@pytest.fixture(autouse=True)
def catch_up_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(catch_up.OFF_SWITCH, "1")  # (the suite turns it off: tests/conftest.py)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


def _age(path: Path, seconds: float) -> None:
    """Make ``path`` last written ``seconds`` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _entry(url: str, session: str) -> dict[str, list[int]] | None:
    held = _read_state(url, registry_session(PROJECT)).get(f"session:{session}")
    return None if held is None else dict(held.metadata["read_to"])


def _launches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """The catch-ups that hooks start from now on, recorded instead of started."""
    started: list[tuple[object, ...]] = []

    def launch(*args: object) -> bool:
        started.append(args)
        return True

    monkeypatch.setattr(catch_up, "launch", launch)
    return started


def _wait_saved(url: str, session: str, path: Path, seconds: float = 60.0) -> None:
    """Until the registry says ``path`` was read to its end (a deadline for hangs, not a
    timing assertion)."""
    deadline = time.monotonic() + seconds
    size = path.stat().st_size
    while time.monotonic() < deadline:
        read_to = _entry(url, session) or {}
        if read_to.get(str(path), [None])[0] == size:
            return
        time.sleep(0.2)
    raise AssertionError(f"{path.name} was not saved within {seconds} s")


def test_a_session_whose_end_was_missed_is_saved_when_the_next_one_starts(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved at its compaction, then it went on and its end never came: the next start of
    the project prints its context as ever and has the rest saved by a detached process."""
    first, session = _place(tmp_path, EARLIER[0])
    lines = first.read_bytes().splitlines(keepends=True)
    first.write_bytes(b"".join(lines[: len(lines) // 2]))
    assert _hook("pre-compact", _payload("PreCompact", session, first), url)[1:] == ("", "")
    first.write_bytes(b"".join(lines))  # it went on, and was killed
    _age(first, HOUR)
    own = first.parent / "ffffffff-0000-4000-8000-000000000001.jsonl"
    code, out, err = _hook(
        "session-start", _payload("SessionStart", own.stem, own, source="startup"), url
    )
    assert (code, err) == (0, "")
    assert json.loads(out)["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    _wait_saved(url, session, first)
    whole = _read_state(url, session)
    alone = f"sqlite:///{tmp_path / 'alone.db'}"  # as its own session-end would have saved it
    assert _hook("session-end", _payload("SessionEnd", session, first), alone)[1:] == ("", "")
    assert set(whole) == set(_read_state(alone, session))
    # the same start again: nothing left to catch up with
    started = _launches(monkeypatch)
    payload = _payload("SessionStart", own.stem, own, source="startup")
    assert _hook("session-start", payload, url)[0] == 0
    assert started == []


def test_what_a_start_catches_up_with(tmp_path: Path, url: str) -> None:
    """Never read, or grown since: caught up, the latest written first, at most MOST; written
    in the last two minutes (a session running beside it), longer than a week ago, a
    sub-agent's file or the starting session's own: left alone."""
    from memcore.claude_code.project import SessionRecord

    first, session = _place(tmp_path, EARLIER[0])
    second, other = _place(tmp_path, EARLIER[1])
    folder = first.parent
    own = folder / "ffffffff-0000-4000-8000-000000000001.jsonl"
    own.write_bytes(first.read_bytes().replace(session.encode(), own.stem.encode()))
    agent = folder / "agent-a1.jsonl"
    agent.write_bytes(first.read_bytes())
    for path in (first, own, agent):
        _age(path, HOUR)
    _age(second, 2 * HOUR)
    assert catch_up.missed(str(own), own.stem, []) == [(session, first), (other, second)]
    _age(second, HOUR / 2)  # the latest written first
    assert catch_up.missed(str(own), own.stem, []) == [(other, second), (session, first)]
    read = SessionRecord(session, PROJECT, "d", "2026-01-01T00:00:00")
    stat = first.stat()
    read.read_to = {str(first): [stat.st_size, stat.st_mtime_ns, stat.st_size]}
    assert catch_up.missed(str(own), own.stem, [read]) == [(other, second)]  # read as it is
    _age(second, 8 * 24 * HOUR)  # older than a week
    assert catch_up.missed(str(own), own.stem, [read]) == []
    _age(second, 30.0)  # written half a minute ago: running beside this one
    assert catch_up.missed(str(own), own.stem, [read]) == []
    _age(second, HOUR)
    assert catch_up.missed(str(own), second.stem, [read]) == []  # the starting session's own
    assert catch_up.missed(None, own.stem, []) == []
    assert catch_up.missed(str(own), own.stem, [read], cwd=PROJECT) == [(other, second)]
    assert catch_up.missed(str(own), own.stem, [read], cwd=f"{PROJECT}/cmd") == [(other, second)]
    # a copy of a transcript that started elsewhere: a save from here refuses it, so no start
    # sends it there (at every start, for nothing)
    assert catch_up.missed(str(own), own.stem, [read], cwd="/srv/elsewhere") == []
    assert catch_up.missed(str(tmp_path / "nowhere" / "x.jsonl"), "x", []) == []
    for n in range(catch_up.MOST + 2):
        copy = folder / f"eeeeeeee-0000-4000-8000-{n:012d}.jsonl"
        copy.write_bytes(first.read_bytes().replace(session.encode(), copy.stem.encode()))
        _age(copy, HOUR + n)
    assert len(catch_up.missed(str(own), own.stem, [read])) == catch_up.MOST


def test_no_catch_up_before_a_store_exists_or_when_turned_off(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, session = _place(tmp_path, EARLIER[0])
    _age(first, HOUR)
    own = first.parent / "ffffffff-0000-4000-8000-000000000001.jsonl"
    started = _launches(monkeypatch)
    payload = _payload("SessionStart", own.stem, own, source="startup")
    assert _hook("session-start", payload, url) == (0, "", "")  # no store: nothing at all
    assert started == []
    assert not (tmp_path / "memory.db").exists()
    second, other = _place(tmp_path, EARLIER[1])  # a save makes the store
    assert _hook("session-end", _payload("SessionEnd", other, second), url)[1:] == ("", "")
    monkeypatch.setenv(catch_up.OFF_SWITCH, "0")
    assert _hook("session-start", payload, url)[0] == 0
    assert started == []
    monkeypatch.setenv(catch_up.OFF_SWITCH, "1")
    assert _hook("session-start", payload, url)[0] == 0
    assert len(started) == 1
    assert started[0] == ([(session, first)], PROJECT, url)  # (the saved one is not missed)


def test_catch_ups_take_turns(tmp_path: Path, url: str, memcore_home: Path) -> None:
    """Two sessions started at once each start a catch-up of the same transcripts: one waits
    for the other's lock (``LOCK_NAME`` in memcore's folder), then finds them saved."""
    import fcntl

    first, session = _place(tmp_path, EARLIER[0])
    _age(first, HOUR)
    lock = os.open(memcore_home / catch_up.LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another catch-up is saving
        assert catch_up.launch([(session, first)], PROJECT, url)
        time.sleep(1.0)  # (long enough for an unlocked child to have saved a small transcript)
        assert _entry(url, session) is None
    finally:
        os.close(lock)  # its turn now
    _wait_saved(url, session, first)


def test_a_detached_saver_is_held_while_it_runs_and_reaped_once_ended(
    tmp_path: Path, url: str
) -> None:
    """A program that runs hooks in its own process (not a hook's, which ends at once) keeps
    no zombie of a saver that ended, and drops none while it runs."""
    missing = [("0" * 8 + "-0000-0000-0000-" + "0" * 12, tmp_path / "gone.jsonl")]
    assert catch_up.launch(missing, str(tmp_path), url)
    first = catch_up._LAUNCHED[-1]
    assert first.wait(timeout=60) == 0  # (nothing to save: it ends)
    assert catch_up.launch(missing, str(tmp_path), url)
    second = catch_up._LAUNCHED[-1]
    assert first not in catch_up._LAUNCHED
    assert second in catch_up._LAUNCHED
    assert second.wait(timeout=60) == 0


def test_a_session_whose_last_save_kept_older_digests_has_them_made(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its last turn saved by a ``stop`` that kept the digests (a turn adds less than a tenth),
    and no ``session-end`` came: the next start has them made of all it read, so that the
    start after tells of its end, not of a request it has since answered."""
    from memcore.claude_code.project import SessionRecord, registry_key

    def entry() -> SessionRecord:
        held = _read_state(url, registry_session(PROJECT))[registry_key(session)]
        return SessionRecord.from_item(held)

    first, session = _place(tmp_path, EARLIER[0])
    lines = first.read_bytes().splitlines(keepends=True)
    first.write_bytes(b"".join(lines[: len(lines) - 3]))
    assert _hook("stop", _payload("Stop", session, first), url)[1:] == ("", "")
    first.write_bytes(b"".join(lines))
    _age(first, HOUR)  # (the last turn an hour ago: its stop read the file as it still is)
    assert _hook("stop", _payload("Stop", session, first), url)[1:] == ("", "")
    assert entry().needs_digest()
    own = first.parent / "ffffffff-0000-4000-8000-000000000001.jsonl"
    started = _launches(monkeypatch)
    payload = _payload("SessionStart", own.stem, own, source="startup")
    assert _hook("session-start", payload, url)[0] == 0
    assert [found for found, _, _ in started] == [[(session, first)]]
    monkeypatch.undo()  # (started for real now)
    monkeypatch.setenv(catch_up.OFF_SWITCH, "1")
    assert _hook("session-start", payload, url)[0] == 0
    deadline = time.monotonic() + 60.0  # (a deadline for hangs, not a timing assertion)
    while entry().needs_digest() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not entry().needs_digest()
    started = _launches(monkeypatch)
    assert _hook("session-start", payload, url)[0] == 0
    assert started == []  # nothing left to catch up with
