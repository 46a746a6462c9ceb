"""What a shell command is and what its output says: its core for matching reruns
(``normalize_command``), its verb and whether a rerun is the same command another way, whether
it is a check (tests, a build, a linter) or a mere look around, and from its output the lines
that say it failed (also when a pipe's exit status hid it) or what it found.

Pure functions of a command's text and output, used by :mod:`memcore.claude_code.tools`, the
fix linker and the digest.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from memcore.claude_code.command_wrappers import container_command, shell_string
from memcore.claude_code.error_bodies import json_messages
from memcore.claude_code.test_output import ASSERTS, GO_TEST_LINE, go_test_lines, pytest_failures
from memcore.lazy_re import lazy_compile

_LINE_CHARS = 200
_MAX_ERROR_LINES = 6

_ERROR_WORDS = lazy_compile(
    r"(?i)(?<![/.])\b(error|errors|failed|failure|fail|panic|exception|traceback|cannot|can't|"
    r"could not|couldn't|unable to|"
    r"undefined|not found|no such|denied|invalid|refused|timed out|timeout|fatal|assert\w*|"
    r"expected|unexpected|missing|unknown|abort\w*)\b(?![/.]\w)"
)
#: A task runner's tag before each line of a task's output (``[lint:go] ``, mise's; ``web:build:
#: ``, turbo's): the line is read as the task printed it.
_RUNNER_TAG = lazy_compile(r"^(?:\[[\w:./@-]{1,60}\]|[\w@/.-]{1,60}:[\w.-]{1,30}:)[ \t]+")
_OUTCOME_WORDS = lazy_compile(
    r"(?i)((?<![\w.])\d+ (passed|failed|errors?|skipped|tests?|warnings?)\b|"
    r"(?-i:^(ok|PASS|FAIL|FAILED)\b)|"
    r"\ball (\d+ )?tests? pass|\btests? passed\b|\bsuccess\w*\b|\bbuild succeeded\b|"
    r"^\[[\w/.-]+ [0-9a-f]{6,}\]|\bno issues\b|\bfound \d+\b)"
)
_EXIT = lazy_compile(r"^(?:Error: )?Exit code (-?\d+)", re.MULTILINE)
#: Lines only a failing check prints (a compiler's ``file:line:col: message`` or ``file:line:
#: error``, not a warning's as pytest's summary prints them after passing tests, nor a test's
#: log line ``file_test.go:12: message``; ``--- FAIL``,
#: ``error TS2307:``, ``N failed``, a traceback): how a check piped into ``tail`` or ``grep``,
#: whose exit status is the pipe's last command's, is known to have failed.
_FAILURE_LINE = lazy_compile(
    r"(?m)^[ \t]*(?:[\w./@-]+\.(?:go|py|ts|tsx|js|jsx|mjs|rs|c|cc|cpp|h|java|kt|rb|swift)"
    r"(?::\d+:\d+: |:\d+: error\b|\(\d+,\d+\): error )(?!.*[Ww]arning\b)\S?.*|"
    r".*\berror TS\d+:.*|"
    r"error(?:\[E\d+\])?: .*|"
    r"--- FAIL: .*|FAIL\b.*|FAILED\b.*|.*\b[1-9]\d* (?:failed|failing)\b.*|"
    r"Traceback \(most recent call last\):|npm ERR!.*|panic: .*)$"
)
#: A test reported failed by a runner (bun's and mocha's ``(fail)``, jest's ``✕``, Go's
#: ``--- FAIL``, pytest's ``FAILED``) or a count of failures above zero (``3 fail``).
_FAILED_TEST = lazy_compile(
    r"\((?:fail|failed)\)|[\u2715\u2717\u2718\u00d7]|\bFAIL(?:ED)?\b|"
    r"(?<![\w.])[1-9]\d* (?:fail|failed|failing|failures?|errors?)\b"
)
#: A test reported passed (``(pass)``, ``✓``, ``--- PASS``, ``PASSED``), or a count of no
#: failures (``0 fail``, ``0 errors``): said by runs that went well, whatever the test's name.
_PASSED_TEST = lazy_compile(
    r"(?i)\((?:pass|passed|ok)\)|[\u2713\u2714]|--- PASS\b|(?-i:\bPASS(?:ED)?\b)|"
    r"(?<![\w.])0 (?:fail|failed|failing|failures?|errors?)\b"
)
#: A line that is one tag and its text (``<status>failed</status>``: a background task's
#: state), or a command echoed before it runs (``$ bun test --timeout 15000``, after a
#: monorepo runner's ``pkg:task:`` prefix too): no error, whatever words they hold.
_NO_ERROR_LINE = lazy_compile(r"^<(\w+)>[^<]*</\1>$|^(?:[\w@/.-]+:[\w.-]+:\s+)?\$ \S")
#: Claude Code wraps a failed tool's message in these tags.
TOOL_ERROR_TAG = re.compile(r"</?tool_use_error>")

_TEST_COMMAND = lazy_compile(
    r"\b(test|tests|pytest|jest|vitest|mocha|rspec|cargo|go (build|vet|test)|tsc|mypy|ruff|lint|"
    r"eslint|make|mise|npm|pnpm|yarn|bun|gradle|mvn|mix|build|check)\b"
)
_TRIVIAL_COMMAND = lazy_compile(
    r"^(ls|cat|head|tail|pwd|echo|cd|wc|which|find|tree|file|stat|grep|rg|sed -n|du|df|date)\b"
)


def one_line(text: str, limit: int = _LINE_CHARS) -> str:
    """Whitespace collapsed; a cut end marked with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "\u2026"


