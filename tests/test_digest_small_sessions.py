"""Small sessions at small budgets: a digest says a line whenever one fits, never more than the
budget. A session whose only lines are spare lines (tool calls with no result, `git status`, a
page fetched, the agent's plain prose) gave an empty brief under 600 tokens, and ``memcore
digest --budget 500`` said that no line fit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from memcore import MemoryItem, session_digest, session_digests
from memcore.digest import SECTIONS
from memcore.tokens import get_token_counter
from tests.cli_support import run_cli
from tests.test_transcript_agent_records import _Records

BUDGETS = (20, 50, 100, 150, 300, 500, 900)
CART = "def total():\n    return 1\n"


def _call(records: _Records, command: str, description: str) -> None:
    """A ``Bash`` call with no result (the session ended, or the user stopped it, first)."""
    tool = {"command": command, "description": description}
    block = {"type": "tool_use", "id": f"toolu_{len(records.lines):04d}", "name": "Bash"}
    records._base("assistant", {"role": "assistant", "content": [{**block, "input": tool}]})


def _only_a_call(r: _Records) -> None:
    _call(r, "mix phx.server", "Start server")


def _only_a_run(r: _Records) -> None:
    r.ran("mix phx.server", "Server started on port 4000")


def _only_git_status(r: _Records) -> None:
    r.ran("git status", "nothing to commit, working tree clean")


def _only_looks(r: _Records) -> None:
    r.ran("ls", "app.py cart.py")
    r.ran("git status", "nothing to commit")


def _only_a_read(r: _Records) -> None:
    r.tool("Read", {"file_path": "/home/u/p/app.py"}, "def main():\n    pass\n")


def _only_a_fetch(r: _Records) -> None:
    fetch = {"url": "https://hexdocs.pm/phoenix/up.html", "prompt": "how to start the server"}
    r.tool("WebFetch", fetch, "Run mix phx.server.")


def _only_a_request(r: _Records) -> None:
    r.user("make the total round half up in the cart")


def _a_request_and_an_edit(r: _Records) -> None:
    r.user("make the total round half up in the cart")
    r.edit("cart.py", CART, "return 1", "return round(1)")


def _only_an_edit(r: _Records) -> None:
    r.edit("cart.py", CART, "return 1", "return round(1)")


def _only_prose(r: _Records) -> None:
    r.said("There are two instances.")


def _a_question_answered(r: _Records) -> None:
    r.user("why does the build fail?")
    r.said("The build fails because `setup.py` pins an old `numpy`.")


def _a_request_and_a_call(r: _Records) -> None:
    r.user("start the server please")
    _call(r, "mix phx.server", "Start server")


def _a_failed_run(r: _Records) -> None:
    r.ran("pytest -q", "1 failed", code=1)


def _a_small_task(r: _Records) -> None:
    r.user("make the total round half up in the cart")
    r.said("There are two instances.")
    r.edit("cart.py", CART, "return 1", "return round(1)")
    r.ran("pytest -q", "3 passed")
    r.said("The total now rounds half up.")


SHAPES: dict[str, Callable[[_Records], None]] = {
    "a call": _only_a_call,
    "a run": _only_a_run,
    "git status": _only_git_status,
    "looks": _only_looks,
    "a read": _only_a_read,
    "a fetch": _only_a_fetch,
    "a request": _only_a_request,
    "a request and an edit": _a_request_and_an_edit,
    "an edit": _only_an_edit,
    "prose": _only_prose,
    "a question answered": _a_question_answered,
    "a request and a call": _a_request_and_a_call,
    "a failed run": _a_failed_run,
    "a small task": _a_small_task,
}


def _items(shape: Callable[[_Records], None]) -> list[MemoryItem]:
    records = _Records()
    shape(records)
    return records.items()


_TITLES = {name: title for name, title, _ in SECTIONS}


def _alone(text: str) -> list[str]:
    """Each line of a digest's ``text`` as a digest of that line alone (under its heading)."""
    out, heading = [], ""
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line
        elif line.startswith("- "):
            out.append(f"{heading}\n{line}")
    return out


