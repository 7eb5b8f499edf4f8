"""The stored validity runs that the benchmarks' tables name (folders of
results/validity/, written by `benchmarks/validity.py`), and their kept pairs."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from quals_hf.benchmark_data import QAGS_NAMES
from quals_hf.evaluation import read_jsonl

VALIDITY = Path(__file__).resolve().parent / "results" / "validity"
# the package's QAGen and search on the summaries as QAGS wrote them: the run that
# `quals-hf demo` and the README quote, copied into the package by report.py
SHIPPED_RUN = "qagen-v1-search2_text"
# the same QAGen and search on every QAGS summary with normalize_text, choosing well-formed
# pairs first, and with both
NORM_RUN = "qagen-v1-norm_text"
PREFER_RUN = "qagen-v1-prefer_text"
NORM_PREFER_RUN = "qagen-v1-norm-prefer_text"
# the search with a third of the paper's groups (an approximate mode, docs/benchmarks.md)
G20_RUN = "qagen-v1-g20_text"

PairKey = tuple[int, str, str]


@cache
def validity_runs() -> dict[str, dict[str, Any]]:
    """Every stored validity run by folder name: its meta and its QUALS rows per set."""
    runs = {}
    for meta in sorted(VALIDITY.glob("*/meta.json")):
        rows = {
            name: {int(r["id"]): r for r in read_jsonl(meta.parent / f"quals_{name}.jsonl.gz")}
            for name in QAGS_NAMES
        }
        runs[meta.parent.name] = {"meta": json.loads(meta.read_text()), "rows": rows}
    return runs


@cache
def stored_pairs(run: str, name: str) -> dict[PairKey, dict[str, Any]]:
    """Every kept pair of a stored run on set ``name`` by ``(id, question, answer)``: its row
    as `PairScore.to_dict` stored it."""
    rows = validity_runs()[run]["rows"][name]
    return {(i, p["question"], p["answer"]): p for i, row in rows.items() for p in row["pairs"]}
