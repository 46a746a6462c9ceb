"""A failure that said something was missing, then the install that fixed it: the traceback said
by its exception's line, and the install named as the fix (``links._MISSING``, ``_INSTALLS``)."""

from __future__ import annotations

from memcore import session_digest
from memcore.claude_code.commands import error_lines
from tests.test_transcript_agent_records import _Records

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "<string>", line 1, in <module>\n'
    "ModuleNotFoundError: No module named 'PIL'"
)
CHECK = "python3 -c \"from PIL import Image; print('ok')\" 2>&1"


def test_a_traceback_is_said_by_its_exception_line() -> None:
    missing = "ModuleNotFoundError: No module named 'PIL'"
    assert error_lines(f"Exit code 1\n{TRACEBACK}") == [missing]
    chained = (
        f"{TRACEBACK}\n\nDuring handling of the above exception, another exception occurred:\n\n"
        'Traceback (most recent call last):\n  File "x.py", line 9, in <module>\n'
        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"
    )
    assert error_lines(chained)[:2] == [
        "ModuleNotFoundError: No module named 'PIL'",
        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
    ]
    # (a header whose exception was cut off is still what there is to say)
    assert error_lines('Traceback (most recent call last):\n  File "a.py", line 3') == [
        "Traceback (most recent call last):"
    ]


def _errors(records: _Records) -> list[str]:
    return session_digest(records.items(), 2000).sections.get("errors", "").splitlines()


def test_an_install_after_a_missing_module_is_its_fix() -> None:
    records = _Records()
    records.user("make the tray icon with Pillow")
    records.ran(CHECK, TRACEBACK, code=1)
    records.ran("pip3 install Pillow 2>&1 | tail -3", "Successfully installed pillow-12.1.0")
    assert (
        f"- `{CHECK}` failed (exit 1): ModuleNotFoundError: No module named 'PIL'; then "
        "`pip3 install Pillow` succeeded."
    ) in _errors(records)


def test_an_install_fixes_only_what_said_it_was_missing() -> None:
    before = _Records()
    before.user("make the tray icon with Pillow")
    before.ran("pip3 install Pillow", "Successfully installed pillow-12.1.0")
    before.ran(CHECK, TRACEBACK, code=1)
    assert not any("then `pip3 install" in line for line in _errors(before))
    other = _Records()
    other.user("fix the build")
    other.ran("cargo check", "error[E0599]: no function named `from_bytes`", code=101)
    other.ran("pip3 install Pillow", "Successfully installed pillow-12.1.0")
    assert not any("then `pip3 install" in line for line in _errors(other))
