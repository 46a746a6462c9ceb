"""What was asked, as the digest says it: a slash command's request, pasted output told from
a request, a short digest's topic first, and the items of a request's lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import memcore.digest_asked
from memcore import MemoryItem, session_digest
from tests.digest_support import T0
from tests.test_transcript_agent_records import _Records


def test_a_slash_command_given_a_request_is_what_was_asked() -> None:
    """``/workflows:plan <what to build>`` asks for work: its arguments are the request (the
    session's topic); ``/deploy staging`` and ``/fix-issue 123`` run a shortcut."""

    def command(name: str, args: str) -> str:
        return (
            f"<command-message>{name.strip('/')}</command-message>\n"
            f"<command-name>{name}</command-name>\n<command-args>{args}</command-args>"
        )

    records = _Records()
    records.user(command("/workflows:plan", "make the session conflict warning optional in setup"))
    records.user(command("/deploy", "staging"))
    records.user(command("/fix-issue", "123"))
    records.tool("Bash", {"command": "go test ./..."}, "ok")
    records.said("All tests pass.")
    digest = session_digest(records.items(), 2000)
    asked = digest.sections["asked"].splitlines()
    assert asked[0] == (
        "- The user asked (`/workflows:plan`): make the session conflict warning optional in setup"
    )
    assert "- The user ran the command `/deploy staging`." in asked
    assert "- The user ran the command `/fix-issue 123`." in asked
    short = session_digest(records.items(), 60).text  # a short digest says its topic first
    assert "make the session conflict warning optional" in short
    records.user(command("/workflows:plan", "now add a flag for it to the enable command"))
    still = session_digest(records.items(), 2000).sections["open"]
    assert still == (
        "- The latest request is not answered yet: `/workflows:plan`: now add a flag for it to "
        "the enable command"
    )


@pytest.mark.parametrize(
    ("request_text", "said"),
    [
        # (a program's failure: said first, as what the user's paste is)
        ('unknown command "session" for "entire" Did you mean this? version', "pasted a failure"),
        ("cmd/entire/cli/hooks.go:634:64: not enough arguments in call", "pasted a failure"),
        ("Error: Cannot find module '@chkit/core'", "pasted a failure"),
        ("error handling in the loader should say which file failed", "asked"),
        ("fix the error in cart.py", "asked"),
        ("(llm) jim@DESKTOP-8Q:/mnt/c/python/x$ claude -c No conversation found", "pasted"),
        ("marc@mbp chkit % bun test", "pasted"),
        ("$ npm run build\n> tsc -p .", "pasted"),
        ("PS C:\\Users\\me\\app> npm test", "pasted"),
        ("email me@example.com: the $ sign in prices is wrong", "asked"),
    ],
)
def test_a_request_that_is_pasted_output_is_said_to_be_pasted(request_text: str, said: str) -> None:
    items = [
        MemoryItem("t", request_text, metadata={"kind": "task"}, created_at=T0),
        # the latest request is told under "Still open": this one stays under "What was asked"
        MemoryItem("u", "now add a test for it", metadata={"kind": "task"}, created_at=T0),
    ]
    asked = session_digest(items, 400).sections["asked"]
    assert asked.startswith(f"- The user {said}: ")


def test_a_short_digest_first_says_what_the_session_was_about() -> None:
    """A long first request is priced out of a short digest by lines worth more per token; it is
    said first, cut to the share of what was asked."""
    records = _Records()
    request = (
        "Add a `--dry-run` flag to `cli/export.py` that prints what would be exported "
        + "and keeps every file where it is, with a test for each of the formats " * 6
    )
    records.user(request)
    for i in range(200):
        records.said(f"Updated `handler_{i}()` in `cli/formats/f{i}.py`: all 12 tests pass.")
    items = records.items()
    for budget in (150, 300, 500, 2000):  # (a compaction-sized one too: its primary request)
        digest = session_digest(items, budget)
        assert digest.tokens <= budget
        assert "- The user asked: Add a `--dry-run` flag to `cli/export.py`" in digest.text


@pytest.mark.parametrize(
    ("text", "items"),
    [
        (
            "Wire it into 3 points: 1. `hooks.go`: EventSessionStart 2. `strategy.go`: TurnStart"
            " 3. `handlers.go`: TurnEnd",
            [
                "Wire it into 3 points:",
                "`hooks.go`: EventSessionStart",
                "`strategy.go`: TurnStart",
                "`handlers.go`: TurnEnd",
            ],
        ),
        ("1. a 2) b", ["a", "b"]),
        ("See line 54. The fix is 2. words", ["See line 54. The fix is 2. words"]),  # no 1.
        ("Step 2. then 1. x", ["Step 2. then 1. x"]),  # one item of a list is none
    ],
)
def test_a_numbered_list_flattened_into_a_request_is_split_at_its_items(
    text: str, items: list[str]
) -> None:
    """ "... EventSessionStart 2. `strategy.go` ..." is two items, not a line ending "2."."""
    assert memcore.digest_asked.numbered_items(text) == items


@given(st.text(alphabet="12 .)ab\n", max_size=40))
def test_numbered_items_keep_every_word_but_the_numbers(text: str) -> None:
    items = memcore.digest_asked.numbered_items(text)
    assert all(items) or items == [text]  # (no list: the text as it was)
    words = " ".join(items).split()
    assert len(words) <= len(text.split())
    assert set(words) <= set(text.split())


def test_a_long_requests_items_lose_their_boxes_and_bold_marks() -> None:
    """ "- **0 args**: `list()` ..." and "- [ ] `lint` passes" in a request: the marks are no
    words of the digest's lines."""
    from memcore.digest_asked import _rest_pieces

    source = "Do it.\n\n- **0 args**: `list()` prints the agents\n- [ ] `mise run lint` passes\n"
    words = source.split()
    pieces = [piece for piece in _rest_pieces(source, words, 2) if piece]
    assert pieces == ["0 args: `list()` prints the agents", "`mise run lint` passes"]
