"""Tables of ConSeq on the toy world: `benchmarks/conseq_effect.py` rows, results/conseq/."""

from __future__ import annotations

from collections.abc import Callable

TABLES: dict[str, Callable[[], str]] = {}
