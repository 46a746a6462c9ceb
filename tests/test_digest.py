"""session_digest: within budget, deterministic, the same compiled or pure, statements not lists."""

from __future__ import annotations

import importlib
import json
import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memcore.digest
import memcore.digest_asked
from memcore import MemoryItem, SessionDigest, count_tokens, session_digest, session_digests
from memcore.claude_code import KIND_PRIORITY, parse_lines, parse_transcript
from memcore.digest import KERNEL_USERS
from memcore.digest_density import MOST_NAMES, exact_names
from memcore.digest_lines import build_candidates
from memcore.digest_spare import spare_lines
from memcore.digest_work import FileWork, file_lines
from memcore.errors import ValidationError
from tests.claude_code_support import DATA
from tests.test_transcript_agent_records import CWD, _Records

REAL = DATA / "entireio__cli__20b81bf8.jsonl"
BIGGER = DATA / "entireio__cli__847ff7d2.jsonl"
needs_data = pytest.mark.skipif(not REAL.is_file(), reason="development transcripts not present")
BUDGETS = (0, 1, 3, 8, 15, 30, 60, 120, 250, 500, 1000, 2500, 8000)
_IDENT = re.compile(r"`[^`]+`")
_READ_LINE = re.compile(r"(^|\s)\d+\u2192")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def _use_kernels(monkeypatch: pytest.MonkeyPatch, pipeline_twin: ModuleType) -> None:
    """Make the digest use the twins (compiled or pure) that ``pipeline_twin`` is one of."""
    package = pipeline_twin.__name__.rsplit(".", 1)[0]  # memcore._native or memcore._pure
    for name, families in KERNEL_USERS:
        module = importlib.import_module(name)
        for family in families:
            monkeypatch.setattr(module, family, importlib.import_module(f"{package}.{family}"))


def test_the_kernel_users_listed_are_the_digest_s_modules_that_import_kernels() -> None:
    """``KERNEL_USERS`` is what the twin comparisons switch: a digest module that imports a
    kernel family it does not list would be left compiled in the pure run."""
    source = Path(memcore.digest.__file__).parent
    found = {}
    for path in sorted(source.glob("digest*.py")):
        imported = re.search(r"^from memcore._kernels import (.+)$", path.read_text(), re.M)
        if imported:
            families = tuple(sorted(f.strip() for f in imported.group(1).split(",")))
            found[f"memcore.{path.stem}"] = families
    assert found == {name: tuple(sorted(f)) for name, f in KERNEL_USERS}


@pytest.fixture(scope="module")
def real_items() -> list[MemoryItem]:
    return parse_transcript(REAL).items


def notes() -> list[MemoryItem]:
    texts = [
        ("Fix cart rounding.", "high"),
        ("The checkout total used float arithmetic; `Decimal.quantize()` fixes it.", "normal"),
        ("Deploy is on Friday after the `release/2.3` branch is cut.", "critical"),
        ("Remember that staging uses the `eu-west-1` database.", "low"),
    ]
    return [
        MemoryItem(f"n{i}", text, priority=prio, created_at=T0 + timedelta(minutes=i))
        for i, (text, prio) in enumerate(texts)
    ]


@needs_data
@pytest.mark.parametrize("budget", BUDGETS)
def test_budget_is_never_exceeded_on_a_real_session(
    real_items: list[MemoryItem], budget: int
) -> None:
    digest = session_digest(real_items, budget)
    assert isinstance(digest, SessionDigest)
    assert count_tokens(digest.text) == digest.tokens <= budget
    if budget >= 120:
        assert digest.tokens >= budget // 3  # it uses the room it has


@pytest.mark.parametrize("budget", BUDGETS)
def test_budget_with_a_plugged_counter(budget: int) -> None:
    def words(text: str) -> int:
        return len(text.split())

    digest = session_digest(notes(), budget, counter=words)
    assert words(digest.text) == digest.tokens <= budget


