"""A failed pytest run said by its failed tests, how each failed and its tally, not by the code
lines of its tracebacks; a fix that changed no name said by the line it changed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memcore import session_digest
from memcore.claude_code.commands import error_lines
from memcore.claude_code.test_output import pytest_failures
from memcore.model import MemoryItem
from tests.test_claude_code_links import _Session

_VERBOSE_RUN = """\
============================= test session starts ==============================
platform linux -- Python 3.11.13, pytest-9.0.2, pluggy-1.6.0
collecting ... collected 3 items

tests/test_rds.py::TestRds::test_standalone PASSED                       [ 33%]
tests/test_rds.py::TestRds::test_instance_inherits_endpoint FAILED       [ 66%]
tests/test_rds.py::TestRds::test_delete PASSED                           [100%]

=================================== FAILURES ===================================
___________________ TestRds.test_instance_inherits_endpoint ____________________

self = <tests.test_rds.TestRds object at 0x107bd5310>

    def test_instance_inherits_endpoint(self) -> None:
>       response = client.post("/", data=body)

.venv/lib/python3.11/site-packages/starlette/_exception_handler.py:53: in wrapped_app
    raise exc
/usr/lib/python3.11/contextlib.py:158: in __exit__
    self.gen.throw(typ, value, traceback)
src/app/routes.py:64: in __init__
    addr, pt = _parse_endpoint(data_plane_endpoint)
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

endpoint = 'localhost'

    def parse_endpoint(endpoint: str) -> tuple[str, int]:
>       host, port_str = endpoint.rsplit(":", 1)
E       ValueError: not enough values to unpack (expected 2, got 1)

src/app/helpers.py:39: ValueError
=============================== warnings summary ===============================
tests/test_rds.py::TestRds::test_delete
  DeprecationWarning: the error handler is deprecated

-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html
=========================== short test summary info ============================
FAILED tests/test_rds.py::TestRds::test_instance_inherits_endpoint
==================== 1 failed, 2 passed, 1 warning in 0.62s ====================
"""


def test_a_failed_run_is_its_failed_test_its_exception_and_its_tally() -> None:
    assert error_lines(_VERBOSE_RUN) == [
        "FAILED tests/test_rds.py::TestRds::test_instance_inherits_endpoint",
        "ValueError: not enough values to unpack (expected 2, got 1)",
        "1 failed, 2 passed, 1 warning in 0.62s",
    ]


def test_an_assertion_s_lead_in_is_said_with_its_first_item() -> None:
    run = """\
=================================== FAILURES ===================================
____________ TestLogging.test_routes_have_logging_middleware ____________

    def test_routes_have_logging_middleware(self) -> None:
