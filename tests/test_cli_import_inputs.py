"""``memcore import-claude-code`` and ``memcore demo`` given what an adversarial probe gave them:
a cut (``--max-chars``) that once cut stored items for good, a transcript whose first line is
damaged, memcore's own sessions, paths that are no file or folder, counts with no end, and a
Ctrl-C before the event loop ran."""

from __future__ import annotations

import asyncio
import gc
import os
import warnings
from pathlib import Path

import pytest

from memcore.cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE
from memcore.model import MemoryItem
from tests.claude_code_support import PROJECT, SESSION, main_session_lines
from tests.cli_support import (  # noqa: F401  (the fixtures projects and store_url)
    assert_one_line_error,
    projects_fixture,
    run_cli,
    store_url_fixture,
)


def _items(url: str, session: str = SESSION) -> dict[str, MemoryItem]:
    """The session's items as stored."""
    from memcore.cli._session_reads import read_state
    from memcore.cli._store_access import reading_store

    async def read() -> dict[str, MemoryItem]:
        async with reading_store(url) as store:
            return await read_state(store, url, session)

    return asyncio.run(read())


def _contents(url: str) -> dict[str, str]:
    return {key: item.content for key, item in _items(url).items()}


def _sessions(url: str) -> list[str]:
    from memcore.stores import open_store

    async def listed() -> list[str]:
        store = open_store(url)
        try:
            return sorted(await store.list_sessions())
        finally:
            await store.close()

    return asyncio.run(listed())