#: What ``normalize_command`` takes off a command: a ``cd X &&`` prefix, output plumbing (not
#: ``||``), file-descriptor duplications, errors sent to ``/dev/null``.
_CD_PREFIX = lazy_compile(r"^cd \S+ && ")
_SLEEP_PREFIX = lazy_compile(r"^sleep \d+(?:\.\d+)?[smh]? ?(?:&&|;) ")
_PLUMBING = lazy_compile(r"\s*(?<!\|)\|(?!\|)\s*(tail|head|grep|less|cat|tee)\b.*$")
_DUPLICATED = lazy_compile(r"\s*\d?>&\d")
_TO_NULL = lazy_compile(r"\s*2>\s*/dev/null")
#: A text given through a heredoc in a command substitution, the way agents pass a commit's
#: message (``git commit -m "$(cat <<'EOF'`` / subject / body / ``EOF`` / ``)"``): its first
#: line stands for it.
_HEREDOC_TEXT = lazy_compile(
    r"\$\(\s*cat\s+<<-?\s*(['\"]?)(\w+)\1[ \t]*\n(.*?)\n[ \t]*\2[ \t]*\n\s*\)", re.S
)
#: A message given on standard input by a heredoc (``gh pr comment 7 --body-file - <<'EOF'`` /
#: body / ``EOF``, ``git commit -F - <<EOF``): its first line stands for it too.
_STDIN_MESSAGE = lazy_compile(
    r"((?:--body-file|--file|-F)[ =]-\s+)<<-?\s*(['\"]?)(\w+)\2[ \t]*\n"
    r"(.*?)\n[ \t]*\3[ \t]*(?=\n|$)",
    re.S,
)
#: The most of a heredoc's line that stands for it (a commit's subject: git's advice is 50-72).
_HEREDOC_CHARS = 72


