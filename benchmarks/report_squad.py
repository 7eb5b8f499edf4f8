"""Tables of The model card: `benchmarks/qagen_squad.py` rows in results/qagen_squad/."""

from __future__ import annotations

from collections.abc import Callable

TABLES: dict[str, Callable[[], str]] = {}