def test_plain_notes_get_a_sensible_digest() -> None:
    digest = session_digest(notes(), 500)
    assert set(digest.sections) == {"notes"}
    assert "## Notes" in digest.text
    for item in notes():
        assert item.content in digest.text
    assert session_digest([], 100).text == ""


def test_bad_budget_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        session_digest(notes(), -1)
    with pytest.raises(ValidationError):
        session_digest(notes(), True)


@needs_data
def test_same_items_any_order_same_bytes(real_items: list[MemoryItem]) -> None:
    first = session_digest(real_items, 1500)
    shuffled = list(real_items)
    random.Random(7).shuffle(shuffled)
    again = session_digest(shuffled, 1500)
    assert again.text.encode() == first.text.encode()
    assert again.sections == first.sections


@needs_data
def test_compiled_and_pure_kernels_give_the_same_digest(
    real_items: list[MemoryItem],
    pipeline_impl: ModuleType,
    pure_kernels: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from memcore._pure import pipeline as pure

    _use_kernels(monkeypatch, pure)
    expected = session_digest(real_items, 1200, counter=pure.count_tokens).text
    _use_kernels(monkeypatch, pipeline_impl)
    assert session_digest(real_items, 1200, counter=pipeline_impl.count_tokens).text == expected


@needs_data
def test_sections_are_present_and_made_of_statements(real_items: list[MemoryItem]) -> None:
    digest = session_digest(real_items, 4000)
    for name in ("asked", "decisions", "files", "commands", "errors"):
        assert digest.sections.get(name), name
    for name in ("files", "commands", "errors"):
        for line in digest.sections[name].splitlines():
            words = _IDENT.sub(" ", line).split()
            assert len([w for w in words if w.isalpha()]) >= 3, line  # a statement, not names
    assert "TestWriteTemporary_Deduplication" in digest.sections["errors"]
    assert "fixed by editing" in digest.sections["errors"]
    assert "cmd/entire/cli/strategy/auto_commit.go" in digest.sections["files"]


@needs_data
def test_a_large_real_session_within_budget_and_without_file_dumps() -> None:
    items = parse_transcript(BIGGER).items
    for budget in (200, 2000):
        digest = session_digest(items, budget)
        assert digest.tokens <= budget
        assert not _READ_LINE.search(digest.text)  # no line of a Read result ("   12→code")


@needs_data
@pytest.mark.parametrize("budget", [300, 1500, 3000])
def test_it_fills_its_budget_when_the_session_has_more_to_say(budget: int) -> None:
    items = parse_transcript(BIGGER).items

    def words(text: str) -> int:
        return len(text.split())

    for counter in (count_tokens, words):
        digest = session_digest(items, budget, counter=counter)
        assert budget * 0.95 <= counter(digest.text) == digest.tokens <= budget


@needs_data
def test_spare_prose_only_when_every_other_line_had_its_chance(
    real_items: list[MemoryItem],
) -> None:
    ordered = sorted(real_items, key=lambda i: (i.created_at, i.id))
    main = {c.text for c in build_candidates(ordered)}
    spare = {c.text for c in spare_lines(ordered)} - main
    assert spare
    tight = session_digest(real_items, 400).text.splitlines()
    assert not spare.intersection(tight)
    roomy = session_digest(real_items, 8000)
    assert spare.intersection(roomy.text.splitlines())
    assert roomy.tokens > session_digest(real_items, 400).tokens


def _agent(i: int, content: str, **meta: object) -> MemoryItem:
    meta = {"source": "claude-code", "role": "assistant", **meta}
    return MemoryItem(f"a{i}", content, metadata=meta, created_at=T0 + timedelta(minutes=i))


def test_a_roomy_digest_says_each_thing_once() -> None:
    """With room to spare, a record's own words come in only when they name something new:
    "Read `src/app.ts`: 3 lines." after the line on that file restates it."""
    records = _Records()
    records.user("look at the app and run its tests")
    numbered = "     1\u2192const a = 1;\n     2\u2192const b = 2;\n     3\u2192export { a, b };"
    records.tool("Read", {"file_path": f"{CWD}/src/app.ts"}, numbered)
    records.tool("Bash", {"command": "npm test", "description": "Run the tests"}, "3 passed")
    text = session_digest(records.items(), 2000).text
    assert "`src/app.ts` was read, not changed" in text
    assert "`npm test` ran once and succeeded: 3 passed." in text
    assert "Read `src/app.ts`: 3 lines" not in text
    assert "Run `npm test`" not in text
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) == len(set(lines))


