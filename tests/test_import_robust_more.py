"""What a probe found wrong in reading transcripts: one transcript whose ``sessionId`` no store
takes as a session id stopped ``memcore import-claude-code`` from storing any (``--dry-run``
said all was well); ``parse_transcript`` took any argument (a float cut, a negative one, an
offset past the file's end, bytes for a path, a string for the stored items, a session id with
a ``/``) and failed late or not at all; a transcript whose records name no ``sessionId`` was
imported under its file's name and refused by ``memcore digest PATH``; and a session with no
absolute ``cwd`` was stored under no project without a word.

The command line is run as it is installed (``.venv/bin/memcore``, a process of its own), with
``HOME``, ``MEMCORE_HOME`` and ``XDG_DATA_HOME`` in the test's own folder."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memcore.claude_code import parse_lines, parse_transcript, parse_transcripts
from memcore.errors import MemcoreError, NotFoundError, ValidationError
from memcore.model import MemoryItem
from tests.claude_code_support import short_session_lines

MEMCORE = Path(sys.executable).with_name("memcore")
PROJECT = "/home/dev/projects/shop"


@pytest.fixture(autouse=True)
def _homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every home the test may touch is in its own folder."""
    for name in ("HOME", "MEMCORE_HOME", "XDG_DATA_HOME"):
        folder = tmp_path / f"env-{name.lower()}"
        folder.mkdir()
        monkeypatch.setenv(name, str(folder))