def _message_line(text: str) -> str:
    """A heredoc's first line of text: a commit's subject; a pull request's first line past
    its Markdown headings ("## Summary" says nothing of it)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = next((line for line in lines if not line.startswith("#")), lines[0] if lines else "")
    return one_line(first, _HEREDOC_CHARS)


def _first_line(match: re.Match[str]) -> str:
    return _message_line(match.group(3))


def _stdin_first_line(match: re.Match[str]) -> str:
    """The flag, then the message's first line in quotes (its code spans' marks dropped: the
    command is said in one)."""
    said = _message_line(match.group(4).replace("`", ""))
    return f'{match.group(1)}<<{match.group(3)} "{said}"'


def _heredocs_shortened(command: str) -> str:
    """``command`` with each heredoc text it gives (``-m "$(cat <<'EOF' ...)"``, a message on
    standard input) said by its first line."""
    if "<<" not in command:
        return command
    return _STDIN_MESSAGE.sub(_stdin_first_line, _HEREDOC_TEXT.sub(_first_line, command))


def shown_command(command: str, limit: int = _LINE_CHARS) -> str:
    """A command as a line says it: on one line, a heredoc's text given to ``-m`` by its first
    line (``git commit -m "Add x"``, not its body and trailers), a cut end marked."""
    return one_line(_heredocs_shortened(command), limit)


@functools.lru_cache(maxsize=4096)
def normalize_command(command: str) -> str:
    """The core of a shell command, so reruns match: no ``cd X &&`` or ``sleep 5 &&`` prefix (a
    wait for a server or a background task is no part of what runs), no output plumbing
    (``2>&1``, ``| tail -n 20``, ``| head``, ``| grep``), a heredoc's text given to ``-m`` by its
    first line (a commit's subject), whitespace collapsed."""
    core = " ".join(_heredocs_shortened(command).split())
    # (each pattern run only where its text can be: most commands have none of them)
    if core.startswith(("cd ", "sleep ")):
        core = _SLEEP_PREFIX.sub("", _CD_PREFIX.sub("", core))
    if "|" in core:
        core = _PLUMBING.sub("", core)  # (not ||)
    if ">" in core:
        core = _DUPLICATED.sub("", core)
        core = _TO_NULL.sub("", core)
    return core.strip()


_VERB_WORD = lazy_compile(r"[A-Za-z][\w.]*")
_ENV_ASSIGNMENT = lazy_compile(r"[A-Za-z_]\w*=\S*")
#: A command's verb is at most this many leading words (``gh pr merge``).
_VERB_WORDS = 3


def command_verb(command: str) -> tuple[str, ...]:
    """The leading plain words of a command, after any ``VAR=value``: ``git push``, ``gh pr
    merge``, ``mise run``; the first flag, path, number or ``a:b`` ends it."""
    words = normalize_command(command).split()
    while words and _ENV_ASSIGNMENT.fullmatch(words[0]):
        words = words[1:]
    verb: list[str] = []
    for word in words[:_VERB_WORDS]:
        if not _VERB_WORD.fullmatch(word):
            break
        verb.append(word)
    return tuple(verb)


def is_variant(failed: str, rerun: str) -> bool:
    """Whether ``rerun`` is ``failed`` run again another way (``git push`` then ``git push
    --set-upstream origin main``): the same program and subcommand, one verb a prefix of the other
    (``gh pr edit`` and ``gh pr view`` are two commands), and not a mere look around. A check
    (tests, a build) run again must keep every target it failed on: ``bun test packages/a`` is
    not fixed by ``bun test packages/b`` passing."""
    if is_trivial_command(failed) or is_trivial_command(rerun):
        return False
    a, b = command_verb(failed), command_verb(rerun)
    shared = min(len(a), len(b))
    if shared < 2 or a[:shared] != b[:shared]:
        return False
    return not is_check_command(failed) or _arguments(failed) <= _arguments(rerun)


def unquoted_words(command: str) -> list[str]:
    """A command's words, unquoted."""
    return [word.strip("\"'") for word in normalize_command(command).split()]


def _arguments(command: str) -> set[str]:
    """A command's words that are no flags, unquoted: its targets and the values of its flags."""
    return {word for word in unquoted_words(command) if word and not word.startswith("-")}


@functools.lru_cache(maxsize=4096)
def is_trivial_command(command: str) -> bool:
    """Commands that only look around (``ls``, ``cat``...): their runs say little."""
    return bool(_TRIVIAL_COMMAND.match(normalize_command(command)))


@functools.lru_cache(maxsize=4096)
def is_check_command(command: str) -> bool:
    """Tests, builds, linters: their outcome is a result worth stating."""
    return bool(_TEST_COMMAND.search(command))


#: Words of a command's verb (:func:`command_verb`) that make it a check of the project: its
#: tests, build, linters, type checks and formatters (``mise run test``, ``go vet``, ``npm run
#: typecheck``), not a command that only mentions one (``git commit -m "add tests"``).
_CHECK_VERB_WORDS = frozenset(
    {
        "test", "tests", "pytest", "jest", "vitest", "mocha", "rspec", "tox", "nox", "tsc",
        "mypy", "pyright", "ruff", "flake8", "pylint", "lint", "eslint", "golangci-lint",
        "clippy", "build", "check", "typecheck", "vet", "fmt", "format", "prettier", "biome",
        "compile", "make", "ci", "verify", "credo", "dialyzer", "rubocop", "phpunit",
        "phpstan", "swiftlint", "ctest", "unittest", "shellcheck", "hadolint", "black",
        "isort", "stylelint", "yamllint", "actionlint", "markdownlint", "staticcheck",
        "ktlint", "clang-tidy", "cppcheck",
    }
)  # fmt: skip


@functools.lru_cache(maxsize=4096)
def is_project_check(command: str) -> bool:
    """Whether ``command`` runs one of the project's checks by its verb (see
    ``_CHECK_VERB_WORDS``), past what only wraps it (``python3 -m pytest``, ``timeout 300 go
    test``, ``env CI=1 npm test``, ``doppler run ... -- turbo run test``, ``pnpm -F core
    test``, ``npm run check:all``, ``./gradlew check``, ``docker compose run app pytest``):
    what a next session needs to know how to run. A package manager's own work (``npm install
    -D eslint``, ``npm ci``, ``uv add pytest``), ``make clean`` and the shell's ``test -f x``
    are none."""
    core = normalize_command(command)
    first = re.split(r"\s(?:&&|\|\|?|;)\s", core, maxsplit=1)[0]  # (a chain's first command)
    if _HELP_WORDS & set(first.split()):
        return False  # (what the tool says of itself)
    verb = _unwrapped_verb(core)
    if not verb:
        return False
    # (a script's ``name:variant`` or nx's ``project:target``: any part names the check)
    parts = [{part for part in word.lower().split(":") if part} for word in verb]
    program = verb[0].lower()
    if program == "cmake":
        return "--build" in core.split()
    if program == "pre-commit":  # (its hooks run: not `pre-commit install`)
        return "run" in core.split()
    if program == "make" and len(verb) > 1:  # (its targets say what it does: not `make clean`)
        return any(part in _CHECK_VERB_WORDS or part == "all" for part in set().union(*parts[1:]))
    if program in _CHECK_VERB_WORDS:  # (the program is the check: pytest, tsc, make)
        return True
    # a runner's task (mise run test, go vet, bun verify); any other program's words are its
    # arguments ("ls tests", "git log --grep test")
    if program not in _RUNNERS:
        return False
    if program.startswith("python") and (len(verb) < 2 or verb[1] != "manage.py"):
        return False  # (a script's own arguments: `python3 script.py test`; Django's are tasks)
    extra = _RUNNER_CHECKS.get(program, frozenset())
    return any(part in _CHECK_VERB_WORDS or part in extra for part in set().union(*parts[1:]))


#: Words by which a tool says what it is instead of running (``go test -h``, ``npm help test``).
_HELP_WORDS = frozenset(["--help", "--version", "-h", "help"])
#: Words that only run what follows them (with their own arguments, see ``_unwrapped_verb``).
_WRAPPERS = frozenset(["env", "time", "nice", "sudo", "command", "exec"])
#: Runners whose flags (and the flags' values) come before the task they run.
_RUNNERS = frozenset(
    ["npm", "pnpm", "yarn", "bun", "mise", "make", "just", "task", "turbo", "nx", "uv",
     "poetry", "npx", "bunx", "pnpx", "deno", "cargo", "go", "mix", "dotnet", "gradlew", "mvn",
     "gradle", "mvnw", "rake", "bundle", "rails", "uvx", "hatch", "pdm", "pipx", "swift",
     "zig", "stack", "cabal", "sbt", "lein", "flutter", "dart", "composer", "php", "python",
     "python3", "bazel", "bazelisk", "buck2", "xcodebuild", "terraform", "tofu"]
)  # fmt: skip
#: Tasks that are checks of some runners only (Maven's ``install`` and ``package`` run its
#: tests; ``npm install`` runs none).
_RUNNER_CHECKS = {
    "mvn": frozenset(["install", "package"]),
    "mvnw": frozenset(["install", "package"]),
    "gradle": frozenset(["assemble"]),
    "gradlew": frozenset(["assemble"]),
    "cargo": frozenset(["nextest"]),
    "rake": frozenset(["spec"]),
    "rails": frozenset(["spec"]),
    "dart": frozenset(["analyze"]),
    "flutter": frozenset(["analyze"]),
    "terraform": frozenset(["validate"]),
    "tofu": frozenset(["validate"]),
}
#: A runner's own work when it comes right after it (no ``run`` before it): a package
#: installed, added or looked up (``npm ci``, ``yarn add jest``, ``go mod tidy``), not a task.
_MANAGE_WORDS = frozenset(
    ["install", "i", "ci", "add", "remove", "rm", "uninstall", "un", "link", "unlink",
     "update", "upgrade", "up", "outdated", "audit", "view", "info", "show", "ls", "list",
     "why", "explain", "init", "create", "new", "publish", "pack", "login", "logout", "config",
     "cache", "sync", "lock", "tree", "search", "get", "mod", "restore", "dedupe", "prune",
     "version", "env", "pip", "deps.get"]
)  # fmt: skip
_VALUE_FLAGS = frozenset(["-F", "--filter", "-w", "--workspace", "-C", "--cwd", "--dir", "-p"])
_RUN_WORDS = frozenset(["run", "run-script", "exec", "x", "dlx", "workspace"])
#: The shell's ``test`` (``test -f x``, ``test "$a" = b``) as a container's command: an operator
#: follows it. Without one, ``test`` is what the container's entrypoint is told to do
#: (``docker-compose run app test``).
_TEST_OPERATOR = lazy_compile(r"-[a-zA-Z]|!=?|==?|\]")


#: The most wrappers unwrapped from one command (``sudo env timeout 60 docker compose run app
#: sh -c "..."`` is five): each round reads the words again, and ten thousand nested ``sh -c``
#: took seconds.
_MOST_WRAPPERS = 16


def _unwrapped(words: list[str]) -> tuple[list[str], bool]:
    """``words`` past what only wraps the command they run (``env``, ``timeout 300``, ``python
    -m``, ``docker compose run app``, ``sh -c "..."``, a wrapper's own arguments ending at
    ``--``), and whether that command runs in a container."""
    contained = False
    for _ in range(_MOST_WRAPPERS):  # (each round re-reads the words: wrappers nest only so deep)
        before = len(words)
        while words and (
            words[0] in _WRAPPERS or _ENV_ASSIGNMENT.fullmatch(words[0]) or words[0].isdigit()
        ):
            words = words[1:]
        if words and words[0] == "timeout":
            words = words[2:] if len(words) > 1 and words[1][:1].isdigit() else words[1:]
        program = words[0].rsplit("/", 1)[-1] if words else ""
        inside = container_command(words)
        string = shell_string(words) if inside is None else None
        if len(words) > 2 and program.startswith("python") and words[1] == "-m":
            words = words[2:]
        elif inside is not None:
            words, contained = inside, True
        elif string is not None:
            words = normalize_command(string).split()
        elif (
            "--" in words[:12] and program not in _RUNNERS and program not in _CHECK_VERB_WORDS
        ):  # (a wrapper's own arguments end at "--": doppler, cross-env ...; a runner's
            # arguments after it go to its task: `cargo clippy -- -D warnings`)
            words = words[words.index("--") + 1 :]
        if len(words) == before:
            return words, contained
    return words, contained


def _unwrapped_verb(core: str) -> tuple[str, ...]:
    """The verb of what ``core`` (a normalized command) runs, past its wrappers: its first plain
    words (a script's ``name:variant`` kept whole), the runner's flags and ``run`` left out;
    only the runner when what follows it is its own work (``npm install``), not a task; none
    for the shell's ``test`` (``test -f x``)."""
    words, contained = _unwrapped(core.split())
    if words and words[0] in ("test", "["):
        told = contained and not any(_TEST_OPERATOR.fullmatch(word) for word in words[1:4])
        if not told:  # (a container's entrypoint told `test`: `docker-compose run app test`)
            return ()  # (the shell's test of a file or a string; a script is `./test`)
    if words:
        words = [words[0].rsplit("/", 1)[-1], *words[1:]]  # ("./gradlew check")
    verb: list[str] = []
    skip = False
    ran = False  # (a runner's `run`: what follows is a task, whatever its name)
    runner = bool(words) and words[0] in _RUNNERS  # (its flags come before its task)
    tasks = runner and words[0] != "make"  # (make's words are all targets: `make install`)
    for word in words[:8]:
        if skip:
            skip = False
        elif runner and word in _VALUE_FLAGS:
            skip = True
        elif runner and word.startswith("-"):
            continue
        elif tasks and verb and verb[-1] in _RUNNERS and word in _RUN_WORDS:
            ran = True  # (`npm run test`, `npx nx run app:test`)
            skip = word == "workspace"  # (yarn's `workspace NAME task`)
        elif tasks and len(verb) == 1 and not ran and word in _MANAGE_WORDS:
            return tuple(verb)
        elif _SCRIPT_WORD.fullmatch(word):
            verb.append(word)
            if len(verb) == _VERB_WORDS:
                break
        else:
            break
    return tuple(verb)


_SCRIPT_WORD = lazy_compile(r"[A-Za-z][\w.-]*(?::[\w.-]+)*")


#: A Python exception's own line, which ends its traceback (``ModuleNotFoundError: No module
#: named 'PIL'``, ``json.decoder.JSONDecodeError: ...``): what the traceback's header only
#: announces.
_PY_EXCEPTION = lazy_compile(
    r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Interrupt|Exit)(?::\s.*)?$"
)
_TRACEBACK = "Traceback (most recent call last):"
#: The word a program opens an error line with, which says no more than the line does.
_SEVERITY = lazy_compile(r"^(?:error|fatal|warning|hint):\s*", re.I)
_NON_WORD = lazy_compile(r"\W+")
#: A compiler's closing count of the errors it printed before.
_GAVE_UP = lazy_compile(r"^error: could not compile `[^`]+`.* due to \d+ previous errors?\b")


