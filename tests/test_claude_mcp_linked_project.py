"""A project reached through a symbolic link is one project: the MCP server started in the
linked folder names it as the shell does ($PWD), the path the hooks filed its sessions under,
not the resolved path of ``os.getcwd()``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from memcore.claude_code.mcp_server import MemoryService
from memcore.claude_code.project import logical_abspath, logical_folder, project_key
from memcore.cli.claude import mcp_project
from memcore.stores import open_store


@pytest.fixture
def linked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """``(link, real)``: the working folder entered through a link, as a shell's ``cd`` does."""
    real = tmp_path / "real" / "app"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    link = str(tmp_path / "link" / "app")
    monkeypatch.chdir(link)
    monkeypatch.setenv("PWD", link)
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    assert os.getcwd() == os.path.realpath(link) != link  # (the resolved path)
    return link, os.path.realpath(link)


def test_the_server_names_the_linked_folder_as_the_shell_does(linked: tuple[str, str]) -> None:
    link, _ = linked
    assert logical_folder() == link
    assert mcp_project(None) == link
    assert mcp_project(".") == link
    assert logical_abspath("sub/../other") == os.path.join(link, "other")


def test_a_pwd_of_another_folder_is_not_taken(
    linked: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, real = linked
    for elsewhere in (str(tmp_path), str(tmp_path / "gone"), "relative/app", ""):
        monkeypatch.setenv("PWD", elsewhere)
        assert mcp_project(None) == real
    monkeypatch.delenv("PWD")
    assert mcp_project(None) == real


def test_given_folders_are_kept_as_given(
    linked: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An absolute ``--project`` or ``$CLAUDE_PROJECT_DIR`` is the key it always was (stored
    keys are the spelling they were filed under: none is resolved)."""
    link, real = linked
    assert mcp_project(real) == real
    assert mcp_project(link + "/") == link
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", real)
    assert mcp_project(None) == real
    assert mcp_project(link) == link


def test_notes_remembered_through_the_link_are_found_by_the_server_started_there(
    linked: tuple[str, str], tmp_path: Path
) -> None:
    link, real = linked
    assert project_key(link) != project_key(real)  # two keys: the server must pick the link's
    url = f"sqlite:///{tmp_path / 'memory.db'}"

    async def check() -> None:
        store = open_store(url)
        saved = MemoryService(store, link)  # (as a session filed under the hooks' cwd)
        started = MemoryService(store, mcp_project(None))
        try:
            await saved.remember("Deploys go through `make release`.", kind="decision")
            hits = await started.recall("how do deploys go?")
            assert [hit.content for hit in hits] == ["Deploys go through `make release`."]
        finally:
            await saved.close()
            await started.close()
            await store.close()

    asyncio.run(check())


def test_the_commands_take_a_relative_project_as_the_shell_names_it(
    linked: tuple[str, str],
) -> None:
    """``memcore sessions/recall/digest/forget --project .`` in a linked folder is the project
    the hooks filed there, as the server's is (``os.path.abspath`` resolved the link)."""
    from memcore.cli._store_arguments import project_folder

    link, real = linked
    assert project_folder(".") == link
    assert project_folder("~") == os.path.expanduser("~")
    assert project_folder(real) == real
