"""A save's parse in a child process (``memcore.claude_code.parse_ahead``): the same stored state
as a save that parses itself, whatever the child does, and a transcript read to its end is known
to be saved without importing asyncio."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.claude_code import parse_ahead
from memcore.claude_code.hooks import HookPayload, locate_session
from memcore.claude_code.parse_ahead import ParseAhead, _pack, _unpack
from memcore.claude_code.project import SessionRecord, parse_session, registry_session
from tests.test_claude_hooks import (
    DATA,
    PROJECT,
    _hook,
    _payload,
    _place,
    _read_state,
    _session_of,
)

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")

BIG = "entireio__cli__0276a600.jsonl"  # 2.9 MB: parsed ahead
SMALL = "entireio__cli__198393f2.jsonl"


def _save(tmp_path: Path, name: str, source: str) -> tuple[str, str]:
    """Save the transcript ``source`` (placed once under ``tmp_path``) into the store ``name``."""
    url = f"sqlite:///{tmp_path / name / 'memory.db'}"
    session = _session_of(DATA / source)
    transcript = next((tmp_path / "projects").rglob(f"{session}.jsonl"), None)
    if transcript is None:
        transcript, _ = _place(tmp_path, source)
    code, out, err = _hook("session-end", _payload("SessionEnd", session, transcript), url)
    assert (code, out, err) == (0, "", "")
    return url, session


def _states(url: str, session: str) -> tuple[object, object]:
    """The session's items, and its project's registry entries but for when each was made."""
    registry = _read_state(url, registry_session(PROJECT))
    entries = {
        key: dataclasses.replace(SessionRecord.from_item(item), updated_at="")
        for key, item in registry.items()
    }
    assert entries
    return _read_state(url, session), entries


def test_a_save_parsed_ahead_stores_what_a_save_parsing_itself_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[ParseAhead | None] = []
    start = ParseAhead.start.__func__  # type: ignore[attr-defined]

    def counted(cls: type[ParseAhead], *args: object) -> ParseAhead | None:
        started.append(start(cls, *args))
        return started[-1]

    monkeypatch.setattr(ParseAhead, "start", classmethod(counted))
    ahead_url, session = _save(tmp_path, "ahead", BIG)
    assert started
    assert started[0] is not None, "a 2.9 MB transcript is parsed in a child"
    monkeypatch.setattr(parse_ahead, "AHEAD_BYTES", 1 << 40)
    itself_url, _ = _save(tmp_path, "itself", BIG)
    assert started[1] is None
    assert _states(ahead_url, session) == _states(itself_url, session)


def test_a_child_that_fails_leaves_the_parse_to_the_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        if os.getpid() != parent:
            raise RuntimeError("the child's parse failed")
        return parse_session(*args, **kwargs)  # type: ignore[arg-type]

    taken: list[object] = []
    result = ParseAhead.result

    def handed(self: ParseAhead, *args: object) -> object:
        taken.append(result(self, *args))  # type: ignore[arg-type]
        return taken[-1]

    parent = os.getpid()
    monkeypatch.setattr("memcore.claude_code.project.parse_session", broken)
    monkeypatch.setattr(ParseAhead, "result", handed)
    url, session = _save(tmp_path, "broken", BIG)
    assert taken == [None], "the child failed: nothing handed back"
    monkeypatch.undo()
    monkeypatch.setattr(parse_ahead, "AHEAD_BYTES", 1 << 40)
    itself_url, _ = _save(tmp_path, "itself", BIG)
    assert _states(url, session) == _states(itself_url, session)


def test_a_parse_of_other_offsets_is_not_taken(tmp_path: Path) -> None:
    transcript, session = _place(tmp_path, BIG)
    payload = HookPayload.parse(_payload("SessionEnd", session, transcript))
    checked, files = locate_session(payload)
    ahead = ParseAhead.start(files, checked.session_id, None)
    assert ahead is not None
    other = {str(files[0]): [1, 2, 3]}
    assert ahead.result(files, checked.session_id, other) is None
    ahead.cancel()  # (again: nothing left to end)


@pytest.mark.parametrize("source", sorted(p.name for p in DATA.glob("*.jsonl")))
def test_the_parse_handed_back_is_the_parse(tmp_path: Path, source: str) -> None:
    transcript, session = _place(tmp_path, source)
    parsed = parse_session([transcript], session)
    assert _unpack(_pack(parsed)) == parsed


def test_a_transcript_read_to_its_end_is_saved_without_asyncio(tmp_path: Path) -> None:
    url, session = _save(tmp_path, "once", SMALL)
    path = next((tmp_path / "projects").rglob(f"{session}.jsonl"))
    script = (
        "import sys\n"
        "sys.modules['asyncio'] = None  # any import of it fails\n"
        "from memcore.claude_code.hooks import run_hook\n"
        f"sys.exit(run_hook('session-end', sys.stdin.read(), store_url={url!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=_payload("SessionEnd", session, path),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
