"""A transcript that repeats a record: nothing a user said is lost, nothing is read twice, and
what an import or a hook says it stored is what it stored.

Items are named after their record's ``uuid``; two records with one uuid (files joined or
overlapping, a record written again) once stored one item for both, the other lost without a
word, while the import counted both. The same line again is now read once and reported with its
line; a record with a repeated uuid and other content is kept, named by its line's hash, the
same whether the file is read whole or turn by turn, by a hook, in a sub-agent's file too.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.claude_code import parse_transcript, project_dir_name
from memcore.claude_code.hooks import HookPayload, SaveReport, save_session
from memcore.model import MemoryItem
from memcore.stores import open_store
from tests.claude_hooks_support import _hook, _read_state
from tests.cli_support import run_cli, store_url_fixture  # noqa: F401  (the fixture store_url)
from tests.test_claude_resume import _STEPS, _plain, _saved_in_parts, _written

SESSION = "dup00000-0000-0000-0000-000000000000"
CWD = "/tmp/dupproj"
FIRST = "11111111-1111-1111-1111-111111111111"


def _said(text: str, uuid: str, minute: int, **extra: Any) -> str:
    return json.dumps(
        {
            "type": "user",
            "uuid": uuid,
            "sessionId": SESSION,
            "cwd": CWD,
            "timestamp": f"2026-02-01T10:{minute:02d}:00Z",
            "message": {"role": "user", "content": text},
            **extra,
        }
    )


#: The probe's transcript: its first two records share a uuid, their words differ.
PROBE = [
    _said("first request: fix the parser", FIRST, 0),
    _said("second request: now add the tests", FIRST, 5),
    _said("third request: commit it", "22222222-2222-2222-2222-222222222222", 6),
]


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _read_in_parts(path: Path, cuts: list[int], folder: Path) -> dict[str, MemoryItem]:
    """``_saved_in_parts`` into a file of ``path``'s name in ``folder`` (its stem names the
    records that have no uuid)."""
    folder.mkdir(parents=True, exist_ok=True)
    return _saved_in_parts(path, cuts, folder / path.name)


def _stored(url: str, session: str = SESSION) -> dict[str, MemoryItem]:
    from memcore.cli._session_reads import read_state
    from memcore.cli._store_access import reading_store

    async def read() -> dict[str, MemoryItem]:
        async with reading_store(url) as store:
            return await read_state(store, url, session)

    return asyncio.run(read())


def test_a_repeated_uuid_with_other_words_keeps_both_and_the_import_counts_what_it_stored(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "dup.jsonl", PROBE)
    code, out, err = run_cli(capsys, "import-claude-code", "--store", store_url, str(path))
    assert (code, err) == (0, "")
    stored = _stored(store_url)
    assert sorted(item.content for item in stored.values()) == [
        "first request: fix the parser",
        "second request: now add the tests",
        "third request: commit it",
    ]
    assert "3 items, 0 accesses, 0 malformed" in out
    assert f"stored session '{SESSION}': 3 items, 3 new or changed" in out
    assert stored[f"cc:{FIRST}"].content == "first request: fix the parser"  # (its name kept)
    code, out, err = run_cli(
        capsys, "import-claude-code", "--store", store_url, "--reread", str(path)
    )
    assert (code, err) == (0, "")
    assert f"stored session '{SESSION}': 3 items, 0 new or changed" in out  # (idempotent)


def test_the_same_line_again_is_read_once_and_said_with_its_line(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "dup.jsonl", [PROBE[0], PROBE[2], PROBE[0]])
    transcript = parse_transcript(path)
    assert [item.content for item in transcript.items] == [
        "first request: fix the parser",
        "third request: commit it",
    ]
    ((bad_line, reason),) = [(bad.line_no, bad.reason) for bad in transcript.malformed]
    assert bad_line == 3
    assert reason == f"the same record as an earlier line (uuid '{FIRST}'): read once"
    code, out, err = run_cli(capsys, "import-claude-code", "--store", store_url, str(path))
    assert (code, err) == (0, "")
    assert f"{path}:3: the same record as an earlier line" in out
    assert f"stored session '{SESSION}': 2 items, 2 new or changed" in out
    assert len(_stored(store_url)) == 2


def test_a_record_without_a_uuid_read_on_from_an_offset_is_named_by_its_line_in_the_file(
    tmp_path: Path,
) -> None:
    """Named by its line in what was read on, it took the name of the first record of the
    save before, which it then overwrote."""
    lines = [_said(f"request number {n}", "", n) for n in range(3)]
    lines = [json.dumps({k: v for k, v in json.loads(ln).items() if k != "uuid"}) for ln in lines]
    path = _write(tmp_path / "whole" / f"{SESSION}.jsonl", lines)
    whole = {item.id: item for item in parse_transcript(path).items}
    for cut in (1, 2):
        parts = _read_in_parts(path, [cut], tmp_path / f"cut{cut}")
        assert _plain(parts) == _plain(whole)
    assert len(whole) == 3


def test_two_summaries_of_one_conversation_are_one_item_the_later(tmp_path: Path) -> None:
    leaf = "99999999-0000-0000-0000-000000000000"
    summaries = [
        json.dumps({"type": "summary", "summary": text, "leafUuid": leaf})
        for text in ("Fixing the parser", "Parser fixed and tested")
    ]
    transcript = parse_transcript(_write(tmp_path / "s.jsonl", [*summaries, PROBE[2]]))
    (summary,) = [item for item in transcript.items if item.id == f"cc:summary:{leaf}"]
    assert summary.content == "Parser fixed and tested"
    assert len(transcript.items) == 2


# --- read whole, or on from any line ---------------------------------------------------------


def _with_repeats(lines: list[str]) -> list[str]:
    """``lines`` with a record written again whole, one again with other words, and one of a
    tool call again with another time (its call's id the same)."""
    out = list(lines)
    out.insert(3, lines[1])
    reworded = json.loads(lines[0])
    reworded["message"]["content"] = "the same uuid, other words"
    out.insert(5, json.dumps(reworded))
    later = json.loads(lines[1])
    later["timestamp"] = "2026-11-30T09:00:00Z"
    out.append(json.dumps(later))
    out.append(lines[0])
    return out


def _session_lines() -> list[str]:
    steps: list[tuple[Any, ...]] = [
        ("run", "go test ./...", False),
        ("edit", "cart.go", 1),
        ("say", "Now `Total()` rounds once."),
        ("ask", "go on"),
        ("run", "go test ./...", True),
    ]
    return _written(steps)


def test_a_transcript_with_repeats_read_on_from_any_line_keeps_what_one_read_keeps(
    tmp_path: Path,
) -> None:
    lines = _with_repeats(_session_lines())
    path = _write(tmp_path / "whole" / "s.jsonl", lines)
    whole = parse_transcript(path)
    assert len({item.id for item in whole.items}) == len(whole.items)
    assert "the same uuid, other words" in [item.content for item in whole.items]
    assert len(whole.malformed) == 2  # the two lines written again whole
    for cut in range(1, len(lines)):
        parts = _read_in_parts(path, [cut], tmp_path / f"cut{cut}")
        assert _plain(parts) == _plain({item.id: item for item in whole.items}), cut


def test_a_result_written_again_after_a_save_is_said_as_its_call_s(tmp_path: Path) -> None:
    """The call was answered before the offset read on from: the result's record again, with
    another time, is the result of that call still (not of a call ``unknown``)."""
    lines = _written([("run", "go test ./...", False)])
    again = json.loads(lines[-1])
    again["timestamp"] = "2026-11-30T08:00:30Z"
    lines.append(json.dumps(again))
    path = _write(tmp_path / "whole" / "s.jsonl", lines)
    whole = {item.id: item for item in parse_transcript(path).items}
    parts = _read_in_parts(path, [len(lines) - 1], tmp_path / "parts")
    assert _plain(parts) == _plain(whole)
    results = [i.content for i in parts.values() if i.metadata.get("kind") == "error"]
    assert results == ["`go test ./...` failed (exit 1): --- FAIL: TestRound"] * 2


#: A record written again later (after the line it copies: a file joined or overlapping), as
#: it was or with other words, just after the time of the line before it (in time order).
_AGAIN = st.tuples(st.integers(0, 40), st.integers(1, 40), st.sampled_from(["same", "other"]))


def _again(lines: list[str], source: int, later: int, how: str) -> None:
    """``lines`` with line ``source`` (modulo their number) written again ``later`` lines
    after it (at most at the end)."""
    source %= len(lines)
    at = min(source + later, len(lines))
    line = lines[source]
    if how == "other":
        record = json.loads(line)
        # (10 ms after the line before it: a time of its own, in order; one shared
        # with the agent's text before it leaves their order to a parse that reads on unsure)
        before = datetime.fromisoformat(
            json.loads(lines[at - 1])["timestamp"].replace("Z", "+00:00")
        )
        record["timestamp"] = (
            (before + timedelta(milliseconds=10)).isoformat().replace("+00:00", "Z")
        )
        content = record["message"]["content"]
        if isinstance(content, str):
            record["message"]["content"] = f"{content}, and again"
        line = json.dumps(record)
    lines.insert(at, line)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(_STEPS, min_size=1, max_size=16),
    again=st.lists(_AGAIN, max_size=4),
    cuts=st.sets(st.integers(1, 60), max_size=5),
)
def test_any_session_with_records_again_saved_at_any_lines_keeps_what_one_import_keeps(
    steps: list[tuple[Any, ...]], again: list[tuple[int, int, str]], cuts: set[int]
) -> None:
    lines = _written(steps)
    for source, later, how in again:
        _again(lines, source, later, how)
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder) / "whole.jsonl", lines)
        whole = {item.id: item for item in parse_transcript(path).items}
        inside = sorted(cut for cut in cuts if cut < len(lines))
        parts = _read_in_parts(path, inside, Path(folder) / "parts")
    assert _plain(parts) == _plain(whole)


