"""A live session saved turn by turn keeps what one import of the whole transcript keeps.

The saving hooks read each transcript on from where the last save stopped. Without what the
earlier records taught the parse, a failure fixed a turn later stayed open, a task moved a turn
after it was made was a bare ``TaskUpdate``, and a file-history entry got a later time; the
resumed parse (``memcore.claude_code.resume``) learns all that back from the stored items.
"""

from __future__ import annotations

import copy
import io
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.claude_code import project_dir_name
from memcore.claude_code.hooks import run_hook
from memcore.claude_code.project import SessionRecord, registry_session
from memcore.claude_code.transcripts import parse_transcript
from memcore.model import MemoryItem
from tests.claude_code_support import DATA
from tests.claude_hooks_support import _read_state
from tests.test_claude_code_links import _Session
from tests.test_transcript_agent_records import CWD, SESSION


def _plain(items: dict[str, MemoryItem]) -> dict[str, dict[str, Any]]:
    return {key: item.to_dict() for key, item in items.items()}


def _saved_in_parts(path: Path, cuts: list[int], target: Path) -> dict[str, MemoryItem]:
    """``path``'s lines written to ``target`` up to each cut in turn, each part parsed on from
    the last (beside the items stored so far), as a hook saving after every turn does."""
    lines = path.read_bytes().splitlines(keepends=True)
    stored: dict[str, MemoryItem] = {}
    offset = 0
    target.write_bytes(b"")
    for cut in [*cuts, len(lines)]:
        target.write_bytes(b"".join(lines[:cut]))
        before = copy.deepcopy(_plain(stored))
        held = [MemoryItem.from_dict(item.to_dict()) for item in stored.values()]  # as stored
        part = parse_transcript(target, start_offset=offset, stored=held if offset else None)
        assert _plain({i.id: i for i in held}) == before  # the stored items are never changed
        offset = part.end_offset
        stored.update((item.id, item) for item in [*part.items, *part.amended])
    return stored


def _turn_starts(path: Path) -> list[int]:
    """The lines where the user asks something new (a hook saved just before each)."""
    starts = []
    for n, line in enumerate(path.read_bytes().splitlines()):
        record = json.loads(line)
        content = (record.get("message") or {}).get("content") if record else None
        asked = isinstance(content, str) or (
            isinstance(content, list)
            and any(isinstance(b, dict) and b.get("type") == "text" for b in content)
        )
        if n and record.get("type") == "user" and asked and not record.get("isMeta"):
            starts.append(n)
    return starts


def _session_with_a_fix_a_turn_later() -> _Session:
    records = _Session()
    records.user("make the tests pass")
    records.tool(
        "TaskCreate",
        {"subject": "Fix the rounding test", "description": "cart totals"},
        "Task #1 created successfully: Fix the rounding test",
        toolUseResult={"task": {"id": "1", "subject": "Fix the rounding test"}},
    )
    records.ran("go test ./cart/...", "--- FAIL: TestRounding\nFAIL", 1)
    records.said("The rounding test fails: `Total()` rounds each line.")
    return records


def _two_turns(folder: Path) -> tuple[Path, list[str], int]:
    """The session fixed in its second turn, written whole to ``folder``: its path, its lines
    and where the second turn starts."""
    records = _session_with_a_fix_a_turn_later()
    first_turn = len(records.lines)
    records.user("go on")
    records.edited(f"{CWD}/cart/cart.go", "round(line)", "line")
    records.ran("go test ./cart/...", "ok  cart 0.2s")
    records.tool("TaskUpdate", {"taskId": "1", "status": "completed"}, "Updated task #1 status")
    path = folder / "whole.jsonl"
    path.write_text("\n".join(records.lines) + "\n")
    return path, records.lines, first_turn


