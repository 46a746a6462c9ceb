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
        others = [pair for pair in self._chosen(chosen, cand.section) if known <= pair[0]]
        if not others:
            return False
        texts = self.texts
        words = texts.words(cand.text)
        if len(words) < 2:
            return False
        names = texts.names(cand, known)
        least = ECHO_SHARE * len(words)
        return any(
            names <= other_names and len(words & texts.words(other_text)) >= least
            for other_names, other_text in others
        )


__all__ = ["ECHO_SHARE", "EchoIndex", "EchoTexts"]