_records = short_session_lines


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _memcore(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """``memcore ARGS`` run as a process of its own (the test's environment: its homes)."""
    assert MEMCORE.is_file(), MEMCORE
    return subprocess.run(
        [str(MEMCORE), *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def _store() -> Path:
    return Path(os.environ["MEMCORE_HOME"]) / "memory.db"


def _sessions(db: Path) -> list[str]:
    """The sessions stored in ``db`` but memcore's own (``memcore.*``)."""
    from memcore.stores import open_store

    async def listed() -> list[str]:
        store = open_store(f"sqlite:///{db}")
        try:
            return sorted(s for s in await store.list_sessions() if not s.startswith("memcore."))
        finally:
            await store.close()

    return asyncio.run(listed())


# --- 1. a session id no store takes is that session's trouble alone ------------------------------


@pytest.mark.parametrize("bad_first", [True, False], ids=["bad-first", "bad-last"])
def test_a_session_id_no_store_takes_skips_that_session_alone(
    tmp_path: Path, bad_first: bool
) -> None:
    """Before: with the bad file first nothing was stored (exit 1, "invalid session id"), with
    it last "stopped after 2 of 3 session(s)". Now it is named, with why, and skipped, as a file
    with no record is, and the other sessions are stored (exit 0)."""
    bad = _write(tmp_path, "0-bad.jsonl" if bad_first else "9-bad.jsonl", _records("a" * 201))
    good = [_write(tmp_path, f"5-{s}.jsonl", _records(s, tag=s)) for s in ("sess-b", "sess-c")]
    done = _memcore("import-claude-code", *([bad, *good] if bad_first else [*good, bad]))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    said = [line for line in done.stdout.splitlines() if str(bad) in line]
    assert len(said) == 1, done.stdout
    assert "skipped" in said[0]
    assert "no memcore session id" in said[0]
    assert "1-200 characters" in said[0]
    assert "a" * 201 not in said[0]
    assert "read 3 transcript file(s): 2 session(s)" in done.stdout
    assert "stored session 'sess-b'" in done.stdout
    assert "stored session 'sess-c'" in done.stdout
    assert _sessions(_store()) == ["sess-b", "sess-c"]


def test_dry_run_reports_the_session_it_would_skip(tmp_path: Path) -> None:
    """Before: ``--dry-run`` said nothing of it (exit 0) where the import failed."""
    bad = _write(tmp_path, "bad.jsonl", _records("a" * 201))
    good = _write(tmp_path, "good.jsonl", _records("sess-b"))
    done = _memcore("import-claude-code", good, bad, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert any(
        str(bad) in line and "no memcore session id" in line and "skipped" in line
        for line in done.stdout.splitlines()
    ), done.stdout
    assert "1 session(s)" in done.stdout
    assert "dry run: nothing stored" in done.stdout
    assert not _store().exists()


def test_only_sessions_no_store_takes_is_an_error_storing_nothing(tmp_path: Path) -> None:
    """Every session skipped: nothing to store is an error (as with no transcript record at
    all), said in one line; ids with a ``/`` and memcore's own sessions are refused too."""
    files = [
        _write(tmp_path, "long.jsonl", _records("a" * 201)),
        _write(tmp_path, "slash.jsonl", _records("../escape")),
        _write(tmp_path, "own.jsonl", _records("memcore.access-log")),
    ]
    done = _memcore("import-claude-code", *files)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "nothing stored" in done.stderr
    for path in files:
        assert any(str(path) in line and "skipped" in line for line in done.stdout.splitlines())
    assert "memcore's own" in done.stdout
    assert not _store().exists() or _sessions(_store()) == []


def test_the_store_writer_refuses_a_bad_id_before_storing_anything(tmp_path: Path) -> None:
    """``_import_sessions`` handed a session id no store takes (a caller that did not leave it
    out) stores nothing, not the sessions before it."""
    from memcore.cli.import_store import _import_sessions

    good = parse_transcript(_write(tmp_path, "good.jsonl", _records("sess-b")))
    bad = parse_transcript(_write(tmp_path, "bad.jsonl", _records("a" * 201)))
    db = tmp_path / "store.db"
    done: dict[str, Any] = {}
    with pytest.raises(ValidationError, match="invalid session id"):
        asyncio.run(
            _import_sessions(
                f"sqlite:///{db}", {"sess-b": [good], bad.session_id: [bad]}, None, 4000, done
            )
        )
    assert done == {}
    assert not db.exists() or _sessions(db) == []


# --- 2. parse_transcript checks its arguments -----------------------------------------------------


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    return _write(tmp_path, "sess-t.jsonl", _records("sess-t"))


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"max_chars": 1.5}, "max_chars"),
        ({"max_chars": None}, "max_chars"),
        ({"max_chars": "10"}, "max_chars"),
        ({"max_chars": True}, "max_chars"),
        ({"max_chars": -1}, "max_chars"),
        ({"max_chars": 0}, "max_chars"),
        ({"start_offset": 2**70}, "past the end"),
        ({"start_offset": -1}, "start_offset"),
        ({"start_offset": 1.0}, "start_offset"),
        ({"stored": [1, 2, 3]}, "MemoryItem"),
        ({"stored": "abc"}, "MemoryItem"),
        ({"stored": 5}, "MemoryItem"),
        ({"stored": {"k": "v"}}, "MemoryItem"),
        ({"session": 5}, "invalid session id"),
        ({"session": "../x"}, "invalid session id"),
        ({"session": "a" * 300}, "invalid session id"),
        ({"session": ""}, "invalid session id"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_parse_transcript_refuses_bad_arguments(
    transcript: Path, options: dict[str, Any], said: str
) -> None:
    with pytest.raises(ValidationError, match=said) as raised:
        parse_transcript(transcript, **options)
    assert isinstance(raised.value, MemcoreError)


@pytest.mark.parametrize("path", [b"sess-t.jsonl", 5, None, ""], ids=repr)
def test_parse_transcript_refuses_what_is_no_path(
    transcript: Path, path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bytes path, a number or None was a ``TypeError``; an empty path named the current
    folder."""
    monkeypatch.chdir(transcript.parent)
    with pytest.raises(ValidationError, match="transcript"):
        parse_transcript(path)


def test_parse_lines_and_parse_transcripts_check_alike(transcript: Path) -> None:
    with pytest.raises(ValidationError, match="max_chars"):
        parse_lines([transcript.read_text()], max_chars=0)
    with pytest.raises(ValidationError, match="invalid session id"):
        parse_lines([transcript.read_text()], session="a/b")
    with pytest.raises(ValidationError, match="list of transcript paths"):
        parse_transcripts(str(transcript))
    with pytest.raises(NotFoundError):
        parse_transcript(transcript.parent / "missing.jsonl")


def test_an_offset_past_the_end_is_refused_and_one_at_the_end_reads_nothing(
    transcript: Path,
) -> None:
    """Before: past the end, the parse said the session was the file's name and that it had
    read to beyond the file's size. Past it, the file shrank or was replaced (the hooks read
    such a file from 0): refused. At the end: nothing new, ``end_offset`` the size, the session
    the records name (not the file's name) even though no record is read."""
    size = transcript.stat().st_size
    with pytest.raises(ValidationError, match="past the end"):
        parse_transcript(transcript, start_offset=size + 1)
    renamed = transcript.rename(transcript.with_name("renamed.jsonl"))
    none: list[MemoryItem] = []
    for stored in (None, none):
        read = parse_transcript(renamed, start_offset=size, stored=stored)
        assert (read.items, read.end_offset, read.session_id) == ([], size, "sess-t")
    whole = parse_transcript(renamed)
    assert whole.session_id == "sess-t"
    assert whole.end_offset == size


def test_a_cut_of_one_character_is_marked_right(transcript: Path) -> None:
    """The smallest cut taken: what it says was left out is what was left out (``0`` and ``-1``
    gave items longer than their text, with a wrong count)."""
    whole = parse_transcript(transcript)
    cut = parse_transcript(transcript, max_chars=1)
    for full, item in zip(whole.items, cut.items, strict=True):
        assert item.content.startswith(full.content[0])
        assert f"[... {len(full.content) - 1} more characters]" in item.content


def test_stored_items_may_be_any_iterable_of_items(transcript: Path) -> None:
    """A generator of the stored items is taken (read once), as a list is."""
    size = transcript.stat().st_size
    items = parse_transcript(transcript).items
    assert all(isinstance(i, MemoryItem) for i in items)
    read = parse_transcript(transcript, start_offset=size, stored=(i for i in items))
    assert read.items == []
    assert read.end_offset == size


# --- 3. a transcript with no sessionId; a session with no absolute cwd --------------------------


def test_a_transcript_naming_no_session_is_its_files_name_for_import_and_digest(
    tmp_path: Path,
) -> None:
    """Before: the import stored it as ``nameless`` and ``memcore digest PATH`` refused it
    ("holds no Claude Code transcript"). Both take the file's name now, and the digest of the
    file is the digest of what the import stored."""
    path = _write(tmp_path, "nameless.jsonl", _records(None))
    straight = _memcore("digest", path, "--budget", "500")
    assert straight.returncode == 0, straight.stderr
    assert "rounding bug" in straight.stdout
    done = _memcore("import-claude-code", path)
    assert done.returncode == 0, done.stderr
    assert "stored session 'nameless'" in done.stdout
    assert _sessions(_store()) == ["nameless"]
    stored = _memcore("digest", "nameless", "--budget", "500")
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout == straight.stdout


def test_a_file_with_no_record_is_still_refused_by_digest(tmp_path: Path) -> None:
    """A JSON-lines file that is no transcript stays an error for both, in one line."""
    path = _write(tmp_path, "notes.jsonl", '{"a": 1}\n')
    done = _memcore("digest", path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "holds no Claude Code transcript" in done.stderr
    done = _memcore("import-claude-code", path)
    assert done.returncode == 1
    assert "nothing stored" in done.stderr


def test_a_session_with_no_absolute_cwd_says_it_is_filed_under_no_project(tmp_path: Path) -> None:
    """Before: stored under no project without a word. Its line says so now, and why."""
    files = [
        _write(tmp_path, "sess-none.jsonl", _records("sess-none", cwd=None)),
        _write(tmp_path, "sess-rel.jsonl", _records("sess-rel", cwd="rel/dir")),
        _write(tmp_path, "sess-abs.jsonl", _records("sess-abs")),
    ]
    done = _memcore("import-claude-code", *files)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()

    def said_after(session: str) -> str:
        at = next(n for n, line in enumerate(lines) if f"stored session {session!r}" in line)
        following = lines[at + 1] if at + 1 < len(lines) else ""
        return following if following.startswith("  ") else ""

    assert said_after("sess-none").startswith("  filed under no project: no record names")
    assert "cwd 'rel/dir' is relative" in said_after("sess-rel")
    assert "filed under no project" not in said_after("sess-abs")
    assert "filed 1 session(s) under 1 project(s)" in done.stdout
    again = _memcore("import-claude-code", "--session", "one", *files)  # (no filing asked)
    assert again.returncode == 0, again.stderr
    assert "filed under no project" not in again.stdout
