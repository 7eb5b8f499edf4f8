"""Tables of the model card: `benchmarks/qagen_squad.py` rows in results/qagen_squad/ and the
training log shipped beside the adapter (quals_hf/default_qagen/training_log.json)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from markdown_table import pct, table

from quals_hf.evaluation import read_jsonl

SQUAD = Path(__file__).resolve().parent / "results" / "qagen_squad"
TRAINING_LOG = (
    Path(__file__).resolve().parent.parent / "quals_hf" / "default_qagen" / "training_log.json"
)
# file stem of a stored run -> what it read
LABELS = {
    "base": "base model (no adapter)",
    "qagen-v1": "base + adapter (this QAGen)",
}
Row = dict[str, Any]


def share(rows: list[Row], value: Callable[[Row], bool]) -> float:
    """The share of ``rows`` for which ``value`` holds (NaN without rows)."""
    return sum(map(value, rows)) / len(rows) if rows else float("nan")


def run_cells(name: str, rows: list[Row]) -> list[str]:
    """One run's row: pairs, mean loss and, where it generated, the greedy generations' rates."""
    loss = f"{-statistics.fmean(r['lp'] for r in rows):.2f}"
    generated = [r for r in rows if "parsed" in r]
    parsed = [r for r in generated if r["parsed"]]
    rouge = statistics.fmean(r["question_rouge_l"] for r in generated) if generated else None
    cells = [
        pct(share(generated, lambda r: r["parsed"])),
        pct(share(generated, lambda r: r["span"])),
        "n/a" if rouge is None else f"{rouge:.3f}",
        pct(share(parsed, lambda r: bool(r["flaws"]))),
    ]
    cells = cells if generated else ["n/a"] * len(cells)
    return [LABELS.get(name, name), str(len(rows)), loss, *cells]


def squad_table(folder: Path = SQUAD) -> str:
    """Per stored run (``folder/NAME.jsonl.gz``) on the held-out SQuAD pairs: the mean over
    pairs of the reference pair's per-token loss, and of the greedy generations the share that
    parse into a pair, whose answer is a span of the context, their question's ROUGE-L against
    the reference (0 where none parsed), and the share of parsed pairs with a `PAIR_FLAWS` flaw."""
    body = [
        run_cells(path.name.removesuffix(".jsonl.gz"), rows)
        for path in sorted(folder.glob("*.jsonl.gz"))
        if (rows := read_jsonl(path))
    ]
    head = ["QAGen", "pairs", "loss", "parse", "answer is a span", "question ROUGE-L", "flawed"]
    return table(head, body)


def training_table(log: Path = TRAINING_LOG) -> str:
    """The training loss (target tokens) logged over the first and the last logging interval
    (the trainer logs the mean over the steps since its previous log)."""
    logged = json.loads(log.read_text())
    history = [entry for entry in logged["log_history"] if "loss" in entry]
    before = history[-2]["step"] if len(history) > 1 else 0
    steps = f"steps 1-{history[0]['step']} → {before + 1}-{history[-1]['step']}"
    loss = f"{history[0]['loss']:.2f} → {history[-1]['loss']:.2f}"
    return table(["", "value"], [[f"training loss, {steps} of {logged['global_step']}", loss]])


TABLES: dict[str, Callable[[], str]] = {
    "qagen-squad": squad_table,
    "qagen-training": training_table,
}
