"""The agent's sentences as digest lines: each must stand on its own (no finding it does not
name, no lead-in that promised a list left behind), and thinking aloud is no result; and
``session_digests``, several sizes of one digest from one reading of the items."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from memcore import (
    MemoryItem,
    digest_prose,
    digest_settled,
    session_digest,
    session_digests,
)
from memcore.digest_prose import GLUED_FENCE, unglue_fences
from memcore.errors import ValidationError
from tests.test_digest import REAL, needs_data

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def _asked(request: str) -> MemoryItem:
    meta = {"source": "claude-code", "role": "user", "kind": "task"}
    return MemoryItem("t", request, metadata=meta, created_at=T0)


def _agent(i: int, content: str) -> MemoryItem:
    meta = {"source": "claude-code", "role": "assistant", "kind": "fact"}
    return MemoryItem(f"a{i}", content, metadata=meta, created_at=T0 + timedelta(minutes=i))


def _said(text: str) -> str:
    """The digest, in 400 tokens, of one reply of the agent's saying ``text``."""
    return session_digest([_agent(0, text)], 400).text


def test_a_name_alone_in_an_agents_list_is_no_result() -> None:
    """A worked example's nested items ("- `import random` (1 line)") name something and say
    nothing of it: the digest keeps the sentence around them, not them."""
    text = (
        "So Claude added to `main.py`:\n"
        "   - `import random` (1 line)\n"
        "   - `def get_random_number():` (1 line)\n"
        "The attribution counts `main.py` as 4 agent lines, which is right."
    )
    digest = _said(text)
    assert "(1 line)" not in digest
    assert "The attribution counts `main.py` as 4 agent lines, which is right." in digest


def test_options_put_to_the_user_are_no_decisions() -> None:
    """ "Would you like me to: 1. Remove the calls 2. Implement the `session` command" offers a
    choice: neither option was decided or done (the user chose the other way)."""
    reply = (
        "The attribution test works: `main.py` counts 4 agent lines.\n\n"
        "Would you like me to:\n"
        "1. **Remove** the `entire session` calls from `test.sh` (quick fix)\n"
        "2. **Implement** the `session` command to expose session listing\n"
        "   and its status\n\n"
        "Which approach do you prefer?"
    )
    digest = session_digest([_agent(0, reply)], 400).text
    assert "The attribution test works: `main.py` counts 4 agent lines." in digest
    assert "Implement" not in digest
    assert "Remove" not in digest


def test_pointers_and_musing_give_way_to_what_they_point_at() -> None:
    text = (
        "I found the bug! The map in `merge()` was iterated in random order. "
        "Wait, the test in `merge_test.go` still passes. "
        "Here's what was fixed:\n\n- `merge()` sorts its keys\n\n"
        "Updated `sortKeys()` in `merge.go` to:\n\n```go\nsort.Strings(keys)\n```\n"
    )
    decisions = session_digest([_agent(1, text)], 60).sections["decisions"]
    assert "The map in `merge()` was iterated in random order." in decisions
    assert "Updated `sortKeys()` in `merge.go`." in decisions
    assert "I found the bug" not in decisions
    assert "Here's what" not in decisions
    roomy = session_digest([_agent(1, text)], 1000).sections["decisions"]
    assert "I found the bug" not in roomy  # not even as a spare line
    # thinking aloud weighs less than a finding: with room for one, the finding is said
    musing = "The map in `merge()` is sorted now. Wait, the test in `merge_test.go` passes."
    tight = session_digest([_agent(1, musing)], 20).sections["decisions"]
    assert "`merge()` is sorted" in tight
    assert "Wait" not in tight