# --- the hooks ---------------------------------------------------------------------------------


def _hook_saves(transcript: Path, upto: list[list[str]], url: str) -> None:
    """The transcript written to each of ``upto`` in turn, a ``stop`` saving it after each."""
    payload = json.dumps({"session_id": SESSION, "transcript_path": str(transcript), "cwd": CWD})
    for lines in upto:
        _write(transcript, lines)
        code, _, err = _hook("stop", payload, url)
        assert (code, err) == (0, ""), err


def test_a_hook_saving_turn_by_turn_keeps_every_record_of_a_repeated_uuid(
    tmp_path: Path,
) -> None:
    transcript = tmp_path / "projects" / project_dir_name(CWD) / f"{SESSION}.jsonl"
    lines = [*PROBE, PROBE[0]]
    turns = f"sqlite:///{tmp_path / 'turns.db'}"
    _hook_saves(transcript, [lines[:1], lines[:2], lines[:3], lines], turns)
    once = f"sqlite:///{tmp_path / 'once.db'}"
    _hook_saves(transcript, [lines], once)
    stored = _read_state(turns, SESSION)
    assert len(stored) == 3
    assert _plain(stored) == _plain(_read_state(once, SESSION))


def test_a_sub_agent_s_repeats_saved_turn_by_turn_keep_what_one_save_keeps(
    tmp_path: Path,
) -> None:
    transcript = tmp_path / "projects" / project_dir_name(CWD) / f"{SESSION}.jsonl"
    agent = transcript.parent / SESSION / "subagents" / "agent-a1b2.jsonl"
    main = [_said("use a sub-agent to find the callers", "m-1", 0)]
    sub = [
        _said(f"find the callers {n}", uuid, n, isSidechain=True, agentId="a1b2")
        for n, uuid in enumerate(["s-1", "s-1", "s-2"])
    ]
    sub.append(sub[0])
    turns = f"sqlite:///{tmp_path / 'turns.db'}"
    _write(transcript, main)
    for n in range(1, len(sub) + 1):
        _write(agent, sub[:n])
        _hook_saves(transcript, [main], turns)
    once = f"sqlite:///{tmp_path / 'once.db'}"
    _hook_saves(transcript, [main], once)
    stored = _read_state(turns, SESSION)
    assert sorted(i.content for i in stored.values() if i.metadata.get("agent") == "a1b2") == [
        "find the callers 0",
        "find the callers 1",
        "find the callers 2",
    ]
    assert _plain(stored) == _plain(_read_state(once, SESSION))


