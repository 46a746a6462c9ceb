"""The digest's rules and their compiled twin: mypyc's build of the same source
(``memcore._native.digest_rules``, see ``setup.py``) gives the same bytes as the Python modules,
on the real sessions and on any items, and a source tree refuses compiled rules older than their
source."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memcore.digest
import memcore.digest_engine
from memcore import MemoryItem
from memcore._kernels import NATIVE, RULES_PACKAGE, load_rules
from memcore._rules_source import rules_source_digest
from memcore.claude_code import parse_transcript
from memcore.digest import KERNEL_USERS
from memcore.tokens import get_token_counter
from tests.claude_code_support import DATA
from tests.test_digest import _ITEMS

pytestmark = pytest.mark.native_only

#: Budgets from a brief to a long note, and one that fits nothing.
BUDGETS = [0, 150, 600, 2000, 6000]
SESSIONS = sorted(DATA.glob("*.jsonl")) if DATA.is_dir() else []


@pytest.fixture(scope="module")
def compiled() -> ModuleType:
    return importlib.import_module(f"{RULES_PACKAGE}.digest_engine")


@pytest.fixture
def pure_kernels_in_pure_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure rules call the pure kernels, as in a pure install."""
    for name, families in KERNEL_USERS:
        module = importlib.import_module(name)
        for family in families:
            monkeypatch.setattr(module, family, importlib.import_module(f"memcore._pure.{family}"))


def _texts(
    engine: ModuleType, items: list[MemoryItem], budgets: list[int], *, ongoing: bool = False
) -> list[tuple[str, int, dict[str, str]]]:
    count = get_token_counter()
    return [(d.text, d.tokens, d.sections) for d in engine.digests(items, budgets, count, ongoing)]


def test_the_compiled_rules_are_the_ones_in_use(compiled: ModuleType) -> None:
    assert NATIVE
    assert memcore.digest.engine() is compiled
    assert Path(compiled.__file__ or "").suffix in (".so", ".pyd")  # built, not the copy
    assert load_rules("digest_engine") is compiled


@pytest.mark.skipif(not SESSIONS, reason="development transcripts not present")
@pytest.mark.parametrize("session", SESSIONS, ids=lambda p: p.stem)
def test_real_sessions_give_the_same_bytes(
    compiled: ModuleType, pure_kernels_in_pure_rules: None, session: Path
) -> None:
    items = parse_transcript(session).items
    assert _texts(compiled, items, BUDGETS) == _texts(memcore.digest_engine, items, BUDGETS)
    half = items[: len(items) // 2]  # (what handle_context_overflow digests: the start)
    assert _texts(compiled, half, [300, 1200], ongoing=True) == _texts(
        memcore.digest_engine, half, [300, 1200], ongoing=True
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=_ITEMS, budgets=st.lists(st.integers(0, 500), min_size=1, max_size=3))
def test_any_items_give_the_same_bytes(items: list[MemoryItem], budgets: list[int]) -> None:
    compiled = importlib.import_module(f"{RULES_PACKAGE}.digest_engine")
    with pytest.MonkeyPatch.context() as patch:  # (hypothesis examples share no fixture)
        for name, families in KERNEL_USERS:
            module = importlib.import_module(name)
            for family in families:
                patch.setattr(module, family, importlib.import_module(f"memcore._pure.{family}"))
        pure = _texts(memcore.digest_engine, items, budgets)
    assert _texts(compiled, items, budgets) == pure


def test_a_source_tree_refuses_compiled_rules_older_than_their_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = importlib.import_module(RULES_PACKAGE)
    here = str(Path(memcore.digest.__file__).parent)
    assert rules_source_digest(here) == package.SOURCE_DIGEST  # this build is current
    monkeypatch.setattr(package, "SOURCE_DIGEST", "0" * 64)  # as if a rule changed since
    monkeypatch.setattr("memcore._kernels._installed_build", lambda: False)
    with pytest.raises(ImportError, match=r"another version of their source.*setup.py build_ext"):
        load_rules("digest_engine")


def test_a_command_meeting_compiled_rules_older_than_their_source_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source tree whose rules changed since the build: the command says what to rebuild,
    one line, no traceback (another ImportError is no memcore build's, and is not caught)."""
    from memcore.cli import EXIT_ERROR, main

    def stale() -> object:
        raise ImportError(
            "memcore's compiled rules 'digest_engine' were built from another version of their "
            "source. Build them with `python setup.py build_ext --inplace`."
        )

    monkeypatch.setattr(memcore.digest, "engine", stale)
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(
        '{"type":"user","sessionId":"s","uuid":"u1","timestamp":"2026-01-01T00:00:00Z",'
        '"cwd":"/w","message":{"role":"user","content":"fix the build"}}\n'
    )
    assert main(["digest", str(transcript)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "built from another version" in err
    assert "Traceback" not in err
