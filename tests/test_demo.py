"""``memcore demo`` runs end to end in the test suite, on notes and on Claude Code transcripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from memcore.cli import main
from memcore.demo import load_transcripts, run_demo, simulated_accesses, stdlib_notes
from memcore.model import utc_now
from tests.claude_code_support import write_claude_home


@pytest.fixture
def no_transcripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's own ~/.claude out of the tests."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "no-claude"))


@pytest.mark.usefixtures("no_transcripts")
def test_demo_command_on_notes(memcore_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--notes", "300"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "300 notes from the standard library's docstrings" in out
    assert "conflict(s) resolved" in out
    assert "checksums equal" in out
    assert "hit rate" in out
    assert "found in the top 10" in out
    assert "handover note" in out
    assert "total" in out
    assert (memcore_home / "memory.db").exists()  # the embedded default store
    level1 = int(out.split("levels: level1 ")[1].split(",")[0])
    assert level1 > 0  # (notes an hour old and less: a spread of levels)
    assert f"the {level1:,} level-1 items intact after decompression: yes" in out


@pytest.mark.usefixtures("no_transcripts")
async def test_demo_figures_on_notes(memcore_home: Path) -> None:
    report = await run_demo(notes=300, seed=3)
    assert report.source == "stdlib-notes"
    assert report.items == 300
    assert report.sync["checksums_equal"]
    assert report.sync["one_sided_kept"]
    assert report.sync["conflicts_resolved"] >= 1
    assert report.sync["pull_items"] == 300
    compression = report.compression
    assert compression["compressed_size"] < compression["original_size"]
    assert sum(compression["levels"].values()) == 300
    assert compression["level1_intact"]
    assert compression["level1_checked"] == compression["levels"]["level1"] > 0
    assert 0 < compression["zstd_bundle_bytes"] < compression["bundle_bytes"]
    assert compression["zstd_same_levels"]
    overflow = report.overflow
    assert overflow["final_tokens"] <= overflow["budget"]
    assert overflow["tokens_saved"] == overflow["tokens_before"] - overflow["final_tokens"]
    assert overflow["actions"]
    prefetch = report.prefetch
    assert prefetch["scored_on"] > 0
    assert 0.0 < prefetch["hit_rate"] <= 1.0
    assert 0 < prefetch["first_guess_right"] <= prefetch["scored_on"]
    recall = report.recall
    assert recall["indexed"] == 300
    assert recall["queries"] > 0
    assert recall["found"] >= recall["queries"] // 2  # an item is found by its own words
    digest = report.digest
    assert 0 < digest["tokens"] <= digest["budget"]
    assert digest["sections"]
    assert report.tokens == {}
    assert {t.name for t in report.timings} == {
        "ingest",
        "sync",
        "compress",
        "overflow",
        "prefetch",
        "recall",
        "digest",
    }


async def test_demo_ingests_claude_code_transcripts(
    memcore_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = write_claude_home(tmp_path / ".claude")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(projects.parent))
    report = await run_demo(f"sqlite:///{memcore_home}/cc.db")
    assert report.source == "claude-code"
    assert report.source_detail == "3 Claude Code transcript file(s)"
    assert report.malformed_lines == 4
    assert report.accesses == 8
    # the reply that thought is billed for its thinking whole: not held against its text
    assert report.tokens["messages"] == 5
    assert report.tokens["left_out"] == 1
    assert report.tokens["billed_output_tokens"] == 120 + 30 + 25 + 60 + 60
    assert report.sync["checksums_equal"]


def test_a_budget_of_one_token_is_said_so(
    memcore_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Said "budget 1 tokens": one token is singular (transcripts with no critical item, which the
    overflow step could not evict, fit a budget of 1)."""
    projects = write_claude_home(tmp_path / ".claude")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(projects.parent))
    code = main(["demo", "--budget", "1", "--store", f"sqlite:///{memcore_home}/cc.db"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "4. overflow: budget 1 token, session " in out


def test_notes_given_for_a_run_on_transcripts_are_said_not_to_apply(
    memcore_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--notes 3`` was silently ignored when transcripts were there: --help says it, and a
    run given it says so in one line (on stderr; none when it was not given)."""
    projects = write_claude_home(tmp_path / ".claude")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(projects.parent))
    store = ["--store", f"sqlite:///{memcore_home}/cc.db"]
    assert main(["demo", "--notes", "3", *store]) == 0
    out, err = capsys.readouterr()
    assert "Claude Code transcript file(s)" in out
    assert err == (
        "memcore demo: --notes 3 did not apply: the demo ran on Claude Code transcripts "
        "(--no-transcripts runs it on notes)\n"
    )
    assert main(["demo", *store]) == 0
    assert capsys.readouterr().err == ""
    assert main(["demo", "--notes", "3", "--no-transcripts", *store]) == 0
    out, err = capsys.readouterr()
    assert "1. ingest: 3 notes from the standard library's docstrings;" in out
    assert err == ""
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "not used when the demo runs on Claude Code transcripts" in " ".join(
        capsys.readouterr().out.split()
    )


async def test_the_demo_counts_an_item_copied_into_two_transcripts_once(
    memcore_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session resumed in a new file starts with copies of the old one's records: the items
    said ingested are those the session holds, one per id (8 were counted twice)."""
    import shutil

    projects = write_claude_home(tmp_path / ".claude")
    first = sorted(projects.rglob("*.jsonl"))[0]
    shutil.copyfile(first, first.with_name("resumed-copy.jsonl"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(projects.parent))
    found = load_transcripts(None)
    ids = {item.id for t in found for item in t.items}
    assert sum(len(t.items) for t in found) > len(ids)  # (the copy's items are there twice)
    report = await run_demo(f"sqlite:///{memcore_home}/cc.db")
    assert report.items == len(ids)
    copies = [t for t in found if t.path.name == "resumed-copy.jsonl"]
    assert len(copies) == 1  # (its accesses are its original's: counted once)
    assert report.accesses == sum(len(t.accesses) for t in found) - len(copies[0].accesses)
    assert report.sync["checksums_equal"]


def test_simulated_accesses_repeat_topics() -> None:
    notes = stdlib_notes(120, 5, utc_now())
    accesses = simulated_accesses(notes, seed=5, length=500)
    assert len(accesses) == 500
    assert set(accesses) <= {note.id for note in notes}
    assert len(set(accesses)) < len(accesses) / 3  # habits: the same notes come back
    assert simulated_accesses(notes, seed=5, length=500) == accesses


def test_stdlib_notes_are_varied_and_repeatable() -> None:
    from collections import Counter
    from datetime import timedelta

    from memcore.demo_corpus import docstring_entries

    now = utc_now()
    notes = stdlib_notes(500, 11, now)
    assert len(notes) == len({note.id for note in notes}) == 500
    assert notes == stdlib_notes(500, 11, now)
    assert notes != stdlib_notes(500, 12, now)
    assert [n.created_at for n in notes] == sorted(n.created_at for n in notes)
    ages = [now - note.created_at for note in notes]
    assert any(age < timedelta(hours=1) for age in ages)
    assert any(timedelta(hours=1) < age < timedelta(hours=24) for age in ages)
    assert any(timedelta(hours=24) < age < timedelta(hours=168) for age in ages)
    assert any(age > timedelta(hours=168) for age in ages)
    assert set(Counter(str(note.priority) for note in notes)) == {
        "critical",
        "high",
        "normal",
        "low",
    }
    assert {"fact", "task", "preference"} <= {note.metadata["kind"] for note in notes}
    # the text really is the standard library's own documentation
    json_loads = next(e for e in docstring_entries() if e[1] == "json.loads")
    assert json_loads[2].startswith("Deserialize ``s``")


def test_corpus_does_not_depend_on_swapped_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from memcore import demo_corpus

    before = demo_corpus.docstring_entries()

    def excepthook(args: object) -> None:
        """A replacement hook, as pytest installs one, with a docstring long enough to count."""

    monkeypatch.setattr(threading, "excepthook", excepthook)
    monkeypatch.setattr(demo_corpus, "_cache", None)
    assert demo_corpus.docstring_entries() == before
    assert not any(name.endswith("hook") for _, name, _ in before)


def test_more_notes_than_docstrings_still_works() -> None:
    from memcore.demo_corpus import docstring_entries

    wanted = len(docstring_entries()) + 25
    notes = stdlib_notes(wanted, 2, utc_now())
    assert len(notes) == len({note.id for note in notes}) == wanted


def test_stdlib_notes_rejects_nonsense() -> None:
    from memcore.errors import ValidationError

    with pytest.raises(ValidationError):
        stdlib_notes(0, 1, utc_now())


def test_with_nothing_at_level_1_the_demo_says_so() -> None:
    """Transcripts a week old and more, no item critical: every item is summarized, and "the
    level-1 items came back intact" would claim a check that checked nothing."""
    from memcore.demo import _level1_said

    said = _level1_said({"level1_checked": 0, "level1_intact": True})
    assert said == "no item at level 1 to check (none critical, none younger than an hour)"
    assert _level1_said({"level1_checked": 3, "level1_intact": False}).endswith(": NO")


def test_a_usage_recorded_at_a_reply_s_start_is_not_held_against_its_text() -> None:
    """Claude Code writes a streamed reply's usage as it stood when the reply began: 1 output
    token for 1,342 characters in a shared transcript. Held against the text, such replies
    made ``count_tokens`` look 1.7x too high on the shared transcripts."""
    from memcore.claude_code.results import TokenSample, comparable

    def reply(output_tokens: int, text: str, thinking: bool = False) -> TokenSample:
        return TokenSample("m", text, output_tokens, 3, 0, 0, thinking)

    assert comparable(reply(300, "word " * 250))
    assert not comparable(reply(1, "word " * 250))  # (1,250 characters in one token)
    assert comparable(reply(1, "Done."))
    assert not comparable(reply(300, "word " * 250, thinking=True))
    assert not comparable(reply(0, "word"))
    assert not comparable(reply(5, ""))