def error_lines(text: str) -> list[str]:
    """The lines of a failure that say what failed (or its last lines when none says so):
    first those only a failure prints (a test run's ``(fail) ...``, ``3 failed``, a compiler's
    ``file:line:col:``, what a failed Go test printed), then those with a word of failure, each
    in their order; never a line that reports a pass (``(pass) ... returns an error``, ``0
    fail``), echoes a command or was logged by a Go test that passed."""
    lines = [line.strip() for line in TOOL_ERROR_TAG.sub("", text).splitlines()]
    lines = [line for line in lines if line and not _EXIT.match(line)]
    # an API's error answer (one line of JSON): said by its messages, which state the failure
    answered = {i: json_messages(line) for i, line in enumerate(lines) if line[:1] == "{"}
    stated = {message for messages in answered.values() for message in messages}
    if stated:
        lines = [m for i, line in enumerate(lines) for m in answered.get(i) or [line]]
    strong: list[str] = []
    weak: list[str] = []
    said: set[str] = set()
    told, test_of, logged = go_test_lines(lines) if "--- FAIL" in text else ({}, {}, set())
    # a failed run whose ``--- FAIL`` headers were cut off (Claude Code truncates long output):
    # the test lines that say a failure are still what it said
    asserted = (
        {line for line in lines if GO_TEST_LINE.match(line) and ASSERTS.search(line)}
        if not told and "FAIL" in text
        else set()
    )
    # a pytest run: its tally, its failed tests and how each failed, where its output stood
    ran = pytest_failures(lines)
    lines, at, statements = ran if ran is not None else (lines, -1, [])
    # a traceback is said by its exception's line, which its header only announces
    raised = _TRACEBACK in lines and any(_PY_EXCEPTION.match(line) for line in lines)
    for index, line in enumerate([*lines, ""]):
        if index == at:
            for statement in map(one_line, statements):
                if statement not in said:
                    said.add(statement)
                    strong.append(statement)
        if not line:  # (the end)
            continue
        if line in logged:  # a passing test's log line: "Error: context deadline exceeded"
            continue
        if raised and (line == _TRACEBACK or _PY_EXCEPTION.match(line)):
            if line != _TRACEBACK and one_line(line) not in said:
                said.add(one_line(line))
                strong.append(one_line(line))
            continue
        test = test_of.get(line, line if line in told else None)
        if test is not None:  # a failed Go test: its name, then what it said
            for said_line in [test, *told[test]] if one_line(test) not in said else []:
                said.add(one_line(said_line))
                strong.append(one_line(said_line))
            continue
        # the word that says so must be in what is shown (a 10 kB line of HTML or CSS says
        # "error" somewhere in it, but not in its first 200 characters)
        shown = line[:_LINE_CHARS]
        failed = _FAILED_TEST.search(shown) is not None or line in asserted or line in stated
        # (a compiler's or a linter's ``file:line:col:`` line is one, error word or not:
        # "registry.go:27:1: Get returns interface (ireturn)")
        untagged = _RUNNER_TAG.sub("", line, count=1)
        located = _FAILURE_LINE.match(line) is not None or (
            untagged is not line and _FAILURE_LINE.match(untagged) is not None
        )
        if not (failed or located) and not _ERROR_WORDS.search(shown):
            continue
        flat = one_line(line)
        # (git's "error: could not apply 1a2b3c4... x" and its closing "Could not apply
        # 1a2b3c4... # x": one statement, its words alike past the severity and the marks)
        same = " ".join(_NON_WORD.split(_SEVERITY.sub("", flat).lower()))
        if flat in said or same in said:
            continue
        said.update((flat, same))
        if failed or located:
            strong.append(flat)
        elif not (_PASSED_TEST.search(shown) or _NO_ERROR_LINE.match(line)):
            weak.append(flat)
    if len(strong) > 1 and "FAIL" in strong:  # a bare FAIL says nothing the others do not
        strong.remove("FAIL")
    # (nor does cargo's "error: could not compile `x` (bin "x") due to 1 previous error" after
    # the errors it counts)
    given = [line for line in strong if not _GAVE_UP.match(line)]
    strong = given if given else strong
    # ("gh: Not Found (HTTP 404)" says the answer's message, and more: it stands in its place)
    for place, message in enumerate(strong):
        fuller = next((w for w in weak if message in w), None) if message in stated else None
        if fuller is not None:
            strong[place] = fuller
            weak.remove(fuller)
    return (strong + weak)[:_MAX_ERROR_LINES] or [one_line(line) for line in lines[-3:]]