def test_guesses_and_asides_that_name_nothing_are_no_lines_even_with_room() -> None:
    """An agent thinking aloud ("Maybe ...", "Actually, ...", "It seems ...", "But first ...")
    names no result; with room to spare the digest still leaves such a sentence out, while a
    musing that names something weighs less than a finding and stays a candidate."""
    text = (
        "Maybe there were merge conflicts I didn't see. "
        "Actually, it might be simpler to restore the file. "
        "It seems like the stash came from an older branch. "
        "It looks like some new changes came in. "
        "But first I need to find where the input is defined. "
        "Hmm, that is odd. "
        "The build failed because `InitializeSession` takes three arguments now. "
        "Actually, `hooks_geminicli_handlers.go` still passes two."
    )
    decisions = session_digest([_agent(1, text)], 1000).sections["decisions"]
    assert "`InitializeSession` takes three arguments now" in decisions
    assert "`hooks_geminicli_handlers.go` still passes two" in decisions  # (names something)
    for aside in ("Maybe", "simpler to restore", "It seems", "It looks like", "But first", "Hmm"):
        assert aside not in decisions


@needs_data
def test_several_sizes_from_one_reading_equal_one_digest_each() -> None:
    from memcore.claude_code import parse_transcript

    items = parse_transcript(REAL).items
    budgets = (900, 150, 300, 0)
    many = session_digests(items, budgets)
    assert [d.text for d in many] == [session_digest(items, b).text for b in budgets]
    assert all(d.tokens <= b for d, b in zip(many, budgets, strict=True))
    assert session_digests(items, []) == []
    with pytest.raises(ValidationError):
        session_digests(items, (300, -1))


@pytest.mark.parametrize(
    ("codes", "said"),
    [
        ((2,), "`make test` ran once and failed (exit 2)."),
        ((1, 2), "`make test` ran twice and failed every time (exit 2 on the last)."),
        ((0, 1), "`make test` ran twice and failed (exit 1) on its last run."),
        ((1, 0), "`make test` ran twice and failed once, then passed."),
    ],
)
def test_a_failed_command_says_how_often_it_failed(codes: tuple[int, ...], said: str) -> None:
    items = []
    for i, code in enumerate(codes):
        meta = {
            "source": "claude-code",
            "role": "user",
            "kind": "error" if code else "tool_result",
            "tool": "Bash",
            "command": "make test",
            "exit_code": code,
        }
        text = f"make test: exit {code}"
        items.append(MemoryItem(f"r{i}", text, metadata=meta, created_at=T0 + timedelta(seconds=i)))
    assert f"- {said}" in session_digest(items, 400).sections["commands"].splitlines()


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


def test_the_same_addition_to_several_files_is_told_once() -> None:
    """A setting added to every package's config: one line names the files (as evenly split
    as lines of at most four allow), each file once, rather than one line per edit."""
    from tests.test_transcript_agent_records import CWD, _Records

    records = _Records()
    records.user("add outDir to every package's tsconfig")
    packages = ["cli", "core", "codegen", "pull", "typegen"]
    for name in [*packages, "cli"]:  # cli edited twice, the same way
        edit = {
            "file_path": f"{CWD}/packages/{name}/tsconfig.json",
            "old_string": '  "strict": true',
            "new_string": '  "strict": true,\n  "outDir": "dist"',
        }
        records.tool("Edit", edit, "The file has been updated.")
    files = session_digest(records.items(), 2000).sections["files"].splitlines()
    told = [line for line in files if " added " in line and '`"outDir": "dist"`' in line]
    assert len(told) == 2
    assert all(line.startswith("- Edits of ") and " each added " in line for line in told)
    named = [p for line in told for p in packages if f"`packages/{p}/tsconfig.json`" in line]
    assert sorted(named) == sorted(packages)


