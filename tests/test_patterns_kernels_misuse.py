"""The access-pattern kernels misused: ``__init__`` called again with a bad parameter, a session's
model handed ``None``, ids that are ``str`` subclasses. Each twin refuses the same way, and the
compiled one never crashes (the crash checks run in a child process, so a crash fails them
instead of ending the run)."""

from __future__ import annotations

import array
import functools
import subprocess
import sys
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest

from memcore.errors import ValidationError
from tests.param_ids import value_id
from tests.twin_outcomes import outcome


@pytest.fixture(scope="module")
def twins(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> tuple[ModuleType, ModuleType]:
    return native_kernels("patterns"), pure_kernels("patterns")


def run_child(script: str, module: ModuleType) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, module.__name__],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_init_again_with_a_bad_parameter_changes_nothing(patterns_impl: ModuleType) -> None:
    counter = patterns_impl.PatternCounter(window_size=3, max_successors=1, max_contexts=64)
    counter.record_many([i % 7 for i in range(100)])
    before = counter.state()
    with pytest.raises(ValidationError):  # the last parameter is the bad one
        counter.__init__(window_size=6, max_successors=1024, decay_at=1)
    assert (counter.window_size, counter.max_successors, counter.max_order) == (3, 1, 2)
    assert counter.decay_at == 1024
    assert counter.state() == before
    counter.record_many([i % 5000 for i in range(20_000)])
    assert counter.context_count == 64
    assert all(len(successors) <= 1 for _, _, successors in counter.state())


def test_init_again_with_a_bad_parameter_never_crashes(
    native_kernels: Callable[[str], ModuleType],
) -> None:
    # It used to set max_successors before failing on decay_at, leaving the successor arrays
    # sized for 1 per context and indexed for 1024: the next accesses wrote past them.
    script = """
import importlib, sys
patterns = importlib.import_module(sys.argv[1])
counter = patterns.PatternCounter(window_size=3, max_successors=1, max_contexts=64)
for i in range(100):
    counter.record(i % 7)
try:
    counter.__init__(window_size=3, max_successors=1024, decay_at=1)
except Exception:
    pass
for i in range(200_000):
    counter.record(i % 5000)
print(counter.max_successors, counter.context_count)
"""
    assert run_child(script, native_kernels("patterns")) == "1 64"


def test_a_session_model_keeps_its_counter_ids_and_names(patterns_impl: ModuleType) -> None:
    table = patterns_impl.SessionTable({"window_size": 5})
    table.record("s", "a")
    model = table.get("s")
    for name in ("counter", "ids", "names"):
        with pytest.raises(AttributeError):
            setattr(model, name, None)
    with pytest.raises(TypeError):
        patterns_impl.SessionModel(None)
    table.record("s", "b")
    assert model.names == ["a", "b"]
    assert model.counter.accesses == 2


def test_a_session_model_without_a_counter_never_crashes(
    native_kernels: Callable[[str], ModuleType],
) -> None:
    # ``model.counter = None`` (or ``SessionModel(None)``) used to be accepted; the table's next
    # access called into the missing counter and crashed.
    script = """
import importlib, sys
patterns = importlib.import_module(sys.argv[1])
table = patterns.SessionTable({"window_size": 5})
table.record("s", "a")
refused = 0
try:
    table.get("s").counter = None
except AttributeError:
    refused += 1
try:
    patterns.SessionModel(None).intern("a")
except TypeError:
    refused += 1
table.record("s", "a")
table.record("s", "b")
print(refused, table.get("s").counter.accesses)
"""
    assert run_child(script, native_kernels("patterns")) == "2 3"


def test_session_table_init_again_with_bad_arguments_changes_nothing(
    patterns_impl: ModuleType,
) -> None:
    table = patterns_impl.SessionTable({"window_size": 5}, max_items=10, max_sessions=3)
    table.record("s1", "a")
    with pytest.raises(ValidationError):
        table.__init__({"window_size": 99})
    with pytest.raises(ValidationError):
        table.__init__({"window_size": 4}, max_items=0)
    assert (table.max_items, table.max_sessions) == (10, 3)
    table.record("s2", "b")  # a new session is made with the arguments still in force
    assert table.sessions() == ["s1", "s2"]
    assert table.get("s2").counter.window_size == 5


class Name(str):
    """A ``str`` subclass: what an application's own id type may be."""


def test_str_subclass_ids_are_counted_like_their_strings(
    twins: tuple[ModuleType, ModuleType],
) -> None:
    # The compiled twin used to refuse them with a bare TypeError, and to make the session's
    # model afresh at each access of a subclass session id (the pure twin counted them).
    tables = [impl.SessionTable({"window_size": 4}) for impl in twins]
    for table in tables:
        for item in "abcabca":
            table.record(Name("s"), Name(item))
        table.record_many(Name("s"), [Name("b"), "c"])
        table.record("s", Name("a"))
    native, pure = tables
    assert native.sessions() == pure.sessions() == ["s"]
    left, right = native.get("s"), pure.get("s")
    assert left.names == right.names == ["a", "b", "c"]
    assert left.counter.accesses == right.counter.accesses == 10
    assert left.counter.state() == right.counter.state()
    assert native.model(Name("s")) is left


def test_a_counter_never_initialized_reads_as_empty_and_never_crashes(
    native_kernels: Callable[[str], ModuleType],
) -> None:
    # ``PatternCounter.__new__(PatternCounter)`` alone: predict, total, successors and state
    # looked into its NULL arrays (a crash).
    script = """
import importlib, sys
patterns = importlib.import_module(sys.argv[1])
counter = patterns.PatternCounter.__new__(patterns.PatternCounter)
print(counter.predict(1), counter.total([1]), counter.successors([1]), counter.state())
"""
    assert run_child(script, native_kernels("patterns")) == "[] 0 {} []"


@pytest.mark.parametrize(
    "batch",
    [
        None,
        5,
        "abc",
        [1, "a"],
        [1, True],
        np.array([1.5, 2.0]),
        np.array([[1, 2], [3, 4]]),
        np.array([True, False]),
        np.array([1, 2**63], dtype=np.uint64),
        np.array(3),
        np.array([1, 2, 3, 4])[::2],
        np.array([4, 5], dtype=np.int32),
        array.array("q", [1, 2]),
    ],
    ids=value_id,
)
def test_record_many_twins_refuse_and_count_alike(
    twins: tuple[ModuleType, ModuleType], batch: object
) -> None:
    # The compiled twin took ``None`` as an empty batch, and named a numpy array's values by
    # numpy's types ("got float64", "got ndarray", "got bool") where the pure twin reads the
    # array's ``tolist`` ("got float", "got list", "not bool (True)").
    counters = [impl.PatternCounter(window_size=3) for impl in twins]
    said = []
    for counter in counters:
        counter.record_many([9, 8])
        said.append(outcome(functools.partial(counter.record_many, batch)))
    assert said[0] == said[1]
    if batch is None:
        assert said[0] == ("ValidationError", "record_many takes an iterable of int ids")
    native, pure = counters
    assert native.accesses == pure.accesses
    assert native.state() == pure.state()
