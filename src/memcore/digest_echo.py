"""Echoes: a digest line that says a chosen line of its section again in other words.

A line that names nothing a chosen line of its section does not (code spans whole, and names in
its prose: ``camelCase``, ``snake_case``), and whose other words are at least ``ECHO_SHARE`` of
that line's, says it again ("I see that there's no `session` command in the CLI yet." after
"I see - there's no `session` command in the CLI yet."): the digest leaves it out.

The check runs for each line the digest's greedy is about to choose, against the chosen lines of
its section, so it is built to cost little: a line's names and words are worked out once per
digest (shared by the digest's budgets), words only for the lines whose names pass, and the
chosen lines are indexed by section as they are chosen.
"""

from __future__ import annotations

from collections.abc import Sequence

from memcore._kernels import prose
from memcore.digest_lines import Candidate

ECHO_SHARE = 0.85
#: Words too common to tell two lines apart.
_STOP = frozenset(
    [
        "a", "an", "and", "i", "in", "is", "it", "of", "on", "s", "t", "that", "the", "this",
        "to", "was", "with",
    ]
)  # fmt: skip


class EchoTexts:
    """Each line text's echo names and words (the prose kernels' ``echo_names`` and
    ``stemmed_words``), worked out when first asked for; one per digest (its texts are the
    same at every budget)."""

    __slots__ = ("_names", "_words")

    def __init__(self) -> None:
        self._names: dict[str, frozenset[str]] = {}
        self._words: dict[str, frozenset[str]] = {}

    def names(self, cand: Candidate, known: frozenset[str] | None = None) -> frozenset[str]:
        """The line's exact names, code spans whole, and the names in its prose. ``known``: its
        exact names (``line_identifiers``), when found already: not looked for again."""
        text = cand.text
        found = self._names.get(text)
        if found is None:
            given = cand.names if cand.names is not None else known
            found = self._names[text] = prose.echo_names(text, given)
        return found

    def words(self, text: str) -> frozenset[str]:
        """The line's other words: outside code spans, lowercased, stemmed, not the commonest."""
        found = self._words.get(text)
        if found is None:
            found = self._words[text] = prose.stemmed_words(text, _STOP, True, False)
        return found


class EchoIndex:
    """The chosen lines of one digest by section, for ``echoes``; follows the chosen list as it
    grows, and starts over when it is replaced (the greedy's ``restore``)."""

    __slots__ = ("_by_section", "_count", "_list", "texts")

    def __init__(self, texts: EchoTexts) -> None:
        self.texts = texts
        self._by_section: dict[str, list[tuple[frozenset[str], str]]] = {}
        self._list: Sequence[Candidate] = ()
        self._count = 0

    def _chosen(
        self, chosen: Sequence[Candidate], section: str
    ) -> list[tuple[frozenset[str], str]]:
        if chosen is not self._list or len(chosen) < self._count:
            self._by_section, self._list, self._count = {}, chosen, 0
        if self._count < len(chosen):
            index, names = self._by_section, self.texts.names
            for other in chosen[self._count :]:
                index.setdefault(other.section, []).append((names(other), other.text))
            self._count = len(chosen)
        return self._by_section.get(section, [])

    def echoes(self, cand: Candidate, known: frozenset[str], chosen: Sequence[Candidate]) -> bool:
        """Whether a line of ``chosen`` in ``cand``'s section already says ``cand``. ``known``:
        names ``cand`` is known to name (``line_identifiers``): only a chosen line naming them
        all can, and without one nothing else of ``cand`` is worked out."""
        others = [pair for pair in self._chosen(chosen, cand.section) if _named_in(known, pair[0])]
        if not others:
            return False
        texts = self.texts
        words = texts.words(cand.text)
        names = texts.names(cand, known)
        if len(words) >= 2:
            least = ECHO_SHARE * len(words)
            if any(
                names <= other_names and len(words & texts.words(other_text)) >= least
                for other_names, other_text in others
            ):
                return True
        if "/" not in cand.text:
            return False
        # a file named both ways, in a span and in prose ("Added `GetCount` to f.go" and
        # "`cli/f.go` - Added GetCount": two compaction summaries' accounts of one change):
        # names compared bare, a path also by its end, and words compared without those
        # that are a name's part
        plain = _bare(names)
        own = _outside(words, plain)
        if not own:
            return False
        least = ECHO_SHARE * len(own)
        for other_names, other_text in others:
            other_plain = _bare(other_names)
            if (
                _named_in(plain, other_plain)
                and len(own & _outside(texts.words(other_text), other_plain)) >= least
            ):
                return True
        return False

    def said_by(self, cand: Candidate, chosen: Sequence[Candidate]) -> list[str]:
        """The texts of the chosen lines of ``cand``'s section that ``cand`` says again, and
        more: each of their names is one of its (a path also by its end), and their other
        words are ``ECHO_SHARE`` of its ("Added interface to `agent/agent.go`" chosen first,
        then "`cli/agent/agent.go` - Added TranscriptAnalyzer interface", which the echo check
        lets in for the name it adds). Lines naming nothing are left alone: "All tests pass."
        early and late are two results."""
        others = self._chosen(chosen, cand.section)
        if not others:
            return []
        texts = self.texts
        names = _bare(texts.names(cand))
        if not names:
            return []
        words = None
        found = []
        for other_names, other_text in others:
            if not other_names or other_text == cand.text:
                continue
            plain = _bare(other_names)
            if not _named_in(plain, names):
                continue
            if words is None:
                words = _outside(texts.words(cand.text), names)
            own = _outside(texts.words(other_text), plain)
            if len(own) >= 2 and len(own & words) >= ECHO_SHARE * len(own):
                found.append(other_text)
        return found


def _bare(names: frozenset[str]) -> frozenset[str]:
    return frozenset(name.strip("`") for name in names)


def _outside(words: frozenset[str], names: frozenset[str]) -> frozenset[str]:
    """``words`` but those that are part of one of ``names`` (a path's parts, a name in prose
    lowercased)."""
    lowered = [name.lower() for name in names]
    return frozenset(w for w in words if not any(w in name for name in lowered))


def _named_in(names: frozenset[str], other: frozenset[str]) -> bool:
    """Whether each of ``names`` is one of ``other``, a path also as the end of another path
    (``claudecode/transcript.go`` and ``cmd/cli/agent/claudecode/transcript.go`` name one file:
    a compaction summary names files both ways)."""
    missing = names - other
    if not missing:
        return True
    if not all("/" in name for name in missing):  # (most lines: a name not there, no path)
        return False
    paths = [o for o in other if "/" in o]
    return all(
        any(o.endswith("/" + name) or name.endswith("/" + o) for o in paths) for name in missing
    )


__all__ = ["ECHO_SHARE", "EchoIndex", "EchoTexts"]