def masked_failure(command: str, text: str) -> list[str]:
    """The lines saying that a check failed although it exited 0: a check piped into
    ``tail``, ``head`` or ``grep`` exits with the pipe's last command (``go build ./... 2>&1 |
    head`` is 0 whatever the build did). Empty when it is no such check or printed none."""
    if "|" not in command.replace("||", "") or not is_check_command(command):
        return []
    if is_trivial_command(command):  # `cat build.log | tail`: a log looked at, no check run
        return []
    if _FAILURE_LINE.search(text) is None:
        return []
    return error_lines(text)  # (what a failure says, as a check that exited non-zero has it)


#: A line framed by runs of one mark (``===== 2 passed in 0.01s =====``, ``--- ok ---``).
_FRAMED = lazy_compile(r"^([=*-])\1{2,} ?(.*?) ?\1{3,}$")


def outcome_lines(text: str, limit: int = 3) -> list[str]:
    """The lines of a successful check's output that state its result ("12 passed", "ok ..."),
    the ``limit`` that say most (:func:`best_outcomes`)."""
    picked: list[str] = []
    for line in text.splitlines():
        line = _FRAMED.sub(r"\2", line.strip())  # ("==== 2 passed in 0.01s ====")
        if line and _OUTCOME_WORDS.search(line) and one_line(line) not in picked:
            picked.append(one_line(line))
    return best_outcomes(picked, limit)


