"""The agent's sentences as digest lines: each must stand on its own (no finding it does not
name, no lead-in that promised a list left behind); and ``session_digests``, several sizes of
one digest from one reading of the items."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memcore import MemoryItem, session_digest, session_digests
from memcore.digest_prose import GLUED_FENCE, unglue_fences
from memcore.errors import ValidationError
from tests.digest_statements_support import _agent, _asked
from tests.digest_support import REAL, T0, needs_data


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
    digest = session_digest(items, 400)
    if codes == (2,):  # (one run, failed: said once, by its error's line or by this one)
        assert [line for line in digest.text.splitlines() if "make test" in line] in (
            [f"- {said}"],
            ["- make test: exit 2."],
        ), digest.text
        return
    assert f"- {said}" in digest.sections["commands"].splitlines()


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
        "Run it again. This time we should see:",
        "This should test:",
        "**Expected output:**",
    ],
)
def test_a_list_under_a_supposing_lead_in_is_no_result(lead: str) -> None:
    """Items under a condition, a guess, what a fix would take or what a run is expected to
    show read as results said alone: they are none; a list under "When `f()` is called:" tells
    how things go, and stays."""
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


def test_an_item_that_names_nothing_is_said_with_its_plain_lead_in() -> None:
    """Alone, "Agent editing user-created files" reads as a result of its own; under "This
    tests the key attribution scenarios:" it is what a test covers, and is said with it, with
    its sibling that names something but states nothing either (one line: the lead-in is said
    once); the agent's narration leads nothing."""
    reply = (
        "Wrote the end-to-end script.\n\nThis tests the key attribution scenarios:\n"
        "- Agent editing user-created files\n- Attribution of `utils.py` after a user edit\n\n"
        "Now let me see the results:\n- Human lines counted twice in the totals"
    )
    items = [_asked("write an end-to-end test of attribution"), _agent(5, reply)]
    lines = session_digest(items, 2000).sections["decisions"].splitlines()
    assert (
        "- This tests the key attribution scenarios: Agent editing user-created files; "
        "Attribution of `utils.py` after a user edit"
    ) in lines
    assert not any("Now let me see the results:" in line for line in lines)
    assert "- Agent editing user-created files" not in lines
    assert "- Attribution of `utils.py` after a user edit" not in lines

    # with no sibling that names something, the item is said with the lead-in as before
    reply = "This tests the key attribution scenarios:\n- Agent editing user-created files\n"
    items = [_asked("write an end-to-end test of attribution"), _agent(5, reply)]
    lines = session_digest(items, 2000).sections["decisions"].splitlines()
    assert "- This tests the key attribution scenarios: agent editing user-created files" in lines


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
    from tests.digest_support import T0

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
    from tests.digest_support import T0

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
    # (a held-out session: "**Problem:** The CI ..." is a labelled paragraph, not a heading:
    # its fix was said "Proposed fix for Problem:** The CI workflow installed ...: Replace")
    labelled = (
        "Here's the root cause:\n\n**Problem:** CI installs `macfuse`, not FUSE-T.\n\n"
        "**Fix:** Replace `brew install --cask macfuse` with `brew install --cask fuse-t`.\n"
    )
    text = session_digest([_asked("fix the CI"), _agent(5, labelled)], 2000).text
    assert "- Proposed fix: Replace `brew install --cask macfuse` with" in text, text
    assert "Problem:**" not in text


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


def test_a_sentence_a_later_line_opens_with_is_said_once() -> None:
    """A held-out session's review comment, drafted, then posted reworded: "Effect: the loop
    can exit early ... mid-command." was said beside the draft's "Effect: the loop can exit
    early ... mid-command — the exact bug this PR fixes ...", which opens with it."""
    short = "Effect: the keep-prompt loop can exit early while the user is still mid-command."
    longer = short[:-1] + " — the exact bug this PR fixes, just triggered a different way."
    items = [
        _asked("review the pull request"),
        _agent(5, f"Drafted the review. {longer}"),
        _agent(9, f"Posted the comment. {short}"),
    ]
    decisions = session_digest(items, 2000).sections["decisions"].splitlines()
    assert f"- {longer}" in decisions, decisions
    assert f"- {short}" not in decisions, decisions


def _thought_after(request: str, text: str) -> str:
    """The digest (2,000 tokens) of ``request`` and the agent's thinking ``text`` after it."""
    thought = _agent(3, "")
    meta = {**thought.metadata, "kind": "thinking"}
    items = [_asked(request), MemoryItem("th", text, metadata=meta, created_at=thought.created_at)]
    return session_digest(items, 2000).text


def test_what_thinking_has_yet_to_look_at_is_no_finding() -> None:
    """A held-out session's thinking listed review threads, "Thread 1 (line 1339): About Phase
    6.6 - need to read the full comment to understand", and another's its plan, "Line 209 in
    `runEnable` - need to check `shouldUseLocal`": both were said as results."""
    text = (
        "Two unresolved review threads:\n\n"
        "1. **Thread 1 (line 1339)**: About Phase 6.6 - need to read the full comment\n"
        "2. **Thread 2 (line 1257)**: `test.setTimeout(60000)` is missing from test 6.6.1\n\n"
        "Line 209 in `runEnable` - need to check `shouldUseLocal` and print the message"
    )
    digest = _thought_after("address the review comments", text)
    assert "need to read" not in digest, digest
    assert "need to check" not in digest, digest
    assert "is missing from test 6.6.1" in digest, digest


def test_thinking_that_restates_the_user_is_no_finding() -> None:
    """A held-out session's thinking opened on the user's words told again, "The user wants me
    to:" and the request's steps, "The user is pointing out that ...": said as results, twice
    beside the request that says them."""
    text = (
        "The user wants me to:\n"
        "1. Update `apps/desktop/.env` and `.env.example` with all default values\n"
        "2. Add a note to `apps/desktop/CLAUDE.md` about the local API\n\n"
        "The user is pointing out that `VITE_WEB3AUTH_CLIENT_ID` is already in `.env`. "
        "They want me to move it out of the GitHub secrets.\n\n"
        "`.env` is gitignored, so `.env.example` is where the defaults get committed."
    )
    digest = _thought_after("update the desktop env files with the staging defaults", text)
    assert "wants me to" not in digest, digest
    assert "pointing out" not in digest, digest
    assert "Add a note to" not in digest, digest
    assert "`.env` is gitignored, so `.env.example`" in digest, digest