def test_a_failure_fixed_a_turn_later_is_linked_to_its_fix(tmp_path: Path) -> None:
    path, _, first_turn = _two_turns(tmp_path)
    whole = {item.id: item for item in parse_transcript(path).items}
    parts = _saved_in_parts(path, [first_turn], tmp_path / f"{SESSION}.jsonl")
    assert _plain(parts) == _plain(whole)
    (error,) = [i for i in parts.values() if i.metadata["kind"] == "error"]
    assert error.metadata["resolved"] is True
    (fix,) = error.metadata["fixed_by"]
    assert parts[fix].metadata["fixes"] == [error.id]
    assert parts[fix].metadata["tool"] == "Edit"
    moved = [
        i
        for i in parts.values()
        if i.metadata.get("tool") == "TaskUpdate" and i.metadata["kind"] == "tool_call"
    ]
    assert [i.content for i in moved] == ["Task completed: Fix the rounding test"]


def test_without_the_stored_items_the_part_read_on_knows_nothing_before(tmp_path: Path) -> None:
    """What the resumed parse is for: the same part read alone leaves the failure open."""
    path, lines, first_turn = _two_turns(tmp_path)
    start = len("\n".join(lines[:first_turn])) + 1
    alone = parse_transcript(path, start_offset=start).items
    assert not any("fixes" in i.metadata for i in alone)
    assert "TaskUpdate" in [i.content for i in alone]


def test_the_hook_saving_after_each_turn_writes_the_fix_into_the_stored_error(
    tmp_path: Path,
) -> None:
    _, lines, first_turn = _two_turns(tmp_path)
    folder = tmp_path / "projects" / project_dir_name(CWD)
    folder.mkdir(parents=True)
    transcript = folder / f"{SESSION}.jsonl"
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    payload = json.dumps({"session_id": SESSION, "transcript_path": str(transcript), "cwd": CWD})
    for upto in (first_turn, len(lines)):
        transcript.write_text("\n".join(lines[:upto]) + "\n")
        err = io.StringIO()
        assert run_hook("stop", payload, store_url=url, out=io.StringIO(), err=err) == 0
        assert err.getvalue() == ""
    stored = _read_state(url, SESSION)
    whole = {item.id: item for item in parse_transcript(transcript).items}
    assert _plain(stored) == _plain(whole)
    (error,) = [i for i in stored.values() if i.metadata["kind"] == "error"]
    assert error.metadata["resolved"] is True


