"""What a session leaves open, beyond its last request: a failure the user pasted after the
agent's attempt (a traceback, a failing test's output: "that didn't work"), the user's last
report that nothing after it was seen to fix, and the to-do items the agent or the user listed
that the work after them did not do."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore import session_digest
from memcore.digest_listed import _core, _said_done, _telling, _words_after, listed_items
from memcore.digest_reports import failure_key, reported_failure
from memcore.model import MemoryItem
from tests.test_transcript_agent_records import _Records

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/home/bob/shop/cart.py", line 12, in <module>\n'
    "    main()\n"
    '  File "/home/bob/shop/cart.py", line 9, in main\n'
    "    print(totals['net'])\n"
    "KeyError: 'net'"
)


@pytest.mark.parametrize(
    ("text", "key", "check"),
    [
        (TRACEBACK, "KeyError: 'net'", False),  # (a traceback's last line names what failed)
        (
            "$ pytest\n..F\nFAILED tests/test_cart.py::test_total - assert 3 == 4\n1 failed",
            "FAILED tests/test_cart.py::test_total - assert 3 == 4",
            True,
        ),
        ("--- FAIL: TestTotal (0.00s)\n    cart_test.go:12: got 3\nFAIL", "--- FAIL:", True),
        ("src/cart.ts(4,7): error TS2322: Type 'string' is not assignable", "src/cart.ts", True),
        ("error[E0308]: mismatched types\n --> src/main.rs:4:5", "error[E0308]", True),
        ("I ran it and got:\n\nError: Cannot find module '@shop/core'", "Error: Cannot", False),
        ("go: cannot find main module, but found .git/config", "go: cannot find", False),
        ("fix the error in cart.py", None, False),  # (prose that speaks of an error)
        ("error handling in the loader should say which file failed", None, False),
        ("raise ValueError when the total is negative", None, False),
    ],
)
def test_the_line_of_a_pasted_failure_is_the_one_that_names_it(
    text: str, key: str | None, check: bool
) -> None:
    found = failure_key(text)
    if key is None:
        assert found is None
    else:
        assert found is not None
        assert found[0].startswith(key)
        assert found[1] is check


def test_words_saying_it_works_over_pasted_output_report_no_failure() -> None:
    """ "ok, it works now but the numbers are off:" over a log with an error line in it is no
    report that the fix failed."""
    pasted = "ok, it generally works now but line numbers are off:\n\nError: no session"
    assert reported_failure(pasted) is None
    assert reported_failure("still no luck:\n\nError: no session") is not None


def _fixed_then(report: str, *, answer: bool = True, check: str | None = None) -> _Records:
    """The agent fixes `cart.py` and says so; the user's next message is ``report``; with
    ``answer``, the agent edits again and says so (running ``check`` after, if given)."""
    records = _Records()
    records.user("the total crashes on an empty cart, fix it")
    records.edit("cart.py", "def total(c):\n    return c['net']\n", "c['net']", "c.get('net', 0)")
    records.said("Fixed the crash in `total()`: it now works for an empty cart.")
    records.user(report)
    if answer:
        records.edit("cart.py", "def main():\n    print(t['net'])\n", "t['net']", "t.get('net')")
        if check is not None:
            records.ran(check, "4 passed")
        records.said("The `main()` lookup had the same bug; changed it to `t.get('net')`.")
    return records


def test_a_failure_pasted_after_a_fix_says_the_fix_did_not_hold() -> None:
    """A traceback pasted after "Fixed ..., it now works" says it did not: the claim is said
    with the failure's line, never alone as a result, and the request says what failed
    first."""
    digest = session_digest(_fixed_then(TRACEBACK).items(), 2000)
    decisions = digest.sections["decisions"].splitlines()
    claim = next(line for line in decisions if "Fixed the crash" in line)
    assert claim.endswith("""(then the user pasted: "KeyError: 'net'")"""), claim
    assert """- The user pasted a failure ("KeyError: 'net'"): Traceback""" in digest.text
    # the agent's words after it are its answer: they are not marked
    assert any(line.endswith("`t.get('net')`.") for line in decisions), decisions


def test_a_failure_the_agent_named_itself_is_no_report_on_its_claims() -> None:
    records = _Records()
    records.user("make the e2e script check the metadata")
    records.edit("e2e.sh", "run\n", "run\n", "run\ncheck_metadata\n")
    records.said(
        'The attribution works now. The `entire session` calls show "unknown command": '
        "that command does not exist."
    )
    records.user('unknown command "session" for "entire"\n\nDid you mean this?\n  version')
    records.said("I'll take the calls out.")
    decisions = session_digest(records.items(), 2000).sections["decisions"]
    assert "then the user pasted" not in decisions, decisions


@pytest.mark.parametrize("budget", [300, 2000])
def test_the_user_s_last_report_not_seen_fixed_is_open(budget: int) -> None:
    """ "still not working" as the user's last words, then another fix the session never saw
    work: the problem is open, with what was changed since; not when the agent did not answer
    (the open request says it) nor when the user spoke again."""
    digest = session_digest(_fixed_then("still not working, same crash").items(), budget)
    assert (
        '- Not seen working after the user\'s last report: "still not working, same crash" '
        "(edited since: `cart.py`)." in digest.sections["open"]
    ), digest.text
    unanswered = session_digest(_fixed_then("still not working", answer=False).items(), 2000)
    assert "Not seen working" not in unanswered.text
    assert "The latest request is not answered yet: still not working" in unanswered.text
    records = _fixed_then("still not working")
    records.user("thanks, that did it")
    assert "Not seen working" not in session_digest(records.items(), 2000).text


def test_a_pasted_test_failure_is_not_open_once_the_tests_pass_after_the_fix() -> None:
    output = "$ pytest\nFAILED tests/test_cart.py::test_total - KeyError: 'net'\n1 failed"
    passed = session_digest(_fixed_then(output, check="pytest").items(), 2000).text
    assert "Not seen working" not in passed
    unchecked = session_digest(_fixed_then(output).items(), 2000).text
    assert (
        """- Not seen working after the user's last report: pasted "FAILED """
        """tests/test_cart.py::test_total - KeyError: 'net'" (edited since: `cart.py`)."""
    ) in unchecked


