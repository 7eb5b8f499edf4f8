"""quals_hf.evaluation's statistics (numpy only) against hand-computed values and scipy."""

import math

import numpy as np
import pytest
from scipy import stats

from quals_hf.evaluation import (
    auc,
    correlations,
    paired_difference,
    pearson,
    rankdata,
    roc_auc,
    spearman,
)


def test_pearson_and_spearman_equal_hand_computations_and_scipy():
    x, y = [1, 2, 3, 4, 5], [2, 4, 5, 4, 5]
    # deviations (-2, -1, 0, 1, 2) and (-2, 0, 1, 0, 1): 6 / sqrt(10 * 6)
    assert pearson(x, y) == pytest.approx(6 / math.sqrt(60), abs=1e-15)
    assert pearson(x, y) == stats.pearsonr(x, y)[0]  # the same floats, not only close
    # ties share their average rank: x ranks (1, 2.5, 2.5, 4), y ranks (1, 3, 2, 4)
    x, y = [1, 2, 2, 3], [1, 3, 2, 4]
    assert spearman(x, y) == pytest.approx(4.5 / math.sqrt(4.5 * 5), abs=1e-15)
    assert spearman(x, y) == stats.spearmanr(x, y)[0]
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))  # a constant side
    rng = np.random.default_rng(1)
    for _ in range(20):
        a, b = rng.normal(size=30), rng.integers(0, 4, size=30).astype(float)
        assert pearson(a, b) == stats.pearsonr(a, b)[0]
        assert spearman(a, b) == stats.spearmanr(a, b)[0]


def test_ranks_match_scipy_with_ties_row_by_row():
    assert rankdata([10, 20, 10, 5]).tolist() == [2.5, 4.0, 2.5, 1.0]
    values = np.random.default_rng(0).integers(0, 5, size=(7, 12)).astype(float)
    assert np.array_equal(rankdata(values), stats.rankdata(values, axis=1))


def test_roc_auc_counts_ties_half_and_leaves_out_other_labels():
    scores = [0.9, 0.8, 0.4, 0.4, 0.1, 5.0, math.nan]
    labels = [1, 0, 1, 0, 0, 0.5, 1]  # the half label and the NaN score take no part
    # 0.9 beats all three negatives; 0.4 loses to 0.8, ties 0.4, beats 0.1: (3 + 1.5) / 6
    got = roc_auc(scores, labels)
    assert got["r"] == 0.75
    assert auc([0.9, 0.4], [0.8, 0.4, 0.1]) == 0.75
    mann_whitney = stats.mannwhitneyu([0.9, 0.4], [0.8, 0.4, 0.1]).statistic / 6
    assert got["r"] == pytest.approx(mann_whitney)
    assert 0 <= got["low"] <= got["r"] <= got["high"] <= 1
    assert roc_auc([0.1, 0.2, 0.3], [1, 1, 0.5]) is None  # no wholly inconsistent summary


def test_bootstrap_intervals_are_percentiles_of_resampled_correlations():
    rng = np.random.default_rng(3)
    human = rng.integers(0, 2, size=25).astype(float)
    metric = human + rng.normal(scale=1.0, size=25)
    metric[4] = math.nan  # left out of every correlation
    got = correlations(metric, human, bootstrap=200, seed=7)
    x, y = metric[~np.isnan(metric)], human[~np.isnan(metric)]
    assert got["n"] == 24
    assert got["pearson"]["r"] == stats.pearsonr(x, y)[0]
    idx = np.random.default_rng(7).integers(0, 24, size=(200, 24))
    by_scipy = {"pearson": [], "spearman": []}
    for row in idx:
        if np.ptp(x[row]) and np.ptp(y[row]):  # a constant resample has no correlation
            by_scipy["pearson"].append(stats.pearsonr(x[row], y[row])[0])
            by_scipy["spearman"].append(stats.spearmanr(x[row], y[row])[0])
    for kind, values in by_scipy.items():
        low, high = np.percentile(values, [2.5, 97.5])
        assert got[kind]["low"] == pytest.approx(low, abs=1e-12)
        assert got[kind]["high"] == pytest.approx(high, abs=1e-12)
    assert correlations([1.0, 2.0], [0.0, 1.0]) == {"n": 2, "pearson": None, "spearman": None}


def test_a_paired_difference_cancels_what_both_share():
    rng = np.random.default_rng(5)
    human = rng.normal(size=40)
    noise = rng.normal(size=40)
    same = paired_difference(human + noise, human + noise, human)
    assert same == {"r": 0.0, "low": 0.0, "high": 0.0}
    better = paired_difference(human + 0.1 * noise, human + noise, human)
    expected = (
        stats.pearsonr(human + 0.1 * noise, human)[0] - stats.pearsonr(human + noise, human)[0]
    )
    assert better["r"] == pytest.approx(expected, abs=1e-12)
    assert 0 < better["low"] <= better["r"] <= better["high"]
    assert paired_difference([1.0, math.nan], [1.0, 2.0], [0.0, 1.0]) is None
