"""Two ``memcore import-claude-code`` runs at once on one store are two live replicas: each run
writes under an id of its own. They shared the fixed id ``memcore-import``, and each run's
sync took the other's writes for its own (a warning per key, and conflicts settled wrongly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from memcore.cli import main
from memcore.sync import DistributedMemoryManager
from tests.claude_code_support import DATA
from tests.claude_hooks_support import EARLIER, _place

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


def test_each_import_run_writes_under_its_own_replica_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript, _ = _place(tmp_path, EARLIER[0])
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    ids: list[str] = []
    original = DistributedMemoryManager.__init__

    def noting(self: DistributedMemoryManager, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        ids.append(self.replica_id)

    monkeypatch.setattr(DistributedMemoryManager, "__init__", noting)
    runs = []
    for _ in range(2):
        ids.clear()
        assert main(["import-claude-code", str(transcript), "--store", url, "--reread"]) == 0
        runs.append({i for i in ids if i.startswith("memcore-import")})
    capsys.readouterr()
    first, second = runs
    assert len(first) == 1, runs  # (one id throughout a run)
    assert len(second) == 1, runs
    assert first != second
