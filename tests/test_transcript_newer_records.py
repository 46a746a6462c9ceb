"""Transcripts of newer Claude Code versions: sessions that open with records about the session
(``permission-mode``, titles) and messages delivered from its queue as ``attachment`` records.

None of the development transcripts (Claude Code 2.1.14-2.1.50) has these records; their shapes
are those newer versions write (``{"type": "permission-mode", "permissionMode": ...,
"sessionId": ...}``, ``{"type": "attachment", "attachment": {"type": "queued_command",
"prompt": ..., "commandMode": "prompt", "origin": {"kind": "human"}}}``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from memcore import Priority, session_digest
from memcore.claude_code import find_transcripts, looks_like_transcript, parse_lines
from memcore.claude_code.queued import TAKEN_KEPT, MessageQueue
from tests.test_transcript_agent_records import CWD, SESSION, T0
from tests.test_transcript_queued import _Records as _QueueRecords


class _Records(_QueueRecords):
    """The queue tests' transcript writer, with newer versions' records too."""

    def about(self, kind: str, **fields: Any) -> None:
        """A record about the session (no message, no time): its mode, a title, ..."""
        self.lines.append(json.dumps({"type": kind, "sessionId": SESSION, **fields}))

    def attached(self, attachment: dict[str, Any]) -> None:
        record = {
            "type": "attachment",
            "uuid": f"00000000-0000-4000-8000-{len(self.lines):012d}",
            "sessionId": SESSION,
            "timestamp": self._stamp(),
            "attachment": attachment,
        }
        self.lines.append(json.dumps(record))

    def delivered(self, prompt: Any, mode: str = "prompt", origin: str = "human") -> None:
        self.attached(
            {
                "type": "queued_command",
                "prompt": prompt,
                "commandMode": mode,
                "origin": {"kind": origin},
            }
        )


def _queued(records: _Records) -> list[str]:
    return [i.content for i in parse_lines(records.lines).items if i.metadata.get("queued")]


def test_a_message_delivered_after_its_dequeue_is_a_request() -> None:
    """Newer versions write no user record after a ``dequeue``: the attachment is the only
    delivery, and the message would be lost without it."""
    records = _Records()
    records.user("Add a discount code field to the checkout form.")
    records.queue("enqueue", "and convert the prices to euros")
    records.queue("dequeue")
    records.delivered("and convert the prices to euros")
    records.said("The field is added and prices are shown in euros.")
    transcript = parse_lines(records.lines)
    queued = [i for i in transcript.items if i.metadata.get("queued")]
    assert [(i.content, i.metadata["kind"], i.metadata["role"]) for i in queued] == [
        ("and convert the prices to euros", "task", "user")
    ]
    assert [i.id for i in parse_lines(records.lines).items] == [i.id for i in transcript.items]
    digest = session_digest(transcript.items, 300)
    assert "and convert the prices to euros" in digest.sections["asked"]


def test_a_message_taken_at_its_remove_is_not_taken_again_by_its_attachment() -> None:
    records = _Records()
    records.user("Review the payment module.")
    records.queue("enqueue", "check the refund path too")
    records.queue("remove")
    records.delivered("check the refund path too")
    records.queue("enqueue", "check the refund path too")  # typed again later: a new request
    records.queue("dequeue")
    records.delivered("check the refund path too")
    assert _queued(records) == ["check the refund path too", "check the refund path too"]


def test_a_delivery_without_a_queue_record_is_a_request() -> None:
    """A parse that starts after the enqueue (an incremental save), or a version that writes
    the attachment alone, still keeps what the user typed; content blocks are read too."""
    records = _Records()
    records.delivered("run the linter as well")
    records.delivered([{"type": "text", "text": "and this screenshot"}, {"type": "image"}])
    assert _queued(records) == ["run the linter as well", "and this screenshot\n[image]"]


@pytest.mark.parametrize(
    ("prompt", "mode", "origin"),
    [
        ("<task-notification>\n<task-id>b0be39e</task-id>\n", "prompt", "human"),
        ("The background build finished.", "task-notification", "human"),
        ("Housekeeping: continue validation.", "prompt", "coordinator"),
        ("git status", "bash", "human"),
        ('{"task_id": "bca62c8"}', "prompt", "human"),
        ("   ", "prompt", "human"),
        (None, "prompt", "human"),
        ([{"type": "image"}, 7], "prompt", "human"),
    ],
)
def test_deliveries_no_person_typed_are_not_requests(prompt: Any, mode: str, origin: str) -> None:
    records = _Records()
    records.user("Review the payment module.")
    records.delivered(prompt, mode, origin)
    transcript = parse_lines(records.lines)
    assert not [i for i in transcript.items if i.metadata.get("queued")]
    assert transcript.skipped_types["attachment:queued_command"] == 1


def test_other_attachments_are_counted_not_kept() -> None:
    """Hooks' added context (memcore's own session-start memory among it: taking it in would
    feed memory back into itself), skill listings and the rest are not what the session did."""
    records = _Records()
    records.user("Review the payment module.")
    records.attached({"type": "hook_additional_context", "content": ["# memcore: memory"]})
    records.attached({"type": "skill_listing", "content": "- pdf: read PDFs"})
    records.attached("not an object")  # type: ignore[arg-type]
    records.attached({"type": "x" * 500})
    transcript = parse_lines(records.lines)
    assert [i.content for i in transcript.items] == ["Review the payment module."]
    assert not transcript.malformed
    skipped = transcript.skipped_types
    assert skipped["attachment:hook_additional_context"] == 1
    assert skipped["attachment:skill_listing"] == 1
    assert skipped["attachment"] == 2  # no attachment object, a type too long to name


def test_a_file_changed_outside_the_agent_is_one_fact_of_its_notice() -> None:
    """Newer versions tell the agent that a file it read changed on disk without it (an
    ``edited_text_file`` attachment: the user's edit, a formatter's): one low-priority fact a
    file, timed by its latest notice; its diff is not kept, and the digest does not state it
    (a formatter run after every edit would fill it). A notice naming no file is counted."""
    records = _Records()
    records.user("Review the payment module.")
    records.attached(
        {"type": "edited_text_file", "filename": f"{CWD}/pay.py", "snippet": "12\tx = 1"}
    )
    records.attached({"type": "edited_text_file", "filename": f"{CWD}/pay.py", "snippet": "y"})
    records.attached({"type": "edited_text_file", "filename": ""})
    records.attached({"type": "edited_text_file", "filename": "a\nb"})
    transcript = parse_lines(records.lines)
    notices = [i for i in transcript.items if i.metadata.get("changed_outside")]
    assert [(i.content, i.priority, i.metadata["changed_outside"]) for i in notices] == [
        (
            "`pay.py` was changed outside the agent's edits (by the user, or a formatter or "
            "linter) while the session ran.",
            Priority.LOW,
            f"{CWD}/pay.py",
        )
    ]
    assert "12\tx = 1" not in " ".join(i.content for i in transcript.items)
    assert transcript.skipped_types["attachment:edited_text_file"] == 2
    again = parse_lines(records.lines).items
    assert [i.id for i in again] == [i.id for i in transcript.items]  # named alike again
    assert notices[0].created_at == T0 + timedelta(seconds=2)  # its latest notice
    assert "changed outside" not in session_digest(transcript.items, 400).text


def test_the_texts_taken_at_removes_are_bounded() -> None:
    queue = MessageQueue()
    for n in range(TAKEN_KEPT + 50):
        queue.operation({"operation": "enqueue", "content": f"typed {n}"})
        queue.operation({"operation": "remove"})
    assert len(queue.taken) == TAKEN_KEPT
    assert queue.delivered({}, "typed 0") is not None  # forgotten: taken again
    assert queue.delivered({}, f"typed {TAKEN_KEPT + 49}") is None


# --- finding them ------------------------------------------------------------------------------


def _write(path: Path, records: _Records) -> Path:
    path.write_text("\n".join(records.lines) + "\n", encoding="utf-8")
    return path


def test_a_session_that_opens_with_records_about_itself_is_a_transcript(tmp_path: Path) -> None:
    records = _Records()
    records.about("permission-mode", permissionMode="default")
    records.about("custom-title", customTitle="discount field")
    records.about("ai-title", aiTitle="Add a discount code field")
    records.user("Add a discount code field to the checkout form.")
    path = _write(tmp_path / f"{SESSION}.jsonl", records)
    assert looks_like_transcript(path)
    assert find_transcripts(tmp_path) == [path]
    transcript = parse_lines(records.lines)
    assert transcript.session_id == SESSION
    first = T0 + timedelta(seconds=3)  # (the fourth record)
    assert [(i.content, i.created_at) for i in transcript.items] == [
        ("Add a discount code field to the checkout form.", first),
        # (untimed, before it: timed by the session's first item)
        ('The user titled the session "discount field".', first),
        ('Claude Code titled the session "Add a discount code field".', first),
    ]
    assert transcript.skipped_types["permission-mode"] == 1


def test_records_about_a_session_alone_are_no_transcript(tmp_path: Path) -> None:
    """A file left with its metadata only (a session opened and abandoned), or other programs'
    JSON lines with a ``type``, hold no session."""
    records = _Records()
    records.about("permission-mode", permissionMode="default")
    records.about("custom-title", customTitle="renamed")
    assert not looks_like_transcript(_write(tmp_path / "ghost.jsonl", records))
    other = tmp_path / "events.jsonl"
    other.write_text('{"type": "mode", "x": 1}\n{"type": "user", "sessionId": "s"}\n')
    assert not looks_like_transcript(other)
    assert find_transcripts(tmp_path) == []


# --- the session's title -----------------------------------------------------------------------


def _titled(*titles: tuple[str, str]) -> _Records:
    records = _Records()
    records.about("permission-mode", permissionMode="default")
    records.user("Add a discount code field to the checkout form.")
    for kind, text in titles:
        field = "customTitle" if kind == "custom-title" else "aiTitle"
        records.about(kind, **{field: text})
    records.said("The field is added; `apply_discount()` checks the code.")
    return records


def test_a_title_is_one_item_per_who_gave_it_its_latest_text() -> None:
    records = _titled(
        ("ai-title", "Discount field"),
        ("ai-title", 'Add the "discount code" field to checkout'),
        ("custom-title", "   "),  # no title
        ("custom-title", "x" * 300),  # no title either
    )
    transcript = parse_lines(records.lines)
    titles = [i for i in transcript.items if i.metadata.get("session_title")]
    assert [(i.id, i.content) for i in titles] == [
        (
            f"cc:title:{SESSION}:ai",
            "Claude Code titled the session \"Add the 'discount code' field to checkout\".",
        )
    ]
    assert transcript.skipped_types["custom-title"] == 2
    assert [i.id for i in parse_lines(records.lines).items] == [i.id for i in transcript.items]


def test_a_digest_says_the_title_first_the_user_s_over_claude_code_s() -> None:
    digest = session_digest(parse_lines(_titled(("ai-title", "Discount field")).lines).items, 300)
    assert digest.sections["asked"].splitlines()[0] == (
        '- Claude Code titled the session "Discount field".'
    )
    both = _titled(("custom-title", "checkout discounts"), ("ai-title", "Discount field"))
    asked = session_digest(parse_lines(both.lines).items, 300).sections["asked"]
    assert asked.splitlines()[0] == '- The user titled the session "checkout discounts".'
    assert "Discount field" not in asked
    assert "The user asked: Add a discount code field" in asked


def test_a_session_without_a_title_has_no_title_line() -> None:
    asked = session_digest(parse_lines(_titled().lines).items, 300).sections["asked"]
    assert "titled" not in asked


# --- memcore's own context, handed back ---------------------------------------------------------

CONTEXT = (
    "# memcore: memory of this project's earlier work\n\n"
    "## Files that matter in this project\n- `shop/cart.py`: changed 3x in 1 session\n"
)


@pytest.mark.parametrize(
    "text",
    [
        CONTEXT,
        f"SessionStart:startup hook success: {CONTEXT}",
        CONTEXT.replace("memory of this project's earlier work", "what this session did before"),
    ],
)
def test_memcore_s_own_session_start_context_is_not_memory(text: str) -> None:
    """However Claude Code writes a hook's context back (a user record marked meta, a message
    of its own), memcore's is no memory: kept, it would be said again at every later start."""
    records = _Records()
    records.user(text, isMeta=True)
    records.user(text)
    records.attached({"type": "hook_additional_context", "content": [text]})
    records.user("Fix the rounding in `shop/cart.py`.")
    transcript = parse_lines(records.lines)
    assert [i.content for i in transcript.items] == ["Fix the rounding in `shop/cart.py`."]
    assert transcript.skipped_types["scaffolding:memcore-context"] == 2