def test_a_briefs_lead_ins_stand_on_their_own_too() -> None:
    """A plan's line that introduced a list or a block it does not keep: said as a statement,
    or left out when it only pointed at what followed."""
    meta = {
        "source": "claude-code",
        "role": "assistant",
        "kind": "tool_call",
        "tool": "ExitPlanMode",
        "brief": [
            "Rename `TypegenPlugin` to `CodegenPlugin`.",
            "Here's what changes:",
            "Remove the `skill` line in `help.ts` (line 14):",
        ],
    }
    items = [MemoryItem("p", "Plan", metadata=meta, created_at=T0)]
    asked = session_digest(items, 400).sections["asked"].splitlines()
    assert asked == [
        "- The plan the agent proposed says: Rename `TypegenPlugin` to `CodegenPlugin`.",
        "  - Remove the `skill` line in `help.ts` (line 14).",
    ]


def test_a_brief_whose_every_line_points_at_what_follows_gives_no_line() -> None:
    meta = {
        "source": "claude-code",
        "role": "assistant",
        "kind": "tool_call",
        "tool": "Task",
        "brief": ["Here's what changes:"],
    }
    items = [MemoryItem("p", "Sub-agent task: rename", metadata=meta, created_at=T0)]
    assert "brief" not in session_digest(items, 400).text


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


def test_thinking_says_what_it_found_not_what_it_guessed_planned_or_was_asked() -> None:
    """Thinking is provisional: a guess, the agent's plan, the user's request said over, or a
    question would read in a digest as what was found or decided. What it states stays."""
    meta = {"source": "claude-code", "role": "assistant", "kind": "thinking"}
    settled = "`merge()` drops `x` when the map is empty."
    unsettled = [
        "The issue might be that `load()` skips `y`.",
        "The user wants me to fix `save()` in `store.go`.",
        "I'll update `flush()` next.",
        "So we need to change `close()` first.",
        "Does `open()` return `nil` here?",
        "There's `BatchUploadTimeout` (defaults to 10 seconds!) - that's likely the issue.",
        "The delay must be in `Close()`.",
        "So `process.cwd()` inside the subprocess should be `fixture.dir`.",
        "It seems to hang in `Flush()` before `Close()` returns.",
    ]
    seen = "I can see the bug now: `boot.py` calls `load_items` twice."
    # (naming nothing, a guess would come back as a spare line when room is left)
    vague = "The issue might be somewhere in the cache layer of the shop."
    think = MemoryItem("k", " ".join([*unsettled, settled, seen]), metadata=meta, created_at=T0)
    aside = MemoryItem("v", vague, metadata=meta, created_at=T0 + HOUR)
    task = {"source": "claude-code", "role": "user", "kind": "task"}
    items = [
        MemoryItem("t", "fix the empty map case", metadata=task, created_at=T0 - HOUR),
        think,
        aside,
    ]
    text = session_digest(items, 2000).text
    assert settled in text
    assert seen in text  # (what the agent can see now is a finding)
    for sentence in [*unsettled, vague]:
        assert sentence not in text


def test_the_merits_of_an_option_are_no_results() -> None:
    """A list under "**Pros**:" (or cons, trade-offs) argues for an option, taken or not: its
    items are not said as results; a list of changes made is."""
    reply = (
        "### Option 3: Keep `hooks.go` as it is\n\n**Pros**:\n- Already tested in `hooks_test.go`"
        "\n- Clear and straightforward\n\nChanges made:\n- Added `retry()` to `hooks.go`"
    )
    items = [
        _asked("compare the handlers"),
        _agent(5, reply),
    ]
    text = session_digest(items, 2000).text
    assert "Already tested in `hooks_test.go`" not in text
    assert "Added `retry()` to `hooks.go`" in text


@pytest.mark.parametrize(
    "lead",
    [
        "If you commit your changes in the other session:",
        "**Likely culprits:**",
        "It could be because:",
        "To fix it, you'd need to:",
        "Option 3 seems cleanest because:",
    ],
)
def test_a_list_under_a_supposing_lead_in_is_no_result(lead: str) -> None:
    """Items under a condition, a guess or what a fix would take read as results said alone:
    they are none; a list under "When `f()` is called:" tells how things go, and stays."""
    supposed = "- `HasOtherActiveSessions()` returns `nil` for `sessionB`"
    told = "- `ListOrphanedItems()` opens the repository in `cleanup.go`"
    reply = f"{lead}\n{supposed}\n\nWhen `ListAll()` is called:\n{told}"
    items = [
        _asked("why does the warning show twice?"),
        _agent(5, reply),
    ]
    text = session_digest(items, 2000).text
    assert supposed[2:] not in text
    assert told[2:] in text


