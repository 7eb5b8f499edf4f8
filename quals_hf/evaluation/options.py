"""`QualsConfig` scoring options and the paper's deviations, recomputed from stored pairs.

A QUALS run stores every kept pair with its per-token log-probabilities, so how a pair is
scored and how pairs become a summary's score can be compared afterwards without a new search:
every option on the same pairs, chosen on one half of each set and confirmed on the other.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from .baselines import words
from .stats import correlations, halves, paired_difference

Row = dict[str, Any]

# (label, QualsConfig fields) of the scoring options compared; the paper's first
OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("paper: pair tokens, mean", {}),
    ("answer tokens, mean", {"pair_score": "answer"}),
    ("weighted 0.25, mean", {"pair_score": "weighted", "question_weight": 0.25}),
    ("pair tokens, min", {"aggregate": "min"}),
    ("pair tokens, worst 3", {"aggregate": "worst_k"}),
    ("pair tokens, softmin 0.5", {"aggregate": "softmin"}),
    ("answer tokens, min", {"pair_score": "answer", "aggregate": "min"}),
    ("answer tokens, worst 3", {"pair_score": "answer", "aggregate": "worst_k"}),
    ("answer tokens, softmin 0.5", {"pair_score": "answer", "aggregate": "softmin"}),
]


def _mean_or_nan(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _long_answer(pair: Row, summary: str) -> bool:
    return len(words(pair["answer"])) >= 0.8 * max(1, len(words(summary)))


# Deviations from the paper's settings, from each summary's stored pairs (lp_x and lp_y only,
# so rows of older runs have them too): reported beside QUALS, never instead of it.
# (label, score of one summary's pairs and its text)
VARIANTS: list[tuple[str, Callable[[list[Row], str], float]]] = [
    (
        "QUALS as specified: mean of lp_x - lp_y",
        lambda ps, y: _mean_or_nan([p["lp_x"] - p["lp_y"] for p in ps]),
    ),
    (
        "pairs whose answer is >= 0.8 of the summary dropped",
        lambda ps, y: _mean_or_nan([p["lp_x"] - p["lp_y"] for p in ps if not _long_answer(p, y)]),
    ),
    (
        "min of lp_x - lp_y instead of the mean",
        lambda ps, y: min((p["lp_x"] - p["lp_y"] for p in ps), default=math.nan),
    ),
    ("mean lp_x only (no lp_y)", lambda ps, y: _mean_or_nan([p["lp_x"] for p in ps])),
]


def variant_correlations(
    rows: list[Row], summaries: list[str], human: list[float]
) -> dict[str, dict[str, Any]]:
    """Correlations with ``human`` of every `VARIANTS` score over the stored pairs."""
    return {
        label: correlations([fn(r["pairs"], y) for r, y in zip(rows, summaries)], human)
        for label, fn in VARIANTS
    }


def answer_stats(rows: list[Row], summaries: dict[int, str]) -> dict[str, float]:
    """Length of kept answers (words) and how often an answer is (nearly) the whole summary."""
    lengths, ratios, whole = [], [], 0
    for row in rows:
        summary_words = words(summaries[row["id"]])
        for pair in row["pairs"]:
            answer_words = words(pair["answer"])
            lengths.append(len(answer_words))
            ratios.append(len(answer_words) / max(1, len(summary_words)))
            whole += answer_words == summary_words
    if not lengths:
        return {"answers": 0}
    return {
        "answers": len(lengths),
        "median_words": float(statistics.median(lengths)),
        "mean_words": float(statistics.fmean(lengths)),
        "share_ge_0.8_summary": sum(r >= 0.8 for r in ratios) / len(ratios),
        "share_whole_summary": whole / len(lengths),
    }


def option_scores(
    rows: list[Row], windowed: tuple[int, list[Row]] | None = None
) -> dict[str, list[float]]:
    """Every `OPTIONS` score of each summary, recomputed from its stored pairs (no model run);
    NaN where the stored pairs lack per-token log-probabilities (rows of older runs). With
    ``windowed`` (window tokens, rows of the same pairs scored in source windows), every option
    again on those rows, and the paper's on their whole-source control."""
    from ..scoring.pairs import PairScore
    from ..scoring.scorer import QualsConfig

    runs = [("", OPTIONS, [r["pairs"] for r in rows])]
    if windowed is not None:
        size, scored = windowed
        runs.append((f", windows {size}", OPTIONS, [r["pairs"] for r in scored]))
        control = [r["pairs_whole"] for r in scored]  # the same pairs re-scored, no windows
        runs.append((", whole source re-scored (control)", OPTIONS[:1], control))
    out = {}
    for suffix, options, pair_lists in runs:
        for label, fields in options:
            config = QualsConfig(**fields)
            out[label + suffix] = [
                config.summary_score([PairScore.from_dict(p) for p in pairs])
                if all("token_logprobs_x" in p for p in pairs)
                else math.nan
                for pairs in pair_lists
            ]
    return out


def option_analysis(
    rows: list[Row],
    human: list[float],
    ids: Sequence[int],
    windowed: tuple[int, list[Row]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per option and half (A, B) of the summaries ``ids``: Pearson and Spearman with the
    human labels, and the paired Pearson difference to the paper's QUALS (``diff``)."""
    scores = option_scores(rows, windowed)
    paper = scores[OPTIONS[0][0]]
    result: dict[str, dict[str, Any]] = {label: {} for label in scores}
    for half, idx in zip("AB", halves(ids)):
        h, p = [human[i] for i in idx], [paper[i] for i in idx]
        for label, values in scores.items():
            v = [values[i] for i in idx]
            result[label][half] = {**correlations(v, h), "diff": paired_difference(v, p, h)}
    return result
