"""Store URLs as people see them: every URL memcore prints goes through ``mask_url`` first.

A Redis URL may carry a password (``redis://user:secret@host/0``, or ``?password=secret``), and
a ``rediss://`` one the passphrase of its TLS key (``?ssl_password=secret``); they must never
reach a terminal, a log or an exception message. The mask works on the text alone and never
raises, because it also runs inside error handlers for URLs that failed to parse.
"""

from __future__ import annotations

import re

from memcore.lazy_re import lazy_compile

MASK = "***"
_FILE_SCHEMES = ("sqlite", "memory", "file")
_QUERY_SECRET = lazy_compile(r"(?i)([?&](?:password|pass|pwd|ssl_password)=)[^&#]*")


def mask_url(url: object) -> str:
    """``url`` as text with any password (or key passphrase) replaced by ``***`` (anything else
    left as it is)."""
    text = url if isinstance(url, str) else str(url)
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)
    start = text.find("://")
    if start < 0:
        return text
    scheme, start = text[:start].lower(), start + 3
    rest = text[start:]
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    # A password may hold '/', '?' or '#' when the URL is not percent-encoded: with no '@' in
    # the authority, everything up to the last '@' counts as user information (not in a file
    # path, where only a well-formed authority can hold one).
    at = rest.rfind("@") if "@" not in netloc and scheme not in _FILE_SCHEMES else netloc.rfind("@")
    if at < 0:
        return text
    user, colon, _password = rest[:at].partition(":")
    if not colon:
        return text
    return f"{text[:start]}{user}:{MASK}{text[start + at :]}"


__all__ = ["MASK", "mask_url"]
