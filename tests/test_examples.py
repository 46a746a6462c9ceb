"""The examples and the README's Python snippets run as they are shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_script(path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_two_agents_share_memory_through_redis(redis_url: str) -> None:
    out = run_script(ROOT / "examples" / "shared_memory_redis.py", redis_url)
    assert "researcher pushed 2 items" in out
    assert "writer pulled 2 items" in out
    assert "conflicts resolved: 1" in out
    assert "states equal: True" in out


def test_redis_example_needs_a_url() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "shared_memory_redis.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "MEMCORE_REDIS_URL"},
        check=False,
    )
    assert proc.returncode == 2
    assert "usage:" in proc.stderr


@pytest.mark.parametrize("budget", ["4000", "1500"])
def test_token_budget_example(budget: str) -> None:
    out = run_script(ROOT / "examples" / "token_budget.py", budget)
    assert f"budget {int(budget):,}:" in out
    assert "critical items kept" in out


def readme_snippets() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_has_an_api_tour() -> None:
    assert len(readme_snippets()) >= 5


def test_readme_snippets_run(tmp_path: Path) -> None:
    # The tour's snippets build on each other, like a reader pasting them into one session.
    script = tmp_path / "tour.py"
    script.write_text("\n\n".join(readme_snippets()), encoding="utf-8")
    run_script(script, env={"MEMCORE_HOME": str(tmp_path / "home")})


@pytest.mark.parametrize("workload", ["checksum", "compress", "overflow", "prefetch", "sync"])
def test_profiling_workloads_run(workload: str, tmp_path: Path) -> None:
    out = run_script(
        ROOT / "scripts" / "profile_workloads.py",
        workload,
        "-n",
        "120",
        "--repeat",
        "1",
        env={"MEMCORE_HOME": str(tmp_path)},
    )
    assert out.startswith(f"{workload} run 1: ")


def test_cprofile_entry_point(tmp_path: Path) -> None:
    saved = tmp_path / "compress.prof"
    out = run_script(
        ROOT / "scripts" / "profile_cprofile.py",
        "compress",
        "-n",
        "120",
        "--repeat",
        "1",
        "--out",
        str(saved),
    )
    assert "cumulative" in out
    assert saved.stat().st_size > 0


def test_pyinstrument_entry_point() -> None:
    pytest.importorskip("pyinstrument", reason="pyinstrument (the dev extra) is not installed")
    out = run_script(
        ROOT / "scripts" / "profile_pyinstrument.py", "prefetch", "-n", "120", "--repeat", "1"
    )
    assert "profile_workloads.py" in out