@given(st.text(alphabet="`~ \t\na.:\u00a0\x1c", max_size=40))
def test_code_fences_are_unglued_as_the_pattern_says(text: str) -> None:
    """``unglue_fences`` finds fences with ``str.find``; the pattern it replaced is the spec."""
    assert unglue_fences(text) == GLUED_FENCE.sub("\n\\1", text)


def test_an_echo_counts_only_the_chosen_lines_there_are_now() -> None:
    """The echo index follows the chosen list as it grows, and forgets a line when the list is
    replaced by one without it (the greedy's ``restore`` after a trial)."""
    from memcore.digest_echo import EchoIndex, EchoTexts
    from memcore.digest_lines import Candidate

    said = Candidate("decisions", 1, 5.0, "- The test is flaky: it passed in a previous CI run.")
    again = Candidate("decisions", 2, 5.0, "- The test is flaky: it passes in previous CI runs.")
    other = Candidate("files", 3, 5.0, "- The test is flaky: it passed in a previous CI run.")
    index = EchoIndex(EchoTexts())
    chosen: list[Candidate] = []
    assert not index.echoes(again, frozenset(), chosen)
    chosen.append(said)
    assert index.echoes(again, frozenset(), chosen)
    assert not index.echoes(other, frozenset(), chosen)  # another section
    assert not index.echoes(again, frozenset({"`x`"}), chosen)  # names what `said` does not
    assert not index.echoes(again, frozenset(), [])  # restored to before it was chosen


def test_claude_code_s_advice_after_a_tool_s_error_is_no_part_of_its_line() -> None:
    """Claude Code's "Note: your current working directory is ..." and "Please use offset and
    limit ..." are its words to the model after a failed call, not what failed: left out."""
    from memcore import MemoryItem, session_digest
    from tests.test_digest import T0

    said = (
        "Read `notes/MEMORY.md` failed: File does not exist. Note: your current working "
        "directory is /home/dev/shop."
    )
    error = MemoryItem(
        "e",
        said,
        metadata={"source": "claude-code", "kind": "error", "tool": "Read", "role": "user"},
        created_at=T0,
    )
    errors = session_digest([error], 500).sections["errors"]
    assert errors == "- Read `notes/MEMORY.md` failed: File does not exist."


def test_a_lookup_of_claude_code_s_own_file_that_failed_is_no_error_of_the_session() -> None:
    """Claude Code reads its memory file (``~/.claude/projects/<project>/memory/MEMORY.md``)
    before it exists: the harness's miss, not the session's; a project's own missing file
    under a ``.claude`` folder of the project is still said."""
    from memcore import MemoryItem, session_digest
    from tests.test_digest import T0

    def failed_read(path: str) -> MemoryItem:
        return MemoryItem(
            path,
            f"Read `{path}` failed: File does not exist.",
            metadata={"source": "claude-code", "kind": "error", "tool": "Read", "role": "user",
                      "file_path": path, "cwd": "/home/dev/shop"},
            created_at=T0,
        )  # fmt: skip

    own = "/home/dev/.claude/projects/-home-dev-shop/memory/MEMORY.md"
    project_s = "/home/dev/shop/.claude/commands/deploy.md"
    errors = session_digest([failed_read(own), failed_read(project_s)], 500).sections["errors"]
    assert "MEMORY.md" not in errors
    assert "deploy.md" in errors