def _import(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run_cli(capsys, "import-claude-code", *args)
    assert (code, err) == (0, ""), err
    return out


# --- 1. a cut never loses what is stored --------------------------------------------------------


def test_a_smaller_cut_never_shortens_what_is_stored(
    projects: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An import with ``--max-chars 10`` rewrote every stored content cut to 10 characters, and
    the next plain import found the files unchanged and left them so: now it keeps them. Nor
    does it rewrite what a cut makes otherwise than shorter (an edit's function read from a
    result cut before it, the calls after an agent's words): the items stay as stored."""
    _import(capsys, str(projects), "--store", store_url)
    whole = _contents(store_url)
    items = _items(store_url)
    assert any(len(text) > 40 for text in whole.values())
    out = _import(capsys, str(projects), "--store", store_url, "--max-chars", "10")
    assert "kept as they were" in out
    assert _contents(store_url) == whole
    assert _items(store_url) == items
    _import(capsys, str(projects), "--store", store_url, "--max-chars", "100")
    assert _items(store_url) == items
    assert "memcore.import-cuts" not in _sessions(store_url)  # (nothing cut: nothing noted)


def test_a_session_stored_cut_is_read_again_by_a_plain_import(
    projects: Path, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session first imported with a small cut is read again by a plain import (the files'
    size and time say nothing of the cut), which brings back what the cut left out; then it is
    as memcore last read it."""
    whole_url = f"sqlite:///{tmp_path / 'whole.db'}"
    _import(capsys, str(projects), "--store", whole_url)
    whole = _contents(whole_url)
    assert "memcore.import-cuts" not in _sessions(whole_url)  # (the hooks' cut: not noted)
    _import(capsys, str(projects), "--store", store_url, "--max-chars", "10")
    assert _contents(store_url) != whole
    out = _import(capsys, str(projects), "--store", store_url)
    assert "as memcore last read them" not in out
    assert f"stored session {SESSION!r}" in out
    assert _contents(store_url) == whole
    out = _import(capsys, str(projects), "--store", store_url)
    assert "nothing new to import" in out


def test_a_larger_cut_is_kept_and_a_plain_import_reads_nothing_again(
    projects: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Items stored with a cut larger than the hooks' stay whole: a plain import after it
    would write nothing, so it reads nothing."""
    _import(capsys, str(projects), "--store", store_url, "--max-chars", "100000")
    stored = _contents(store_url)
    out = _import(capsys, str(projects), "--store", store_url)
    assert "nothing new to import" in out
    assert _contents(store_url) == stored


def test_a_cut_note_is_stale_once_the_files_changed() -> None:
    """A cut larger than the hooks' holds only while the files are as that import read them
    (a hook that saved more since cut what it added at its own); a damaged note reads again."""
    from memcore.claude_code.transcripts import MAX_CHARS
    from memcore.cli.import_unchanged import cut_note, next_cut, noted_cut

    files = {"/t/s.jsonl": [10, 20]}
    assert noted_cut(None, files) == MAX_CHARS
    assert noted_cut(cut_note("s", 10, files), {"/t/s.jsonl": [11, 21]}) == 10
    assert noted_cut(cut_note("s", 9000, files), files) == 9000
    assert noted_cut(cut_note("s", 9000, files), {"/t/s.jsonl": [11, 21]}) == MAX_CHARS
    assert noted_cut(MemoryItem("s", "x", metadata={"max_chars": "many"}), files) == 0
    assert next_cut(MAX_CHARS, 10, cut_written=False) == MAX_CHARS  # (kept all: as before)
    assert next_cut(MAX_CHARS, 10, cut_written=True) == 10


# --- 2. a damaged first line --------------------------------------------------------------------


def test_a_transcript_whose_first_line_is_damaged_is_found_in_its_folder(
    projects: Path, capsys: pytest.CaptureFixture[str], memcore_home: Path
) -> None:
    """A folder's import dropped, without a word, a transcript whose first line did not parse
    (the file alone was read): it is found by the records after it, the line reported."""
    main_file = projects / PROJECT.replace("/", "-") / f"{SESSION}.jsonl"
    main_file.write_bytes(b"garbage\n" + main_file.read_bytes())
    out = _import(capsys, str(projects), "--dry-run")
    assert "read 3 transcript file(s): 1 session(s)" in out
    assert f"{main_file}:1: not JSON" in out
    code, out, err = run_cli(capsys, "digest", str(main_file))
    assert (code, err) == (0, "")
    assert out.strip()


def test_a_file_of_other_lines_is_still_no_transcript(tmp_path: Path) -> None:
    """Looking past malformed lines has a bound: a file of junk, or another program's JSON
    records, is no transcript; a Claude Code record after a few bad lines makes one."""
    from memcore.claude_code.discovery import _MALFORMED_LOOKED_PAST, looks_like_transcript

    record = b'{"type": "user", "sessionId": "s", "message": {"content": "hi"}}\n'
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b"not json\n" * (_MALFORMED_LOOKED_PAST + 1) + record)
    assert not looks_like_transcript(junk)
    other = tmp_path / "other.jsonl"
    other.write_bytes(b'{"type": "event", "n": 1}\n' + record)
    assert not looks_like_transcript(other)
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(b'{"cut": \n[1, 2]\n{"no": "type"}\n' + record)
    assert looks_like_transcript(damaged)


# --- 3. and 4. what is no session, no file ------------------------------------------------------


@pytest.mark.parametrize("session", ["memcore.access-log", "memcore.project.-home-alice-shop"])
def test_memcores_own_sessions_are_refused(
    session: str, projects: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Items filed under memcore's own sessions were hidden from every listing and search (and
    mixed into its access log or a project's registry): refused before anything is read."""
    code, out, err = run_cli(
        capsys, "import-claude-code", str(projects), "--store", store_url, "--session", session
    )
    assert (code, out) == (EXIT_USAGE, "")
    assert_one_line_error(err, "is memcore's own session (memcore.*)")
    assert not Path(store_url.removeprefix("sqlite:///")).exists()


def test_an_empty_path_is_refused_not_the_current_folder(
    projects: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(projects)  # (a folder of transcripts: "" read them)
    for args in (["import-claude-code", ""], ["demo", "--transcripts", ""]):
        code, out, err = run_cli(capsys, *args)
        assert (code, out) == (EXIT_USAGE, "")
        assert_one_line_error(err, "an empty path names no transcript file or folder")


def test_finding_transcripts_under_an_empty_path_is_refused() -> None:
    """``Path("")`` is the current folder: a caller's empty path is a mistake, not that."""
    from memcore.claude_code import find_transcripts
    from memcore.errors import ValidationError

    with pytest.raises(ValidationError, match="an empty path"):
        find_transcripts("")


def test_a_path_that_is_no_regular_file_or_folder_is_said_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], memcore_home: Path
) -> None:
    """``/dev/null`` or a FIFO is there: "no such transcript file or folder" was wrong."""
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    for path in ("/dev/null", str(fifo)):
        code, out, err = run_cli(capsys, "import-claude-code", path)
        assert (code, out) == (EXIT_ERROR, "")
        assert_one_line_error(err, f"not a regular file or folder: {path}")
    assert not list(memcore_home.iterdir())


def test_a_path_that_cannot_be_read_is_said_as_such(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    memcore_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A symbolic link to itself cannot be read by anyone, root included (a folder this user
    may not enter: tests/test_home.py): named, it is one line that says why (it was "no such
    transcript file or folder"); as the default projects folder, it holds no transcripts, and
    the demo goes on with its notes."""
    from memcore.claude_code import find_transcripts

    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    code, out, err = run_cli(capsys, "import-claude-code", str(loop))
    assert (code, out) == (EXIT_ERROR, "")
    assert_one_line_error(err, f"cannot read {loop}: Too many levels of symbolic links")
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "projects").symlink_to(home / ".claude" / "projects")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    assert find_transcripts() == []
    code, out, err = run_cli(capsys, "demo", "--notes", "12")
    assert (code, err) == (0, "")
    assert "no transcripts" in out


def test_a_transcript_in_a_folder_named_in_another_encoding_is_filed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_url: str
) -> None:
    """A folder whose name is not UTF-8 (Latin-1 ``proj\\xff``): Python names it with a lone
    surrogate, which no store encodes. The session was stored but "not filed under its
    project: cannot encode value", so no session start brought it back; its entry now keeps
    that path's bytes, and the next import knows the file was read already."""
    folder = os.fsdecode(os.fsencode(str(tmp_path)) + b"/proj\xff")
    os.mkdir(folder)
    Path(folder, "session.jsonl").write_text("\n".join(main_session_lines()) + "\n")
    out = _import(capsys, folder, "--store", store_url)
    assert "filed 1 session(s) under 1 project(s)" in out
    assert "not filed" not in out
    code, listed, err = run_cli(capsys, "sessions", "--store", store_url)
    assert (code, err) == (0, "")
    assert SESSION[:8] in listed
    assert "nothing new to import" in _import(capsys, folder, "--store", store_url)


# --- 5. the demo's arguments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--notes", "20001"], "must be 20,000 or fewer (got 20,001)"),
        (["--notes", "99999999"], "must be 20,000 or fewer"),
        (["--transcripts", "x", "--no-transcripts"], "not allowed with argument --transcripts"),
    ],
)
def test_demo_arguments_that_cannot_be_honoured_are_refused_first(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str], memcore_home: Path
) -> None:
    """``--notes 99999999`` ran for minutes, memory growing, with nothing to show; a
    ``--transcripts`` beside ``--no-transcripts`` was silently ignored."""
    code, out, err = run_cli(capsys, "demo", *args)
    assert (code, out) == (EXIT_USAGE, "")
    assert_one_line_error(err, needle)
    assert not list(memcore_home.iterdir())


def test_the_demo_bounds_match_what_the_demo_needs() -> None:
    """The command line keeps its own copy of the demo's least count (it builds its parser
    without importing the demo), and takes the largest count it allows."""
    from memcore.cli.demo import MAX_NOTES, MIN_NOTES, _notes_count
    from memcore.demo import MIN_ITEMS

    assert MIN_NOTES == MIN_ITEMS
    assert _notes_count(str(MAX_NOTES)) == MAX_NOTES


# --- 6. Ctrl-C before the event loop ran --------------------------------------------------------


def _interrupted(*_: object) -> None:
    raise KeyboardInterrupt  # (as Ctrl-C in `import asyncio`, before the loop ran anything)


@pytest.mark.parametrize("where", ["run", "run_reading"])
def test_ctrl_c_before_the_import_ran_leaves_no_unawaited_coroutine(
    where: str,
    projects: Path,
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C as the import started printed ``RuntimeWarning: coroutine '_import_sessions' was
    never awaited`` under the one line that says it was interrupted."""
    from memcore.cli import importer

    monkeypatch.setattr(importer, where, _interrupted)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err = run_cli(capsys, "import-claude-code", str(projects), "--store", store_url)
        gc.collect()
    assert code == EXIT_INTERRUPTED
    assert_one_line_error(err, "interrupted")
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


def test_ctrl_c_before_the_demo_ran_leaves_no_unawaited_coroutine(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, memcore_home: Path
) -> None:
    from memcore.cli import demo

    monkeypatch.setattr(demo, "run", _interrupted)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err = run_cli(capsys, "demo", "--no-transcripts", "--notes", "5")
        gc.collect()
    assert code == EXIT_INTERRUPTED
    assert_one_line_error(err, "interrupted")
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


# --- a record whose item no store can hold ------------------------------------------------------


def _odd_records(folder: Path) -> Path:
    """A session whose records a store could not hold as they are: a timestamp beyond any
    float, a file path of 990 bytes (its item's key over 1,024), a record id of 1,100 and a
    tool call id that is a 30-digit number; between good records, the last after them all."""
    import json

    def user(uid: str, ts: object, text: str) -> dict[str, object]:
        return {
            "type": "user",
            "sessionId": SESSION,
            "uuid": uid,
            "cwd": PROJECT,
            "timestamp": ts,
            "message": {"role": "user", "content": text},
        }

    long_path = "d" * 990 + ".go"
    records = [
        user("u1", "2026-01-01T00:00:00Z", "fix the parser"),
        user("u2", 10**309, "and the tests"),
        {
            "type": "file-history-snapshot",
            "messageId": "u1",
            "snapshot": {
                "messageId": "u1",
                "trackedFileBackups": {long_path: {"version": 1}},
                "timestamp": "2026-01-01T00:00:02Z",
            },
            "isSnapshotUpdate": False,
        },
        user("x" * 1100, "2026-01-01T00:00:03Z", "a record with a very long id"),
        {
            "type": "assistant",
            "sessionId": SESSION,
            "uuid": "a1",
            "cwd": PROJECT,
            "timestamp": "2026-01-01T00:00:04Z",
            "message": {
                "id": "msg_1",
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": 10**30, "name": "Bash", "input": {"command": "ls"}}
                ],
            },
        },
        user("u9", "2026-01-01T00:00:05Z", "now update the changelog"),
    ]
    path = folder / "odd.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_record_no_store_can_hold_costs_its_own_item_not_the_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_url: str
) -> None:
    """Once, any of these refused the whole import, and every later save of the session."""
    path = _odd_records(tmp_path)
    out = _import(capsys, str(path), "--store", store_url)
    assert "odd.jsonl:2: unreadable timestamp" in out
    assert "1 item(s) no store can hold left out" in out
    contents = _contents(store_url)
    assert "fix the parser" in contents.values()
    assert "now update the changelog" in contents.values()
    assert "a record with a very long id" in contents.values()
    assert any("d" * 990 in text for text in contents.values())
    again = _import(capsys, str(path), "--store", store_url, "--reread")  # (the same keys)
    assert "0 new or changed" in again


def test_the_hooks_save_such_a_session_and_what_comes_after(tmp_path: Path, store_url: str) -> None:
    import json

    from tests.claude_hooks_support import _hook, _payload

    path = _odd_records(tmp_path)
    payload = _payload("SessionEnd", SESSION, path, PROJECT)
    assert _hook("session-end", payload, store_url) == (0, "", "")
    later = {
        "type": "user",
        "sessionId": SESSION,
        "uuid": "u10",
        "cwd": PROJECT,
        "timestamp": "2026-01-01T00:01:00Z",
        "message": {"role": "user", "content": "and bump the version"},
    }
    with path.open("a") as handle:
        handle.write(json.dumps(later) + "\n")
    assert _hook("stop", _payload("Stop", SESSION, path, PROJECT), store_url) == (0, "", "")
    contents = set(_contents(store_url).values())
    assert {"fix the parser", "now update the changelog", "and bump the version"} <= contents


def test_a_transcript_after_a_long_damaged_first_line_is_one(tmp_path: Path) -> None:
    """A junk line longer than the bytes first looked at hid the records after it (``memcore
    digest FILE`` said the file held no transcript, while its import read it)."""
    from memcore.claude_code.discovery import looks_like_transcript

    record = b'{"type": "user", "sessionId": "s", "message": {"content": "hi"}}\n'
    for junk in (b"x" * 300_000, b"[" * 200_000):
        path = tmp_path / "long.jsonl"
        path.write_bytes(junk + b"\n" + record)
        assert looks_like_transcript(path)
    only_junk = tmp_path / "junk.jsonl"
    only_junk.write_bytes((b"x" * 300_000 + b"\n") * 3)
    assert not looks_like_transcript(only_junk)


@pytest.mark.parametrize("layout", ["beside", "subagents"])
def test_a_session_s_file_named_alone_brings_its_sub_agents(
    tmp_path: Path, layout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``memcore import-claude-code SESSION.jsonl`` imports the whole session, as the hooks
    save it and as an import of its folder does: its sub-agents' files with it."""
    from tests.claude_code_support import DATA

    main_file = DATA / "marot__spotter__258c7280.jsonl"
    agent = DATA / "marot__spotter__258c7280__agent-a881341.jsonl"
    if not main_file.is_file():
        pytest.skip("the shared transcripts are not here")
    session = "258c7280-ae70-4798-800f-63464d01a85d"
    main_copy = tmp_path / "t" / f"{session}.jsonl"
    folder = main_copy.parent if layout == "beside" else main_copy.parent / session / "subagents"
    folder.mkdir(parents=True)
    main_copy.write_bytes(main_file.read_bytes())
    (folder / "agent-a881341.jsonl").write_bytes(agent.read_bytes())
    alone, whole = f"sqlite:///{tmp_path / 'alone.db'}", f"sqlite:///{tmp_path / 'whole.db'}"
    assert run_cli(capsys, "import-claude-code", str(main_copy), "--store", alone)[0] == 0
    assert run_cli(capsys, "import-claude-code", str(main_copy.parent), "--store", whole)[0] == 0
    assert _items(alone, session) == _items(whole, session)
    assert any(i.metadata.get("agent") == "a881341" for i in _items(alone, session).values())


def test_a_smaller_cut_leaves_a_real_session_s_items_as_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a real session a cut changes more than contents: an edit's function, read from its
    result, and the calls after an agent's words were cut too, and the items rewritten so; a
    plain import then found the files unchanged and left them shortened."""
    from tests.claude_code_support import DATA

    source = DATA / "obsessiondb__chkit__17a79690.jsonl"
    if not source.is_file():
        pytest.skip("the shared transcripts are not here")
    url = f"sqlite:///{tmp_path / 'm.db'}"
    session = "17a79690-fe62-4a09-a41b-86530367ff8e"
    _import(capsys, str(source), "--store", url)
    items = _items(url, session)
    for cut in ("100", "50"):
        out = _import(capsys, str(source), "--store", url, "--max-chars", cut)
        assert "kept as they were" in out
        assert _items(url, session) == items