NEXT_STEPS = (
    "Export works now.\n\n### Next Steps\n\n"
    "1. **Sprint 1:** Fix the path normalization in `export.py`\n"
    "2. **Sprint 2:** Implement import functionality\n"
    "   - read the manifest first\n"
    "3. **Sprint 3:** Implement backup and restore\n\n"
    "Want me to start with Sprint 1?"
)


def test_the_agent_s_next_steps_not_done_are_open() -> None:
    """Its list of next steps is no result, but what the session leaves undone: each item the
    work after it did not touch is said open, on one line led by whose list it is, nested
    steps left to their item."""
    records = _Records()
    records.user("export the sessions")
    records.said(NEXT_STEPS)
    records.user("go ahead with sprint 1")
    records.edit("export.py", "p = path\n", "p = path", "p = normalize(path)")
    records.said("Done: `export.py` normalizes the path.")
    open_now = session_digest(records.items(), 2000).sections["open"].splitlines()
    assert open_now[0] == (
        """- Still open (the agent's "Next Steps"): Sprint 2: Implement import functionality; """
        "Sprint 3: Implement backup and restore"
    ), open_now
    assert not any("Sprint 1" in line or "manifest" in line for line in open_now)
    decisions = session_digest(records.items(), 2000).sections["decisions"]
    assert "Sprint 2" not in decisions
    assert "Sprint 3" not in decisions


def test_a_list_given_again_is_the_current_one_and_later_words_can_say_an_item_done() -> None:
    records = _Records()
    records.user("export the sessions")
    records.said("Remaining work:\n- Update the changelog\n- Add the `--anonymize` flag")
    records.said("Remaining work:\n- Add the `--anonymize` flag\n- Write the import docs")
    records.user("write the import docs now")
    records.said("The import docs are in the README now.")
    open_now = session_digest(records.items(), 2000).sections["open"]
    assert """- Still open (the agent's "Remaining work"): Add the `--anonymize` flag""" in open_now
    assert "changelog" not in open_now, open_now
    assert "import docs" not in open_now, open_now


def test_unchecked_boxes_are_open_and_checked_ones_done() -> None:
    text = "Plan:\n- [x] Parse the input\n- [ ] Validate the totals\n\n```\n- [ ] not a list\n```"
    assert listed_items(text) == [("", "Validate the totals")]
    records = _Records()
    records.user(f"here is the checklist:\n{text}")
    records.said("Parsing is in place.")
    open_now = session_digest(records.items(), 2000).sections["open"]
    assert "- Still open (unchecked in the user's list): Validate the totals" in open_now


def test_listed_items_stay_within_the_budget_and_the_same_bytes() -> None:
    records = _Records()
    records.user("export the sessions")
    steps = "\n".join(f"- Port the `handler_{n}()` formatter to the new writer" for n in range(40))
    records.said(f"Next steps:\n{steps}")
    items = records.items()
    for budget in (120, 300, 900):
        digest = session_digest(items, budget)
        assert digest.tokens <= budget
        assert digest.text == session_digest(list(reversed(items)), budget).text


CI_LOG = "FAILED tests/test_cart.py::test_total - KeyError: 'net'\n1 failed, 12 passed"


