"""Agent-aware import on real Claude Code sessions (the development transcripts, read-only):
facts, not dumps; failures linked to their fixes. The rules behind it, one by one, are in
``tests/test_claude_code_rules.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from memcore.claude_code import find_transcripts, parse_transcript
from memcore.claude_code.tools import describe_call, describe_result
from memcore.digest import session_digest
from memcore.model import MemoryItem
from tests.claude_code_support import DATA
from tests.test_transcript_agent_records import CWD, _Records

# --- the development transcripts (real sessions, read-only) -------------------------------------

REAL = DATA / "entireio__cli__20b81bf8.jsonl"
needs_data = pytest.mark.skipif(not REAL.is_file(), reason="development transcripts not present")
_NAME = r"`[\w.]+(?:\(\))?`"
_READ_SHAPE = re.compile(
    rf"Read `[^`]+`(?: \(lines [\w-]+\)|: \d+ lines(?:, defining {_NAME}(?:(?:, | and ){_NAME})*)?)"
)


@needs_data
def test_no_read_result_content_is_kept_as_memory_text() -> None:

    read_ids: set[str] = set()
    file_lines: set[str] = set()
    for raw in REAL.read_text().splitlines():
        record = json.loads(raw)
        content = record.get("message", {}).get("content")
        for block in content if isinstance(content, list) else []:
            if block.get("type") == "tool_use" and block.get("name") == "Read":
                read_ids.add(block["id"])
            if block.get("type") == "tool_result" and block.get("tool_use_id") in read_ids:
                text = block["content"] if isinstance(block["content"], str) else ""
                file_lines.update(
                    line.split("\u2192", 1)[1].strip()
                    for line in text.splitlines()
                    if "\u2192" in line and len(line.split("\u2192", 1)[1].strip()) > 30
                )
    assert len(file_lines) > 100
    items = parse_transcript(REAL).items
    reads = [i for i in items if i.metadata.get("tool") == "Read"]
    assert reads
    for item in reads:
        assert not any(line in item.content for line in file_lines), item.content
        # the path, how much was read, the names it defines: never a line of the file
        assert _READ_SHAPE.fullmatch(item.content), item.content


@needs_data
def test_errors_are_linked_to_the_edits_that_fixed_them() -> None:
    items = {item.id: item for item in parse_transcript(REAL).items}
    failed = [i for i in items.values() if i.metadata.get("kind") == "error"]
    fixed = [i for i in failed if i.metadata.get("fixed_by")]
    assert fixed, "the failing go test was fixed by an edit in this session"
    for error in fixed:
        for fix_id in error.metadata["fixed_by"]:
            fix = items[fix_id]
            assert fix.metadata["tool"] in ("Edit", "MultiEdit", "Write", "Bash")
            if fix.metadata["tool"] != "Bash":
                assert error.id in fix.metadata["fixes"]
        assert items[error.metadata["resolved_by"]].metadata["kind"] == "tool_result"
    first = fixed[0]
    assert "TestWriteTemporary_Deduplication" in first.content
    assert "checkpoint_test.go" in items[first.metadata["fixed_by"][0]].content


@needs_data
def test_claude_codes_own_guards_are_no_failures_to_fix() -> None:
    """ "Sibling tool call errored" (a parallel call cancelled) and "File has not been read yet"
    are Claude Code's guards on its tools: no error of the work, nothing an edit fixed."""
    guarded = 0
    for path in sorted(DATA.glob("*.jsonl")):
        items = {item.id: item for item in parse_transcript(path).items}
        fixes = {f for i in items.values() for f in i.metadata.get("fixed_by", [])}
        for item in items.values():
            if item.metadata.get("refused"):
                guarded += 1
                assert item.metadata["kind"] == "tool_result"
                assert "resolved" not in item.metadata
                assert item.content.startswith("Claude Code refused")
                assert item.id not in fixes
    assert guarded >= 10  # 14 + 6 such results in the development transcripts


def test_a_guard_is_told_apart_from_a_failure() -> None:
    guard = "<tool_use_error>File has not been read yet. Read it first.</tool_use_error>"
    text, meta = describe_result("Edit", {"file_path": "/r/a.py"}, guard, True, None, "/r")
    assert meta == {"refused": True}
    assert text == "Claude Code refused Edit of `a.py`: File has not been read yet. Read it first."
    failure = "<tool_use_error>String to replace not found in file.</tool_use_error>"
    text, meta = describe_result("Edit", {"file_path": "/r/a.py"}, failure, True, None, "/r")
    assert "refused" not in meta  # a wrong old string is the agent's mistake, and it fixes it
    assert text.startswith("Edit `a.py` failed")


