"""The project a folder belongs to when it is inside a linked git worktree: the repository's
main working tree, at the same place.

Agents run in parallel in worktrees of one repository (``git worktree add``, and the tools that
give each agent its own checkout that way): each worktree is another folder, but the same
project, whose sessions should find each other's memory. A linked worktree's ``.git`` is a file,
``gitdir: <repository>/.git/worktrees/<name>``, whose folder holds ``commondir``, the path of the
repository's own ``.git``; the main working tree is the folder holding that. Read from those
files alone (no ``git`` process: a hook is on the user's critical path), and only when all of
them say so, the repository's side included (its ``worktrees/<name>/gitdir`` names this
worktree back: a ``.git`` file alone is anyone's to write): a submodule (whose ``.git`` file
points to no ``commondir``), a bare repository, a worktree whose repository is gone, a ``.git``
file the repository does not name back, or anything unreadable leaves the folder as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

#: The most of a ``.git`` file or a ``commondir`` file read: one line of a path.
_MOST = 4096
#: The most folders looked through, upwards, for the ``.git`` of the working tree.
_DEPTH = 64


class Tree(NamedTuple):
    """A linked worktree's root folder, and its repository's main working tree."""

    root: str
    main: str

    def place(self, path: str) -> str:
        """``path`` (normalized), or the same place in the main working tree when it is in
        this worktree."""
        path = os.path.normpath(path)
        if path == self.root or path.startswith(self.root.rstrip(os.sep) + os.sep):
            return os.path.normpath(self.main + path[len(self.root) :])
        return path


def linked_tree(folder: str) -> Tree | None:
    """The linked git worktree ``folder`` is in, or None (no repository, a main working
    tree, or anything the files do not say plainly)."""
    probe = os.path.normpath(folder)
    for _ in range(_DEPTH):
        dotgit = os.path.join(probe, ".git")
        try:
            if os.path.isdir(dotgit):
                return None  # a main working tree (or a repository of its own)
            if os.path.isfile(dotgit):
                main = _main_tree(probe, dotgit)
                return None if main is None else Tree(probe, main)
        except (OSError, ValueError):
            return None
        parent = os.path.dirname(probe)
        if parent == probe:
            return None
        probe = parent
    return None


def project_folder(folder: str, tree: Tree | None = None) -> str:
    """``folder``, or (inside a linked git worktree) the same place in the repository's main
    working tree: the folder a session there is filed under. ``tree``: the worktree already
    found for ``folder`` (``linked_tree``), else it is looked for."""
    tree = tree or linked_tree(folder)
    return os.path.normpath(folder) if tree is None else tree.place(folder)


def placed(files: Mapping[str, Mapping[str, int]], tree: Tree | None) -> dict[str, dict[str, int]]:
    """A session's file counts (``{path: {"touched": n, ...}}``) with the paths in ``tree``
    put in its main working tree, as its project names them (counts of one place summed)."""
    out: dict[str, dict[str, int]] = {}
    for path, counts in files.items():
        into = out.setdefault(path if tree is None else tree.place(path), {})
        for name, n in counts.items():
            into[name] = into.get(name, 0) + int(n)
    return out


def _first_line(path: str) -> str | None:
    """The first line of a small text file, or None (unreadable, not UTF-8, empty)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MOST)
    except OSError:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.splitlines()
    return lines[0].strip() if lines and lines[0].strip() else None


def _main_tree(root: str, dotgit: str) -> str | None:
    """The main working tree of the linked worktree at ``root`` (whose ``.git`` file is
    ``dotgit``), or None when ``root`` is no such worktree.

    The ``.git`` file and what it points to are only believed when they are what ``git worktree
    add`` makes: the git folder is one of ``<repository>/.git/worktrees/``, and its own
    ``gitdir`` file names this very ``.git`` back. Anyone can write a ``.git`` file (a cloned
    archive, a downloaded folder): one pointing at another repository must not give its folder
    that repository's memory, nor let a session there write into it. A submodule's git folder
    (``.git/modules/<name>``) is in no ``worktrees`` folder: never a worktree of its
    superproject."""
    line = _first_line(dotgit)
    if line is None or not line.startswith("gitdir:"):
        return None
    gitdir = line.removeprefix("gitdir:").strip()
    if not gitdir:
        return None
    gitdir = os.path.normpath(os.path.join(root, gitdir))  # (relative to the worktree, if so)
    common = _first_line(os.path.join(gitdir, "commondir"))
    if common is None:  # a submodule's git folder, or no git folder at all
        return None
    common = os.path.normpath(os.path.join(gitdir, common))
    if os.path.basename(common) != ".git" or not os.path.isdir(common):
        return None  # a bare repository: it has no main working tree
    if not _linked_both_ways(root, gitdir, common):
        return None
    main = os.path.dirname(common)
    return main if main != os.path.normpath(root) else None


def _linked_both_ways(root: str, gitdir: str, common: str) -> bool:
    """Whether ``gitdir`` is a worktree's folder of the repository ``common``
    (``<common>/worktrees/<name>``) whose ``gitdir`` file names ``root``'s ``.git``, as git
    writes them: absolute, or (``worktree.useRelativePaths``) relative to ``gitdir``. Compared
    with symbolic links resolved: a ``.git`` linked to a real worktree's is no worktree."""
    real_gitdir = os.path.realpath(gitdir)
    if os.path.dirname(real_gitdir) != os.path.join(os.path.realpath(common), "worktrees"):
        return False
    back = _first_line(os.path.join(real_gitdir, "gitdir"))
    if back is None:
        return False
    back = os.path.join(real_gitdir, back)  # (an absolute path stays itself)
    return os.path.basename(os.path.normpath(back)) == ".git" and os.path.realpath(
        os.path.dirname(os.path.normpath(back))
    ) == os.path.realpath(root)


__all__ = ["Tree", "linked_tree", "placed", "project_folder"]