#: A result's tally ("12 passed, 1 skipped", "0 failures", "All tests pass"): says most of it.
_TALLY = lazy_compile(
    r"(?i)(?<![\w.])\d+ (?:passed|failed|fail|pass|errors?|skipped|tests?|warnings?|failures?)\b"
    r"|\ball (?:\d+ )?tests? pass|\btests? passed\b|\bno issues\b|\bbuild succeeded\b"
)
#: A package's result that was not run again (Go's ``ok  pkg (cached)``): says least.
#: A result line of what did not run: a result cached from before, a package with no test
#: that the run's filter picked (Go's ``ok pkg 0.4s [no tests to run]``, ``? pkg [no test files]``).
_NOT_RUN = lazy_compile(r"\(cached\)$|\[no tests? (?:to run|files)\]$")


def best_outcomes(lines: Sequence[str], limit: int) -> list[str]:
    """The ``limit`` of a check's outcome ``lines`` that say most of its result, in their own
    order: tallies first, then the others (the latest first, as a runner ends on its summary);
    a result that was not run again (``(cached)``), or of a package that ran no test (Go's
    ``[no tests to run]``), only when nothing else was said."""
    fresh = [line for line in lines if not _NOT_RUN.search(line)]
    lines = fresh or list(lines)
    if len(lines) <= limit:
        return lines
    ranked = sorted(range(len(lines)), key=lambda i: (_TALLY.search(lines[i]) is None, -i))
    return [lines[i] for i in sorted(ranked[:limit])]


