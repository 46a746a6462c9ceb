"""The latest requests stay whole through an overflow -- unless one is a dump (a pasted log)."""

from __future__ import annotations

from memcore import SessionState, handle_context_overflow
from memcore.overflow import REQUEST_SHARE
from tests.test_overflow import agent_item, agent_session, tokens_of


def test_a_pasted_log_as_the_latest_request_is_not_kept_whole() -> None:
    items = agent_session()
    log = "\n".join(
        f"2026-03-01T11:{m:02d}:00Z worker-{m} retry {m} of send_batch()" for m in range(60)
    )
    items.append(agent_item("paste", f"it still fails:\n{log}", "task", 202, role="user"))
    budget = tokens_of(items) // 12
    assert tokens_of(items[-1:]) > REQUEST_SHARE * budget  # a dump, by its size
    state = SessionState(items, budget, now=items[-1].created_at)
    outcome = handle_context_overflow(state)
    kept = {item.id for item in state.items}
    assert "paste" not in kept  # said by the digest instead, in far fewer tokens
    assert {"ask1", "ask2"} <= kept  # the requests before it stay whole
    # the digest says all the history holds, and the dumps left are too big for the room left
    assert 0.65 * budget <= outcome.final_token_count <= 0.80 * budget
    (digest,) = [i for i in state.items if i.metadata.get("level") == "session_digest"]
    assert "it still fails" in digest.content


def test_short_latest_requests_stay_whole() -> None:
    items = agent_session()
    budget = tokens_of(items) // 12
    state = SessionState(items, budget, now=items[-1].created_at)
    handle_context_overflow(state)
    kept = {item.id: item for item in state.items}
    assert kept["ask1"].content == "Now add a test for the backoff"
    assert kept["ask2"].content == "Also log each retry at debug level"


def test_the_agent_s_musing_past_a_dump_too_big_to_keep_goes_to_the_digest() -> None:
    """The latest items stay whole newest first, a dump too big for the room passed over; the
    agent's thinking older than such a gap is no longer the session's end, and kept whole it
    would stand alone, out of its place: the digest has it instead. The latest items' own
    thinking stays whole."""
    items = agent_session()
    base = 200
    dump = "\n".join(f"row {j}: value {j * 7} for handler_{j}" for j in range(400))
    items += [
        agent_item("muse-old", "Now let me run the tests:", "thinking", base),
        agent_item("big", f"Read src/exporter/rows.txt\n{dump}", "tool_result", base + 1),
        agent_item("muse-new", "Now update the call site:", "thinking", base + 2),
        agent_item("done", "All 12 exporter tests pass.", "fact", base + 3),
    ]
    budget = tokens_of(items) // 12
    state = SessionState(items, budget, now=items[-1].created_at)
    handle_context_overflow(state)
    kept = {item.id for item in state.items}
    assert {"muse-new", "done"} <= kept
    assert "big" not in kept
    assert "muse-old" not in kept