>       assert violations == [], (
E       AssertionError: pattern violations found:
E           - src/docdb/routes.py: RequestLoggingMiddleware not imported
E           - src/neptune/routes.py: RequestLoggingMiddleware not imported
E       assert ['src/doc...not imported'] == []

tests/test_logging.py:63: AssertionError
=========================== short test summary info ============================
FAILED tests/test_logging.py::TestLogging::test_routes_have_logging_middleware
============================== 1 failed in 0.07s ===============================
"""
    assert error_lines(run)[1] == (
        "AssertionError: pattern violations found: src/docdb/routes.py: "
        "RequestLoggingMiddleware not imported"
    )


def test_output_cut_before_its_failures_banner_still_gives_each_failure() -> None:
    """`| tail -30` starts in a traceback; the first failures' tests are named in the summary
    only, and two tests' blocks are told apart by their headers."""
    run = """\
        assert unregistered == [], "modules not registered"
E       AssertionError: modules not registered in lws.py:
E           - _shared_commands.py

tests/test_cli.py:42: AssertionError
__________________ TestOneClass.test_at_most_one_class ___________________
    def test_at_most_one_class(self) -> None:
>       assert offenders == []
E       AssertionError: Unit test files must contain at most one class

tests/test_one_class.py:20: AssertionError
=========================== short test summary info ============================
FAILED tests/test_cli.py::TestCli::test_all_modules_registered
FAILED tests/test_one_class.py::TestOneClass::test_at_most_one_class
============================== 2 failed in 0.25s ===============================
make: *** [test] Error 1
"""
    assert error_lines(run) == [
        "FAILED tests/test_cli.py::TestCli::test_all_modules_registered",
        "FAILED tests/test_one_class.py::TestOneClass::test_at_most_one_class",
        "2 failed in 0.25s",
        "AssertionError: Unit test files must contain at most one class",
        "AssertionError: modules not registered in lws.py: _shared_commands.py",
        "make: *** [test] Error 1",
    ]


def test_a_collection_error_is_said_by_its_module_and_exception() -> None:
    run = """\
==================================== ERRORS ====================================
_____________________ ERROR collecting tests/test_api.py ______________________
ImportError while importing test module '/repo/tests/test_api.py'.
Traceback:
tests/test_api.py:3: in <module>
    from app.api import handler
E   ModuleNotFoundError: No module named 'app.api'
=========================== short test summary info ============================
ERROR tests/test_api.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
=============================== 1 error in 0.10s ===============================
"""
    lines = error_lines(run)
    assert lines[:3] == [
        "ERROR tests/test_api.py",
        "ModuleNotFoundError: No module named 'app.api'",
        "1 error in 0.10s",
    ]
    assert not any("from app.api import handler" in line for line in lines)


def test_a_summary_line_with_its_message_is_not_said_twice() -> None:
    run = """\
=================================== FAILURES ===================================
__________________________________ test_total __________________________________
E       assert 3 == 4
=========================== short test summary info ============================
FAILED tests/test_cart.py::test_total - assert 3 == 4
============================== 1 failed in 0.01s ===============================
"""
    assert error_lines(run) == [
        "FAILED tests/test_cart.py::test_total - assert 3 == 4",
        "1 failed in 0.01s",
    ]


def test_other_programs_banners_are_no_pytest_run() -> None:
    text = "=== Summary ===\nerror: build failed in step 3\n=== Done ==="
    assert pytest_failures(text.splitlines()) is None
    assert error_lines(text) == ["error: build failed in step 3"]


def test_cargo_s_closing_count_gives_way_to_the_errors_it_counts() -> None:
    text = (
        "error[E0599]: no function or associated item named `from_bytes` found\n"
        'error: could not compile `desk` (bin "desk") due to 1 previous error; 10 warnings'
    )
    assert error_lines(text) == [
        "error[E0599]: no function or associated item named `from_bytes` found"
    ]
    alone = "error: could not compile `desk` due to 2 previous errors"
    assert error_lines(alone) == [alone]


def _errors_section(session: _Session) -> str:
    items: list[MemoryItem] = session.items()
    return session_digest(items, 600).sections["errors"]


def test_a_fix_that_changed_no_name_is_said_by_the_line_it_changed() -> None:
    records = _Session()
    records.user("make the rds tests pass")
    records.ran("pytest tests/test_rds.py", _VERBOSE_RUN, 1)
    records.edited(
        "/repo/src/app/routes.py",
        "endpoint = cluster.endpoint",
        'endpoint = f"{cluster.endpoint}:{cluster.port}"',
    )
    records.ran("pytest tests/test_rds.py", "3 passed in 0.40s")
    errors = _errors_section(records)
    assert "ValueError: not enough values to unpack (expected 2, got 1)" in errors, errors
    assert (
        "; fixed by editing `/repo/src/app/routes.py` (`endpoint = cluster.endpoint` became "
        '`endpoint = f"{cluster.endpoint}:{cluster.port}"`).'
    ) in errors, errors
    assert "self.gen.throw" not in errors


def _build_fixed_by(old: str, new: str) -> str:
    """The errors section of a session whose build failed, then passed after an edit of
    ``old`` into ``new``."""
    records = _Session()
    records.user("fix the build")
    records.ran("go build ./...", "cli/run.go:12:2: undefined: exec", 1)
    records.edited("/repo/cli/run.go", old, new)
    records.ran("go build ./...", "")
    return _errors_section(records)


def test_a_fix_that_only_added_lines_is_said_by_them_and_names_come_first() -> None:
    added = _build_fixed_by('import (\n\t"fmt"', 'import (\n\t"fmt"\n\t"os/exec"')
    assert '(adding `"os/exec"`)' in added, added
    errors = _build_fixed_by("func Run() {\n\treturn", "func Run() {\n\texec.Command()")
    assert "fixed by editing `/repo/cli/run.go` (`Run()` and" in errors, errors
    assert "became" not in errors
    assert "adding" not in errors


def test_a_passing_run_s_tally_is_said_without_its_frame() -> None:
    records = _Session()
    records.user("run the tests")
    records.ran(
        "python -m pytest tests -v",
        "============================= test session starts ==============================\n"
        "tests/test_math.py::test_add PASSED                                      [100%]\n"
        "============================== 2 passed in 0.01s ===============================",
    )
    commands = session_digest(records.items(), 400).sections["commands"]
    assert "succeeded: 2 passed in 0.01s." in commands, commands
    assert "===" not in commands


_PIECES = st.sampled_from(
    [
        "=== FAILURES ===",
        "==== ERRORS ====",
        "=== short test summary info ===",
        "=== warnings summary ===",
        "=== 2 failed, 1 passed in 0.1s ===",
        "___ test_a ___",
        "_ _ _ _ _",
        "E       ValueError: boom",
        "E",
        "E   assert 1 == 2",
        "FAILED tests/a.py::test_a - x",
        "ERROR tests/b.py",
        "tests/a.py::test_a FAILED [ 50%]",
        "make: *** [test] Error 1",
        "raise exc",
        "",
    ]
)


@given(st.lists(st.one_of(_PIECES, st.text(max_size=30)), max_size=30))
@settings(max_examples=300, deadline=None)
def test_any_lines_give_at_most_the_error_lines_allowed(pieces: list[str]) -> None:
    lines = error_lines("\n".join(pieces))
    assert len(lines) <= 6
    assert all(line and "\n" not in line for line in lines)
