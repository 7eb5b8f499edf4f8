"""Markdown pieces shared by the table modules of `benchmarks/report.py`."""

from __future__ import annotations

import math
from typing import Any


def pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.1f}%"


def interval(c: dict[str, Any] | None, kind: str = "pearson") -> str:
    if c is None or c.get(kind) is None:
        return "n/a"
    v = c[kind]
    return f"{100 * v['r']:.1f} [{100 * v['low']:.1f}, {100 * v['high']:.1f}]"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