def test_an_edit_that_fixed_an_earlier_failure_is_counted_once(tmp_path: Path) -> None:
    """The edit comes in one turn, the run that shows it fixed the failure in the next: the
    stored edit is written again (now with ``fixes``), and still counts as one change."""
    records = _Session()
    records.user("make the tests pass")
    for n in range(40):  # a long session: a `stop` keeps its digest and adds to its counts
        records.tool("Read", {"file_path": f"{CWD}/cart/f{n}.go"}, "1\u2192package cart")
    records.ran("go test ./cart/...", "--- FAIL: TestRounding\nFAIL", 1)
    turns = [len(records.lines)]
    records.user("try this")
    records.edited(f"{CWD}/cart/cart.go", "round(line)", "line")
    turns.append(len(records.lines))
    records.user("run it")
    records.ran("go test ./cart/...", "ok  cart 0.2s")
    folder = tmp_path / "projects" / project_dir_name(CWD)
    folder.mkdir(parents=True)
    transcript = folder / f"{SESSION}.jsonl"
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    payload = json.dumps({"session_id": SESSION, "transcript_path": str(transcript), "cwd": CWD})
    for upto in (*turns, len(records.lines)):
        transcript.write_text("\n".join(records.lines[:upto]) + "\n")
        assert run_hook("stop", payload, store_url=url, out=io.StringIO(), err=io.StringIO()) == 0
    stored = _read_state(url, SESSION).values()
    (edit,) = [
        i for i in stored if i.metadata.get("tool") == "Edit" and i.metadata["kind"] == "tool_call"
    ]
    assert edit.metadata.get("fixes")  # written again by the last save
    entry = SessionRecord.from_item(_read_state(url, registry_session(CWD))[f"session:{SESSION}"])
    assert entry.files[f"{CWD}/cart/cart.go"]["changed"] == 1


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")
@pytest.mark.parametrize(
    "name",
    [
        "entireio__cli__6dccd523.jsonl",  # tasks, background commands
        "entireio__cli__1a289c77.jsonl",  # failures fixed turns later
        "marot__spotter__258c7280.jsonl",  # a background task's output a turn later
        "entireio__cli__847ff7d2.jsonl",
    ],
)
def test_real_sessions_saved_turn_by_turn_keep_what_one_import_keeps(
    tmp_path: Path, name: str
) -> None:
    source = DATA / name
    whole = {item.id: item for item in parse_transcript(source).items}
    parts = _saved_in_parts(source, _turn_starts(source), tmp_path / source.name)
    assert _plain(parts) == _plain(whole)


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "name",
    [
        "entireio__cli__6dccd523.jsonl",
        "entireio__cli__1664f311.jsonl",  # a title summary whose conversation is elsewhere
    ],
)
def test_a_session_saved_at_any_line_keeps_what_one_import_keeps(
    tmp_path: Path, name: str, seed: int
) -> None:
    """Cuts in mid-turn too (a pre-compact hook, a save between a call and its result)."""
    source = DATA / name
    count = len(source.read_bytes().splitlines())
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, count), min(count - 1, 40)))
    whole = {item.id: item for item in parse_transcript(source).items}
    parts = _saved_in_parts(source, cuts, tmp_path / source.name)
    assert _plain(parts) == _plain(whole)


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")
def test_items_a_concurrent_save_stored_from_the_same_offset_are_not_taken_as_before(
    tmp_path: Path,
) -> None:
    """Two saves of one session at once: the slower one reads on from the offset the registry
    gave it, while the other has stored the items of those same records already."""
    source = DATA / "entireio__cli__1a289c77.jsonl"
    _read_on_beside_a_save_to_the_end(source, _turn_starts(source)[1], tmp_path)


def _read_on_beside_a_save_to_the_end(source: Path, cut: int, tmp_path: Path) -> None:
    """``source`` read to line ``cut``, then read on from there beside the items of a save that
    read it whole (it got there first): the items one read of the whole makes."""
    lines = source.read_bytes().splitlines(keepends=True)
    whole = {item.id: item for item in parse_transcript(source).items}
    head = tmp_path / "head.jsonl"
    head.write_bytes(b"".join(lines[:cut]))
    first = parse_transcript(head)
    stored = {**{item.id: item for item in first.items}, **whole}  # (the other save's)
    target = tmp_path / source.name
    target.write_bytes(b"".join(lines))
    held = [MemoryItem.from_dict(item.to_dict()) for item in stored.values()]
    again = parse_transcript(target, start_offset=first.end_offset, stored=held)
    stored.update((item.id, item) for item in [*again.items, *again.amended])
    assert _plain(stored) == _plain(whole)


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")
@pytest.mark.parametrize(
    ("name", "cut"),
    [
        ("entireio__cli__839b35f7", 165),  # the agent's words, its calls after the cut
        ("obsessiondb__chkit__c2820dd1", 101),  # a call before the cut, one after
        ("jfmoe__react-native-live-text-view__2a117374", 77),  # a call timed as its text
        ("obsessiondb__chkit__ae3fbe71", 197),  # a full ``then``, a like call after the cut
    ],
)
def test_the_calls_a_save_that_read_further_noted_are_noted_once(
    tmp_path: Path, name: str, cut: int
) -> None:
    """A save that read further (at the same time, or one that died before it said how far it
    read) noted on the agent's last words the calls after the cut: read on from the cut, they
    are noted again, in their place, not added to those (``then`` twice over)."""
    _read_on_beside_a_save_to_the_end(DATA / f"{name}.jsonl", cut, tmp_path)