def test_the_benefits_of_work_done_are_results() -> None:
    """ "Benefits:" closing a piece of work lists what it gained, often measured: said, unlike
    the pros of an option weighed."""
    reply = "Done: the index is cached.\n\n**Benefits**:\n- `search()` answers in 3 ms from 40 ms"
    items = [_asked("make search fast"), _agent(5, reply)]
    assert "`search()` answers in 3 ms from 40 ms" in session_digest(items, 2000).text


def test_a_fix_put_forward_is_said_as_proposed_and_a_fix_made_as_made() -> None:
    """A review's "**Fix:** Add ..." puts a fix forward (imperative): alone, it would read as
    done. "Fix: Added ..." tells one made, and stays as it is."""
    reply = (
        "**9. Symlink following**\n`filepath.Walk` follows symlinks in `copyMetadataDir()`.\n\n"
        "**Fix:** Add `if info.Mode()&os.ModeSymlink != 0` check to `copyMetadataDir()`.\n\n"
        "**10. Orphans**\nFix: Added a grace period to `ListOrphanedSessionStates()`.\n"
    )
    items = [_asked("review the cleanup"), _agent(5, reply)]
    text = session_digest(items, 2000).text
    # (said of the finding whose heading is above it)
    assert (
        "- Proposed fix for Symlink following: Add `if info.Mode()&os.ModeSymlink != 0` check to"
        in text
    )
    assert "- Fix: Added a grace period to `ListOrphanedSessionStates()`." in text


def test_a_lead_in_after_a_sentence_of_its_own_opens_its_list_alone() -> None:
    """ "Yes, `f` is right. Looking at:" opens its list with its last sentence, narration: the
    items are said without it (each said "Yes, `f` is right. Looking at: ..." before), and the
    sentence before it once; a supposing last sentence ("This breaks. If `g` runs twice, we
    get:") makes its items no results, as it does alone."""
    reply = (
        "Yes, `SessionRef` is correct for Gemini. Looking at:\n"
        "- `gemini.go:100`: `input.SessionRef = raw.TranscriptPath`\n"
        "- the test at `gemini_test.go:114` confirms `SessionRef` maps to `transcript_path`\n\n"
        "This is a real problem. If `AfterAgent` calls `SaveChanges` twice, we get:\n"
        "- `AfterAgent`: checkpoint `abc123` with a code commit\n"
    )
    asked = _asked("is SessionRef right?")
    items = [asked, _agent(5, reply)]
    text = session_digest(items, 2000).text
    assert text.count("Yes, `SessionRef` is correct for Gemini.") == 1
    assert "- `gemini.go:100`: `input.SessionRef = raw.TranscriptPath`" in text
    assert "checkpoint `abc123` with a code commit" not in text


@given(
    st.lists(
        st.sampled_from(
            ["I", "we", "So,", "but", "the user", "wants", "might", "Likely", "must be",
             "should have", "seems to", "`f()`", "fails", "?", "ok", "Then", "x", ".",
             "\u0131 think", "\u017feems to", "li\u212aely", "?\")", "\u2014", "? x"]
        ),
        max_size=8,
    ).map(" ".join)
    | st.text(max_size=40)
)  # fmt: skip
def test_the_unsettled_prefilter_finds_what_the_pattern_finds(sentence: str) -> None:
    """``_unsettled`` tests cheap hints before the pattern: it must agree with the pattern."""
    assert digest_settled.unsettled(sentence) == (
        digest_settled.UNSETTLED.search(sentence) is not None
    )


def test_the_agent_announcing_its_next_step_is_no_result() -> None:
    """ "Let me check `f()` ...", "I'll start by adding `g()` ...": what the agent was about to
    do, named things or not; the records after it say what it did."""
    reply = (
        "Let me look at `session_state_test.go` to understand the test patterns used. "
        "I'll start by adding the `ApplyCommonActions` helper and its tests. "
        "`InitializeSession` never set the phase: that was the bug."
    )
    asked = _asked("wire the phases")
    text = session_digest([asked, _agent(5, reply)], 2000).text
    assert "Let me look at" not in text
    assert "I'll start by" not in text
    assert "`InitializeSession` never set the phase: that was the bug." in text


