"""What the user typed while the agent worked, and where the agent was when a session stopped.

Claude Code queues a message typed during a turn (a ``queue-operation`` record, the only one
holding its text) and either hands it to the agent in that turn (``remove``) or sends it as the
next turn (``dequeue``, a user record follows). The import keeps the first kind as a request; the
digest then says it, and says what was under way when a session ends mid-turn.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from memcore import session_digest
from memcore.claude_code import parse_lines, parse_transcript, queued
from memcore.claude_code.records import assistant_statement
from memcore.digest import session_digests
from memcore.digest_lines import LATEST_OPEN, UNDER_WAY
from memcore.overflow import SessionState, handle_context_overflow
from tests.test_overflow import tokens_of
from tests.test_transcript_agent_records import CWD, SESSION, T0
from tests.test_transcript_agent_records import _Records as _AgentRecords


class _Records(_AgentRecords):
    """The importer tests' transcript writer, with Claude Code's queue records too."""

    def _stamp(self) -> str:
        return (T0 + timedelta(seconds=len(self.lines))).isoformat().replace("+00:00", "Z")

    def queue(self, operation: str, content: str | None = None) -> None:
        record: dict[str, Any] = {
            "type": "queue-operation",
            "operation": operation,
            "timestamp": self._stamp(),
            "sessionId": SESSION,
        }
        if content is not None:
            record["content"] = content
        self.lines.append(json.dumps(record))

    def delivered_as_attachment(self, prompt: str) -> None:
        """Newer versions' delivery of a queued message (``queued_command``)."""
        attachment = {"type": "queued_command", "prompt": prompt, "commandMode": "prompt"}
        record = {"type": "attachment", "timestamp": self._stamp(), "sessionId": SESSION}
        self.lines.append(json.dumps({**record, "attachment": attachment}))


def _requests(records: _Records) -> list[tuple[str, Any]]:
    items = parse_lines(records.lines).items
    return [(i.content, i.metadata.get("queued")) for i in items if i.metadata["kind"] == "task"]


def test_a_message_taken_in_the_turn_is_a_request_at_the_time_it_was_taken() -> None:
    records = _Records()
    records.user("Add a discount code field to the checkout form.")
    records.queue("enqueue", "also make the code case-insensitive")
    records.tool("Read", {"file_path": f"{CWD}/checkout.py"}, "1\tdef total(cart):\n")
    records.queue("remove")
    records.said("The field is added and codes are compared case-insensitively.")
    items = parse_lines(records.lines).items
    queued = [i for i in items if i.metadata.get("queued")]
    assert [(i.content, i.metadata["kind"], i.metadata["role"]) for i in queued] == [
        ("also make the code case-insensitive", "task", "user")
    ]
    assert queued[0].created_at == T0 + timedelta(seconds=4)  # the remove, after the read
    assert queued[0].metadata["cwd"] == CWD
    # the same records again name it alike: an import twice adds nothing
    assert [i.id for i in parse_lines(records.lines).items] == [i.id for i in items]


def test_a_message_sent_as_the_next_turn_is_not_counted_twice() -> None:
    records = _Records()
    records.user("Rename `total` to `cart_total`.")
    records.queue("enqueue", "then run the tests")
    records.queue("dequeue")
    records.user("then run the tests")  # Claude Code writes it as the next turn
    assert _requests(records) == [
        ("Rename `total` to `cart_total`.", None),
        ("then run the tests", None),
    ]


def test_notices_claude_code_queues_are_not_requests_and_take_no_one_s_place() -> None:
    records = _Records()
    records.user("Review the payment module.")
    records.queue(
        "enqueue",
        "<agent-notification>\n<agent-id>a8c2528</agent-id>\n<status>completed</status>\n"
        "</agent-notification>",
    )
    records.queue("enqueue", '{"task_id":"bca62c8","description":"Run full verification"}')
    records.queue("enqueue", "<task-notification>\n<task-id>b0be39e</task-id>\n")
    records.queue("enqueue", "check the refund path too")
    records.queue("remove")
    records.queue("remove")  # nothing typed is left: counted as skipped, nothing made
    transcript = parse_lines(records.lines)
    requests = [i.content for i in transcript.items if i.metadata["kind"] == "task"]
    assert requests == ["Review the payment module.", "check the refund path too"]
    assert transcript.skipped_types["queue-operation"] == 1