_COMMANDS = (
    "go test ./...",
    "go test ./cart/ -run TestRound",
    "go build ./...",
    "git push",
    "git push --set-upstream origin main",
)
_STEPS = st.one_of(
    st.tuples(st.just("ask"), st.sampled_from(["fix it", "go on", "run the tests again"])),
    st.tuples(st.just("run"), st.sampled_from(_COMMANDS), st.booleans()),
    st.tuples(st.just("edit"), st.sampled_from(["cart.go", "tax.go"]), st.integers(0, 9)),
    st.tuples(
        st.just("say"), st.sampled_from(["Now `Total()` rounds once.", "Checking `tax.go`."])
    ),
    st.tuples(st.just("create"), st.integers(1, 3)),
    st.tuples(st.just("update"), st.integers(1, 3), st.sampled_from(["in_progress", "completed"])),
    st.tuples(st.just("read"), st.sampled_from(["cart.go", "README.md"])),
)


def _written(steps: list[tuple[Any, ...]]) -> list[str]:
    records = _Session()
    records.user("make the cart tests pass")
    for step in steps:
        if step[0] == "ask":
            records.user(step[1])
        elif step[0] == "run":
            ok = step[2]
            records.ran(
                step[1], "ok  cart 0.1s" if ok else "--- FAIL: TestRound\nFAIL", 0 if ok else 1
            )
        elif step[0] == "edit":
            records.edited(f"{CWD}/cart/{step[1]}", f"v{step[2]}", f"v{step[2] + 1}")
        elif step[0] == "say":
            records.said(step[1])
        elif step[0] == "create":
            subject = f"Task number {step[1]}"
            created = {"task": {"id": str(step[1]), "subject": subject}}
            records.tool("TaskCreate", {"subject": subject}, "created", toolUseResult=created)
        elif step[0] == "update":
            records.tool("TaskUpdate", {"taskId": str(step[1]), "status": step[2]}, "updated")
        else:
            records.tool("Read", {"file_path": f"{CWD}/{step[1]}"}, "1\u2192package cart")
    return records.lines