def test_a_guess_in_the_agent_s_words_is_no_finding_unless_it_concludes() -> None:
    """ "that's likely the issue", "The delay must be in `Close()`": said to the user, still a
    guess; what the agent then found says what held."""
    reply = (
        "There's `BatchUploadTimeout` (defaults to 10 seconds!) - that's likely the issue. "
        "The delay must be in `Close()`. "
        "`Close()` waits for `BatchUploadTimeout`: setting it to 100ms fixed the delay."
    )
    asked = _asked("why is exit slow?")
    text = session_digest([asked, _agent(5, reply)], 2000).text
    assert "likely the issue" not in text
    assert "The delay must be in" not in text
    assert "setting it to 100ms fixed the delay" in text


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


@given(
    st.lists(
        st.sampled_from(
            ["It", "might be", "MAYBE", "Probably", "i suspect", "Likely", "must be", "could be",
             "`f()`", "fails", "x", "I think", "not sure", ".", "\u0130 suspect", "\u2192"]
        ),
        max_size=8,
    ).map(" ".join)
    | st.text(max_size=40)
)  # fmt: skip
def test_the_guessing_prefilter_finds_what_the_pattern_finds(sentence: str) -> None:
    assert digest_settled.guessing(sentence) == (
        digest_settled.GUESSING.search(sentence) is not None
    )


def test_a_sentence_the_import_cut_ends_on_no_promise() -> None:
    """The import cuts a long text at a word, whatever the word (``…\\n[... N more
    characters]``): its last sentence is said without the words that promised what the cut
    took ("…, which is…" reads as if something followed)."""
    text = (
        "The review found two issues.\n\n1. **Naming**: The file has both `List*` functions and "
        "`Delete*` functions, which is\u2026\n[... 7672 more characters]"
    )
    digest = _said(text)
    assert "- Naming: The file has both `List*` functions and `Delete*` functions\u2026" in digest
    assert "which is" not in digest


def test_a_point_the_agent_was_about_to_check_is_no_result() -> None:
    """A review's point, a dash, then what the agent was about to do about it ("**3. Renamed
    files (R/C)** - Let me check if...") weighed nothing yet: no line; a finding before such a
    dash stands without it ("`f` returns a struct - let me add an int version")."""
    text = (
        "**2. Context not passed** - Valid. `collectChangedFiles` creates "
        "`context.Background()`.\n\n**3. Renamed files (`R/C`)** - Let me check if this is "
        "actually a concern in `status.go`.\n\nGemini already has `GetTranscriptPosition` "
        "returning a struct - let me add a simple int version."
    )
    digest = _said(text)
    assert "Let me check" not in digest
    assert "Renamed files" not in digest
    assert "`collectChangedFiles` creates `context.Background()`" in digest
    assert "- Gemini already has `GetTranscriptPosition` returning a struct.\n" in digest + "\n"
    assert "int version" not in digest


@given(
    st.lists(
        st.sampled_from(
            ["But", "but,", "So", "\u017fo", "and", "OK,", "okay", "wait", "Wait,", "hmm", "Hmmm.",
             "hold on", "oh!", "Ah:", "x", "the", "`f`", "-", "\u212a"]
        ),
        min_size=1,
        max_size=5,
    ).map(" ".join)
)  # fmt: skip
@example("\u017fo wait, the test")
@example("But wait, the linter")
def test_the_thinking_aloud_prefilter_finds_what_the_pattern_finds(sentence: str) -> None:
    """The narration penalty tests a sentence's first letter before its pattern: it must never
    hide a match (case folding included)."""
    if digest_prose._THINKING_ALOUD.match(sentence):
        assert sentence[0] in digest_prose._ALOUD_OPENINGS
