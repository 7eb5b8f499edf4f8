"""Human-labelled benchmark data shipped with the package.

`load_qags` reads the QAGS annotations (Wang et al., ACL 2020) vendored in ``qags/``: system
summaries of news articles with human factual-consistency labels. See ``qags/README.md`` for
their source and licence.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets

QAGS_DIR = Path(__file__).resolve().parent / "qags"
QAGS_NAMES = ("cnndm", "xsum")

_FEATURES = datasets.Features(
    {
        "id": datasets.Value("int64"),
        "system": datasets.Value("string"),
        "document": datasets.Value("string"),
        "summary": datasets.Value("string"),
        "consistency": datasets.Value("float64"),
    }
)


def load_qags(name: str) -> datasets.Dataset:
    """The QAGS-CNNDM (``"cnndm"``, 235 rows) or QAGS-XSum (``"xsum"``, 239 rows) annotations.

    Columns: ``id`` (row number in the file), ``system``, ``document``, ``summary`` and
    ``consistency`` (human label: share of summary sentences judged consistent for CNNDM,
    0 or 1 for XSum).
    """
    if name not in QAGS_NAMES:
        raise ValueError(f"unknown QAGS set {name!r}; valid names: {', '.join(QAGS_NAMES)}")
    records = json.loads((QAGS_DIR / f"qags_{name}.json").read_text(encoding="utf-8"))
    columns: dict[str, list] = {key: [] for key in _FEATURES}
    for i, record in enumerate(records):
        columns["id"].append(i)
        columns["system"].append(record["system"])
        columns["document"].append(record["document"])
        columns["summary"].append(record["summary"])
        columns["consistency"].append(float(record["consistency"]))
    return datasets.Dataset.from_dict(columns, features=_FEATURES)


def stored_quals_scores(name: str) -> dict[int, float]:
    """The package's QUALS score of every summary of a QAGS set, by ``id``, as measured with
    the package's QAGen (fp32, the paper's settings) and stored in the repository's
    benchmarks/results/ (``qags/quals_scores.json`` is copied from there by
    ``python benchmarks/report.py``; its ``about`` names the run). NaN where no pair survived."""
    if name not in QAGS_NAMES:
        raise ValueError(f"unknown QAGS set {name!r}; valid names: {', '.join(QAGS_NAMES)}")
    stored = json.loads((QAGS_DIR / "quals_scores.json").read_text(encoding="utf-8"))
    return {int(i): float("nan") if v is None else float(v) for i, v in stored[name].items()}


def demo_pair(name: str = "cnndm") -> list[dict]:
    """The two summaries `quals-hf demo` scores: of those labelled wholly faithful and wholly
    unfaithful, the one with the shortest document each (a rule fixed before any score was
    seen), faithful first."""
    rows = sorted(load_qags(name), key=lambda row: len(row["document"]))
    return [next(r for r in rows if r["consistency"] == label) for label in (1.0, 0.0)]


__all__ = ["QAGS_NAMES", "demo_pair", "load_qags", "stored_quals_scores"]
