"""Commands that change another machine or a service: a command run over ``ssh`` that edits a
file, restarts a container or a service there; a copy to a remote path (``scp``, ``rsync``); a
package published, an image pushed, a deployment applied.

A next agent must know them as it knows a pull request opened: the staging server's settings
were already edited, the API container already restarted, version 1.2.0 already published. The
command alone tells them: for ``ssh``, the remote command's words (``sed -i``, ``docker compose
restart``, a redirect into a file); a look around (``cat``, ``grep``, ``ls``) changes nothing.
"""

from __future__ import annotations

import functools
import shlex

from memcore.lazy_re import lazy_compile

#: Publishing and deploying: each writes to a registry or a running service.
_PUBLISH = lazy_compile(
    r"^(?:(?:npm|pnpm|bun)\s+publish|yarn\s+(?:npm\s+)?publish|cargo\s+publish|twine\s+upload"
    r"|uv\s+publish|poetry\s+publish|gem\s+push|docker\s+push|podman\s+push"
    r"|(?:fly|flyctl)\s+deploy|netlify\s+deploy|wrangler\s+(?:deploy|publish)|firebase\s+deploy"
    r"|railway\s+up|vercel\s+(?:deploy\b|--prod)"
    r"|kubectl\s+(?:apply|create|delete|patch|replace|scale|edit|rollout\s+(?:restart|undo))"
    r"|helm\s+(?:install|upgrade|uninstall|rollback)|terraform\s+(?:apply|destroy))\b"
)
#: What a remote command does that changes the machine: one of its chained commands (after
#: ``sudo``) edits, moves or removes files, restarts or stops a service or container,
#: installs, or writes a file by a redirect.
_CHANGES = lazy_compile(
    r"(?:^|[;&|(]\s*)(?:sudo\s+(?:-\S+\s+)*)?"
    r"(?:sed\s+(?:-\S+\s+)*-i|perl\s+(?:-\S+\s+)*-i|rm|mv|cp|tee|mkdir|rmdir|chmod|chown|ln"
    r"|touch|truncate|kill|pkill|killall|reboot|shutdown|crontab"
    r"|systemctl\s+(?:-\S+\s+)*(?:start|stop|restart|reload|enable|disable)"
    r"|service\s+\S+\s+(?:start|stop|restart|reload)"
    r"|docker(?:-compose|\s+compose)?\s+(?:-{1,2}\S+\s+(?!-)\S+\s+)*"
    r"(?:up|down|restart|stop|start|rm|pull|run|kill|build|rmi)"
    r"|pm2\s+(?:start|stop|restart|reload|delete)|nginx\s+-s\s+(?:reload|stop)"
    r"|apt(?:-get)?\s+(?:-\S+\s+)*(?:install|remove|purge|upgrade)"
    r"|git\s+(?:pull|checkout|reset|clone))\b"
)
#: A redirect into a file (not ``2>&1``, not ``/dev/null``).
_INTO_FILE = lazy_compile(r"(?<![\d&>])>>?\s*(?!&|/dev/null\b)[^\s&|;]")
#: ``ssh``'s options that take a value (``-i key``, ``-p 22``, ``-o Opt=v``).
_VALUED = frozenset("BbcDEeFIiJLlmOoPpQRSWw")
#: ``host:path`` in a copy's arguments (not a URL, not a Windows drive letter).
_REMOTE_PATH = lazy_compile(r"^(?:[\w.-]+@)?[\w.-]{2,}:(?!//)")
#: A remote command's word longer than this (a sed script, a whole list of origins) is shown as
#: ``…``: the act is told by what it ran and on which file, not by every character it wrote.
_LONG_WORD = 40
#: A shell's operators between commands, as ``shlex`` gives them (spaced, unquoted).
_OPERATORS = frozenset({"|", "||", "&&", ";", "&"})
_SHOWN_WORDS = 10


def split_words(command: str) -> list[str]:
    """``command``'s words as the shell reads them, or by whitespace where it cannot (an
    unclosed quote, a heredoc's body)."""
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


@functools.lru_cache(maxsize=1024)
def ssh_parts(command: str) -> tuple[str, str] | None:
    """``ssh [options] host remote-command``'s host and remote command, or None when the
    command is no ``ssh`` with a remote command (an interactive login changes nothing said)."""
    words = split_words(command)
    if not words or words[0] != "ssh":
        return None
    at = 1
    while at < len(words) and words[at].startswith("-") and len(words[at]) > 1:
        flag = words[at]
        # (``-i key``: the value is the next word; ``-ikey`` or ``-o X=Y`` glued: this one)
        at += 2 if flag[-1] in _VALUED and len(flag) == 2 else 1
    remote: list[str] = []
    for word in words[at + 1 :]:
        # (an operator outside the quotes is the local shell's: `ssh h 'cat f' > copy.txt`
        # writes here, and what follows `&&` runs here)
        if word in _OPERATORS or word.startswith((">", "2>", "&>")):
            break
        remote.append(word)
    if at >= len(words) or not remote:
        return None
    return words[at], " ".join(remote)


def _remote_changes(remote: str) -> bool:
    return _CHANGES.search(remote) is not None or _INTO_FILE.search(remote) is not None


def _copies_to_remote(words: list[str]) -> bool:
    """``scp``/``rsync`` whose last argument (the destination) is ``host:path``."""
    args = [word for word in words[1:] if not word.startswith("-")]
    return len(args) >= 2 and _REMOTE_PATH.match(args[-1]) is not None


@functools.lru_cache(maxsize=4096)
def is_remote_act(core: str) -> bool:
    """Whether ``core`` (a normalized command) changes another machine or a service."""
    if _PUBLISH.match(core):
        return True
    head = core.split(maxsplit=1)[0] if core.strip() else ""
    if head == "ssh":
        parts = ssh_parts(core)
        return parts is not None and _remote_changes(parts[1])
    if head in ("scp", "rsync"):
        return _copies_to_remote(split_words(core))
    return False


def _cut(word: str) -> str:
    return "\u2026" if len(word) > _LONG_WORD else word


@functools.lru_cache(maxsize=1024)
def remote_act_shown(core: str) -> str | None:
    """An ``ssh`` act as the digest names it: the host and the remote commands that changed
    something, without the options (a key's path), a leading ``cd`` or look-arounds, long words
    as ``…`` (``ssh root@host sed -i … /opt/app/.env``); None for any other command."""
    parts = ssh_parts(core)
    if parts is None:
        return None
    host, remote = parts
    words = split_words(remote)
    changed = [p for p in _chain_pieces(words) if _remote_changes(" ".join(p))] or [words]
    words = [_cut(word) for piece in changed for word in ("&&", *piece)][1:]  # (joined by &&)
    said = " ".join(words[:_SHOWN_WORDS]) + (" \u2026" if len(words) > _SHOWN_WORDS else "")
    return f"ssh {host} {said}"


def _chain_pieces(words: list[str]) -> list[list[str]]:
    """A remote command's words cut into its chained commands (``cd /x && docker compose ...``)."""
    pieces: list[list[str]] = [[]]
    for word in words:
        if word in _OPERATORS:
            pieces.append([])
        elif word.endswith(";") and len(word) > 1:  # (``cd /x;``)
            pieces[-1].append(word[:-1])
            pieces.append([])
        else:
            pieces[-1].append(word)
    return [piece for piece in pieces if piece]


__all__ = ["is_remote_act", "remote_act_shown", "split_words", "ssh_parts"]
