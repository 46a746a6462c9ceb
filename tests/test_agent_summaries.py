"""The budgets a level-3 group of agent records is summarized at, and which file names its
summary counts as said."""

from __future__ import annotations

from memcore.agent_summaries import budget_ladder, files_named, group_files, naming_most
from memcore.model import MemoryItem


def test_the_ladder_doubles_the_budget_up_to_the_groups_whole_size() -> None:
    assert budget_ladder(10, 53) == [10, 20, 40, 53]
    assert budget_ladder(0, 7) == [1, 2, 4, 7]
    assert budget_ladder(64, 320) == [64, 128, 256, 320]
    assert budget_ladder(3, 10_000) == [3, 6, 12, 24, 48, 10_000]  # (at most four doublings)
    assert budget_ladder(9, 9) == [9]


def test_a_file_is_named_by_its_last_path_part_whole() -> None:
    names = ["setup.go", "hooks.go"]
    assert files_named("- `cmd/cli/setup.go` was read, not changed.", names) == 1
    assert files_named("`cmd/cli/setup_test.go` and `cmd/cli/myhooks.go`", names) == 0
    assert files_named("Updated `hooks.go` in `f()`. Read `setup.go`: 80 lines", names) == 2


def test_the_smallest_budgets_text_naming_the_most_files_is_taken() -> None:
    names = ["a.go", "b.go"]
    texts = ["x", "Edited `a.go` in `f()` today", "Edited `a.go` and `b.go` both", "never read"]
    assert naming_most(iter(texts), names) == texts[2]  # (read no further)
    assert naming_most(["Edited `a.go` in `f()`", "Edited `a.go` in `g()`"], names) == (
        "Edited `a.go` in `f()`"
    )
    assert naming_most(["", "two words"], names) is None  # (nothing said)


def test_a_groups_files_are_its_records_paths() -> None:
    items = [
        MemoryItem("r1", "Read", metadata={"file_path": "/r/cmd/setup.go"}),
        MemoryItem("r2", "Read", metadata={"file_path": "C:\\r\\hooks.go"}),
        MemoryItem("r3", "Read", metadata={"file_path": "/r/cmd/setup.go"}),
        MemoryItem("r4", "Ran", metadata={"file_path": ["not", "a path"]}),
    ]
    assert group_files(items) == ["setup.go", "hooks.go"]
