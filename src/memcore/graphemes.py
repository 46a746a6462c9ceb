"""Where a text may be cut without splitting what a reader sees as one character.

A cut by characters (the lead of a text whose first "word" is longer than its budget) that
only stepped back over combining marks still split emoji sequences: a family emoji joined by
zero-width joiners came out as its first members and a dangling joiner, a flag as half of its
pair of regional indicators, a skin-toned hand as the hand without its tone. This is the part of
Unicode's extended grapheme cluster rules (UAX #29) such cuts meet, without a dependency.
"""

from __future__ import annotations

import unicodedata

_ZWJ = "\u200d"


def _extends(c: str) -> bool:
    """``c`` belongs to the cluster before it: a mark, a joiner, a variation selector, an emoji
    skin-tone modifier, an emoji tag (the subdivision flags), or a Hangul vowel or final."""
    code = ord(c)
    return (
        c == _ZWJ
        or unicodedata.category(c) in ("Mn", "Mc", "Me")
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or 0x1160 <= code <= 0x11FF
    )


def _regional(c: str) -> bool:
    return 0x1F1E6 <= ord(c) <= 0x1F1FF


def cluster_cut(text: str, at: int) -> int:
    """The greatest index ``<= at`` where ``text`` can be cut between two user-perceived
    characters (0 when the whole start is one)."""
    at = max(0, min(at, len(text)))
    while 0 < at < len(text):
        if _extends(text[at]) or text[at - 1] == _ZWJ:
            at -= 1
            continue
        if _regional(text[at]) and _regional(text[at - 1]):
            run = 0  # regional indicators pair up from the start of their run
            while at - run - 1 >= 0 and _regional(text[at - run - 1]):
                run += 1
            if run % 2:
                at -= 1
                continue
        break
    return at


def first_cluster_end(text: str) -> int:
    """Where the first user-perceived character of ``text`` ends (0 for the empty text)."""
    end = 1 if text else 0
    while end < len(text) and cluster_cut(text, end) != end:
        end += 1
    return end


__all__ = ["cluster_cut", "first_cluster_end"]