@pytest.mark.parametrize("shape", SHAPES.values(), ids=list(SHAPES))
def test_a_line_that_fits_is_said_and_the_budget_holds(
    shape: Callable[[_Records], None],
) -> None:
    """At every budget the digest fits, and it says something whenever a line of the session's
    roomy digest fits alone (a smaller one may say another line, or the same line cut)."""
    count = get_token_counter()
    items = _items(shape)
    *small, roomy = session_digests(items, BUDGETS)
    assert roomy.text, "the session has something to say"
    least = min(count(alone) for alone in _alone(roomy.text))
    for budget, digest in zip(BUDGETS, small, strict=False):
        assert digest.tokens == count(digest.text) <= budget, budget
        if least <= budget:
            assert digest.text, (budget, least)


@pytest.mark.parametrize("budget", [20, 50, 100, 150, 300, 500, 600, 2000])
def test_a_session_of_one_call_with_no_result_says_it_at_any_budget(budget: int) -> None:
    """The probe's session: one command called, no result. Its only line is the call's own
    words, a spare line, which a brief (under 600 tokens) kept out of its room: the brief was
    empty though the line takes 17 tokens."""
    digest = session_digest(_items(_only_a_call), budget)
    assert digest.text == "## Commands and outcomes\n- Ran `mix phx.server` (Start server)."


def test_a_brief_whose_lines_are_all_said_says_the_commands_too() -> None:
    """Once every line that matters is said, a brief's room takes the commands and calls that
    no other line says (a call with no result, a page fetched) but not the agent's plain prose,
    which would be said out of its context."""
    work = _Records()
    work.user("start the server and check the docs")
    work.said("There are two instances.")
    _call(work, "mix phx.server", "Start server")
    fetch = {"url": "https://hexdocs.pm/phoenix/up.html", "prompt": "how to start it"}
    work.tool("WebFetch", fetch, "Run mix phx.server.")
    for budget in (150, 300, 500):
        text = session_digest(work.items(), budget).text
        assert "- The latest request is not answered yet: start the server" in text
        assert "- Ran `mix phx.server` (Start server)." in text
        assert "- Fetched `https://hexdocs.pm/phoenix/up.html`" in text
        assert "- There are two instances." not in text  # (its own line: no main line)
    assert "- There are two instances." in session_digest(work.items(), 600).text


def test_the_lines_that_matter_are_made_whole_before_a_brief_takes_a_command() -> None:
    """A long request seeded cut to its share is made whole again by room left: the commands'
    spare lines come after that, not in its place."""
    asked = (
        "the server does not start on my machine, it says the port is taken but nothing "
        "else runs there, can you look at the config and the release scripts and find out "
        "why it happens and what we should change"
    )
    work = _Records()
    work.user(asked)
    _call(work, "mix phx.server", "Start server")
    text = session_digest(work.items(), 150).text
    assert f"- The latest request is not answered yet: {asked}" in text
    assert "\u2026" not in text


@pytest.mark.parametrize("budget", [50, 150, 600])
def test_a_command_s_run_is_said_once(budget: int) -> None:
    """A command that only looks (`git status`, `ls`) is said by its outcome, not also by its
    call's own words ("Ran `git status`."), which said it twice."""
    text = session_digest(_items(_only_looks), budget).text
    assert text == (
        "## Commands and outcomes\n- `ls` ran once and succeeded.\n"
        "- `git status` ran once and succeeded: nothing to commit."
    )


def test_a_session_of_plain_prose_alone_is_said_in_a_brief() -> None:
    """With no other line to say, the agent's plain prose is the session's account."""
    for budget in (20, 150, 500):
        text = session_digest(_items(_only_prose), budget).text
        assert text == "## Decisions and results\n- There are two instances."


def test_memcore_digest_of_a_file_of_tool_calls_fits_a_small_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe: ``memcore digest FILE --budget 500`` failed ("a budget of 500 tokens holds no
    line of the digest ... give a larger --budget")."""
    monkeypatch.setenv("MEMCORE_HOME", str(tmp_path / "home"))
    records = _Records()
    _only_a_call(records)
    path = tmp_path / "11111111-2222-3333-4444-555555555555.jsonl"
    path.write_text("\n".join(records.lines) + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "digest", str(path), "--budget", "500")
    assert (code, err) == (0, "")
    assert out == "## Commands and outcomes\n- Ran `mix phx.server` (Start server).\n"
