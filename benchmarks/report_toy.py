"""Tables of QUALS (docs/quals.md): `benchmarks/toy_options.py` rows in results/toy_options/.

One row per summary: its kind (faithful, added number, copy error), the run's settings and its
score under every scoring option (None where it kept no pair).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from markdown_table import table

from quals_hf.evaluation import read_jsonl
from quals_hf.evaluation.stats import auc

TOY_ROWS = Path(__file__).resolve().parent / "results" / "toy_options" / "toy_options.jsonl.gz"
KINDS = ("faithful", "added number", "copy error")
Row = dict[str, Any]


def scores_by_option(rows: list[Row]) -> dict[str, dict[str, list[float]]]:
    """Per option (in the rows' order), per kind: the scores of its summaries, None left out."""
    options = list(rows[0]["scores"]) if rows else []
    return {
        option: {
            kind: [
                r["scores"][option]
                for r in rows
                if r["kind"] == kind and r["scores"][option] is not None
            ]
            for kind in KINDS
        }
        for option in options
    }


def options_table(rows: list[Row]) -> str:
    """Per scoring option: the median score of each kind of summary; how far an added number
    falls below the faithful median as a share of how far a copy error falls; whether an added
    number's median is at or below a copy error's; the AUC of faithful against each kind."""
    body = []
    for option, scores in scores_by_option(rows).items():
        faithful, added, copy = (statistics.median(scores[kind]) for kind in KINDS)
        body.append(
            [
                option,
                f"{faithful:.3f}",
                f"{added:.3f}",
                f"{copy:.3f}",
                f"{(added - faithful) / (copy - faithful):.2f}",
                "yes" if added <= copy else "no",
                f"{auc(scores['faithful'], scores['added number']):.3f}",
                f"{auc(scores['faithful'], scores['copy error']):.3f}",
            ]
        )
    head = [
        "option",
        "median: faithful",
        "one added number",
        "copy errors",
        "added number ÷ copy-error gap",
        "added number <= copy-error median",
        "AUC faithful vs added number",
        "AUC faithful vs copy errors",
    ]
    return f"{caption(rows)}\n\n{table(head, body)}"


def caption(rows: list[Row]) -> str:
    """The run's settings and how many summaries of each kind it scored."""
    settings = {(r["num_groups"], r["seed"]) for r in rows}
    runs = "; ".join(f"{groups} groups, seed {seed}" for groups, seed in sorted(settings))
    counts = [sum(r["kind"] == kind for r in rows) for kind in KINDS]
    return (
        f"Toy QAGen ({runs}): {counts[0]} faithful summaries, {counts[1]} with one added "
        f"number, {counts[2]} with copy errors."
    )


TABLES: dict[str, Callable[[], str]] = {
    "toy-options": lambda: options_table(read_jsonl(TOY_ROWS)),
}
