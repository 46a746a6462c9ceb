"""Which sources the compiled digest rules are built from, and their digest: shared by
``memcore._kernels`` (which refuses a build older than its source) and ``setup.py`` (which
records the digest beside the build and loads this file by its path, since the package cannot
be imported while it is being built). Standard library only, for that reason; ``hashlib`` is
imported when a digest is asked for, not by every process that imports memcore."""

from __future__ import annotations

from pathlib import Path

#: The sources compiled into the rules' package (relative to the ``memcore`` folder).
RULES_SOURCES = "digest_*.py"


def rules_source_digest(folder: str | Path) -> str:
    """The SHA-256 of the rule sources in ``folder`` (``RULES_SOURCES``, by name)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob(RULES_SOURCES)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


__all__ = ["RULES_SOURCES", "rules_source_digest"]
