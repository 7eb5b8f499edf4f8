"""Tables of Speed: `benchmarks/speed.py --rows` rows in results/speed/.

Two kinds of rows: a trained QAGen's repeats (``speed.py --qagen``, a ``qagen`` field) and one
row per method of a random-weight run (``speed.py --size``, a ``method`` field). Repeats of the
same settings on the same machine are pooled and shown as medians.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from markdown_table import pct, table

from quals_hf.evaluation import read_jsonl

SPEED = Path(__file__).resolve().parent / "results" / "speed"
# rows written before benchmarks/machine.py named the CPU: "x86_64, 2 CPU threads"
LEGACY_MACHINE = re.compile(r"x86_64, (\d+) CPU threads")
DATA = {"cnndm": "QAGS-CNNDM", "xsum": "QAGS-XSum"}
Row = dict[str, Any]


def stored(kind: str, folder: Path = SPEED) -> list[Row]:
    """The rows of every ``folder/*.jsonl.gz`` that have a ``kind`` field (``qagen`` or
    ``method``)."""
    rows = [row for path in sorted(folder.glob("*.jsonl.gz")) for row in read_jsonl(path)]
    return [row for row in rows if kind in row]


def same_machine(rows: list[Row]) -> list[Row]:
    """``rows`` with each legacy machine (``x86_64, N CPU threads``) replaced by the one
    described machine among ``rows`` that ran N torch threads, where there is exactly one."""
    described = {row["machine"] for row in rows if not LEGACY_MACHINE.fullmatch(row["machine"])}
    out = []
    for row in rows:
        legacy = LEGACY_MACHINE.fullmatch(row["machine"])
        match = [m for m in described if legacy and m.endswith(f", {legacy[1]} torch threads")]
        out.append({**row, "machine": match[0]} if len(match) == 1 else row)
    return out


def grouped(rows: list[Row], keys: tuple[str, ...]) -> Iterable[list[Row]]:
    """``rows`` (machines made comparable, `same_machine`) in groups of equal ``keys``, in the
    order in which each group first appears."""
    groups: dict[tuple, list[Row]] = {}
    for row in same_machine(rows):
        groups.setdefault(tuple(row.get(key) for key in keys), []).append(row)
    return groups.values()


def median(rows: list[Row], value: Callable[[Row], float | None]) -> float | None:
    """The median of ``value`` over ``rows`` (None where no row has one)."""
    values = [v for v in map(value, rows) if v is not None]
    return statistics.median(values) if values else None


def cell(value: float | None, form: str) -> str:
    return "n/a" if value is None else format(value, form)


def qagen_table(rows: list[Row]) -> str:
    """Per label and settings: the repeats of a trained QAGen (`speed.py --qagen`), median
    seconds per summary of QUALS and of the floor (one teacher-forced read of each source
    prompt and its summary), the median of the repeats' QUALS ÷ floor, pairs per summary."""
    keys = ("label", "qagen", "data", "n", "dtype", "num_groups", "batch_size", "machine")
    body = []
    for group in grouped(rows, keys):
        first = group[0]
        commits = ", ".join(dict.fromkeys(row["commit"] for row in group))
        body.append(
            [
                first["label"] or "(no label)",
                f"{first['dtype']}, {first['num_groups']} groups",
                f"{first['n']} {DATA.get(first['data'], first['data'])}",
                str(len(group)),
                commits,
                cell(median(group, lambda r: r["quals_s"]), ".2f"),
                cell(median(group, lambda r: r["floor_s"]), ".2f"),
                cell(median(group, lambda r: r["quals_s"] / r["floor_s"]), ".1f"),
                cell(median(group, lambda r: r["pairs_per_summary"]), ".1f"),
                first["machine"],
            ]
        )
    head = [
        "label",
        "mode",
        "summaries",
        "repeats",
        "commits",
        "s per summary",
        "floor: one read, s",
        "QUALS ÷ floor",
        "pairs per summary",
        "machine",
    ]
    return table(head, body)


def random_bart_table(rows: list[Row]) -> str:
    """Per size, settings and method of the random-weight runs (`speed.py --size`): runs,
    medians of s per summary, peak memory, how many times QUALS' time, QUALS' share in its
    scoring passes, GFLOP per summary, achieved GFLOP/s and its share of a plain matmul's."""
    keys = ("size", "data", "n", "dtype", "batch_size", "machine", "method")
    body = []
    for group in grouped(rows, keys):
        first = group[0]
        share = median(group, lambda r: r["scoring_share"])
        body.append(
            [
                first["size"],
                f"{first['n']} {DATA.get(first['data'], first['data'])}, {first['dtype']}",
                first["method"],
                str(len(group)),
                cell(median(group, lambda r: r["s_per_summary"]), ".3f"),
                cell(median(group, lambda r: r["peak_memory_gib"]), ".2f"),
                cell(median(group, lambda r: r["quals_faster"]), ".1f"),
                "n/a" if share is None else pct(share),
                cell(median(group, lambda r: r["gflop_per_summary"]), ".1f"),
                cell(median(group, lambda r: r["achieved_gflop_s"]), ".1f"),
                pct(median(group, lambda r: r["achieved_gflop_s"] / r["matmul_gflop_s"])),
                first["machine"],
            ]
        )
    head = [
        "size",
        "summaries",
        "method",
        "runs",
        "s per summary",
        "peak memory (GiB)",
        "÷ QUALS' time",
        "scoring share",
        "GFLOP per summary",
        "achieved GFLOP/s",
        "of matmul FLOP/s",
        "machine",
    ]
    return table(head, body)


TABLES: dict[str, Callable[[], str]] = {
    "speed-qagen": lambda: qagen_table(stored("qagen")),
    "speed-random-bart": lambda: random_bart_table(stored("method")),
}
