"""Tables of docs/text_forms.md on whether a reader accepts QUALS' pairs: the blind judgements
of `pair_acceptance` (results/pair_acceptance/labels.jsonl) joined to the stored runs."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import cache
from typing import Any

from markdown_table import table
from pair_acceptance import LABELS, REASONS, ROUNDS, label_key, sampled
from stored_runs import G20_RUN, PREFER_RUN, SHIPPED_RUN, stored_pairs

from quals_hf.benchmark_data import QAGS_NAMES
from quals_hf.evaluation import SET_TITLES, auc
from quals_hf.scoring.pair_quality import pair_flaws

CHOICES = {
    SHIPPED_RUN: "the paper's (shipped)",
    PREFER_RUN: "well-formed first",
    G20_RUN: "20 search groups",
}
ACCEPTED = ["judged", "accepted", "accepted share [95%]"]
# A filter fixed before the pairs were judged: keep a pair whose answer the QAGen, reading the
# summary and the question, finds at least this likely per token (a round-trip check).
ANSWER_LOGPROB_RULE = math.log(0.5)
Key = tuple[str, int, str, str]


@cache
def labels() -> dict[Key, dict[str, Any]]:
    """Each judged pair by `label_key`."""
    return {label_key(r): r for r in map(json.loads, LABELS.read_text().splitlines())}


def judgement(key: Key) -> dict[str, Any]:
    """The stored judgement of a sampled pair; a sampled pair no one judged stops the tables
    with its round's command."""
    if key not in labels():
        raise KeyError(
            f"{key} is sampled but not judged in {LABELS}: judge the pairs that "
            "`python benchmarks/pair_acceptance.py --round R --judged LABELS` prints"
        )
    return labels()[key]


def wilson(accepted: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95%) of a share ``accepted / n``: sound for small ``n`` and
    for shares near 0 or 1, where the normal approximation is not."""
    if n == 0:
        return math.nan, math.nan
    p = accepted / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def accepted_cells(judged: list[dict[str, Any]]) -> list[str]:
    """The `ACCEPTED` cells of some judged pairs: ``["30", "6", "20.0% [9.5, 37.3]"]``."""
    n, k = len(judged), sum(r["accept"] for r in judged)
    low, high = wilson(k, n)
    share = f"{100 * k / n:.1f}% [{100 * low:.1f}, {100 * high:.1f}]" if n else "n/a"
    return [str(n), str(k), share]


def by_choice() -> str:
    """Per set, round and choice of pairs: the share of its sampled pairs a reader accepted;
    then the shipped run's pairs of every round together (a pair drawn twice counts once)."""
    rows = []
    for name in QAGS_NAMES:
        for round_, runs in ROUNDS.items():
            for run in runs:
                judged = [judgement((name, *key)) for key in sampled(run, name, round_)]
                rows.append([SET_TITLES[name], str(round_), CHOICES[run], *accepted_cells(judged)])
        shipped = {key for round_ in ROUNDS for key in sampled(SHIPPED_RUN, name, round_)}
        judged = [judgement((name, *key)) for key in sorted(shipped)]
        rows.append([SET_TITLES[name], "all", CHOICES[SHIPPED_RUN], *accepted_cells(judged)])
    return table(["set", "round", "pairs chosen", *ACCEPTED], rows)


def _stored(key: Key) -> dict[str, Any]:
    """The stored row of a judged pair, from the first run of `ROUNDS` that kept it."""
    name, *pair = key
    runs = dict.fromkeys(run for runs in ROUNDS.values() for run in runs)
    found = (stored_pairs(run, name).get(tuple(pair)) for run in runs)
    row = next((p for p in found if p is not None), None)
    if row is None:
        raise KeyError(f"{key} is judged in {LABELS} but kept by no run of ROUNDS")
    return row


def _flawed(key: Key) -> bool:
    """Whether `pair_flaws` flags a judged pair (whether the search cut it: its stored row)."""
    return bool(pair_flaws(key[2], key[3], _stored(key).get("cut", False)))


def by_form() -> str:
    """Every judged pair, malformed (`pair_flaws`) or not: the share a reader accepted, and
    why the others were not accepted."""
    rows = []
    for name in QAGS_NAMES:
        for label, malformed in (("malformed", True), ("well-formed", False)):
            judged = [r for k, r in labels().items() if k[0] == name and _flawed(k) == malformed]
            reasons = [sum(r["reason"] == why for r in judged) for why in REASONS]
            rows.append([SET_TITLES[name], label, *accepted_cells(judged), *map(str, reasons)])
    return table(["set", "pairs", *ACCEPTED, *REASONS], rows)


def _mean(values: list[float]) -> float:
    """The mean of some per-token log-probabilities."""
    return sum(values) / len(values)


# what a stored pair row says of the pair, by the name the docs give it
SIGNS: dict[str, Callable[[dict[str, Any]], float]] = {
    "answer tokens given the summary and question": lambda p: _mean(
        p["token_logprobs_y"][p["answer_start"] :]
    ),
    "question tokens given the summary": lambda p: _mean(
        p["token_logprobs_y"][: p["answer_start"]]
    ),
    "the pair given the summary (lp_y)": lambda p: p["lp_y"],
    "the pair given the source (lp_x)": lambda p: p["lp_x"],
    "lp_x - lp_y (what QUALS averages)": lambda p: p["consistency"],
}


def by_sign() -> str:
    """Could the model's own numbers tell an accepted pair? Per set and quantity of a stored
    pair (mean log-probability per token): the ROC AUC of accepted over not accepted pairs."""
    rows = []
    for name in QAGS_NAMES:
        judged = [(r["accept"], _stored(k)) for k, r in labels().items() if k[0] == name]
        for label, sign in SIGNS.items():
            good = [sign(p) for ok, p in judged if ok]
            bad = [sign(p) for ok, p in judged if not ok]
            row = [SET_TITLES[name], label, f"{auc(good, bad):.2f}", str(len(good)), str(len(bad))]
            rows.append(row)
    return table(["set", "mean log-probability of", "AUC", "accepted", "not accepted"], rows)


def by_rule() -> str:
    """The pairs `ANSWER_LOGPROB_RULE` keeps and those it drops: the share accepted of each."""
    sign = SIGNS["answer tokens given the summary and question"]
    rows = []
    for label, kept in (("kept", True), ("dropped", False)):
        judged = [
            r for key, r in labels().items() if (sign(_stored(key)) >= ANSWER_LOGPROB_RULE) == kept
        ]
        rows.append([label, *accepted_cells(judged)])
    return table(["pairs the rule", *ACCEPTED], rows)


TABLES: dict[str, Callable[[], str]] = {
    "pair-acceptance": by_choice,
    "pair-acceptance-form": by_form,
    "pair-acceptance-sign": by_sign,
    "pair-acceptance-rule": by_rule,
}