def test_an_older_summary_record_of_this_transcript_s_conversation_is_its_title() -> None:
    """Older versions titled a conversation with a ``summary`` record naming its last message:
    one whose message is in this transcript titles this session (the latest such), one naming
    another transcript's message (a session this one was resumed from) stays a summary."""
    records = _Records()
    records.lines.append(
        json.dumps({"type": "summary", "summary": "Fix the cart", "leafUuid": "elsewhere"})
    )
    records.user("Add a discount code field to the checkout form.")
    leaf = json.loads(records.lines[-1])["uuid"]
    for text in ("Discount field", "Checkout discount codes"):
        records.lines.append(json.dumps({"type": "summary", "summary": text, "leafUuid": leaf}))
    records.said("The field is added; `apply_discount()` checks the code.")
    items = parse_lines(records.lines).items
    said = {(i.content, i.metadata["kind"]) for i in items if i.metadata.get("role") != "user"}
    assert ('Claude Code titled the session "Checkout discount codes".', "fact") in said
    assert ("Fix the cart", "summary") in said
    assert not [text for text, _ in said if "Discount field" in text]  # (the latest title)
    asked = session_digest(items, 300).sections["asked"]
    assert asked.splitlines()[0] == '- Claude Code titled the session "Checkout discount codes".'


def test_a_compacted_session_s_digest_says_its_title_first() -> None:
    """A title written before Claude Code's compaction is not held back with the items the
    compaction summary speaks for: it names the whole session."""
    records = _titled(("ai-title", "Checkout discount codes"))
    records.user(
        "This session is being continued from a previous conversation that ran out of "
        "context. Summary: 1. Primary Request and Intent: add a discount code field.",
        isCompactSummary=True,
    )
    records.said("The discount field now rejects expired codes in `apply_discount()`.")
    asked = session_digest(parse_lines(records.lines).items, 300).sections["asked"]
    assert asked.splitlines()[0] == '- Claude Code titled the session "Checkout discount codes".'