def test_thinking_fills_the_room_last_and_nothing_is_said_twice() -> None:
    """Spare lines come in two rounds: the agent's plain replies and its records first, then,
    if room is still left, its thinking's plain prose; a line chosen in the first round is
    not let go again by the second."""
    items = [
        _agent(1, "I looked around the repository and its folders for a while.", kind="fact"),
        # shorter, later: worth more
        _agent(9, "The package layout moved to src.", kind="thinking"),
    ]
    small, roomy = session_digests(items, (24, 2000))
    assert "I looked around the repository" in small.text
    assert "The package layout moved" not in small.text  # room went to the reply first
    assert "The package layout moved" in roomy.text
    lines = [line for line in roomy.text.splitlines() if line.startswith("- ")]
    assert len(lines) == len(set(lines)) == 2


def test_a_line_that_says_a_chosen_line_again_in_other_words_is_left_out() -> None:
    """Restated, it names nothing new and its words are that line's; a line about another
    name, or with other words, stays (an edit that took a line out is not the one that added
    it, another range of one file is another fact)."""
    texts = [
        "I see - there's no `session` command in the CLI yet.",
        "I see that there's no `session` command in the CLI yet.",
        "I see - there's no `status` command in the CLI yet.",
        "Update sessionStateFromStrategy conversion function.",
        "Update sessionStateToStrategy conversion function.",
        "The handler is in `hooks.go`, lines 243-251.",
        "The handler is in `hooks.go`, lines 751-755.",
        "The test is flaky — it passed in a previous CI run and passes locally.",
        "The test is flaky — it passes locally and passed in prior CI runs.",  # inflected
    ]
    items = [_agent(i, text, kind="fact") for i, text in enumerate(texts)]
    decisions = session_digest(items, 2000).sections["decisions"]
    assert decisions.count("`session` command in the CLI yet") == 1  # one of the two
    assert decisions.count("The test is flaky") == 1
    for kept in (2, 3, 4, 5, 6):
        assert texts[kept].rstrip(".") in decisions, texts[kept]


def test_a_thinking_block_that_is_only_a_title_states_nothing() -> None:
    items = [
        MemoryItem("t", "add a CLAUDE.md", metadata={"kind": "task"}, created_at=T0),
        _agent(1, "**Planning targeted file reads**", kind="thinking"),
        _agent(2, "## Scanning project structure", kind="thinking"),
        _agent(3, "The module is iOS-only, so there is no Android code to describe.", kind="fact"),
    ]
    text = session_digest(items, 2000).text
    assert "iOS-only" in text
    assert "Planning" not in text
    assert "Scanning" not in text


def test_more_names_of_a_read_file_say_also_only_after_its_own_line() -> None:
    entry = FileWork("src/app.py", 3, 3, reads=["all"], reads_done=1)
    entry.defines = dict.fromkeys(f"name{n}()" for n in range(12))
    main, *more = file_lines({"src/app.py": entry}, 10)
    assert main.text.startswith("- `src/app.py` was read, not changed; it defines `name0()`")
    both = memcore.digest._render([main, more[0]])[1]["files"].splitlines()
    # (each line names at most six things: the path, and two calls of two names each)
    assert main.text.endswith("it defines `name0()` and `name1()`.")
    assert both[1].startswith("- `src/app.py` also defines `name2()` and `name3()`")
    alone = memcore.digest._render([more[0], more[1]])[1]["files"].splitlines()
    assert alone[0].startswith("- `src/app.py` defines `name2()`")  # no "also" with nothing before
    assert alone[1].startswith("- `src/app.py` also defines `name4()`")