def test_an_answer_that_opens_with_a_verdict_is_a_conclusion() -> None:
    assert assistant_statement("Yes, `SessionRef` is correct: Gemini maps it.")[0] == "conclusion"
    assert assistant_statement("No - it is only used in `cart.py`.")[0] == "conclusion"
    assert assistant_statement("Nothing in `cart.py` uses it.")[0] == "narration"
    assert assistant_statement("Yesterday's run used it.")[0] == "narration"


def _question_answered_mid_turn() -> _Records:
    records = _Records()
    records.user("Add a discount code field to the checkout form.")
    records.tool("Read", {"file_path": f"{CWD}/checkout.py"}, "1\tdef total(cart):\n")
    records.queue("enqueue", "is the rounding in `total` correct?")
    records.queue("remove")
    records.said("Yes, `total` rounds half-even as the tax rules ask. Now the form field.")
    records.tool(
        "Edit",
        {"file_path": f"{CWD}/templates/checkout.html", "old_string": "a", "new_string": "b"},
        "The file has been updated.",
    )
    return records


def test_a_digest_says_what_was_under_way_when_the_session_stopped_mid_turn() -> None:
    items = parse_lines(_question_answered_mid_turn().lines).items
    digest = session_digest(items, 400)
    assert "- The user asked: is the rounding in `total` correct?" in digest.sections["asked"]
    assert LATEST_OPEN not in digest.text  # the question was answered ("Yes, ...")
    assert (
        f"{UNDER_WAY}Yes, `total` rounds half-even as the tax rules ask. Now the form field. "
        "(changing `templates/checkout.html`)"
    ) in digest.sections["open"]


def test_a_session_whose_turn_ended_has_nothing_under_way() -> None:
    records = _question_answered_mid_turn()
    records.said("The discount field is in the form; `total` was already right.")
    digest = session_digest(parse_lines(records.lines).items, 400)
    assert UNDER_WAY not in digest.text


def test_a_digest_of_a_history_whose_later_items_are_kept_says_nothing_under_way() -> None:
    items = parse_lines(_question_answered_mid_turn().lines).items
    assert UNDER_WAY in session_digest(items, 400).text
    assert UNDER_WAY not in session_digests(items, (400,), ongoing=True)[0].text


