"""The calibration past its last knot (a sure pattern passes any threshold) and the checks of
calibration tables and of ``fit_calibration``'s input."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from memcore.errors import ValidationError
from memcore.prefetch import CALIBRATION, PredictiveMemoryPrefetcher, calibrate, fit_calibration
from tests.param_ids import value_id

SESSION = "s-1"


def test_past_the_last_knot_the_confidence_rises_to_certainty() -> None:
    """It stayed at the last knot's 0.6482 whatever the score: a threshold above that loaded
    nothing, ever."""
    last_x, last_y = CALIBRATION[-1]
    assert calibrate(last_x) == pytest.approx(last_y)  # continuous at the knot
    assert calibrate(1.0) == 1.0
    assert calibrate(1.5) == 1.0  # (no score is above 1; none says more than certainty)
    middle = (last_x + 1.0) / 2
    assert calibrate(middle) == pytest.approx((last_y + 1.0) / 2)
    values = [calibrate(score / 1000) for score in range(1001)]
    assert values == sorted(values)
    assert all(0.0 <= value <= 1.0 for value in values)
    # a table that reaches a score of 1 says what it says there
    assert calibrate(1.0, ((0.0, 0.0), (1.0, 0.5))) == 0.5


def test_a_pattern_seen_a_thousand_times_passes_a_high_threshold() -> None:
    loaded: list[str] = []

    async def load(session_id: str, item_id: str) -> str:
        loaded.append(item_id)
        return f"value of {item_id}"

    prefetcher = PredictiveMemoryPrefetcher(loader=load, threshold=0.9)
    for _ in range(1000):
        prefetcher.record_accesses(SESSION, ["a", "b", "c"])
    ((item, score),) = prefetcher.score_next_accesses(SESSION, "a", 1)
    ((_, confidence),) = prefetcher.predict_next_accesses(SESSION, "a", 1)
    assert item == "b"
    assert score > 0.99
    assert confidence == calibrate(score) > 0.9
    assert asyncio.run(prefetcher.prefetch_predicted_items(SESSION, "a")) == 1
    assert loaded == ["b"]


@pytest.mark.parametrize(
    "table",
    [
        ((float("nan"), 0.2),),
        ((0.1, 0.1), (float("nan"), 0.2)),  # NaN compares false: it passed the order check
        ((0.1, 0.1), (float("inf"), 0.2)),
        ((float("-inf"), 0.1), (0.5, 0.2)),
        ((0.1, float("nan")),),
        ((0.5, 0.2), (0.4, 0.3)),  # scores out of order
        ((0.4, 0.3), (0.5, 0.2)),  # hit rates falling
        ((0.5, 1.2),),
        ((10**400, 0.2),),  # past the float range: an OverflowError, not a memcore error
        ((0.5, 10**400),),
        (("0.5", 0.2),),
        ((True, 0.2),),
        ((0.5, 0.2, 0.1),),
        ((0.5,),),
        (0.5,),
        "ab",
        (),
        42,
    ],
    ids=value_id,
)
def test_bad_calibration_tables_are_refused(table: Any) -> None:
    with pytest.raises(ValidationError):
        PredictiveMemoryPrefetcher(calibration=table)
    with pytest.raises(ValidationError):
        calibrate(0.5, table)


@pytest.mark.parametrize("score", [float("nan"), float("inf"), "0.5", None, True, -(10**400)])
def test_calibrate_refuses_a_score_that_is_no_finite_number(score: Any) -> None:
    with pytest.raises(ValidationError, match="score"):
        calibrate(score)


@pytest.mark.parametrize("bins", [0, -1, 1.5, "3", True, None])
def test_fit_calibration_needs_a_whole_number_of_bins(bins: Any) -> None:
    """bins=0 was a ZeroDivisionError."""
    with pytest.raises(ValidationError, match="bins"):
        fit_calibration([(0.5, True), (0.2, False)], bins=bins)


@pytest.mark.parametrize(
    "observed",
    [
        [(0.5, True), (float("nan"), False)],  # NaN became a knot
        [(0.5, True), (float("inf"), False)],
        [(0.5, True), (10**400, False)],  # an OverflowError
        [(0.5, True), ("a", False)],  # a ValueError
        [(0.5, True), (None, False)],
        [(0.5, True), (0.2, "no")],  # "no" counted as a hit
        [(0.5, True), (0.2, 2)],  # (0 and 1 are hits counted as numbers; 2 is none)
        [(0.5, True), (0.2, None)],
        [(0.5, True), (0.2,)],
        [(0.5, True), 0.2],
        None,
    ],
    ids=value_id,
)
def test_fit_calibration_refuses_observations_that_are_no_score_and_hit(observed: Any) -> None:
    with pytest.raises(ValidationError):
        fit_calibration(observed)


def test_fit_calibration_takes_numpy_s_values_and_hits_counted_as_numbers() -> None:
    """Observations out of an array (numpy's floats and bools) or counted (0 and 1) are what
    they say: a check for the exact ``bool`` type refused them."""
    numpy = pytest.importorskip("numpy")
    scores = numpy.array([0.1, 0.2, 0.8, 0.9])
    hits = numpy.array([False, False, True, True])
    as_numpy = fit_calibration(zip(scores, hits, strict=True), bins=2)
    counted = fit_calibration([(0.1, 0), (0.2, 0), (0.8, 1), (0.9, 1)], bins=2)
    plain = fit_calibration([(0.1, False), (0.2, False), (0.8, True), (0.9, True)], bins=2)
    assert as_numpy == counted == plain


def test_fit_calibration_takes_one_bin_and_integer_scores() -> None:
    table = fit_calibration([(0, False), (1, True), (0.5, True), (0.5, False)], bins=1)
    assert table == ((0.5, 0.5),)
    assert PredictiveMemoryPrefetcher(calibration=table).calibration == table


def test_a_calibration_set_later_is_checked_and_none_is_the_default() -> None:
    prefetcher = PredictiveMemoryPrefetcher()
    prefetcher.calibration = None
    assert prefetcher.calibration == CALIBRATION
    with pytest.raises(ValidationError):
        prefetcher.calibration = [(0.5, 2.0)]
    assert prefetcher.calibration == CALIBRATION  # (a refused table changes nothing)
