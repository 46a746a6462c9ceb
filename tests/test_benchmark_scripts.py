"""The quality benchmarks the README tells to run as ``python benchmarks/NAME.py`` start that
way, from any folder (a script run has no package around it: one that imports another
benchmark's functions must find them itself). Those with options are asked for ``--help``;
the few without any run whole (seconds each), which the CI's own runs do not: left out here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(
    path.name
    for path in BENCHMARKS.glob("*.py")
    if not path.name.startswith(("test_", "_", "conftest"))
    and 'if __name__ == "__main__"' in path.read_text(encoding="utf-8")
)
WITH_OPTIONS = [n for n in SCRIPTS if "argparse" in (BENCHMARKS / n).read_text(encoding="utf-8")]


def test_the_readme_names_every_script() -> None:
    readme = (BENCHMARKS.parent / "README.md").read_text(encoding="utf-8")
    assert len(WITH_OPTIONS) >= 4
    for name in SCRIPTS:
        assert f"benchmarks/{name}" in readme, name


@pytest.mark.parametrize("name", WITH_OPTIONS)
def test_a_benchmark_script_starts_as_a_script(name: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "usage:" in run.stdout