#: What git prints when a merge, rebase, cherry-pick or pull stops halfway on conflicts.
_CONFLICT_TEXT = lazy_compile(
    r"\bCONFLICT \(|Automatic merge failed|[Rr]esolve all conflicts|fix conflicts|"
    r"could not apply [0-9a-f]{7}"
)
#: What carries such a stop through: the commit that concludes a merge, or the operation
#: continued or the commit skipped (an abort gives up: no fix).
_CONFLICT_END = lazy_compile(
    r"\bgit\s+(?:-C\s+\S+\s+)?(?:commit\b|(?:merge|rebase|cherry-pick|revert|am)\s+"
    r"--(?:continue|skip)\b)"
)


def stopped_on_conflicts(command: str, text: str) -> bool:
    """Whether a git command failed because it stopped on conflicts: rerunning it is not how
    that ends, resolving them and committing (or continuing) is."""
    return "git" in command and bool(_CONFLICT_TEXT.search(text))


def ends_conflicts(command: str) -> bool:
    """Whether ``command`` carries a stop on conflicts through (see ``stopped_on_conflicts``)."""
    return bool(_CONFLICT_END.search(command))


def exit_code(text: str, is_error: bool) -> int:
    """A Bash result's exit status: Claude Code writes ``Exit code N`` for failures."""
    found = _EXIT.search(text[:200])
    if found:
        return int(found.group(1))
    return 1 if is_error else 0


__all__ = [
    "TOOL_ERROR_TAG",
    "best_outcomes",
    "command_verb",
    "ends_conflicts",
    "error_lines",
    "exit_code",
    "is_check_command",
    "is_trivial_command",
    "is_variant",
    "masked_failure",
    "normalize_command",
    "one_line",
    "outcome_lines",
    "shown_command",
    "stopped_on_conflicts",
    "unquoted_words",
]
