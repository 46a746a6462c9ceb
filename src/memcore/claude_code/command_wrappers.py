"""What runs a command inside another: a container program's ``run`` or ``exec`` (``docker
compose run --rm app pytest``) and a shell given a command string (``sh -c "make test"``). A
check run through either is the check it wraps (see :func:`memcore.claude_code.commands.
is_project_check`).
"""

from __future__ import annotations

from memcore.lazy_re import lazy_compile

#: Programs that run a command in a container (``docker compose run SERVICE CMD``, ``docker
#: exec CONTAINER CMD``, ``podman run IMAGE CMD``): what they run is the command after their
#: subcommand's options and the service, container or image.
_CONTAINER_TOOLS = frozenset(["docker", "docker-compose", "podman", "podman-compose", "nerdctl"])
#: Words between such a program and its ``run`` or ``exec``: ``docker compose``, ``docker
#: container``.
_CONTAINER_GROUPS = frozenset(["compose", "container"])
_CONTAINER_RUNS = frozenset(["run", "exec"])
#: The program's own options before its subcommand that take a value (``docker compose -f
#: docker-compose.test.yml --profile test run``, ``docker --context ci exec``).
_CONTAINER_GLOBAL_VALUE_FLAGS = frozenset(
    ["-f", "--file", "-p", "--project-name", "--profile", "--env-file", "--project-directory",
     "--ansi", "--progress", "--parallel", "-c", "--context", "-H", "--host", "--config",
     "-l", "--log-level"]
)  # fmt: skip
#: The options of ``run`` and ``exec`` that take a value (their others are switches).
_CONTAINER_VALUE_FLAGS = frozenset(
    ["-e", "--env", "-w", "--workdir", "-u", "--user", "-v", "--volume", "-p", "--publish",
     "--name", "--entrypoint", "--env-file", "--network", "-l", "--label", "--platform",
     "--mount", "-m", "--memory", "--cpus", "--shm-size", "--add-host", "--gpus", "--pull",
     "--tmpfs", "--cap-add", "--cap-drop", "--hostname", "--ipc", "--pid", "--restart",
     "--ulimit", "--volumes-from", "--index"]
)  # fmt: skip
#: Shells run with a command string (``sh -c "make test"``, ``bash -lc 'cd /app && pytest'``):
#: what they run is that string's command.
_SHELLS = frozenset(["sh", "bash", "zsh", "dash", "ash", "ksh"])
_SHELL_STRING_FLAG = lazy_compile(r"-[a-z]*c[a-z]*")


def container_command(words: list[str]) -> list[str] | None:
    """The words of the command a container program runs (``docker compose -f x.yml run --rm
    app pytest`` -> ``pytest``), None when ``words`` run no command in a container (``docker
    compose up``, ``docker build .``)."""
    if not words or words[0].rsplit("/", 1)[-1] not in _CONTAINER_TOOLS:
        return None
    at = 1
    while at < len(words) and words[at] not in _CONTAINER_RUNS:
        if words[at] in _CONTAINER_GLOBAL_VALUE_FLAGS:
            at += 2
        elif words[at].startswith("-") or words[at] in _CONTAINER_GROUPS:
            at += 1
        else:
            return None  # (another subcommand: build, up, logs ...)
    at += 1
    while at < len(words) and words[at].startswith("-"):
        at += 2 if words[at] in _CONTAINER_VALUE_FLAGS else 1
    return words[at + 1 :]  # (the service, container or image left out too)


def shell_string(words: list[str]) -> str | None:
    """The command a shell is given as a string (``sh -c "cd /app && make test"`` -> ``cd /app
    && make test``), None when ``words`` are no such shell's."""
    if len(words) < 3 or words[0].rsplit("/", 1)[-1] not in _SHELLS:
        return None
    if not _SHELL_STRING_FLAG.fullmatch(words[1]):
        return None
    string = " ".join(words[2:])
    quote = string[:1]
    if quote in ("'", '"'):
        string = string[1:].split(quote, 1)[0]  # (what follows the string: the shell's $0 ...)
    return string


__all__ = ["container_command", "shell_string"]