def test_a_file_s_lines_name_at_most_six_things_each() -> None:
    """A line naming more than six things (code spans, paths, calls: `f()` is a span and a
    call) is a list: what a file's edits changed is said in lines that each state it."""
    entry = FileWork("src/app.py", 3, 9, edits=4)
    entry.names = {f"name{n}()": 10 - n for n in range(6)} | {"plain": 1, "other": 1}
    entry.renamed = {(f"old{n}", f"new{n}"): 5 for n in range(4)}
    lines = [c.text for c in file_lines({"src/app.py": entry}, 10)]
    assert lines
    for line in lines:
        assert len(exact_names(line)) <= MOST_NAMES, line
    said = " ".join(lines)
    for n in range(4):  # every rename is still said, and the names first ranked
        assert f"`old{n}` to `new{n}`" in said
    for name in ("name0()", "name1()", "name4()"):
        assert f"`{name}`" in said


def test_a_file_s_lines_are_written_together_from_where_it_was_first_touched() -> None:
    """Edits of `a.py`, then `b.py`, then `a.py` again: `a.py`'s lines (its own, then its
    edits') come before any of `b.py`'s, however the session went back and forth."""
    records = _Records()
    records.user("rename the helpers")
    for path, old, new in (
        ("src/a.py", "def load_all():", "def load_every():"),
        ("src/b.py", "def parse_one():", "def parse_single():"),
        ("src/a.py", "def save_all():", "def save_every():"),
    ):
        edit = {"file_path": f"{CWD}/{path}", "old_string": old, "new_string": new}
        records.tool("Edit", edit, "The file has been updated.")
    files = session_digest(records.items(), 2000).sections["files"].splitlines()
    about_a = [n for n, line in enumerate(files) if "`src/a.py`" in line]
    about_b = [n for n, line in enumerate(files) if "`src/b.py`" in line]
    assert len(about_a) >= 2, files
    assert about_b, files
    assert about_a == list(range(about_a[0], about_a[0] + len(about_a)))  # together
    assert max(about_a) < min(about_b)  # a.py was touched first
    assert files[about_a[0]].startswith("- `src/a.py` was edited twice")  # its own line first


def test_a_file_whose_every_read_failed_is_not_said_to_be_read() -> None:
    records = _Records()
    records.user("look at the client")
    records.tool("Read", {"file_path": f"{CWD}/src/client.go"}, "ignored")
    failed = json.loads(records.lines[-1])  # its result: the file was not there
    block = failed["message"]["content"][0]
    block["is_error"] = True
    block["content"] = "<tool_use_error>File does not exist.</tool_use_error>"
    records.lines[-1] = json.dumps(failed)
    digest = session_digest(records.items(), 2000)
    assert "src/client.go" in digest.sections["errors"]
    assert "src/client.go" not in digest.sections.get("files", "")


def test_files_keep_one_name_after_the_agent_changes_folder() -> None:
    """After ``cd packages/api``, Claude Code records that folder as the working one: files are
    still named from the folder the session started in, so one file has one name."""
    records = _Records()
    records.user("fix the api package")
    records.tool("Read", {"file_path": f"{CWD}/packages/api/package.json"}, "1\u2192{}")
    records.tool("Bash", {"command": "cd packages/api && npm test"}, "3 passed")
    records.tool("Bash", {"command": "rm old.json"}, "")
    moved = f"{CWD}/packages/api"
    edit = {"file_path": f"{moved}/package.json", "old_string": "{}", "new_string": "{ }"}
    records.tool("Edit", edit, "The file has been updated.")
    lines = [json.loads(line) for line in records.lines]
    for record in lines[5:]:  # from the second command on, the agent works in packages/api
        record["cwd"] = moved
    items = parse_lines([json.dumps(r) for r in lines], path="s.jsonl").items
    files = session_digest(items, 2000).sections["files"]
    assert "`packages/api/package.json` was edited once" in files
    assert "`packages/api/old.json` was deleted." in files
    assert "`package.json`" not in files
    assert moved not in files


