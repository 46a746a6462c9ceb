"""The digest's cut lines: a line cut to fit keeps half its words, leaves no code span or
aside open, and never ends on a word that promises what the cut took away."""

from __future__ import annotations

import pytest

import memcore.digest
import memcore.digest_cut


def words(text: str) -> int:
    """A counter of whitespace-separated words, so that the cuts are easy to reason about."""
    return len(text.split())


def test_a_cut_line_keeps_half_its_words_and_ends_on_no_connective() -> None:
    line = "- `src/a.py` was edited twice, changing `f()` and `g()` in the parser module today"
    for room in range(4, words(line) + 1):
        cut = memcore.digest_cut.cut_line(line, room, words)
        if cut is None:
            continue
        assert words(cut) <= room
        assert cut.endswith("\u2026")
        kept = cut[:-1].split()
        assert len(kept) >= words(line) / 2
        assert kept[-1].rstrip(",").lower() not in {"and", "changing", "the", "in"}
        assert cut.count("`") % 2 == 0


@pytest.mark.parametrize(
    ("line", "dangling"),
    [
        ("- The test is failing because it\u2019s not seeing the new `config.go` file", "because"),
        ("- An edit of `cmd/wingman.go` took out the three calls to `spawn()` for now", "took"),
        ("- Fix the parser - then the lexer and the `emit()` pass and the docs", "-"),
    ],
)
def test_a_cut_line_ends_on_no_promise(line: str, dangling: str) -> None:
    """Cut at any length, a line never ends on a word that promises what was cut ("took…",
    "because it's…", "not…", a dash)."""

    endings = set()
    for room in range(4, words(line)):
        cut = memcore.digest_cut.cut_line(line, room, words, min_share=0)
        if cut is not None:
            last = cut[:-1].split()[-1].lower().replace("\u2019", "'")
            endings.add(last)
            assert last not in memcore.digest_cut.DANGLING, cut
    assert endings
    assert dangling not in endings


def test_a_cut_line_leaves_no_aside_open() -> None:
    line = (
        "- `a.swift` also defines `View`, `onStart`, `onReady` and `onError` "
        "(seen when it was read)."
    )
    cuts = [memcore.digest_cut.cut_line(line, room, words) for room in range(4, words(line))]
    assert "- `a.swift` also defines `View`, `onStart`, `onReady` and `onError`\u2026" in cuts
    for cut in cuts:
        assert cut is None or cut.count("(") == cut.count(")")
    edit = (
        "- An edit of `Logf()` in `cli/telemetry.go` added `fmt.Fprintf(os.Stderr, format, args)`."
    )
    for room in range(4, words(edit)):
        cut = memcore.digest_cut.cut_line(edit, room, words)
        assert cut is None or not cut.endswith("added\u2026"), cut