@settings(max_examples=400, deadline=None)
@given(
    steps=st.lists(_STEPS, min_size=1, max_size=24), cuts=st.sets(st.integers(1, 60), max_size=6)
)
def test_any_session_saved_at_any_lines_keeps_what_one_import_keeps(
    steps: list[tuple[Any, ...]], cuts: set[int]
) -> None:
    """Failures, fixes, reruns another way, tasks made and moved, reads and words, in any order,
    cut anywhere (between a call and its result too)."""
    lines = _written(steps)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "whole.jsonl"
        path.write_text("\n".join(lines) + "\n")
        whole = {item.id: item for item in parse_transcript(path).items}
        inside = sorted(cut for cut in cuts if cut < len(lines))
        parts = _saved_in_parts(path, inside, Path(folder) / f"{SESSION}.jsonl")
    assert _plain(parts) == _plain(whole)


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")
def test_the_session_end_after_the_last_turn_makes_the_digests_of_the_whole_session(
    tmp_path: Path,
) -> None:
    """``stop`` keeps the digests while a turn adds little; the session usually ends right
    after the last turn's ``stop``, with nothing unread: its entry then holds the digests of
    the whole session, as one save of the whole transcript makes them."""
    source = DATA / "entireio__cli__6dccd523.jsonl"
    lines = source.read_bytes().splitlines(keepends=True)
    session = next(json.loads(line)["sessionId"] for line in lines if b'"sessionId"' in line)
    cwd = next(json.loads(line)["cwd"] for line in lines if b'"cwd"' in line)
    folder = tmp_path / "projects" / project_dir_name(cwd)
    folder.mkdir(parents=True)
    transcript = folder / f"{session}.jsonl"
    payload = json.dumps({"session_id": session, "transcript_path": str(transcript), "cwd": cwd})

    def entry(url: str) -> SessionRecord:
        return SessionRecord.from_item(
            _read_state(url, registry_session(cwd))[f"session:{session}"]
        )

    turn_by_turn = f"sqlite:///{tmp_path / 'turns.db'}"
    for cut in [*_turn_starts(source), len(lines)]:
        transcript.write_bytes(b"".join(lines[:cut]))
        run_hook("stop", payload, store_url=turn_by_turn, out=io.StringIO(), err=io.StringIO())
    kept = entry(turn_by_turn)
    assert kept.digest_stale  # the last turns' stops kept older ones
    assert kept.needs_digest()
    err = io.StringIO()
    run_hook("session-end", payload, store_url=turn_by_turn, out=io.StringIO(), err=err)
    assert err.getvalue() == ""
    once = f"sqlite:///{tmp_path / 'once.db'}"
    run_hook("session-end", payload, store_url=once, out=io.StringIO(), err=io.StringIO())
    made, whole = entry(turn_by_turn), entry(once)
    assert not made.needs_digest()
    assert (made.digest, made.briefs, made.files, made.checks) == (
        whole.digest,
        whole.briefs,
        whole.files,
        whole.checks,
    )


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")
def test_a_title_summary_of_a_record_read_by_an_earlier_save_is_the_sessions_title(
    tmp_path: Path,
) -> None:
    """Claude Code writes a title as a ``summary`` record naming the record its conversation
    ends at: read a save later, that record's time is known from its stored items."""
    lines = (DATA / "entireio__cli__6dccd523.jsonl").read_bytes().splitlines(keepends=True)
    leaf = next(json.loads(line)["uuid"] for line in lines[50:] if b'"assistant"' in line)
    title = {"type": "summary", "summary": "Wingman review loop", "leafUuid": leaf}
    path = tmp_path / "whole.jsonl"
    path.write_bytes(b"".join(lines) + json.dumps(title).encode() + b"\n")
    whole = {item.id: item for item in parse_transcript(path).items}
    parts = _saved_in_parts(path, [len(lines)], tmp_path / "parts.jsonl")
    assert _plain(parts) == _plain(whole)
    assert 'Claude Code titled the session "Wingman review loop".' in {
        item.content for item in parts.values()
    }


def test_an_entry_made_before_the_stale_flag_says_so_by_its_counts() -> None:
    record = SessionRecord("s", "/p", "digest", "2026-12-04T00:00:00", items=120, digest_items=100)
    item = record.to_item()
    del item.metadata["digest_stale"]
    assert SessionRecord.from_item(item).needs_digest()
    record.digest_items = 120
    assert not SessionRecord.from_item(record.to_item()).needs_digest()


async def test_a_stale_entry_left_unsaved_is_made_again_by_another_sessions_save() -> None:
    """A session closed without a ``session-end`` keeps the digests a ``stop`` left stale until
    another session of the project saves, once it has gone unsaved for ``ABANDONED_AFTER``; one
    saved just now is left to its own next save."""
    from memcore.claude_code.project import digest_rules, registry_key
    from memcore.claude_code.stale_entries import ABANDONED_AFTER, refresh_stale_record
    from memcore.model import utc_now
    from memcore.stores import open_store
    from memcore.sync import DistributedMemoryManager

    store = open_store("memory://")
    manager = DistributedMemoryManager(storage_backend=store, replica_id="r")
    registry = registry_session(CWD)
    long_ago = (utc_now() - 2 * ABANDONED_AFTER).isoformat(timespec="seconds")
    try:
        for session, updated in (("closed", long_ago), ("busy", utc_now().isoformat())):
            item = MemoryItem(f"cc:{session}:0", f"`{session}.go` was edited.")
            manager.set(session, item.id, item)
            await manager.sync_session_memory(session)
            record = SessionRecord(
                session, CWD, "- an old digest", updated, items=1, made_by=digest_rules()
            )
            record.digest_stale = True
            manager.set(registry, registry_key(session), record.to_item())
        await manager.sync_session_memory(registry)
        assert await refresh_stale_record(manager, registry, "saved") == "closed"
        assert await refresh_stale_record(manager, registry, "saved") is None  # busy: too soon
        closed = SessionRecord.from_item(
            MemoryItem.coerce(manager.get(registry, registry_key("closed")))
        )
        assert not closed.needs_digest()
        assert "closed.go" in closed.digest
    finally:
        await manager.close()
        await store.close()


