"""Agreement of a metric with human labels, with numpy alone: Pearson, Spearman and ROC AUC
with percentile-bootstrap 95% intervals, paired differences between two metrics on the same
resamples, and a seeded split into halves (choose on one, confirm on the other).

Every interval resamples the summaries with replacement `BOOTSTRAP` times from a generator
seeded with `SEED`, so that a rerun prints the same numbers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

BOOTSTRAP, SEED = 1000, 0
HALF_SEED = 24  # the seeded split of each set: options are chosen on half A, confirmed on B

Interval = dict[str, float]  # {"r": point estimate, "low": 2.5th, "high": 97.5th percentile}


def rankdata(values: Any) -> np.ndarray:
    """Ranks (1-based) along the last axis, ties sharing their average rank."""
    a = np.asarray(values, dtype=float)
    n = a.shape[-1]
    order = np.argsort(a, axis=-1, kind="stable")
    ordered = np.take_along_axis(a, order, -1)
    starts = np.ones(a.shape, dtype=bool)  # a sorted position that begins a tie group
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    ends = np.ones(a.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    index = np.broadcast_to(np.arange(n), a.shape)
    first = np.maximum.accumulate(np.where(starts, index, 0), axis=-1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, index, n - 1), -1), -1), -1)
    ranks = np.empty(a.shape, dtype=float)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, -1)
    return ranks


def rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson of each row of ``x`` with the same row of ``y`` (NaN where one is constant)."""
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x * y).sum(-1) / np.sqrt((x * x).sum(-1) * (y * y).sum(-1))


def _unit(values: Sequence[float]) -> np.ndarray:
    """Deviations from the mean over their norm (taken after scaling by the largest one)."""
    m = np.asarray(values, dtype=float)
    m = m - np.mean(m)
    scale = np.abs(m).max()
    return m / (scale * np.linalg.norm(m / scale, axis=-1))


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's r (NaN under 2 points or when either side is constant), computed as
    ``scipy.stats.pearsonr`` computes it, so that both give the same floats."""
    if len(x) < 2:
        return math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        xn, yn = _unit(x), _unit(y)
        r = np.vecdot(xn, yn) if hasattr(np, "vecdot") else np.dot(xn, yn)
    return float(np.clip(r, -1.0, 1.0))


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson of the ranks, ties at their average rank (as
    ``scipy.stats.spearmanr`` computes it)."""
    ranks = np.stack([rankdata(x), rankdata(y)], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.corrcoef(ranks, rowvar=False)[1, 0])


def auc(higher: Sequence[float], lower: Sequence[float]) -> float:
    """P(a score of ``higher`` > one of ``lower``), ties counting half (Mann-Whitney)."""
    h = np.asarray(higher, dtype=float)[:, None]
    v = np.asarray(lower, dtype=float)[None, :]
    wins = float((h > v).sum()) + 0.5 * float((h == v).sum())
    return wins / (h.size * v.size)


