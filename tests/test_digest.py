"""session_digest: within budget, deterministic, the same compiled or pure, statements not lists."""

from __future__ import annotations

import importlib
import random
import re
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memcore.digest
import memcore.digest_asked
from memcore import MemoryItem, SessionDigest, count_tokens, session_digest
from memcore._kernels import FAMILIES, RULES_PACKAGE
from memcore.claude_code import KIND_PRIORITY, parse_transcript
from memcore.digest import KERNEL_USERS
from memcore.digest_lines import build_candidates
from memcore.digest_spare import spare_lines
from memcore.errors import ValidationError
from tests.claude_code_support import DATA
from tests.digest_support import REAL, T0, needs_data

BIGGER = DATA / "entireio__cli__847ff7d2.jsonl"
BUDGETS = (0, 1, 3, 8, 15, 30, 60, 120, 250, 500, 1000, 2500, 8000)
_IDENT = re.compile(r"`[^`]+`")
_READ_LINE = re.compile(r"(^|\s)\d+\u2192")


def _use_kernels(monkeypatch: pytest.MonkeyPatch, pipeline_twin: ModuleType) -> None:
    """Make the digest use the twins (compiled or pure) that ``pipeline_twin`` is one of: the
    kernels and the rules (the pure rules with the pure kernels, the compiled rules, which
    import the compiled kernels, with those)."""
    package = pipeline_twin.__name__.rsplit(".", 1)[0]  # memcore._native or memcore._pure
    if package == "memcore._pure":
        engine = importlib.import_module("memcore.digest_engine")
        for name, families in KERNEL_USERS:
            module = importlib.import_module(name)
            for family in families:
                monkeypatch.setattr(module, family, importlib.import_module(f"{package}.{family}"))
    else:
        engine = importlib.import_module(f"{RULES_PACKAGE}.digest_engine")
    monkeypatch.setattr(memcore.digest, "_ENGINE", [engine])


def test_the_kernel_users_listed_are_the_digest_s_modules_that_import_kernels() -> None:
    """``KERNEL_USERS`` is what the twin comparisons switch: a digest module that imports a
    kernel family it does not list would be left compiled in the pure run."""
    source = Path(memcore.digest.__file__).parent
    found = {}
    for path in sorted(source.glob("digest*.py")):
        imported = re.search(r"^from memcore._kernels import (.+)$", path.read_text(), re.M)
        if imported:
            names = (f.strip() for f in imported.group(1).split(","))
            families = tuple(sorted(f for f in names if f in FAMILIES))  # (not ``load_rules``)
            if families:
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


def test_another_agent_s_items_are_said_by_their_kinds() -> None:
    """Items an agent keeps itself (not imported from Claude Code) are said by their kinds: its
    user's requests and preference under what was asked, a decision under decisions, a to-do
    as open, the rest as notes led by their kind in words."""
    kinds_and_texts = [
        ("task", "Find out why the nightly export to S3 fails since Tuesday."),
        ("tool_result", "aws s3 cp export.csv s3://acme-exports/ -> AccessDenied"),
        ("fact", "The exporter role lost s3:PutObject when the bucket policy was rotated."),
        ("preference", "Fixes go through Terraform, never the console."),
        ("decision", "Grant PutObject to the exporter role, not to a new role."),
        ("fact", "Added the grant back in `infra/s3.tf`."),
        ("todo", "Add a CloudWatch alarm on the export job's failures."),
    ]
    items = [
        MemoryItem(f"i{n}", text, metadata={"kind": kind}, created_at=T0 + timedelta(minutes=n))
        for n, (kind, text) in enumerate(kinds_and_texts)
    ]
    sections = session_digest(items, 400).sections
    assert sections["asked"].splitlines() == [
        "- The user asked: Find out why the nightly export to S3 fails since Tuesday.",
        "- The user's preference: Fixes go through Terraform, never the console.",
    ]
    assert (
        sections["decisions"]
        == "- Decided: Grant PutObject to the exporter role, not to a new role."
    )
    assert sections["open"] == "- To do: Add a CloudWatch alarm on the export job's failures."
    assert "- Tool result: aws s3 cp export.csv s3://acme-exports/ -> AccessDenied" in (
        sections["notes"].splitlines()
    )
