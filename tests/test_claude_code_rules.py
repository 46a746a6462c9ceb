"""The rules behind the agent-aware import of Claude Code transcripts, one by one: what is
scaffolding, how statements weigh, what an edit, a command or another tool's call says, and
that any records parse. The same import on the real development transcripts is tested in
``tests/test_claude_code_facts.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.claude_code import KIND_PRIORITY, parse_lines
from memcore.claude_code.commands import error_lines, exit_code, normalize_command, outcome_lines
from memcore.claude_code.records import (
    assistant_statement,
    scaffolding_kind,
    strip_wrappers,
)
from memcore.claude_code.tools import (
    describe_call,
    describe_result,
)
from memcore.digest import session_digest
from memcore.model import Priority
from tests.claude_code_support import DATA, SESSION


def test_scaffolding_is_recognized_and_wrappers_stripped() -> None:
    assert scaffolding_kind("<task-notification>\n<task-id>b0</task-id>") == "task-notification"
    assert scaffolding_kind("[Request interrupted by user for tool use]") == "interrupted"
    assert scaffolding_kind("<local-command-stdout>See ya!</local-command-stdout>") == (
        "local-command-stdout"
    )
    assert scaffolding_kind("Fix the flaky test in `sync.py`") is None
    blocked = 'Operation stopped by hook: Another session is active: "add tests..."'
    assert scaffolding_kind(blocked) == "hook-blocked"  # Claude Code's words, not the user's
    wrapped = "<system_instruction>\nYou are in Conductor.\n</system_instruction>\n\nimplement"
    assert strip_wrappers(wrapped) == "implement"
    assert strip_wrappers("<system-reminder>x</system-reminder>") == ""


def test_assistant_statements_are_weighed() -> None:
    assert assistant_statement("All 19 tests pass.") == ("conclusion", Priority.HIGH)
    assert assistant_statement("The bug was a map iterated in random order.")[0] == "conclusion"
    assert assistant_statement("Let me read the cart module.") == ("narration", Priority.LOW)
    assert assistant_statement("We should keep the old API instead of breaking it.")[0] == (
        "decision"
    )


def test_commands_failures_and_outcomes() -> None:
    assert normalize_command("cd /repo && go test ./... 2>&1 | tail -20") == "go test ./..."
    fallback = "go doc pkg.Close 2>/dev/null || grep -r Close vendor/ | head -20"
    assert normalize_command(fallback) == "go doc pkg.Close || grep -r Close vendor/"  # || no pipe
    # a commit's message given through a heredoc is said by its subject, not its trailers
    commit = (
        "git add a.py && git commit -m \"$(cat <<'EOF'\nAdd a test for a\n\n"
        'Co-Authored-By: Claude <noreply@anthropic.com>\nEOF\n)"'
    )
    assert normalize_command(commit) == 'git add a.py && git commit -m "Add a test for a"'
    body = "gh pr create --body \"$(cat <<'EOF'\n## Summary\n- Rounds half up\nEOF\n)\""
    assert normalize_command(body) == 'gh pr create --body "- Rounds half up"'  # (no heading)
    # a message on standard input too (a held-out session's review comment, a heredoc inside
    # it, was said whole), its code spans' marks dropped
    comment = (
        "gh pr comment 7 --body-file - <<'COMMENT_EOF'\n`check()` reads the buffer with:\n"
        "```zsh\nzsh -n <<EOF\n$BUFFER\nEOF\n```\nCOMMENT_EOF"
    )
    said = 'gh pr comment 7 --body-file - <<COMMENT_EOF "check() reads the buffer with:"'
    assert normalize_command(comment) == said
    written = "cat <<EOF > notes.txt\nfirst\nEOF"  # (a heredoc not in a substitution: kept)
    assert normalize_command(written) == "cat <<EOF > notes.txt first EOF"
    failed = "Exit code 1\nok  pkg/a 0.1s\n--- FAIL: TestX (0.5s)\nFAIL pkg/b"
    assert exit_code(failed, True) == 1
    assert error_lines(failed) == ["--- FAIL: TestX (0.5s)", "FAIL pkg/b"]
    # a run's passing tests whose names say "error" or "fails", and its "0 fail" counts, are
    # no failure; the failed tests and the failure counts are, before other lines (as bun
    # printed them in a real session, where the digest quoted passing lines as the error)
    passes = [f"pkg:test: (pass) planner > {name} [0.3ms]" for name in ("throws an error", "fails")]
    fails = [f"cli:test: (fail) e2e > migrates step {n} [288389.20ms]" for n in range(5)]
    run = "\n".join(
        ["<status>failed</status>", *passes, "pkg:test:  0 fail",
         "cli:test: $ bun test src --timeout 15000", *fails[:3], "cli:test: "
         "  ^ this test timed out after 240000ms.", *fails[3:], "cli:test:  5 fail",
         'cli:test: error: script "test" exited with code 1']
    )  # fmt: skip
    assert error_lines(run) == [*fails, "cli:test: 5 fail"]
    timed_out = "cli:test: ^ this test timed out after 240000ms."
    shorter = "\n".join([*passes, fails[0], timed_out, fails[1]])  # (room for the others after)
    assert error_lines(shorter) == [fails[0], fails[1], timed_out]
    assert error_lines("\n".join(passes)) == [*passes]  # (nothing else: its last lines)
    assert error_lines("ok\nnpm ERR! missing script: lint\n✕ renders (3 ms)\n✓ loads (1 ms)") == [
        "npm ERR! missing script: lint",
        "✕ renders (3 ms)",
    ]
    assert outcome_lines("collecting\n12 passed in 0.3s\n") == ["12 passed in 0.3s"]
    # a filtered Go run: the packages where no test ran say nothing of the one where it did
    filtered = (
        "ok  \tm/cli\t0.3s [no tests to run]\n?   \tm/x\t[no test files]\nok  \tm/sum\t1.7s\n"
    )
    assert outcome_lines(filtered) == ["ok m/sum 1.7s"]
    assert outcome_lines("ok  \tm/cli\t0.3s [no tests to run]\n") == [
        "ok m/cli 0.3s [no tests to run]"
    ]
    passed = outcome_lines("PASS src/a.test.ts\nok  \tpkg/a\t0.1s")
    assert passed == ["PASS src/a.test.ts", "ok pkg/a 0.1s"]
    # a help text's words and a package's version are no outcome of a run
    help_text = "> app@0.1.0 test\n  -f, --onlyFailures  Run tests that\n        failed  [string]"
    assert outcome_lines(help_text) == []
    text, meta = describe_result(
        "Bash", {"command": "pytest -q"}, "Exit code 2\nE   assert 1 == 2", True, None, None
    )
    assert text == "`pytest -q` failed (exit 2): E assert 1 == 2"
    assert meta["exit_code"] == 2
    # the files a command's output names; a help text's placeholders and redactions are none
    listing = "M src/app.ts\n  --env=path/to/my-environment.js\n/Users/me/.REDACTED.txt\n"
    _, meta = describe_result("Bash", {"command": "git status"}, listing, False, None, None)
    assert meta["paths"] == ["src/app.ts"]
    pushed = "To github.com:acme/shop.git\n   1a2b3c4..5d6e7f8  main -> main\n"
    _, meta = describe_result("Bash", {"command": "git push"}, pushed, False, None, None)
    assert "paths" not in meta  # (a repository, no file of the session)
    # a JSON answer's escapes are read as the characters they stand for (gh --jq writes ">"
    # as \u003e: the path was "u003etests/e2e/a.spec.ts")
    review = '{"body": "\\u003e Nitpick in tests/x.ts and \\u003ctests/e2e/a.spec.ts\\u003e"}'
    _, meta = describe_result("Bash", {"command": "gh pr view 1"}, review, False, None, None)
    assert meta["paths"] == ["tests/x.ts", "tests/e2e/a.spec.ts"]
    # a review's mention of a file (CodeRabbit's "@tests/x.ts") is the file's path, said once;
    # a package's scope is no mention ("@acme/ui/index.ts" named alone stays as it is)
    mentions = "See @.planning/v2.md and tests/x.ts (@tests/x.ts); @acme/ui/index.ts\n"
    _, meta = describe_result("Bash", {"command": "gh pr view 1"}, mentions, False, None, None)
    assert meta["paths"] == [".planning/v2.md", "tests/x.ts", "@acme/ui/index.ts"]
    # a path the output itself cut short (a quoted comment's) beside the whole one
    cut = 'rg -n "6.6" tests/e2e/full.spec.t", "line": 1339\n--- tests/e2e/full.spec.ts\n'
    _, meta = describe_result("Bash", {"command": "gh api graphql"}, cut, False, None, None)
    assert meta["paths"] == ["tests/e2e/full.spec.ts"]
    # a diff's two sides of one file are the file ("a/x" alone may be a folder named a)
    diff = "diff --git a/apps/w.ts b/apps/w.ts\n--- a/apps/w.ts\n+++ b/apps/w.ts\nsee a/b.md\n"
    _, meta = describe_result("Bash", {"command": "gh pr diff 803"}, diff, False, None, None)
    assert meta["paths"] == ["apps/w.ts", "a/b.md"]


_JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_TOOL_INPUT = st.dictionaries(
    st.sampled_from(
        [
            "file_path",
            "old_string",
            "new_string",
            "content",
            "command",
            "pattern",
            "offset",
            "limit",
            "todos",
            "edits",
            "description",
            "path",
            "subject",
        ]
    ),
    _JSONISH,
    max_size=5,
)
_BLOCK = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("tool_use"),
            "id": st.sampled_from(["t1", "t2"]),
            "name": st.sampled_from(
                [
                    *("Read", "Edit", "MultiEdit", "Write", "Bash", "Grep", "TodoWrite"),
                    *("Task", "Agent", "AskUserQuestion", "BashOutput", "Other"),
                ]
            ),
            "input": _TOOL_INPUT,
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("tool_result"),
            "tool_use_id": st.sampled_from(["t1", "t2", "t3"]),
            "content": _JSONISH,
            "is_error": st.booleans(),
        }
    ),
    st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=40)}),
)
_QUEUED = st.fixed_dictionaries(
    {"type": st.just("queued_command"), "prompt": _JSONISH},
    optional={"commandMode": _JSONISH, "origin": _JSONISH},
)
_RECORD = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                *("user", "assistant", "system", "file-history-snapshot", "queue-operation"),
                # (newer versions' records)
                *("attachment", "ai-title", "custom-title", "pr-link", "permission-mode"),
            ]
        ),
        "sessionId": st.just(SESSION),
        "timestamp": st.just("2026-11-20T10:00:00Z"),
        "message": st.fixed_dictionaries(
            {
                "role": st.just("user"),
                "content": st.one_of(st.text(max_size=40), st.lists(_BLOCK, max_size=3)),
            }
        ),
    },
    optional={
        "toolUseResult": _JSONISH,
        "snapshot": _JSONISH,
        "uuid": st.text(max_size=6),
        "attachment": st.one_of(_QUEUED, _JSONISH),
        "aiTitle": _JSONISH,
        "customTitle": _JSONISH,
        "operation": st.sampled_from(["enqueue", "remove", "dequeue", "other"]),
        "content": _JSONISH,
        "prNumber": _JSONISH,
        "prUrl": _JSONISH,
    },
)


@settings(max_examples=150, deadline=None)
@given(records=st.lists(_RECORD, max_size=6))
def test_any_records_parse_without_raising(records: list[dict[str, Any]]) -> None:
    from memcore.stores import encode_entry
    from memcore.stores.base import Entry

    transcript = parse_lines([json.dumps(r) for r in records])
    assert transcript.records == len(records)
    for item in transcript.items:
        assert item.content.strip()
        assert item.metadata["kind"] in KIND_PRIORITY
        encode_entry(Entry(item, 1, "r", False))  # (what a save stores: never refused)


def test_a_lone_surrogate_is_read_as_a_replacement_character() -> None:
    """JSON allows a lone UTF-16 surrogate (``\\ud83d``, what ``JSON.stringify`` writes for a
    string cut inside an emoji; Claude Code's transcripts hold them): it decoded to a ``str`` no
    UTF-8 encoder takes, and every save of the session failed on it. It is U+FFFD now, in keys
    too; a pair stays the character it encodes."""
    from memcore.stores import encode_entry
    from memcore.stores.base import Entry

    record = {
        "type": "user", "sessionId": "s", "uuid": "u1", "timestamp": "2026-11-20T10:00:00Z",
        "message": {"role": "user", "content": "fix the parser \ud83d and keep \ud83d\ude00"},
        "toolUseResult": {"cut \udc00": ["x \ud800"]},
    }  # fmt: skip
    line = json.dumps(record)  # (ensure_ascii: the surrogates as escapes)
    assert "\\ud83d" in line
    (item,) = parse_lines([line]).items
    assert item.content == "fix the parser \ufffd and keep \U0001f600"
    encode_entry(Entry(item, 1, "r", False))


def test_a_byte_that_is_no_utf8_is_read_as_a_replacement_character() -> None:
    """A record holding a byte that is no UTF-8 (a tool's binary output, a string cut inside a
    character) was dropped whole, the user's message with it: it is read, the byte as U+FFFD."""
    record = {
        "type": "user", "sessionId": "s", "uuid": "u1", "timestamp": "2026-11-20T10:00:00Z",
        "message": {"role": "user", "content": "fix the parser MARK please"},
    }  # fmt: skip
    line = json.dumps(record).encode().replace(b"MARK", b"\xff\xfe")
    (item,) = parse_lines([line]).items
    assert item.content == "fix the parser \ufffd\ufffd please"


@pytest.mark.parametrize("mark", ["\u2192", "\t"])
def test_a_read_s_line_numbers_are_taken_off_in_either_form(mark: str) -> None:
    """``     1→`` as the development transcripts have them, or ``     1<tab>`` as ``cat -n``
    writes them (and some Claude Code versions did): the names the file defines are found
    either way, and are not taken for calls."""
    from tests.test_transcript_agent_records import CWD, _Records

    text = "".join(
        f"{n:>6}{mark}{line}\n"
        for n, line in enumerate(["def total(cart):", "    return sum_prices(cart)"], start=1)
    )
    records = _Records()
    records.tool("Read", {"file_path": f"{CWD}/checkout.py"}, text)
    (read,) = [i for i in records.items() if i.metadata.get("kind") == "tool_result"]
    assert read.metadata["defines"] == ["total()"]
    assert read.metadata["calls"] == ["sum_prices()"]
    assert "lines 1-2" in read.content or "2 lines" in read.content


def test_the_user_s_answers_to_the_agent_s_questions_are_the_user_s_messages() -> None:
    """What the user chose, or wrote instead of choosing, in ``AskUserQuestion``: read from
    the structured result, else from its text; a question declined gives nothing."""
    from tests.test_transcript_agent_records import _Records

    question = "Plan ready at `plans/warn.md`. What would you like to do next?"
    records = _Records()
    records.user("Plan an option to turn the conflict warning off.")
    records.tool(
        "AskUserQuestion",
        {"questions": [{"question": question, "options": [{"label": "Start work"}]}]},
        f'User has answered your questions: "{question}"="only by a flag, never a prompt". '
        "You can now continue with the user's answers in mind.",
        toolUseResult={
            "questions": [{"question": question}],
            "answers": {question: "only by a flag, never a prompt"},
        },
    )
    records.tool(  # (an older result with its text alone)
        "AskUserQuestion",
        {},
        'User has answered your questions: "Proceed with the tests?"="Yes, run the tests". You '
        "can now continue with the user's answers in mind.",
    )
    records.tool("AskUserQuestion", {}, "The user declined to answer.")
    items = records.items()
    answered = [i for i in items if i.metadata.get("answer_to")]
    assert [(i.content, i.metadata["kind"], i.metadata["role"]) for i in answered] == [
        (f'only by a flag, never a prompt (answering "{question}")', "task", "user"),
        ('Yes, run the tests (answering "Proceed with the tests?")', "task", "user"),
    ]
    results = [i.content for i in items if i.content.startswith("AskUserQuestion done")]
    assert results == ["AskUserQuestion done: The user declined to answer."]  # (no answer)
    digest = session_digest(items, 400)
    asked = digest.sections["asked"]
    assert f'- The user answered "{question}": only by a flag, never a prompt' in asked
    # (the latest answer, not acted on yet, is what is open: said there, as the request it is)
    assert "Yes, run the tests" in digest.sections["open"]


def test_in_a_sub_agent_the_brief_is_its_agent_s_and_an_answer_is_the_user_s() -> None:
    from tests.test_transcript_agent_records import _Records

    question = "Which store should the test use?"
    records = _Records()
    records.user("Find where the cart total is rounded.", isSidechain=True)
    records.tool(
        "AskUserQuestion",
        {"questions": [{"question": question, "options": [{"label": "SQLite"}]}]},
        f'User has answered your questions: "{question}"="SQLite". You can now continue.',
        isSidechain=True,
        toolUseResult={"questions": [{"question": question}], "answers": {question: "SQLite"}},
    )
    items = records.items()
    assert items[0].metadata["kind"] == "brief"
    answer = next(i for i in items if i.metadata.get("answer_to"))
    assert (answer.metadata["kind"], answer.metadata["role"]) == ("task", "user")


@pytest.mark.parametrize(
    ("tool", "tool_input", "said"),
    [
        (
            "Skill",
            {"skill": "superpowers:receiving-code-review"},
            "Used the skill `superpowers:receiving-code-review`",
        ),
        (
            "Skill",
            {"skill": "work", "args": "plans/a.md"},
            "Used the skill `work` with `plans/a.md`",
        ),
        ("Skill", {"skill": "work", "args": "  "}, "Used the skill `work`"),
        ("Skill", {"skill": ""}, "Skill"),  # no name: nothing to say of it
        ("SlashCommand", {"command": "/review 12"}, "Ran the slash command `/review 12`"),
        (
            "TaskOutput",
            {"task_id": "ae1b1c5", "block": True, "timeout": 60000},
            "Waited for the output of background task `ae1b1c5`",
        ),
        (
            "TaskOutput",
            {"task_id": "b1", "block": False},
            "Read the output of background task `b1`",
        ),
        ("TaskOutput", {}, "TaskOutput"),
        (
            "AskUserQuestion",
            {
                "questions": [
                    {
                        "question": "What next?",
                        "options": [
                            {"label": x} for x in ("Open", "Review", "Work", "Stop", "More")
                        ],
                    },
                    {"question": "Run the tests?", "options": "no list"},
                    {"header": "no question"},
                ]
            },
            "Asked the user: What next? (options: Open, Review, Work, Stop, ...) / Run the tests?",
        ),
        ("AskUserQuestion", {"questions": "not a list"}, "AskUserQuestion"),
        (
            "WebFetch",
            {"url": "https://pkg.go.dev/x", "prompt": "How does IsBinary work?"},
            "Fetched `https://pkg.go.dev/x`: How does IsBinary work?",
        ),
        ("WebFetch", {"url": "https://a.b/c"}, "Fetched `https://a.b/c`"),
        ("WebSearch", {"query": "xterm.js scroll"}, "Searched the web for `xterm.js scroll`"),
        (
            "mcp__conductor__GetWorkspaceDiff",
            {"stat": True, "paths": ["a"], "note": ""},
            "Called `GetWorkspaceDiff` of MCP server `conductor` (stat=True)",
        ),
        ("mcp__memcore__recall", {}, "Called `recall` of MCP server `memcore`"),
        ("TaskList", {}, "Listed the session's tasks"),
    ],
)
def test_a_call_of_a_tool_beside_files_and_shells_says_what_it_did(
    tool: str, tool_input: dict[str, str], said: str
) -> None:
    text, meta = describe_call(tool, tool_input, "/r")
    assert text == said
    assert "command" not in meta  # (a shell command's key: its outcome is a command's)


@pytest.mark.skipif(
    not (DATA / "entireio__cli__42845d94.jsonl").is_file(), reason="transcript not present"
)
def test_a_skill_s_instructions_are_not_memory_its_call_names_it() -> None:
    """Claude Code injects a loaded skill's instructions as a message of their own (``isMeta``,
    "Base directory for this skill: ..."): a document the user installed, not what the session
    learned. The call is kept, naming the skill."""
    lines = (DATA / "entireio__cli__42845d94.jsonl").read_text().splitlines()
    parsed = parse_lines(lines)
    assert not any("Base directory for this skill" in i.content for i in parsed.items)
    assert parsed.skipped_types["scaffolding:skill-instructions"] == 1
    calls = [i.content for i in parsed.items if i.metadata.get("tool") == "Skill"]
    assert "Used the skill `superpowers:receiving-code-review`" in calls


def test_a_document_s_edit_changes_the_names_it_writes_as_code_only() -> None:
    """A docs page's edit: the capitalized words of its prose (``GitHub``) are no names it
    changed (a real session's digest said "edited once, changing `GitHub`"); its code spans
    and fenced blocks are."""
    edit = {
        "file_path": "/r/docs/start.md",
        "old_string": "## Next\n",
        "new_string": "## AI Agent Skill\n\nInstall it from GitHub into `SKILL_DIR`:\n\n"
        "```sh\nchkit skill --install\n```\n\n## Next\n",
    }
    _, meta = describe_call("Edit", edit, "/r")
    assert meta["names"] == ["SKILL_DIR"]
    code = describe_call("Edit", {**edit, "file_path": "/r/src/start.ts"}, "/r")[1]
    assert "GitHub" in code["names"]  # (in code, a capitalized word may well be a name)


def test_a_search_s_hits_are_its_files_context_lines_included() -> None:
    """A content search with ``-A``/``-B`` prints the lines around a match as ``path-LINE-text``:
    their file is a hit file, not the line (``paths.go-321-\\t}`` was named as a file)."""
    from memcore.claude_code.tools import _hit_files

    result = (
        "cmd/cli/paths/paths.go-321-\t}\n"
        "cmd/cli/paths/paths.go:322:func RepoRoot() {\n"
        "--\n"
        "src/v-2-beta/x.go:5:RepoRoot()\n"
        "web/app.ts-10-  const x = 1\n"
    )
    assert _hit_files(result, None) == ["cmd/cli/paths/paths.go", "src/v-2-beta/x.go", "web/app.ts"]


def test_a_tool_s_failure_is_claude_code_s_message_not_the_input_it_echoes() -> None:
    """A failed Edit says "Found 2 matches of the string to replace ..." and then echoes the
    string, whose code held "ERROR ... failed": the failure is the message, not that code."""
    text = (
        "<tool_use_error>Found 2 matches of the string to replace, but replace_all is false. "
        "To replace all occurrences, set replace_all to true.\n"
        'String: \twingmanLog("ERROR auto-apply failed: %v", err)</tool_use_error>'
    )
    said, meta = describe_result("Edit", {"file_path": "/w/review.go"}, text, True, None, "/w")
    assert said == (
        "Edit `review.go` failed: Found 2 matches of the string to replace, but replace_all is "
        "false."
    )
    assert meta["error_lines"] == [said.split("failed: ", 1)[1]]


def test_a_linter_s_located_lines_are_the_failure_behind_a_task_runner_s_tags() -> None:
    """A linter's ``file:line:col:`` lines say what failed, with a word of failure or not, and
    behind a task runner's tag (``[lint:go] ``); a module path holding "errors" and code that
    mentions ``error`` say nothing of a failure."""
    output = "\n".join(
        [
            "[lint:gomod] go: downloading github.com/pkg/errors v0.9.1",
            "[lint:go] ERROR task failed",
            "[lint:go] cmd/strategy/registry.go:27:1: Get returns interface (Strategy) (ireturn)",
            "[lint:go] func Get(name string) (Strategy, error) {",
            "[lint:go] ^",
        ]
    )
    lines = error_lines(output)
    assert lines[0] == (
        "[lint:go] cmd/strategy/registry.go:27:1: Get returns interface (Strategy) (ireturn)"
    )
    assert "[lint:gomod] go: downloading github.com/pkg/errors v0.9.1" not in lines


def test_a_search_s_listed_files_are_named_whole_dates_and_numbers_included() -> None:
    """A list of files (Grep's default output) is no content output: ``adr-0003-...`` and
    ``2024-01-15-...`` in a name are the name's, not a context line's ``-LINE-``."""
    from memcore.claude_code.tools import _hit_files

    listed = "docs/adr/adr-0003-use-redis.md\nposts/2024-01-15-hello.md\nsrc/app.py\n"
    assert _hit_files(listed, None) == [
        "docs/adr/adr-0003-use-redis.md",
        "posts/2024-01-15-hello.md",
        "src/app.py",
    ]