def _rank_auc(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC of each row (positives above negatives), from ranks."""
    ranks = rankdata(scores)
    n_pos = positive.sum(-1)
    n_neg = positive.shape[-1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * positive).sum(-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _resamples(n: int, bootstrap: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(bootstrap, n))


def _interval(point: float, boot: np.ndarray) -> Interval:
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    return {"r": point, "low": float(low), "high": float(high)}


def correlations(
    metric: Sequence[float],
    human: Sequence[float],
    bootstrap: int = BOOTSTRAP,
    seed: int = SEED,
) -> dict[str, Any]:
    """Pearson and Spearman over the pairs where ``metric`` is not NaN, each as an `Interval`
    (percentile bootstrap, 95%; resamples with a constant column are left out); ``None`` for
    both under 3 points or when either side is constant. ``n``: the points used."""
    x = np.asarray(metric, dtype=float)
    y = np.asarray(human, dtype=float)
    keep = ~np.isnan(x)
    x, y = x[keep], y[keep]
    result: dict[str, Any] = {"n": len(x)}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {**result, "pearson": None, "spearman": None}
    idx = _resamples(len(x), bootstrap, seed)
    xs, ys = x[idx], y[idx]
    result["pearson"] = _interval(pearson(x, y), rowwise_pearson(xs, ys))
    result["spearman"] = _interval(spearman(x, y), rowwise_pearson(rankdata(xs), rankdata(ys)))
    return result


def roc_auc(
    metric: Sequence[float],
    human: Sequence[float],
    bootstrap: int = BOOTSTRAP,
    seed: int = SEED,
) -> Interval | None:
    """ROC AUC of ``metric`` for telling summaries labelled wholly consistent (1) from those
    labelled wholly inconsistent (0), ties counting half, with a percentile-bootstrap 95%
    interval (resamples lacking either label are left out). Other labels and NaN scores take
    no part; ``None`` without summaries of both labels."""
    x, y = np.asarray(metric, dtype=float), np.asarray(human, dtype=float)
    keep = ~np.isnan(x) & ((y == 0) | (y == 1))
    x, positive = x[keep], (y[keep] == 1).astype(float)
    if positive.sum() in (0, len(x)):
        return None
    idx = _resamples(len(x), bootstrap, seed)
    return _interval(float(_rank_auc(x, positive)), _rank_auc(x[idx], positive[idx]))


def faithful_above_unfaithful(metric: Sequence[float], human: Sequence[float]) -> dict[str, Any]:
    """How often a summary labelled wholly consistent (1) scores above one labelled wholly
    inconsistent (0), over every such pair of summaries, ties counting half (the ROC AUC for
    the 0/1 labels): what one comparison can be expected to show. NaN scores are left out;
    ``share`` is NaN without summaries of either label."""
    good = [m for m, h in zip(metric, human) if h == 1 and not math.isnan(m)]
    bad = [m for m, h in zip(metric, human) if h == 0 and not math.isnan(m)]
    share = auc(good, bad) if good and bad else math.nan
    return {"share": share, "faithful": len(good), "unfaithful": len(bad)}


def paired_difference(
    option: Sequence[float],
    reference: Sequence[float],
    human: Sequence[float],
    bootstrap: int = BOOTSTRAP,
    seed: int = SEED,
) -> Interval | None:
    """Pearson of ``option`` minus Pearson of ``reference`` with the human labels, over the
    summaries both define, with its 95% paired bootstrap interval (the same resamples for
    both, so that what the summaries share cancels); ``None`` under 3 summaries."""
    x, p, y = (np.asarray(v, dtype=float) for v in (option, reference, human))
    keep = ~(np.isnan(x) | np.isnan(p))
    x, p, y = x[keep], p[keep], y[keep]
    if len(x) < 3:
        return None
    idx = _resamples(len(x), bootstrap, seed)
    boot = rowwise_pearson(x[idx], y[idx]) - rowwise_pearson(p[idx], y[idx])
    return _interval(float(rowwise_pearson(x, y) - rowwise_pearson(p, y)), boot)


def halves(ids: Sequence[int], seed: int = HALF_SEED) -> tuple[list[int], list[int]]:
    """Positions of ``ids`` in half A and in half B: each summary's half follows from a hash
    of its id alone, so a summary stays in its half whatever sample is scored."""
    half = [int(hashlib.sha256(f"{seed}:{i}".encode()).hexdigest(), 16) % 2 for i in ids]
    return [k for k, h in enumerate(half) if h == 0], [k for k, h in enumerate(half) if h == 1]


def worst_disagreements(metric: Sequence[float], human: Sequence[float], k: int = 3) -> list[int]:
    """Positions of the ``k`` summaries whose metric rank is farthest from their human rank
    (ranks scaled to [0, 1]; NaN scores are left out)."""
    keep = [i for i, v in enumerate(metric) if not math.isnan(v)]
    if not keep:
        return []
    m = rankdata([metric[i] for i in keep]) / len(keep)
    h = rankdata([human[i] for i in keep]) / len(keep)
    order = np.argsort(-np.abs(m - h), kind="stable")[:k]
    return [keep[j] for j in order]