def test_a_part_read_later_names_files_as_the_whole_did(tmp_path: Path) -> None:
    """A hook reads what was appended since its last save (``start_offset``): the agent's ``cd``
    before that part does not change how its records name files."""
    records = _Records()
    records.user("fix the api package")
    records.tool("Bash", {"command": "cd packages/api"}, "")
    moved = f"{CWD}/packages/api"
    edit = {"file_path": f"{moved}/package.json", "old_string": "{}", "new_string": "{ }"}
    records.tool("Edit", edit, "The file has been updated.")
    lines = [json.loads(line) for line in records.lines]
    for record in lines[3:]:
        record["cwd"] = moved
    path = tmp_path / "s.jsonl"
    text = "".join(json.dumps(r) + "\n" for r in lines)
    path.write_text(text, encoding="utf-8")
    offset = len("".join(json.dumps(r) + "\n" for r in lines[:3]).encode())
    whole = [i.content for i in parse_transcript(path).items if i.metadata.get("tool") == "Edit"]
    part = parse_transcript(path, start_offset=offset).items
    assert [i.content for i in part if i.metadata.get("tool") == "Edit"] == whole
    assert whole[0].startswith("Edit `packages/api/package.json`")


def test_searches_that_found_nothing_are_said_together() -> None:
    records = _Records()
    records.user("is there a CLAUDE.md?")
    for pattern in ["**/CLAUDE.md", ".cursorrules", "AGENTS.md"]:
        records.tool("Glob", {"pattern": pattern}, "No files found")
    records.tool("Glob", {"pattern": "*.md"}, f"{CWD}/README.md")
    listed = [f"{CWD}/node_modules/p{n}/package.json" for n in range(100)]
    cut = {"filenames": listed, "numFiles": 100, "truncated": True}
    records.tool("Glob", {"pattern": "**/package.json"}, "\n".join(listed), toolUseResult=cut)
    commands = session_digest(records.items(), 2000).sections["commands"].splitlines()
    said = "- Glob searches for `**/CLAUDE.md`, `.cursorrules` and `AGENTS.md` found nothing."
    assert said in commands
    assert "- A Glob search for `*.md` found 1 match in `README.md`." in commands
    # (hits only in installed dependencies: the folder they are in, not three of them)
    cut_line = "- A Glob search for `**/package.json` found 100 or more matches in "
    assert cut_line + "`node_modules/`." in commands


def test_a_search_names_the_projects_own_hits_before_its_dependencies() -> None:
    records = _Records()
    records.user("where are the podspecs?")
    listed = [f"{CWD}/example/node_modules/p{n}/p.podspec" for n in range(5)]
    listed.insert(3, f"{CWD}/ios/LiveText.podspec")
    records.tool("Glob", {"pattern": "**/*.podspec"}, "\n".join(listed))
    commands = session_digest(records.items(), 2000).sections["commands"].splitlines()
    assert "- A Glob search for `**/*.podspec` found 6 matches in `ios/LiveText.podspec`." in (
        commands
    )


def test_questions_and_instructions_to_the_user_are_not_results() -> None:
    text = (
        "Report whether it works. The question is: why does `load()` fail on `cfg.yaml`? "
        "The bug was a map iterated in random order in `merge()`. Zebra `a/z.py` comes first. "
        "Alpha `a/b.py` comes second."
    )
    items = [
        MemoryItem("t", "why does load fail?", metadata={"kind": "task"}, created_at=T0),
        _agent(1, text, kind="fact"),
    ]
    decisions = session_digest(items, 400).sections["decisions"]
    assert "The bug was a map iterated in random order in `merge()`." in decisions
    assert "Report whether" not in decisions
    assert "The question is" not in decisions
    assert decisions.index("Zebra") < decisions.index("Alpha")  # the text's own order


