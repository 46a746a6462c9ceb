"""The source distribution: what ``pip install`` from an sdist builds from must all be in it.

A kernel's ``.pxd``/``.pxi`` left out of ``MANIFEST.in`` passes every test in a checkout and
fails only when someone installs from PyPI's sdist; so the sdist is built here from the
checkout's files that git keeps or would keep (as a release would be) and compared with them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout (the tracked files are what a release is built from)")
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def sdist_names(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], list[str]]:
    """The sdist's member names (without its top folder), and the tracked files."""
    tracked = _tracked_files()
    copy = tmp_path_factory.mktemp("checkout")
    for name in tracked:
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    dist = copy / "dist"
    # the sdist's contents do not depend on the build mode; the pure one skips cythonizing
    env = {**os.environ, "MEMCORE_NO_EXTENSIONS": "1"}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])",
            str(dist),
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        check=True,
        timeout=300,
    )
    (archive,) = dist.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        names = {member.name.split("/", 1)[1] for member in tar.getmembers() if "/" in member.name}
    return names, tracked


def test_the_sdist_holds_every_source_of_the_package(
    sdist_names: tuple[set[str], list[str]],
) -> None:
    names, tracked = sdist_names
    needed = [
        name
        for name in tracked
        if name.startswith("src/memcore/") and not name.endswith((".c", ".html"))
    ]
    assert needed, "no package sources tracked"
    missing = sorted(set(needed) - names)
    assert not missing, f"left out of the sdist (see MANIFEST.in): {missing}"
    for name in ("README.md", "LICENSE", "pyproject.toml", "setup.py", "src/memcore/py.typed"):
        assert name in names


def test_the_sdist_holds_no_generated_or_compiled_file(
    sdist_names: tuple[set[str], list[str]],
) -> None:
    names, _ = sdist_names
    generated = sorted(n for n in names if n.endswith((".c", ".so", ".pyd", ".html", ".pyc")))
    assert not generated, generated