def _save(url: str, transcript: Path) -> SaveReport:
    """A ``session-end`` save of ``transcript`` into ``url``: what it says it did."""
    payload = HookPayload(SESSION, CWD, str(transcript), "SessionEnd")

    async def save() -> SaveReport:
        store = open_store(url)
        try:
            return await save_session(payload, store)
        finally:
            await store.close()

    return asyncio.run(save())


def test_a_hook_s_report_counts_what_it_stored(tmp_path: Path) -> None:
    transcript = _write(tmp_path / "projects" / project_dir_name(CWD) / f"{SESSION}.jsonl", PROBE)
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    report = _save(url, transcript)
    assert (report.items_written, report.items_total) == (3, 3)
    assert len(_read_state(url, SESSION)) == 3


def test_a_save_counts_an_item_two_files_name_alike_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record's uuid in the main file and in a sub-agent's (an older layout, a copy): one
    item as stored, counted once by the hook's report and by the import."""
    transcript = tmp_path / "projects" / project_dir_name(CWD) / f"{SESSION}.jsonl"
    _write(transcript, PROBE[:1])
    _write(transcript.parent / "agent-a1b2.jsonl", [_said("other words", FIRST, 1)])
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    report = _save(url, transcript)
    assert len(_read_state(url, SESSION)) == 1
    assert (report.items_written, report.items_total) == (1, 1)
    imported = f"sqlite:///{tmp_path / 'imported.db'}"
    code, out, err = run_cli(capsys, "import-claude-code", "--store", imported, str(transcript))
    assert (code, err) == (0, "")
    assert "1 session(s), 1 items" in out
    assert f"stored session '{SESSION}': 1 items, 1 new or changed" in out