def test_a_todo_dropped_from_a_later_list_is_not_open() -> None:
    lists = (
        [["pending", "Rename the plugin"], ["pending", "Write the docs"]],
        [["completed", "Rename the plugin"]],
    )
    items = [
        _agent(i, "Todo list", kind="tool_call", tool="TodoWrite", todos=todos)
        for i, todos in enumerate(lists)
    ]
    digest = session_digest(items, 400).text
    assert "Done: Rename the plugin" in digest
    assert "Write the docs" not in digest


def test_a_code_block_glued_to_a_sentence_is_no_statement() -> None:
    text = (
        "The test only checks `err` from `cmd.CombinedOutput()`:```go\n"
        'if output, err := cmd.CombinedOutput(); err != nil { t.Fatalf("hook failed: %v", err) }'
        "\n```\nThe fix logs the output in `runHook()`."
    )
    decisions = session_digest([_agent(1, text, kind="fact")], 400).sections["decisions"]
    assert "`runHook()`" in decisions
    assert "t.Fatalf" not in decisions


def test_the_digest_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from memcore.cli import main
    from tests.claude_code_support import SESSION, write_claude_home

    projects = write_claude_home(tmp_path / ".claude")
    store = f"sqlite:///{tmp_path}/cli.db"
    assert main(["import-claude-code", str(projects), "--store", store]) == 0
    capsys.readouterr()
    assert main(["digest", SESSION, "--store", store, "--budget", "400"]) == 0
    out = capsys.readouterr().out
    assert "## What was asked" in out
    assert "checkout total is off by a cent" in out
    assert "`pytest -q tests/test_cart.py` ran once and failed (exit 1)" in out
    assert count_tokens(out.rstrip("\n")) <= 400
    assert main(["digest", "--store", store, "--budget", "50"]) == 0  # every session
    assert f"# Session {SESSION}" not in capsys.readouterr().out  # only one: no headings
    assert main(["digest", "nosuch", "--store", store]) == 1
    assert "no session 'nosuch'" in capsys.readouterr().err
    assert main(["digest", SESSION, "--store", f"sqlite:///{tmp_path}/none.db"]) == 1


_WORDS_ST = st.sampled_from(
    [
        "fix",
        "the",
        "bug",
        "`total()`",
        "src/cart.py",
        "run(",
        "All 3 tests pass.",
        "Let me",
        "because",
        "error:",
        "\n",
        "- ",
        "```",
        "**",
        "é",
        "→",
        "decided",
        "TODO",
        "/",
    ]
)
_TEXT = st.lists(_WORDS_ST, max_size=25).map(" ".join)
_META_VALUE = st.one_of(
    st.none(),
    st.integers(-3, 3),
    _TEXT,
    st.lists(_TEXT, max_size=3),
    st.lists(st.lists(_TEXT, max_size=3), max_size=3),
    st.booleans(),
)
_META = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from([*sorted(KIND_PRIORITY), "note", "scaffolding"]),
        "source": st.just("claude-code"),
        "tool": st.sampled_from(["Read", "Edit", "Write", "Bash", "Grep", "TodoWrite", "Task"]),
        "file_path": _TEXT,
        "cwd": _TEXT,
        "command": _TEXT,
        "pattern": _TEXT,
        "names": _META_VALUE,
        "added_lines": _META_VALUE,
        "todos": _META_VALUE,
        "error_lines": _META_VALUE,
        "outcome": _META_VALUE,
        "paths": _META_VALUE,
        "fixed_by": _META_VALUE,
        "fixes": _META_VALUE,
        "defines": _META_VALUE,
        "files_changed": _META_VALUE,
        "exit_code": _META_VALUE,
        "statement": _META_VALUE,
        "enclosing": _META_VALUE,
        "lines": _META_VALUE,
        "count": _META_VALUE,
        "tool_use_id": _META_VALUE,
        "report": _META_VALUE,
        "rejected": _META_VALUE,
        "resolved": _META_VALUE,
        "role": st.sampled_from(["user", "assistant"]),
    },
)
_ITEMS = st.lists(
    st.builds(
        lambda i, text, meta, minutes, prio: MemoryItem(
            f"i{i}",
            text or "x",
            priority=prio,
            metadata=meta,
            created_at=T0 + timedelta(minutes=minutes),
        ),
        st.integers(0, 10**6),
        _TEXT,
        _META,
        st.integers(0, 30),
        st.sampled_from(["low", "normal", "high", "critical"]),
    ),
    max_size=12,
    unique_by=lambda item: item.id,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=_ITEMS, budget=st.integers(0, 400))
