"""What the ``memcore`` command's tests share: running it in process, its one-line errors, and
a Claude Code home and a store under the temporary ``$MEMCORE_HOME``."""

from __future__ import annotations

from pathlib import Path

import pytest

from memcore.cli import main
from tests.claude_code_support import write_claude_home


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert needle in lines[0], err


@pytest.fixture(name="projects")
def projects_fixture(tmp_path: Path) -> Path:
    return write_claude_home(tmp_path / ".claude")


@pytest.fixture(name="store_url")
def store_url_fixture(memcore_home: Path) -> str:
    return f"sqlite:///{memcore_home}/cli.db"
