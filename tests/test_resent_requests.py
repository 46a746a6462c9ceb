"""A request the user sent again before the agent said or did anything (a resend with more
words, a duplicate record) is one request: the digest says its last form, and session-start does
not count it as a request made twice (``session_items.resent_requests``)."""

from __future__ import annotations

from memcore import session_digest
from memcore.claude_code.session_record import fresh_record
from memcore.session_items import resent_requests
from tests.test_transcript_agent_records import CWD, _Records

FIRST = (
    "I think the desktop env and env.example should be updated with all the default values "
    "including pointing at the staging api. you can make a note of this in the claude.md"
)
AGAIN = FIRST.replace("the claude.md", "`apps/desktop/claude.md`") + (
    ", if some task needs the local api; most tasks run against the staging api."
)


def _thinking(records: _Records, text: str) -> None:
    records._base(
        "assistant", {"role": "assistant", "content": [{"type": "thinking", "thinking": text}]}
    )


def _resent() -> _Records:
    records = _Records()
    records.user(FIRST)
    _thinking(records, "The user wants the env files updated.")
    records.user(AGAIN)
    records.tool("Write", {"file_path": f"{CWD}/apps/desktop/.env", "content": "A=1\n"}, "ok")
    reply = {"role": "assistant", "content": [{"type": "text", "text": "Updated the env file."}]}
    records._base("assistant", reply)
    return records


def test_a_request_sent_again_before_any_reply_is_resent() -> None:
    items = _resent().items()
    (first,) = [i for i in items if i.metadata.get("kind") == "task" and i.content == FIRST]
    assert resent_requests(items) == {first.id}
    # answered in between: asked twice
    answered = _Records()
    answered.user(FIRST)
    reply = {"role": "assistant", "content": [{"type": "text", "text": "Done: both updated."}]}
    answered._base("assistant", reply)
    answered.user(AGAIN)
    assert resent_requests(answered.items()) == frozenset()
    # another request, not the same one sent again
    other = _Records()
    other.user(FIRST)
    other.user("Now run the desktop app against staging and check the login page.")
    assert resent_requests(other.items()) == frozenset()


def test_the_digest_says_a_resent_request_once_by_its_last_form() -> None:
    text = session_digest(_resent().items(), 2000).text
    assert "`apps/desktop/claude.md`" in text
    assert "in the claude.md" not in text


def test_a_resent_request_is_no_request_made_twice() -> None:
    items = _resent().items()
    record = fresh_record("s1", CWD, items, files={}, read_to={}, git_branch="main")
    assert record.common_tasks == []
