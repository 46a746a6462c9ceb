"""``memcore import-claude-code`` and the hooks: sessions imported before the install are filed
under their projects, brought back at session start and saved on from where the import read."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from memcore.claude_code.project import registry_session
from memcore.cli import main
from memcore.stores import open_store
from tests.claude_code_support import DATA
from tests.claude_hooks_support import (
    EARLIER,
    PROJECT,
    _context,
    _hook,
    _payload,
    _place,
    _read_state,
    _read_version,
)

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


def test_imported_sessions_are_brought_back_and_saved_on_from_where_the_import_read(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``memcore import-claude-code`` files the sessions it imports under their projects, as
    the saving hooks do: session-start brings them back, and a hook saving the same transcript
    later finds it read (nothing written) or reads on from where the import stopped."""
    earlier, earlier_session = _place(tmp_path, EARLIER[0])
    source = DATA / EARLIER[1]
    lines = source.read_bytes().splitlines(keepends=True)
    growing, session = _place(tmp_path, EARLIER[1])
    growing.write_bytes(b"".join(lines[: len(lines) // 2]))
    assert main(["import-claude-code", str(tmp_path / "projects"), "--store", url]) == 0
    assert "filed 2 session(s) under 1 project(s)" in capsys.readouterr().out
    registry = _read_state(url, registry_session(PROJECT))
    assert set(registry) == {f"session:{earlier_session}", f"session:{session}"}
    code, out, err = _hook(
        "session-start", _payload("SessionStart", "fresh", None, source="startup"), url
    )
    assert code == 0, err
    digest = registry[f"session:{earlier_session}"].content
    statements = [ln for ln in str(digest).splitlines() if ln.startswith("- ")]
    assert any(line in _context(out) for line in statements[:3])
    # the same transcript, saved by a hook: already read, nothing written
    versions = _read_version(url, earlier_session), _read_version(url, registry_session(PROJECT))
    payload = _payload("SessionEnd", earlier_session, earlier)
    assert _hook("session-end", payload, url)[1:] == ("", "")
    assert (
        _read_version(url, earlier_session),
        _read_version(url, registry_session(PROJECT)),
    ) == versions
    # the other one went on after the import: the hook reads on, and the session ends up as a
    # hook alone would have saved it
    half = _read_state(url, session)
    growing.write_bytes(b"".join(lines))
    assert _hook("session-end", _payload("SessionEnd", session, growing), url)[1:] == ("", "")
    full = _read_state(url, session)
    assert set(half) < set(full)
    alone = f"sqlite:///{tmp_path / 'alone.db'}"
    assert _hook("session-end", _payload("SessionEnd", session, growing), alone)[1:] == ("", "")
    assert set(_read_state(alone, session)) == set(full)


def test_an_import_into_one_named_session_files_nothing_under_a_project(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript, _ = _place(tmp_path, EARLIER[0])
    argv = ["import-claude-code", str(transcript), "--store", url, "--session", "mine"]
    assert main(argv) == 0
    assert "filed" not in capsys.readouterr().out
    assert _read_state(url, registry_session(PROJECT)) == {}


def test_an_import_whose_filing_fails_keeps_what_it_stored(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filing under the project comes after the session's items are stored: when it fails, the
    import says so for that session and goes on with the others."""
    from memcore.claude_code import session_record
    from memcore.errors import ValidationError

    _, first = _place(tmp_path, EARLIER[0])
    _, second = _place(tmp_path, EARLIER[1])

    def broken(*args: object, **kwargs: object) -> None:
        raise ValidationError("no entry for you")

    monkeypatch.setattr(session_record, "fresh_record", broken)
    assert main(["import-claude-code", str(tmp_path / "projects"), "--store", url]) == 0
    out = capsys.readouterr().out
    assert out.count("not filed under its project: no entry for you") == 2
    assert "filed 2 session(s)" not in out
    for session in (first, second):
        assert _read_state(url, session)  # its items are there
    assert _read_state(url, registry_session(PROJECT)) == {}


def test_earlier_sessions_come_latest_active_first_when_imported_at_once(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sessions imported together were saved in the same second: session-start orders them by
    when each last did something."""
    from memcore.claude_code.session_start import project_records

    for source in (*EARLIER, "entireio__cli__847ff7d2.jsonl"):
        _place(tmp_path, source)
    assert main(["import-claude-code", str(tmp_path / "projects"), "--store", url]) == 0
    capsys.readouterr()

    async def records() -> list[str]:
        store = open_store(url)
        try:
            return [r.last_activity for r in await project_records(store, PROJECT)]
        finally:
            await store.close()

    activity = asyncio.run(records())
    assert len(activity) == 3
    assert activity == sorted(activity, reverse=True)
    _, out, _ = _hook("session-start", _payload("SessionStart", "fresh", None), url)
    shown = re.findall(r"## Earlier session \((\d{4}-\d\d-\d\d \d\d:\d\d)", _context(out))
    assert shown == sorted(shown, reverse=True)
    assert shown[0] == activity[0][:16].replace("T", " ")


def test_an_import_again_reads_only_the_sessions_changed_since_memcore_read_them(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session a hook saved, or an earlier import read, whose files are as they were then is
    not read again (reading it would store nothing new); one that went on is, and
    ``--reread`` reads them all, as does a cut of its own (``--max-chars``)."""
    earlier, earlier_session = _place(tmp_path, EARLIER[0])
    lines = (DATA / EARLIER[1]).read_bytes().splitlines(keepends=True)
    growing, session = _place(tmp_path, EARLIER[1])
    growing.write_bytes(b"".join(lines[: len(lines) // 2]))
    assert _hook("session-end", _payload("SessionEnd", earlier_session, earlier), url)[1:] == (
        "",
        "",
    )
    projects = str(tmp_path / "projects")
    assert main(["import-claude-code", projects, "--store", url]) == 0
    out = capsys.readouterr().out
    assert "1 session(s) as memcore last read them" in out  # the hook's
    assert f"stored session {session!r}" in out
    assert earlier_session not in out
    versions = {s: _read_version(url, s) for s in (session, earlier_session)}
    assert main(["import-claude-code", projects, "--store", url]) == 0
    out = capsys.readouterr().out
    assert "2 session(s) as memcore last read them" in out
    assert "nothing new to import" in out
    assert {s: _read_version(url, s) for s in versions} == versions
    growing.write_bytes(b"".join(lines))  # the session went on
    assert main(["import-claude-code", projects, "--store", url]) == 0
    out = capsys.readouterr().out
    assert "1 session(s) as memcore last read them" in out
    assert f"stored session {session!r}" in out
    assert earlier_session not in out
    assert _read_version(url, session) > versions[session]
    for again in (["--reread"], ["--max-chars", "2000"]):  # (another cut: read them again)
        assert main(["import-claude-code", projects, "--store", url, *again]) == 0
        out = capsys.readouterr().out
        assert "as memcore last read them" not in out
        assert f"stored session {session!r}" in out
        assert f"stored session {earlier_session!r}" in out


def test_the_import_cuts_items_where_the_hooks_do() -> None:
    """An unchanged session is not read again only when the import would cut its items as the
    hooks' saves did; the command line keeps its own copy of that cut (it builds its parser
    without importing the parser of transcripts)."""
    from memcore.claude_code.transcripts import MAX_CHARS
    from memcore.cli import importer

    assert importer.MAX_CHARS == MAX_CHARS


@pytest.mark.parametrize("way", ["import", "hook"])
def test_accesses_whose_write_failed_are_written_by_the_next_save(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    """The access log was written after the entry that says how far a transcript was read:
    when that write failed, the next save or import read on past the records (or not at all)
    and their accesses were lost for good. Now the entry comes after them."""
    import memcore.access_log as access_log
    import memcore.transfer as transfer
    from memcore.errors import BackendError

    transcript, session = _place(tmp_path, EARLIER[0])
    real = access_log.save_access_log

    async def refused(*args: object, **kwargs: object) -> int:
        raise BackendError("the access log cannot be written now")

    def save() -> None:
        if way == "import":
            main(["import-claude-code", str(tmp_path / "projects"), "--store", url])
        else:
            _hook("session-end", _payload("SessionEnd", session, transcript), url)

    for module in (access_log, transfer):  # (the import takes it from memcore.transfer)
        monkeypatch.setattr(module, "save_access_log", refused)
    save()
    for module in (access_log, transfer):
        monkeypatch.setattr(module, "save_access_log", real)
    save()

    async def logged() -> list[str]:
        store = open_store(url)
        try:
            return await access_log.load_access_log(store, session)
        finally:
            await store.close()

    assert asyncio.run(logged())


def test_an_import_that_fails_midway_says_what_it_stored(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its error alone hid the sessions it had stored before (17 of 22 in a probe's run)."""
    import memcore.access_log as access_log
    import memcore.transfer as transfer
    from memcore.errors import BackendError

    _place(tmp_path, EARLIER[0])
    _place(tmp_path, EARLIER[1])
    real = access_log.save_access_log
    calls: list[str] = []

    async def second_fails(store: object, session: str, *args: object, **kwargs: object) -> int:
        calls.append(session)
        if len(calls) == 2:
            raise BackendError("the store went away")
        return await real(store, session, *args, **kwargs)  # type: ignore[arg-type]

    for module in (access_log, transfer):
        monkeypatch.setattr(module, "save_access_log", second_fails)
    assert main(["import-claude-code", str(tmp_path / "projects"), "--store", url]) == 1
    out, err = capsys.readouterr()
    assert f"stored session {calls[0]!r}" in out
    assert "stopped after 1 of 2 session(s):" in out
    assert "the store went away" in err
