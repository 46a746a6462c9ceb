"""Records far larger than Claude Code's own tools write (a first message with a pasted
screenshot or log of megabytes, a tool's output that large) and records nested too deep to
decode: the session is still found and saved, and each text is understood from a bounded view
of it, so one such record cannot hold a hook up for seconds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from memcore import DistributedMemoryManager, MemoryItem
from memcore.claude_code import parse_transcript, project_dir_name
from memcore.claude_code.discovery import transcript_head
from memcore.claude_code.records import ANALYZED_CHARS, analysis_view
from memcore.claude_code.tools import describe_result
from memcore.stores import open_store
from tests.claude_hooks_support import _context, _hook, _payload

SESSION = "7a1c2e44-0b6d-4f3e-9c1a-5d2e8f9b0a11"
CWD = "/home/dev/shop"


def _record(kind: str, content: Any, **extra: Any) -> dict[str, Any]:
    """A record as Claude Code writes it: its session and folder before its message."""
    return {
        "parentUuid": None,
        "cwd": CWD,
        "sessionId": SESSION,
        "type": kind,
        "uuid": extra.pop("uuid"),
        "timestamp": "2026-11-30T10:00:00.000Z",
        "message": {"role": kind, "content": content},
        **extra,
    }


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_the_head_of_a_transcript_whose_first_record_is_past_its_limit(tmp_path: Path) -> None:
    """A first record longer than the bytes the head reads is cut there and does not decode:
    its session and folder are read from its leading keys; a value the cut falls in is not."""
    pasted = _record("user", "x" * 10_000, uuid="u1")
    path = _write(tmp_path / "t.jsonl", [pasted])
    assert transcript_head(path, limit=2_000) == (SESSION, CWD)
    at = path.read_bytes().index(SESSION.encode())
    assert transcript_head(path, limit=at + 8) == (None, CWD)  # (the id cut: no session)
    deep = _record("user", "[" * 5_000 + "]" * 5_000, uuid="u2")
    text = json.dumps(deep).replace('"[[', "[[").replace(']]"', "]]")  # nested, not a string
    nested = tmp_path / "deep.jsonl"
    nested.write_text(text + "\n", encoding="utf-8")
    assert transcript_head(nested) == (SESSION, CWD)


def test_a_session_opening_with_a_message_of_megabytes_is_saved(tmp_path: Path) -> None:
    """The saving hook files a transcript whose first record is larger than the head it
    reads (4 MB), and the next session start brings it back."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    pasted = "Here is the log of the failing checkout:\n" + "GET /cart 500 rounding\n" * 220_000
    transcript = _write(
        tmp_path / "projects" / project_dir_name(CWD) / f"{SESSION}.jsonl",
        [
            _record("user", pasted, uuid="u1"),
            _record("user", "Fix the rounding of `cart_total()` in `shop/cart.py`.", uuid="u2"),
        ],
    )
    assert transcript.stat().st_size > 4 * 1024 * 1024
    code, out, err = _hook("session-end", _payload("SessionEnd", SESSION, transcript, CWD), url)
    assert (code, out, err) == (0, "", "")
    code, out, err = _hook("session-start", _payload("SessionStart", "next", None, CWD), url)
    assert code == 0, err
    assert "`cart_total()`" in _context(out)

    async def stored() -> dict[str, MemoryItem]:
        manager = DistributedMemoryManager(storage_backend=open_store(url), replica_id="r")
        try:
            await manager.sync_session_memory(SESSION)
            return {k: MemoryItem.coerce(v) for k, v in manager.state(SESSION).items()}
        finally:
            await manager.close()

    contents = [item.content for item in asyncio.run(stored()).values()]
    # the pasted log is cut, saying how much of the whole message was left out
    cut = next(c for c in contents if c.startswith("Here is the log"))
    left_out = int(cut.rsplit("[... ", 1)[1].split()[0])
    assert len(cut) + left_out > len(pasted) - 100


def test_a_huge_text_is_understood_from_its_head_and_its_end() -> None:
    """The view keeps ``ANALYZED_CHARS`` (a command's errors at its end among them); what is
    counted (lines read, matches found) is counted over the whole text."""
    output = "compiling module\n" * 100_000 + "error: `total` is not defined\n"
    view = analysis_view(output)
    assert len(view) < ANALYZED_CHARS + 100
    assert view.endswith("error: `total` is not defined\n")
    assert "characters left out]" in view
    said, meta = describe_result("Bash", {"command": "make"}, output, True, None, None)
    assert "`total` is not defined" in said, said
    numbered = "".join(f"{n:6}\u2192x = {n}\n" for n in range(1, 60_001))
    said, meta = describe_result("Read", {"file_path": "/a/b.py"}, numbered, False, None, "/a")
    assert meta["lines_read"] == 60_000
    hits = "".join(f"src/f{n}.py\n" for n in range(40_000))
    said, meta = describe_result("Glob", {"pattern": "**/*.py"}, hits, False, None, None)
    assert meta["count"] == 40_000
    short = "a short message"
    assert analysis_view(short) is short


def test_a_huge_assistant_text_and_request_keep_their_kinds(tmp_path: Path) -> None:
    """Read from their bounded views, a request of megabytes is a task and the agent's text a
    statement, as they would be whole."""
    pasted = "Please fix the checkout. " + "Traceback line in cart.py\n" * 100_000
    reply = "All 12 tests pass now. " + "log line\n" * 100_000
    path = _write(
        tmp_path / "t.jsonl",
        [
            _record("user", pasted, uuid="u1"),
            _record("assistant", [{"type": "text", "text": reply}], uuid="a1"),
        ],
    )
    items = parse_transcript(path).items
    kinds = [item.metadata.get("kind") for item in items]
    assert kinds == ["task", "fact"]
    assert items[1].metadata.get("statement") == "conclusion"


def test_an_edit_of_megabytes_is_read_by_its_first_lines() -> None:
    """An edit's texts are read up to ``EDIT_ANALYZED_CHARS`` (after a whole line): the names
    it changes there are told; a rename throughout a rewrite of more lines than a diff matches
    (``DIFF_LINES``) is found by pairing the lines by position."""
    from memcore.claude_code.edit_changes import DIFF_LINES, renamed_names
    from memcore.claude_code.edit_texts import EDIT_ANALYZED_CHARS
    from memcore.claude_code.tools import describe_call

    body = "".join(f"def step_{n}(cart):\n    return total_{n}(cart)\n" for n in range(60_000))
    assert len(body) > 20 * EDIT_ANALYZED_CHARS
    said, meta = describe_call("Write", {"file_path": "/a/steps.py", "content": body}, "/a")
    assert said.startswith("Write `steps.py`, defining `step_0()`, `step_1()`")
    assert "step_59999" not in said
    renamed = body.replace("step_", "stage_")
    edit = {"file_path": "/a/steps.py", "old_string": body, "new_string": renamed}
    said, meta = describe_call("Edit", edit, "/a")
    assert ["step_0", "stage_0"] in meta["renamed"]
    lines = DIFF_LINES + 500
    old = "".join(f"x_{n} = old_name + {n}\n" for n in range(lines))
    assert renamed_names(old, old.replace("old_name", "new_name")) == [("old_name", "new_name")]
