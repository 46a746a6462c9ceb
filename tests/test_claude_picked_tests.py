"""Which tests a check runs (``memcore.claude_code.picked_tests``): a focused run is told from a
run of the project's checks, in the ways the common runners are given test-name filters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.claude_code.picked_tests import covers, picks_tests


@pytest.mark.parametrize(
    "command",
    [
        "go test ./cli/ -run TestSession",
        "go test -run=TestSession ./cli/",
        "python -m pytest -k rounding -q",
        "python -m pytest -kround -q",  # (the value joined to the flag)
        "pytest tests/test_cart.py::test_rounding -v",
        "uv run pytest 'tests/test_cart.py::TestCart::test_total[2-3]'",
        "npx jest -t 'adds items'",
        "npx mocha -g login",
        "./node_modules/.bin/mocha --fgrep login",
        "npx playwright test -g checkout",
        "deno test --filter parse",
        "dotnet test --filter FullyQualifiedName~Cart",
        "cargo test parse_args",
        "cargo test -p core parse",
        "cargo +nightly test parse",
        "cargo test -- --exact tests::parse",
        "cargo test -- --skip slow",
        "cargo test -- --skip=slow",
    ],
)
def test_a_run_of_the_tests_a_filter_picks_is_focused(command: str) -> None:
    assert picks_tests(command)


@pytest.mark.parametrize(
    "command",
    [
        "go test ./...",
        "python -m pytest -q",
        "pytest tests/test_cart.py -v",  # (a file's tests: no name picks among them)
        "cargo test",
        "cargo test --release 2>&1 | tail -5",
        "cargo test > out.txt",
        "cargo test -p core --features serde",
        "cargo test --test integration",
        "cargo test -- --nocapture",
        "RUST_BACKTRACE=1 cargo test -- --test-threads 1",
        "pnpm --filter web test",  # (pnpm's filter picks a package)
        "gcc -g main.c",  # (no runner of the filter named)
        "make -k test",  # (make's -k keeps going)
        "mise run test",
    ],
)
def test_a_run_of_every_test_is_no_focused_run(command: str) -> None:
    assert not picks_tests(command)


def test_a_file_s_run_covers_its_node_ids_and_a_class_its_methods() -> None:
    assert covers("pytest tests/a.py", "pytest tests/a.py::test_b")
    assert covers("pytest tests/a.py::TestC", "pytest tests/a.py::TestC::test_m")
    assert not covers("pytest tests/a.py::test_c", "pytest tests/a.py::test_b")
    assert not covers("pytest tests/b.py", "pytest tests/a.py::test_b")


def test_cargo_s_name_filters_cover_as_other_filters_do() -> None:
    assert covers("cargo test", "cargo test parse")
    assert covers("cargo test parse", "cargo test parse_args")
    assert not covers("cargo test parse", "cargo test")  # fewer tests
    assert not covers("cargo test -p core", "cargo test -p cli parse")


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(
        st.sampled_from(
            ["cargo", "test", "pytest", "-k", "-kx", "a.py::t", "--", "--skip", "-p", "x", ">",
             "|", "make", "-g", "mocha", "--filter=y", "=", "-", "::", "+nightly", ""]
        ),
        max_size=10,
    ),
    other=st.text(max_size=30),
)  # fmt: skip
def test_any_command_reads_without_failing(words: list[str], other: str) -> None:
    command = " ".join(words)
    for text in (command, other):
        assert isinstance(picks_tests(text), bool)
        assert isinstance(covers(text, command), bool)
        assert covers(text, other) in (True, False)
