"""Secrets masked in transcript records before anything of them is kept: what memory stores is
brought back into later sessions' context and search results, sent to a model again, and a key
pasted into a prompt or printed by a command must not travel that way.

Masked, each by its own format (few false alarms: these shapes are rarely anything else, and
the shapes words can take, ``sk-folding-cube``, count only when they mix letters and digits):
private key blocks, AWS access key ids, GitHub, Anthropic, OpenAI, Slack, Google, Stripe keys
and tokens, JSON web tokens, ``Bearer`` credentials, and the password of a URL
(``postgres://user:[masked password]@host``). Each becomes ``[masked <kind>]``. Passwords in
free text (``password=hunter2``) are not: that shape is also every config key and test
fixture.

The masking is done on each record's line, as read, before it is decoded: the same for a save
that reads a transcript whole and one that reads on from where the last stopped, so both keep
the same items. A line is first asked which of the patterns' literal parts it holds, in one
native pass (``literal_hits`` of the ``text`` kernels): most lines hold none and go on
untouched, and only the patterns of those it holds run. ``MEMCORE_MASK_SECRETS=0``
keeps everything as written. Items stored before this masking are masked in place by
``memcore mask-secrets`` (:mod:`memcore.claude_code.mask_stored`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from memcore._kernels import text
from memcore._pure._text_tables import SECRET_LITERALS
from memcore.claude_code.hook_events import switched_off

#: ``MEMCORE_MASK_SECRETS=0`` keeps transcripts' secrets as written.
OFF_SWITCH = "MEMCORE_MASK_SECRETS"

# (kind, pattern), one for each of ``SECRET_LITERALS`` (the ``text`` kernels' table: a line is
# first asked which of them it holds, in one native pass, ``literal_hits``), in their order. A
# pattern starts with its literal, which lets the regular expression engine skip ahead to it;
# what must come before (a word's start, the ``B`` of ``Bearer``) is checked on the match. No
# pattern matches a double quote or a backslash but inside a private key's block (whose
# escaped newlines it takes whole), so a masked line is still the same JSON.
_PATTERNS: tuple[tuple[str, bytes], ...] = (
    (
        "private key",
        rb"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----"
        rb"[^\"]{0,16000}?-----END [A-Z ]{0,40}PRIVATE KEY-----",
    ),
    ("aws key", rb"AKIA[0-9A-Z]{16}(?![0-9A-Za-z])"),
    ("aws key", rb"ASIA[0-9A-Z]{16}(?![0-9A-Za-z])"),
    ("github token", rb"gh[pousr]_[A-Za-z0-9]{36,255}(?![0-9A-Za-z_])"),
    ("github token", rb"github_pat_[A-Za-z0-9_]{22,255}"),
    ("anthropic key", rb"sk-ant-[A-Za-z0-9_\-]{20,}"),
    ("openai key", rb"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{32,}"),
    ("slack token", rb"xox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("google key", rb"AIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])"),
    ("stripe key", rb"k_live_[A-Za-z0-9]{16,}"),
    ("stripe key", rb"k_test_[A-Za-z0-9]{16,}"),
    ("json web token", rb"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ("bearer token", rb"earer [A-Za-z0-9._~+/\-]{20,}=*"),
    ("password", rb"://[^\s:/@\"\\]*:[^\s@/\"\\]{1,200}@"),
)
if len(_PATTERNS) != len(SECRET_LITERALS):  # (a table changed without the other)
    raise ImportError("masking: one pattern for each of SECRET_LITERALS")
#: Kinds whose shape alone (a prefix and a run of letters, digits and dashes) words can take:
#: masked only when the run after the prefix (this many bytes) mixes letters and digits, as a
#: generated key does.
_RANDOM = {"anthropic key": 7, "openai key": 3, "slack token": 5}
_DIGITS = frozenset(b"0123456789")
_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _looks_random(run: bytes) -> bool:
    """Whether ``run`` holds both a digit and a letter."""
    return not _DIGITS.isdisjoint(run) and not _LETTERS.isdisjoint(run)


_WORD = _LETTERS | _DIGITS | frozenset(b"_")


@functools.cache
def _compiled(index: int) -> re.Pattern[bytes]:
    """Pattern ``index``, compiled at the first line that holds its literal."""
    return re.compile(_PATTERNS[index][1])


def _masked(raw: bytes, index: int) -> bytes:
    """``raw`` with the secrets of pattern ``index`` masked."""
    kind = _PATTERNS[index][0]

    def mask(match: re.Match[bytes]) -> bytes:
        found, at = match.group(0), match.start()
        before = raw[at - 1] if at else None
        if kind == "password":  # the user's name stays: ``user:[masked password]``
            return b"://" + found[3:].split(b":", 1)[0] + b":[masked password]@"
        if kind == "bearer token":
            if before not in (ord("B"), ord("b")) or not _looks_random(found[6:]):
                return found  # (``Bearer YOUR_ACCESS_TOKEN_HERE``: a placeholder)
            return b"earer [masked bearer token]"
        if kind == "stripe key":  # (``sk_live_``, ``rk_test_``: the letter before is the key's)
            if before not in (ord("r"), ord("s")) or (at > 1 and raw[at - 2] in _WORD):
                return found
            return b"k_[masked stripe key]"
        if before is not None and before in _WORD:  # inside a longer word: no key
            return found
        if kind in _RANDOM and not _looks_random(found[_RANDOM[kind] :]):
            return found  # (``sk-folding-cube``, ``xoxo-hugs``: words, not a key)
        return f"[masked {kind}]".encode()

    masked = _compiled(index).sub(mask, raw)
    return raw if masked == raw else masked


def mask_line(raw: bytes) -> bytes:
    """``raw`` (a record's line) with its secrets masked; the same object when it has none."""
    hits = text.literal_hits(raw)
    index = 0
    while hits:
        if hits & 1:
            raw = _masked(raw, index)
        hits >>= 1
        index += 1
    return raw


def masker() -> Callable[[bytes], bytes]:
    """``mask_line``, or (``MEMCORE_MASK_SECRETS=0``) a function that keeps lines as they are."""
    return _unchanged if switched_off(OFF_SWITCH) else mask_line


def _unchanged(raw: bytes) -> bytes:
    return raw


__all__ = ["OFF_SWITCH", "mask_line", "masker"]
