"""Recency by kind (``memcore.prefetch_kinds``): fitting, checking and using a kind prior."""

from __future__ import annotations

import pytest

from memcore.errors import ValidationError
from memcore.prefetch import PredictiveMemoryPrefetcher
from memcore.prefetch_kinds import (
    KIND_PRIOR,
    check_kind_prior,
    fit_kind_prior,
    kind_of,
    kind_shares,
)

SESSION = "s-1"


def test_kind_is_the_text_before_the_first_colon() -> None:
    assert kind_of("file:src/a.py") == "file"
    assert kind_of("cmd:git log --format=%H:%s") == "cmd"
    assert kind_of("json.decoder") == ""  # no kind
    assert kind_of(":odd") == ""


def test_shares_go_by_rank_within_each_kind() -> None:
    prior = {("file", "cmd"): (0.5, 0.1), ("file", "file"): (0.3, 0.05, 0.01)}
    recent = ["file:b", "cmd:make", "file:a", "search:x", "cmd:test", "plain", "file:c"]
    # current file:b -> file:b is rank 0 of its kind, file:a rank 1, file:c rank 2; cmd:make
    # rank 0, cmd:test rank 1; search has no row and "plain" no kind: the plain recency decides
    assert kind_shares(prior, "file:b", recent) == [0.3, 0.5, 0.05, None, 0.1, None, 0.01]
    assert kind_shares(prior, "plain", recent) == [None] * len(recent)
    assert kind_shares({}, "file:b", recent) == [None] * len(recent)


def test_fit_counts_what_followed_each_candidate() -> None:
    # after every file access the next one is the latest command (4 times of 4)
    sequence = ["cmd:test", "file:a", "cmd:test", "file:b", "cmd:test", "file:a", "cmd:test"]
    prior = fit_kind_prior([sequence], ranks=2, min_support=1)
    assert prior[("file", "cmd")] == (1.0, 1.0)  # rank 1 never seen: the last rate carries
    # after cmd:test (rank 0 of cmd) came file:a, file:b, file:a: never cmd:test itself
    assert prior[("cmd", "cmd")] == (0.0, 0.0)
    # file candidates after cmd:test: the latest file (file:a, then file:b) was next 0 of 2
    # times; the one before it (file:a, behind file:b) was next its one time
    assert prior[("cmd", "file")] == (0.0, 1.0)
    assert fit_kind_prior([sequence], min_support=5) == {}  # too little seen
    with pytest.raises(ValidationError):
        fit_kind_prior([sequence], ranks=0)


def test_check_kind_prior_refuses_malformed_tables() -> None:
    assert check_kind_prior({("a", "b"): [0.5]}) == {("a", "b"): (0.5,)}
    for bad in (
        [("a", "b")],
        {("a",): (0.5,)},
        {("a", ""): (0.5,)},
        {("a", "b"): ()},
        {("a", "b"): (1.5,)},
        {("a", "b"): ("x",)},
        {("a", "b"): 0.5},
    ):
        with pytest.raises(ValidationError):
            check_kind_prior(bad)
    with pytest.raises(ValidationError):
        PredictiveMemoryPrefetcher(kind_prior={("a", "b"): (2.0,)})


def test_the_shipped_prior_is_valid() -> None:
    assert check_kind_prior(KIND_PRIOR) == dict(KIND_PRIOR)
    assert ("file", "file") in KIND_PRIOR


def test_the_prefetcher_predicts_by_kind() -> None:
    # an edit-test loop: after a file comes the latest command, not an older file
    accesses = ["file:a", "cmd:old", "file:b", "cmd:test", "file:c"]
    prior = {("file", "cmd"): (0.6, 0.05), ("file", "file"): (0.1, 0.02)}
    by_kind = PredictiveMemoryPrefetcher(kind_prior=prior)
    plain = PredictiveMemoryPrefetcher(kind_prior={})
    for prefetcher in (by_kind, plain):
        prefetcher.record_accesses(SESSION, accesses)
    assert by_kind.score_next_accesses(SESSION, "file:c")[0][0] == "cmd:test"
    # plain recency ranks the current item first (agents repeat it a fifth of the time)
    assert plain.score_next_accesses(SESSION, "file:c")[0][0] == "file:c"
    # items without a kind are untouched by a prior
    for prefetcher in (by_kind, plain):
        prefetcher.record_accesses("s-2", ["a", "b", "a", "b"])
    assert by_kind.score_next_accesses("s-2", "b") == plain.score_next_accesses("s-2", "b")
