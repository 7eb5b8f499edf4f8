"""benchmarks/validity.py's post-hoc analysis: variants from stored pairs, worst disagreements."""

import math

import pytest


def _pair(question, answer, lp_x, lp_y):
    return {"question": question, "answer": answer, "lp_x": lp_x, "lp_y": lp_y}


def test_variants_are_recomputed_from_the_stored_pairs(load_benchmark):
    validity = load_benchmark("validity")
    summary = "anna opened a school"
    pairs = [
        _pair("who opened a school?", "anna", -0.5, -0.1),
        _pair("what happened?", "anna opened a school", -0.2, -0.1),  # the whole summary
        _pair("what did anna open?", "a school", -1.5, -0.3),
    ]
    scores = {label: fn(pairs, summary) for label, fn in validity.VARIANTS}
    paper, no_long, minimum, lp_x_only = scores.values()
    assert paper == pytest.approx((-0.4 - 0.1 - 1.2) / 3)
    assert no_long == pytest.approx((-0.4 - 1.2) / 2)
    assert minimum == pytest.approx(-1.2)
    assert lp_x_only == pytest.approx(-2.2 / 3)
    assert all(math.isnan(fn([], summary)) for _, fn in validity.VARIANTS)


def test_worst_disagreements_are_the_largest_rank_gaps(load_benchmark):
    validity = load_benchmark("validity")
    human = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    metric = [0.0, 0.1, 5.0, 0.3, math.nan, -3.0]  # #2 ranks top, #5 bottom; #4 has no score
    assert validity.worst_disagreements(metric, human, k=2) == [5, 2]
    assert 4 not in validity.worst_disagreements(metric, human, k=5)