def test_any_items_any_budget_compiled_equals_pure(items: list[MemoryItem], budget: int) -> None:
    from memcore._pure import pipeline as pure

    digest = session_digest(items, budget)
    assert digest.tokens == count_tokens(digest.text) <= budget
    original = getattr(memcore.digest_asked, "pipeline")  # noqa: B009 (not re-exported)
    with pytest.MonkeyPatch.context() as patch:  # hypothesis examples share no fixture
        _use_kernels(patch, pure)
        twin = session_digest(items, budget, counter=pure.count_tokens)
    native = session_digest(items, budget, counter=original.count_tokens)
    assert twin.text == native.text


def test_a_plan_s_steps_are_no_decisions_or_results() -> None:
    """A numbered plan under "Let me understand the plan:" (the agent's thinking, a real
    session's) is what was to be done: "Run `bun verify` to make sure everything passes" said
    under Decisions and results reads as done. What was done is said as done."""
    plan = MemoryItem(
        "t1",
        "Let me understand the plan:\n\n1. Delete `src/bin/skill.ts`\n2. Revert changes in "
        "`src/bin/chkit.ts` (remove the `skill` block)\n3. Run `bun verify` to make sure "
        "everything passes",
        metadata={"kind": "thinking", "source": "claude-code", "role": "assistant"},
    )
    done = MemoryItem(
        "f1",
        "Removed the `skill` block from `src/bin/chkit.ts`; `bun verify` passes.",
        metadata={"kind": "fact", "source": "claude-code", "role": "assistant"},
    )
    text = session_digest([plan, done], 2000).text
    assert "Removed the `skill` block" in text
    assert "Run `bun verify`" not in text
    assert "Delete `src/bin/skill.ts`" not in text
    assert "Revert changes" not in text


def test_a_sub_agent_s_glossary_is_reference_not_results() -> None:
    """A sub-agent's account of a document lists what names mean ("- `cwd`: Current working
    directory"): in a real session's digest those took the place of results. Its findings
    stay; a list of two such entries, or one of the agent's own, is no glossary."""
    report = MemoryItem(
        "r1",
        "SessionStart hooks receive this JSON on stdin.\n\n**Input Fields:**\n"
        "- `session_id`: Current session identifier\n- `transcript_path`: Path to "
        "conversation JSON\n- `cwd`: Current working directory\n- `permission_mode`: Current "
        "permission mode\n\nNo `additionalSystemPrompt` field exists - use "
        "`additionalContext` instead to inject context.",
        metadata={"kind": "tool_result", "source": "claude-code", "role": "user",
                  "tool": "Task", "report": True},
    )  # fmt: skip
    text = session_digest([report], 2000).text
    assert "No `additionalSystemPrompt` field exists" in text
    for said in ("Current session identifier", "Path to conversation JSON", "permission mode"):
        assert said not in text


def test_files_edited_alike_are_told_together_within_six_names() -> None:
    """Four configs given the same edit: one line for them while it names six things at most
    (the names the edit changed count, and each file's path)."""
    files = {}
    for n in range(4):
        entry = FileWork(f"pkg{n}/config.py", n, n + 1, edits=1)
        entry.names = {"alpha_one": 1, "beta_two": 1, "gamma_three": 1}
        files[entry.shown] = entry
    lines = [c.text for c in file_lines(files, 10) if "were each edited" in c.text]
    assert lines
    for line in lines:
        assert len(exact_names(line)) <= MOST_NAMES, line
    said = " ".join(c.text for c in file_lines(files, 10))
    for n in range(4):
        assert f"`pkg{n}/config.py`" in said
