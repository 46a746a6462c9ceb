"""What a session leaves open: a request not answered, the agent's last words and questions."""

from __future__ import annotations

import pytest

from memcore import MemoryItem, session_digest
from tests.digest_statements_support import HOUR, _agent, _asked
from tests.digest_support import T0


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        ("it worked!", "The user said: it worked!"),
        ("still no", "The user said: still no"),
        ("perfect, thanks!", "The user said: perfect, thanks!"),
        ("great, now commit", "The user asked: great, now commit"),
        ("ok, can you run the tests?", "The user asked: ok, can you run the tests?"),
        ("fix the failing test", "The user asked: fix the failing test"),
    ],
)
def test_a_reply_that_asks_nothing_is_said_not_asked(reply: str, said: str) -> None:
    meta = {"source": "claude-code", "role": "user", "kind": "task"}
    items = [
        MemoryItem("t", reply, metadata=meta, created_at=T0),
        _agent(1, "All 3 tests pass."),
        MemoryItem("u", "now update the changelog", metadata=meta, created_at=T0 + HOUR),
    ]
    asked = session_digest(items, 200).sections["asked"].splitlines()
    assert asked[0] == f"- {said}"


@pytest.mark.parametrize("answered", [True, False])
def test_a_request_is_open_only_when_the_turn_did_not_end_in_words(answered: bool) -> None:
    """Claude Code's turn ends with the agent's words: a request followed by work and then words
    was answered, even in words that conclude nothing ("Committed as ..."); one whose session
    stops amid tool calls is still open."""
    call = {"source": "claude-code", "role": "assistant", "kind": "tool_call", "tool": "Bash"}
    done = {**call, "role": "user", "kind": "tool_result", "command": "git commit -am wip"}
    items = [
        _asked("commit the changes we have so far"),
        MemoryItem("c", "Run `git commit -am wip`", metadata=call, created_at=T0 + HOUR),
        MemoryItem("r", "`git commit -am wip` succeeded", metadata=done, created_at=T0 + 2 * HOUR),
    ]
    if answered:
        items.append(_agent(200, "Committed as `a6c2d1b0`."))
    digest = session_digest(items, 300)
    request = "commit the changes we have so far"
    assert (f"The latest request is not answered yet: {request}" in digest.text) is not answered
    assert (f"The user asked: {request}" in digest.sections.get("asked", "")) is answered


@pytest.mark.parametrize(
    ("last_words", "open_line"),
    [
        (
            "Done. The remaining tasks are the docs and the changelog.",
            "Done. The remaining tasks are the docs and the changelog.",
        ),
        # an offer is said as one, a choice put to the user stays its question
        (
            "Would you like me to create the commit for you?",
            "The agent offered to create the commit.",
        ),
        ("Should I also run the **linter**?", "The agent asked whether to also run the linter."),
        (
            "Would you like me to implement Option 1, or keep it as-is?",
            "Awaiting the user's answer: Would you like me to "
            "implement Option 1, or keep it as-is?",
        ),
        # a short closing question is said with the line that holds what it asks about
        (
            "Option A keeps one file per session.\n\nOr one array in `metadata.json`. Which "
            "approach would you prefer?",
            "Awaiting the user's answer: Option A keeps one file per session. Or one array in "
            "`metadata.json`. Which approach would you prefer?",  # (the option "Or" goes on from)
        ),
        (
            "Both paths are covered.\n\nWhich one first?",
            "Awaiting the user's answer: Both paths are covered. Which one first?",
        ),
        ("Is that clear?", None),  # (no offer, no choice: nothing left to the user)
        ("The remaining ~20ms is the `machineid.ProtectedID()` call.", None),
        ("Committed. The only remaining untracked files are `a.md` and `b.md`.", None),
        ("All fixed: no remaining issues, nothing pending.", None),
    ],
)
def test_the_agent_s_last_words_are_open_work_only_when_they_say_some(
    last_words: str, open_line: str | None
) -> None:
    """The agent's last message is read for what it leaves open: remaining work, a question to
    the user (an offer said as what it is); a measurement of what remains ("the remaining
    ~20ms") or word that nothing remains is not open work."""
    items = [
        _asked("make the start faster"),
        _agent(100, last_words),
    ]
    said = session_digest(items, 400).sections.get("open", "").splitlines()
    if open_line is None:
        assert not any(last_words in line for line in said), said
    else:
        assert f"- {open_line}" in said


def test_a_closing_question_the_user_answered_or_put_to_an_agent_is_not_open() -> None:
    """The question the agent ended on is open only while nobody answered it: the user's reply
    after it is what is open then, and a sub-agent's question is for its agent, which answers
    it. Unanswered, it is chosen first at any budget (what the next session takes up)."""
    task = {"source": "claude-code", "role": "user", "kind": "task"}
    question = "Would you like me to implement Option 1, or keep it as-is?"
    asked = [
        MemoryItem("t", "compare the two handlers", metadata=task, created_at=T0),
        _agent(100, "Both handlers share the retry loop in `hooks.go`. " + question),
    ]
    for budget in (60, 150, 400):
        assert question in session_digest(asked, budget).sections.get("open", "")
    answered = [
        *asked,
        MemoryItem("u", "keep it as-is", metadata=task, created_at=T0 + 3 * HOUR),
    ]
    open_now = session_digest(answered, 400).sections.get("open", "")
    assert question not in open_now
    assert "The latest request is not answered yet: keep it as-is" in open_now
    sub = _agent(100, question)
    sub = MemoryItem(sub.id, sub.content, metadata={**sub.metadata, "sidechain": True},
                     created_at=sub.created_at)  # fmt: skip
    assert "Awaiting the user's answer" not in session_digest([asked[0], sub], 400).text


def test_a_reply_ending_on_the_user_s_go_is_open_and_its_readiness_no_result() -> None:
    """A held-out session ended on "Ready to start TC01 whenever you say go." after six
    "Ready for ..." lines said as results: the go it waits for is open; the others say
    nothing."""
    task = {"source": "claude-code", "role": "user", "kind": "task"}
    asked = "start the dev servers, then continue the UAT"
    last = "The `WEB_APP_URL` now covers port 5176.\n\nReady to start TC01 whenever you say go."
    items = [
        MemoryItem("t", asked, metadata=task, created_at=T0),
        _agent(10, "All three services are up. Ready for your next instructions."),
        _agent(20, last),
    ]
    digest = session_digest(items, 400)
    assert "Ready to start TC01 whenever you say go." in digest.sections.get("open", "")
    assert "Ready for your next instructions" not in digest.text


def test_a_closing_question_keeps_the_options_it_weighs() -> None:
    """ "Or to store an array ... Which approach would you prefer?": the option before it, said
    over a block that showed it, is part of what the user is asked to choose between."""
    reply = (
        "The fix could be to change the path structure to include the session ID:\n"
        "```\nab/c123/2026-01-12-sessionA/metadata.json\n```\n\n"
        "Or to store an array of sessions in `metadata.json`. Which approach would you prefer?"
    )
    asked = _asked("why do sessions overwrite?")
    text = session_digest([asked, _agent(5, reply)], 2000).text
    assert (
        "- Awaiting the user's answer: The fix could be to change the path structure to include "
        "the session ID. Or to store an array of sessions in `metadata.json`. Which approach "
        "would you prefer?" in text
    )