def _ci_report(report: str, *commands: tuple[str, str, int]) -> str:
    """Earlier work, then the user's ``report`` of the CI failing; the agent runs ``commands``
    (each with its output and exit code) around one fix of `cart.py` (those with output
    "before" before it) and says it is fixed: "Still open"."""
    records = _Records()
    records.user("add the net total to the cart")
    records.edit("cart.py", "def total(c):\n    return 0\n", "return 0", "return c['net']")
    records.said("Added the net total to `total()`.")
    records.user(report)
    for command, output, code in commands:
        if output.startswith("before"):
            records.ran(command, output.removeprefix("before "), code)
    records.edit("cart.py", "def total(c):\n    return c['net']\n", "c['net']", "c.get('net', 0)")
    for command, output, code in commands:
        if not output.startswith("before"):
            records.ran(command, output, code)
    records.said("Fixed `total()` for a cart with no net; pushed.")
    return session_digest(records.items(), 2000).sections.get("open", "")


@pytest.mark.parametrize(
    "report",
    [
        f"the CI is failing on main, here are the logs:\n\n{CI_LOG}",
        "Fix the failing CI actions. I've attached the failure logs. (attached: `/tmp/ci.log`)",
    ],
)
def test_a_ci_failure_reported_is_open_until_seen_fixed(report: str) -> None:
    """The CI's logs of a failure, pasted or attached: the tests that passed here, where the
    failure never showed (they passed before the fix too), do not say it is fixed, nor does
    no check at all; a look at the CI's runs that passed since, or the failure shown here and
    then passing, does."""
    opening = "- Not seen working after the user's last report: "
    not_shown_here = _ci_report(
        report, ("pytest", "before 13 passed", 0), ("pytest", "13 passed", 0)
    )
    assert opening in not_shown_here
    assert "no run of the CI seen passing since" in not_shown_here
    assert opening in _ci_report(report, ("git push", "main -> main", 0))
    seen = _ci_report(report, ("gh run watch 42", "\u2713 main CI \u00b7 42 completed success", 0))
    assert opening not in seen, seen
    shown_here = _ci_report(report, ("pytest", f"before {CI_LOG}", 1), ("pytest", "13 passed", 0))
    assert opening not in shown_here, shown_here


def test_an_attached_ci_log_is_named_in_the_open_line() -> None:
    report = "Fix the failing CI actions. I've attached the failure logs. (attached: `/tmp/ci.log`)"
    said = _ci_report(report)
    assert said.startswith(
        '- Not seen working after the user\'s last report: "Fix the failing CI actions" (no run '
        "of the CI seen passing since; its logs attached: `/tmp/ci.log`) (edited since: `cart.py`)."
    ), said


_LISTED_WORDS = st.sampled_from(
    ["Added", "the", "export", "exports", "manifest", "Manifests", "import", "tests", "now",
     "done", "still", "todo", "will", "Sprint 1:", "(later)", "RENDERED.md", "\u212aelvin",
     "\u0130mport", "ed", ".", "?", "\n", "- ", "1."]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.lists(_LISTED_WORDS, min_size=1, max_size=6).map(" ".join), max_size=4),
    later=st.lists(
        st.tuples(
            st.sampled_from(["fact", "task", "tool_call"]),
            st.lists(_LISTED_WORDS, max_size=12).map(" ".join),
        ),
        max_size=6,
    ),
)
def test_the_words_read_for_listed_items_settle_them_as_all_words_do(
    texts: list[str], later: list[tuple[str, str]]
) -> None:
    """``_words_after`` reads only the texts that may say one of the items it is for: each
    item is said done by them as by the words of every text after the list."""
    items = [MemoryItem("0", "list", metadata={"kind": "fact"})] + [
        MemoryItem(str(k + 1), content or "x", metadata={"kind": kind})
        for k, (kind, content) in enumerate(later)
    ]
    every = _words_after(items, 0)
    read = _words_after(items, 0, [_telling(_core(text)) for text in texts])
    for text in texts:
        assert _said_done(text, read, []) == _said_done(text, every, [])


def test_a_todo_marker_the_agent_wrote_is_no_work_left_open() -> None:
    """A held-out session's last reply said what it had done "with a TODO marker for when this
    gets picked up": the line was said open, beside its own line as a result."""
    records = _Records()
    records.user("update the todo from the review comments")
    records.edit("todo.md", "# Spec\nsee Perplexity\n", "see Perplexity", "## Full specification")
    records.said(
        "All three review comments are addressed:\n\n"
        "3. **External reference removed** (lines 48-62): Replaced the dangling reference with a "
        "version-controlled section, with a TODO marker for when this gets picked up."
    )
    opened = session_digest(records.items(), 2000).sections["open"]
    assert "TODO marker" not in opened, opened
    left = _Records()  # (a TODO said as work left stays open)
    left.user("update the todo")
    left.said("One TODO remains: wire the `--dry-run` flag into the exporter.")
    assert "`--dry-run`" in session_digest(left.items(), 2000).sections["open"]
