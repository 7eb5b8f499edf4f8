"""Tables of Speed: `benchmarks/speed.py --rows` repeats in results/speed/."""

from __future__ import annotations

from collections.abc import Callable

TABLES: dict[str, Callable[[], str]] = {}