def test_overflow_digests_a_session_cut_mid_turn_without_an_under_way_line() -> None:
    """handle_context_overflow keeps the latest items whole after its digest of the history:
    the agent's work goes on in them, so that digest says nothing was left under way."""
    records = _Records()
    records.user("Add a discount code field to the checkout form.")
    for n in range(30):
        records.said(f"Step {n}: now the `field_{n}` handler in `checkout.py`.")
        records.tool(
            "Edit",
            {"file_path": f"{CWD}/checkout.py", "old_string": f"a{n}", "new_string": f"b{n}"},
            "The file has been updated.",
        )
    items = parse_lines(records.lines).items
    state = SessionState(items, token_budget=tokens_of(items) * 10 // 11)  # room for the line
    strategy = handle_context_overflow(state)
    assert "session_digest" in strategy.actions_taken
    digests = [i for i in state.items if i.metadata.get("level") == "session_digest"]
    assert digests
    assert all(UNDER_WAY not in i.content for i in digests)


def _pr_link(number: Any, url: Any = "https://github.com/carol/shop/pull/7") -> str:
    return json.dumps(
        {
            "type": "pr-link",
            "sessionId": SESSION,
            "prNumber": number,
            "prUrl": url,
            "prRepository": "carol/shop",
            "timestamp": "2026-11-30T08:05:00Z",
        }
    )


def test_the_session_s_pull_request_is_an_outcome_said_once() -> None:
    records = _Records()
    records.user("Open a pull request for the discount field.")
    lines = [*records.lines, _pr_link(7), _pr_link(7), _pr_link(True), _pr_link(8, url=None)]
    transcript = parse_lines(lines)
    facts = [i for i in transcript.items if i.metadata.get("pr")]
    assert [(i.content, i.priority.value, i.metadata["statement"]) for i in facts] == [
        (
            "The session's pull request is #7 of `carol/shop`: https://github.com/carol/shop/pull/7",
            "high",
            "conclusion",
        )
    ]
    assert len({i.id for i in transcript.items}) == len(transcript.items)  # said again: one item
    assert transcript.skipped_types["pr-link"] == 2  # no number, no address: nothing to say
    digest = session_digest(transcript.items, 200)
    assert "pull request is #7 of `carol/shop`" in digest.sections["decisions"]


def test_messages_queued_in_one_millisecond_are_two_requests() -> None:
    records = _Records()
    records.user("Review the payment module.")
    records.queue("enqueue", "check refunds")
    records.lines[-1] = records.lines[-1].replace(records._stamp(), "2026-11-30T08:00:00.5Z")
    records.queue("enqueue", "and chargebacks")
    records.lines[-1] = records.lines[-1].replace(records._stamp(), "2026-11-30T08:00:00.5Z")
    records.queue("remove")
    records.queue("remove")
    queued = [i for i in parse_lines(records.lines).items if i.metadata.get("queued")]
    assert [i.content for i in queued] == ["check refunds", "and chargebacks"]
    assert len({i.id for i in queued}) == 2


def test_records_that_cannot_be_stored_are_no_items_and_stop_nothing() -> None:
    """A queued text that is JSON nested past Python's recursion limit, a pull request number
    past 31 bits or an address of pages: the parse goes on (nothing raised), and what it
    keeps can be stored."""
    records = _Records()
    records.user("Open the pull request.")
    records.queue("enqueue", '{"a":' + "[" * 3000)
    records.queue("remove")
    lines = [*records.lines, _pr_link(2**70), _pr_link(10**4000), _pr_link(7, url="x" * 10_000)]
    lines += ['{"type": "user", "n": ' + "1" * 5000 + "}", "[" * 100_000]
    transcript = parse_lines(lines)
    assert not [i for i in transcript.items if i.metadata.get("pr")]
    assert transcript.skipped_types["pr-link"] == 3
    assert len(transcript.malformed) == 2  # the huge number and the deep nesting: unreadable
    queued = [i for i in transcript.items if i.metadata.get("queued")]
    assert len(queued) == 1  # (it was typed: it is no notice of Claude Code's)
    assert all(len(i.id) < 200 for i in transcript.items)


def _written(tmp_path: Any, records: _Records) -> tuple[Any, list[int]]:
    """The records as a transcript file, and the byte offset after each line."""
    path = tmp_path / "t.jsonl"
    data = "".join(line + "\n" for line in records.lines).encode()
    path.write_bytes(data)
    ends = [i + 1 for i, byte in enumerate(data) if byte == 0x0A]
    return path, ends


@pytest.mark.parametrize("chunk", [None, 64])
def test_a_save_read_on_between_a_message_s_queuing_and_its_taking_takes_it_once(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, chunk: int | None
) -> None:
    """An incremental save (a ``pre-compact`` mid-turn) that read the transcript to a point
    between a message's ``enqueue`` and its ``remove`` starts with the queue as the records
    before that point left it: the message is taken, once, with the id a whole parse gives it;
    a message taken and delivered before that point is not taken again."""
    if chunk is not None:  # the records before the point read in pieces smaller than a line
        monkeypatch.setattr(queued, "_CHUNK", chunk)
    records = _Records()
    records.user("Add a discount code field to the checkout form.")
    records.queue("enqueue", "continue")
    records.queue("remove")
    records.delivered_as_attachment("continue")  # (newer versions: the same message again)
    records.queue("enqueue", "also make the code case-insensitive")
    boundary = len(records.lines)
    records.tool("Read", {"file_path": f"{CWD}/checkout.py"}, "1\tdef total(cart):\n")
    records.queue("remove")
    records.delivered_as_attachment("also make the code case-insensitive")
    records.queue("enqueue", "continue")
    records.queue("remove")
    records.said("The field is added and codes are compared case-insensitively.")
    path, ends = _written(tmp_path, records)
    whole = [i for i in parse_transcript(path).items if i.metadata.get("queued")]
    assert [i.content for i in whole] == [
        "continue",
        "also make the code case-insensitive",
        "continue",
    ]
    later = parse_transcript(path, start_offset=ends[boundary - 1]).items
    taken = [(i.id, i.content) for i in later if i.metadata.get("queued")]
    assert taken == [(i.id, i.content) for i in whole[1:]]
    for read in range(1, len(ends)):  # read on from after any line: what the rest takes
        later = parse_transcript(path, start_offset=ends[read - 1]).items
        ids = [i.id for i in later if i.metadata.get("queued")]
        # (an item is timed by the line that took it: line n is stamped n seconds after T0)
        assert ids == [i.id for i in whole if i.created_at >= T0 + timedelta(seconds=read)]


def test_a_save_read_on_after_a_message_s_taking_does_not_take_it_again(tmp_path: Any) -> None:
    """Between a ``remove`` and the attachment that delivers the same message again (newer
    versions), the queue read before the point knows the message was taken."""
    records = _Records()
    records.user("Rename `total` to `cart_total`.")
    records.queue("enqueue", "then run the tests")
    records.queue("remove")
    boundary = len(records.lines)
    records.delivered_as_attachment("then run the tests")
    records.said("Renamed; the tests pass.")
    path, ends = _written(tmp_path, records)
    later = parse_transcript(path, start_offset=ends[boundary - 1]).items
    assert not [i for i in later if i.metadata.get("queued")]


def test_a_save_whose_new_records_touch_no_queue_reads_nothing_before_them(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records before the point are read again only when a queue record comes after it:
    an incremental save of a session that queued nothing since stays as cheap as its new part."""
    records = _Records()
    records.user("Add a discount code field to the checkout form.")
    records.queue("enqueue", "also make it case-insensitive")
    records.queue("remove")
    boundary = len(records.lines)
    records.said("Done: the field is added.")
    path, ends = _written(tmp_path, records)

    def read(path: Any, offset: int) -> Any:
        raise AssertionError("the records before the point were read")

    monkeypatch.setattr(queued, "queue_before", read)
    later = parse_transcript(path, start_offset=ends[boundary - 1]).items
    assert [i.content for i in later] == ["Done: the field is added."]


def test_what_was_under_way_is_the_agent_s_latest_thinking_and_is_said_at_any_size() -> None:
    """The agent's thinking after its last words says where it had got to ("There's a test
    failure in ..."); the line is chosen before the others, as the latest request is, or a
    long line would lose to short ones at a tight budget."""
    records = _question_answered_mid_turn()
    records.tool("Bash", {"command": "pytest -q"}, "Exit code 1\nFAILED test_total - 10.01 != 10.0")
    thought = "There's a test failure in `test_total`: 10.01 against 10.0. Let me read the test."
    for n in range(40):  # many short lines that would each be worth more per token
        records.said(f"`field_{n}` checked.")
        records.tool("Read", {"file_path": f"{CWD}/f{n}.py"}, f"1\tdef field_{n}():\n")
    records._base(
        "assistant",
        {"role": "assistant", "content": [{"type": "thinking", "thinking": thought}]},
    )
    items = parse_lines(records.lines).items
    for budget in (400, 1000):
        digest = session_digest(items, budget)
        assert f"{UNDER_WAY}There's a test failure in `test_total`" in digest.sections["open"]


def test_thinking_that_says_the_request_over_is_not_what_was_under_way() -> None:
    records = _Records()
    records.user("Why does the terminal not scroll?")
    records.tool("Read", {"file_path": f"{CWD}/app.js"}, "1\tconst term = new Terminal();\n")
    for thought in (
        "The user wants me to research why scrolling does not work. Let me search for this.",
        "The user is asking about the terminal's scrolling in the page.",
    ):
        records._base(
            "assistant",
            {"role": "assistant", "content": [{"type": "thinking", "thinking": thought}]},
        )
        records.tool("WebSearch", {"query": "xterm.js scroll"}, "results")
    assert UNDER_WAY not in session_digest(parse_lines(records.lines).items, 2000).text


def test_a_short_digest_never_says_a_stump_of_what_was_under_way() -> None:
    """Cut to a short digest's share, the agent's last words lose what they were about ("Under
    way when the session stopped: Now I'll rewrite the entire…"): such a stump is left out and
    its room goes to lines that say something; the line is said whole where it fits."""
    records = _question_answered_mid_turn()
    said = (
        "Now I'll rewrite the entire form handling so that the discount code is read once, "
        "checked against the active promotions and applied in `apply_discount` before "
        "`total` rounds the amount."
    )
    records.said(said)
    records.tool("Read", {"file_path": f"{CWD}/promotions.py"}, "1\tACTIVE = []\n")
    items = parse_lines(records.lines).items
    for budget in range(90, 420, 10):
        lines = session_digest(items, budget).text.splitlines()
        under_way = [line for line in lines if line.startswith(UNDER_WAY)]
        for line in under_way:
            assert "`apply_discount`" in line, (budget, line)
    assert f"{UNDER_WAY}{said}" in session_digest(items, 1000).text
