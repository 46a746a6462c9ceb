"""A failed command's API answer said by its messages, and one statement said once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.claude_code.commands import error_lines
from memcore.claude_code.error_bodies import json_messages

_GRAPHQL = (
    '{"data":{"repository":null},"errors":[{"type":"NOT_FOUND","path":["repository"],'
    '"locations":[{"line":3,"column":3}],"message":"Could not resolve to a Repository with the '
    "name 'ms/box'.\"}]}"
)


def test_an_answer_s_messages_are_its_statement() -> None:
    assert json_messages(_GRAPHQL) == ["Could not resolve to a Repository with the name 'ms/box'."]
    assert json_messages('{"message":"Not Found","documentation_url":"https://x"}') == ["Not Found"]
    assert json_messages('{"error": {"message": "Bad  credentials"}}') == ["Bad credentials"]
    assert json_messages('{"error": "invalid_grant"}') == ["invalid_grant"]
    assert json_messages('{"sha": "1a2b", "commit": {"message": "fix"}}') == []  # (no error)
    assert json_messages('{"a": 1') == []  # (no JSON)
    deep = '{"a":' * 5000 + "1" + "}" * 5000
    assert json_messages(deep) == []  # (nested past what Python reads)


def test_a_failed_command_is_said_by_its_answer_s_message_or_the_line_that_says_more() -> None:
    said = "gh: Could not resolve to a Repository with the name 'ms/box'."
    assert error_lines(f"Exit code 1\n{said}\n\n{_GRAPHQL}") == [said]
    rest = 'gh: Not Found (HTTP 404)\n{"message":"Not Found","status":"404"}'
    assert error_lines(rest) == ["gh: Not Found (HTTP 404)"]
    assert error_lines('{"error": {"message": "Bad credentials"}}') == ["Bad credentials"]


def test_one_statement_printed_twice_is_said_once() -> None:
    """git's "error: could not apply 1a2b3c4... x", then its closing "Could not apply
    1a2b3c4... # x"."""
    text = (
        "error: could not apply ad0c095... perf: walk the worktree\n"
        'hint: To abort and get back to the state before "git rebase", run "git rebase --abort".\n'
        "Could not apply ad0c095... # perf: walk the worktree\n"
    )
    lines = error_lines(text)
    assert lines[0] == "error: could not apply ad0c095... perf: walk the worktree"
    assert not any(line.startswith("Could not apply") for line in lines)
    assert error_lines("Could not find a version that satisfies the requirement foo") == [
        "Could not find a version that satisfies the requirement foo"
    ]


@given(st.text(alphabet='{}[]":,a1 \\', max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_brace_text_gives_messages_or_none(text: str) -> None:
    messages = json_messages("{" + text + "}")
    assert all(isinstance(m, str) and m for m in messages)
    assert len(messages) <= 3