_ODD_VALUES = st.sampled_from(
    [None, True, 0, 2**70, 1.5, "", "Bash", "Edit", "toolu_0003", [], [1], [["a"]], {}, {"a": 1}]
)
_KEYS_READ_BACK = st.sampled_from(
    [
        "kind", "tool", "tool_use_id", "is_error", "command", "file_path", "todos", "then",
        "task_list_id", "fixes", "record", "agent", "session", "changed_outside",
        "files_changed", "pr", "rejected", "task_id", "role",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(odd=st.lists(st.tuples(st.integers(0, 40), _KEYS_READ_BACK, _ODD_VALUES), max_size=12))
def test_stored_items_with_any_metadata_never_break_the_parse_that_reads_on(
    odd: list[tuple[int, str, Any]],
) -> None:
    """A session's items are anyone's to write (the API takes any metadata): whatever the
    stored ones say, the parse that learns from them reads on and says what it read."""
    with tempfile.TemporaryDirectory() as folder:
        _, lines, first_turn = _two_turns(Path(folder))
        path = Path(folder) / f"{SESSION}.jsonl"
        path.write_text("\n".join(lines[:first_turn]) + "\n")
        first = parse_transcript(path)
        stored = [MemoryItem.from_dict(item.to_dict()) for item in first.items]
        for at, key, value in odd:
            stored[at % len(stored)].metadata[key] = value
        path.write_text("\n".join(lines) + "\n")
        again = parse_transcript(path, start_offset=first.end_offset, stored=stored)
    assert any(item.metadata.get("tool") == "TaskUpdate" for item in again.items)


def test_stored_items_of_any_shape_read_on_beside_do_not_stop_a_save(tmp_path: Path) -> None:
    """Stored metadata is anyone's: an item of the records read again whose kind is a list, an
    agent's words whose ``then`` ends in a mapping, are passed over, not a ``TypeError`` that
    stopped every later save of the session."""
    _, lines, first = _two_turns(tmp_path)
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines[:first]) + "\n")
    head = parse_transcript(path)
    path.write_text("\n".join(lines) + "\n")
    later = json.loads(lines[first])["uuid"]
    again = [
        MemoryItem.from_dict(item.to_dict())
        for item in parse_transcript(path).items
        if item.metadata.get("record") == later
    ]
    again[0].metadata["kind"] = ["tool_call"]
    stored = [MemoryItem.from_dict(item.to_dict()) for item in head.items]
    for item in stored:
        if item.metadata.get("then"):
            item.metadata["then"].append({"a": 1})
    parse_transcript(path, start_offset=head.end_offset, stored=stored + again)


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")
@pytest.mark.parametrize("into_the_titles", [0, 3, 7])
def test_titles_written_at_a_resume_after_a_save_at_the_exit_are_the_sessions_titles(
    tmp_path: Path, into_the_titles: int
) -> None:
    """The user ran ``/exit`` (the session-end hook saves there), then resumed the session:
    Claude Code writes its titles as ``summary`` records naming the last record the save read,
    which made no item (``See ya!``). A save reading on finds that record's time in the part
    read before, and titles the session as one import does."""
    source = DATA / "entireio__cli__0276a600.jsonl"
    lines = source.read_bytes().splitlines()
    exit_at = next(
        n for n, line in enumerate(lines) if n and json.loads(line).get("type") == "summary"
    )
    assert b"See ya!" in lines[exit_at - 1]
    whole = {item.id: item for item in parse_transcript(source).items}
    parts = _saved_in_parts(source, [exit_at + into_the_titles], tmp_path / source.name)
    assert _plain(parts) == _plain(whole)
    assert not any(key.startswith("cc:summary:") for key in parts)