def test_an_edit_keeps_the_code_it_was_made_next_to() -> None:
    """The unchanged lines of an edit say where it was made: kept in its metadata, and said by
    the digest when there is room (a spare line)."""
    edit = {
        "file_path": "/r/state.go",
        "old_string": "\tnewState := &SessionState{\n\t\tBaseCommit: baseCommit,\n"
        "\t\tWarningShown: true,\n\t\tStartedAt: time.Now(),\n\t}",
        "new_string": "\tnewState := &SessionState{\n\t\tBaseCommit: head.Hash().String(),\n"
        "\t\tWarningShown: true,\n\t\tStartedAt: time.Now(),\n\t}",
    }
    text, meta = describe_call("Edit", edit, "/r")
    assert meta["added_lines"] == ["BaseCommit: head.Hash().String(),"]
    assert meta["context_lines"] == [
        "newState := &SessionState{",
        "WarningShown: true,",
        "StartedAt: time.Now(),",
    ]
    item = MemoryItem("e1", text, metadata={**meta, "kind": "tool_call", "tool": "Edit"})
    digest = session_digest([item], 800)  # (room for spare lines: no brief)
    assert "was made next to `newState := &SessionState{` and `WarningShown: true,`" in digest.text
    assert "was made next to `StartedAt: time.Now(),`" in digest.text
    write = describe_call("Write", {"file_path": "/r/new.py", "content": "x = 1\n"}, "/r")[1]
    assert "context_lines" not in write  # a new file has no surroundings


def test_a_rejected_call_names_what_it_would_have_done() -> None:
    """The file, else the command, address, pattern or description; a call with none of them
    is named as a call, not as itself ("rejected TaskOutput of `TaskOutput`")."""
    refusal = "The user doesn't want to proceed with this tool use. The tool use was rejected"
    said = refusal + " (eg. if it was a file edit, the new_string was NOT written to the file). "
    said += "To tell you how to proceed, the user said:\nuse the fixture instead"
    cases = [
        ("Edit", {"file_path": "/r/a.py"}, refusal, "The user rejected Edit of `a.py`"),
        ("Bash", {"command": "rm -rf build"}, refusal, "The user rejected Bash of `rm -rf build`"),
        ("TaskOutput", {"task_id": "b1"}, refusal, "The user rejected a TaskOutput call"),
        ("EnterPlanMode", {}, refusal, "The user rejected an EnterPlanMode call"),
        ("unknown", {}, refusal, "The user rejected a tool call"),  # (its call not in the file)
        (
            "Bash",
            {"command": "pytest"},
            said,
            "The user rejected Bash of `pytest`; the user said: use the fixture instead",
        ),
    ]
    for tool, target, text, expected in cases:
        described, meta = describe_result(tool, target, text, True, None, "/r")
        assert (described, meta) == (expected, {"rejected": True})


@needs_data
def test_a_full_jsonl_is_found_by_content_and_imported(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints" / "25" / "9e16a0e452" / "0"
    folder.mkdir(parents=True)
    full = folder / "full.jsonl"
    full.write_bytes(REAL.read_bytes())
    (folder / "metadata.jsonl").write_text('{"checkpoint": 1}\n')
    assert find_transcripts(tmp_path) == [full]
    transcript = parse_transcript(full)
    assert transcript.session_id == "20b81bf8-77cd-4205-8ac9-727b573a70e4"
    assert transcript.agent_id is None
    assert len(transcript.items) > 50


@needs_data
def test_incremental_parse_from_an_offset(tmp_path: Path) -> None:
    data = REAL.read_bytes()
    live = tmp_path / "live.jsonl"
    cut = data.index(b"\n", len(data) // 2) + 40  # mid-line: a record still being written
    live.write_bytes(data[:cut])
    first = parse_transcript(live)
    assert first.end_offset == data.rindex(b"\n", 0, cut) + 1
    live.write_bytes(data)
    rest = parse_transcript(live, start_offset=first.end_offset)
    assert rest.end_offset == len(data)
    whole = parse_transcript(REAL)
    ids = [i.id for i in first.items] + [i.id for i in rest.items]
    assert set(ids) == {i.id for i in whole.items}
    again = [i for i in ids if not i.startswith("cc:files:")]  # file history is cumulative
    assert len(again) == len(set(again))
    assert parse_transcript(live, start_offset=len(data)).items == []


def test_a_read_image_is_said_as_one_with_none_of_its_bytes() -> None:
    """Claude Code reads a screenshot as an image block (``toolUseResult`` of type "image"):
    the item says an image was read, not "0 lines", and keeps none of its base64."""
    data = "iVBORw0KGgo" + "A" * 4000
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
    records = _Records()
    records.user("what is wrong in this screenshot?")
    records.tool(
        "Read",
        {"file_path": f"{CWD}/shot.png"},
        [image],
        toolUseResult={"type": "image", "file": {"base64": data, "type": "image/png"}},
    )
    items = records.items()
    read = next(i for i in items if i.metadata.get("kind") == "tool_result")
    assert read.content == "Read `shot.png`: an image"
    assert all(data[:20] not in i.content and data[:20] not in str(i.metadata) for i in items)
    assert "`shot.png` was read, not changed." in session_digest(items, 2000).text
