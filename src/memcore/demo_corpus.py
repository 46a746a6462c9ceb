"""Notes built from the Python standard library's docstrings: real text every Python install has.

The demo and the profiling scripts need a realistic session when the user has no Claude Code
transcripts. Nothing is shipped: the notes are read at run time from the docstrings of the
modules below, then given ages and priorities drawn from a seeded generator, so the same
``(n, seed, now)`` gives the same notes on the same Python version.
"""

from __future__ import annotations

import importlib
import inspect
import random
import warnings
from datetime import datetime, timedelta

from memcore.errors import ValidationError
from memcore.model import MemoryItem, Priority

#: Modules whose public functions and classes give the notes (importing them has no side effects).
MODULES = (
    "argparse", "base64", "bisect", "calendar", "collections", "contextlib", "csv", "dataclasses",
    "datetime", "decimal", "difflib", "enum", "fnmatch", "fractions", "functools", "glob", "gzip",
    "hashlib", "heapq", "html", "inspect", "ipaddress", "itertools", "json", "logging", "math",
    "operator", "os", "os.path", "pathlib", "pprint", "queue", "random", "re", "secrets",
    "shlex", "shutil", "statistics", "string", "struct", "tarfile", "tempfile", "textwrap",
    "threading", "time", "typing", "unicodedata", "urllib.parse", "uuid", "zipfile", "zlib",
)  # fmt: skip

#: (share of the notes, youngest age, oldest age): spread over every compression level.
AGES = (
    (0.15, timedelta(minutes=1), timedelta(minutes=55)),
    (0.25, timedelta(hours=1, minutes=5), timedelta(hours=23)),
    (0.30, timedelta(hours=25), timedelta(days=6, hours=20)),
    (0.30, timedelta(days=7, hours=2), timedelta(days=60)),
)
PRIORITIES = ((Priority.CRITICAL, 0.04), (Priority.HIGH, 0.16), (Priority.NORMAL, 0.55),
              (Priority.LOW, 0.25))  # fmt: skip
#: What kind of note each is, with weights (the knowledge kinds memcore's transfer looks at).
KINDS = (("fact", 0.7), ("task", 0.15), ("preference", 0.1), ("shortcut", 0.05))

_cache: list[tuple[str, str, str]] | None = None


def _note_text(doc: str, max_paragraphs: int = 4, max_chars: int = 1500) -> str:
    paragraphs = [" ".join(p.split()) for p in inspect.cleandoc(doc).split("\n\n")]
    text = "\n\n".join(p for p in paragraphs[:max_paragraphs] if p)
    return text[:max_chars]


def docstring_entries() -> list[tuple[str, str, str]]:
    """``(module, qualified name, docstring text)`` for every documented public name."""
    global _cache
    if _cache is not None:
        return _cache
    entries: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        with warnings.catch_warnings():  # typing.io and friends warn when their docs are read
            warnings.simplefilter("ignore", DeprecationWarning)
            entries.extend(_module_entries(module_name, module, seen))
    _cache = entries
    return entries


def _module_entries(module_name: str, module: object, seen: set[str]) -> list[tuple[str, str, str]]:
    entries: list[tuple[str, str, str]] = []
    for name in sorted(vars(module)):
        if name.startswith("_") or name.endswith("hook"):
            continue  # hooks are swapped at run time (pytest replaces threading.excepthook)
        value = getattr(module, name)
        if not (inspect.isfunction(value) or inspect.isclass(value)
                or inspect.isbuiltin(value)):  # fmt: skip
            continue
        doc = inspect.getdoc(value)
        if not doc:
            continue
        paragraph = _note_text(doc)
        if len(paragraph) < 40 or paragraph in seen:
            continue  # too short to be a note, or a re-export documented elsewhere
        seen.add(paragraph)
        entries.append((module_name, f"{module_name}.{name}", paragraph))
    return entries


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


def stdlib_notes(n: int, seed: int, now: datetime) -> list[MemoryItem]:
    """``n`` notes (oldest first) of varied ages and priorities, from the standard library."""
    if n <= 0:
        raise ValidationError(f"n must be positive (got {n})")
    entries = docstring_entries()
    rng = random.Random(seed)
    chosen = rng.sample(entries, min(n, len(entries)))
    while len(chosen) < n:  # a small Python build: revisit notes, as agents do
        chosen.append(rng.choice(entries))
    notes = []
    for index, (module, name, text) in enumerate(chosen):
        shares = [share for share, _, _ in AGES]
        _, young, old = rng.choices(AGES, shares)[0]
        age = young + (old - young) * rng.random()
        kind = _pick(rng, KINDS)
        priority = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
        notes.append(
            MemoryItem(
                id=f"note:{index:05d}:{name}",
                content=f"{name}: {text}",
                priority=priority,
                created_at=now - age,
                metadata={
                    "kind": kind,
                    "topic": module,
                    "source": "stdlib-docstrings",
                    "name": name,
                },
            )
        )
    notes.sort(key=lambda item: (item.created_at, item.id))
    return notes


__all__ = ["MODULES", "docstring_entries", "stdlib_notes"]
