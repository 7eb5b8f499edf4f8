"""Tables of ConSeq on the toy world: `benchmarks/conseq_effect.py` rows, results/conseq/.

Per setting that has stored rows (`conseq_effect.setting_name`: ``recommended``, ``paper``,
...), two tables: ``conseq-SETTING``, every arm's mean ± sd over runs with the machines and
dates the rows come from, and ``conseq-SETTING-paired``, every arm minus the MLE control of
its own run (`conseq_effect.table` and `conseq_effect.paired_table`, as the script prints them).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import conseq_effect


@cache
def rows_by_setting(folder: Path = conseq_effect.RESULTS) -> dict[str, list[dict[str, Any]]]:
    """The stored rows of ``folder`` by setting name, names in sorted order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in conseq_effect.stored_rows(folder):
        groups.setdefault(conseq_effect.setting_name(row), []).append(row)
    return dict(sorted(groups.items()))


def provenance(rows: list[dict[str, Any]]) -> str:
    """Where and when ``rows`` were measured: each machine with its dates."""
    dates: dict[str, set[str]] = {}
    for r in rows:
        dates.setdefault(r.get("machine", "unknown machine"), set()).add(r.get("date", "?"))
    lines = [f"- {machine}: {', '.join(sorted(d))}" for machine, d in sorted(dates.items())]
    return f"{len(rows)} stored rows, measured on\n\n" + "\n".join(lines) + "\n"


def arms_table(rows: list[dict[str, Any]]) -> str:
    """Every arm's mean ± sd over runs, then where the rows were measured."""
    if not rows:
        return conseq_effect.NO_ROWS
    return f"{conseq_effect.table(rows)}\n{provenance(rows)}"


def tables(folder: Path = conseq_effect.RESULTS) -> dict[str, Callable[[], str]]:
    """``conseq-SETTING`` and ``conseq-SETTING-paired`` for each setting with rows in
    ``folder``."""
    found: dict[str, Callable[[], str]] = {}
    for name in rows_by_setting(folder):

        def rows(name: str = name) -> list[dict[str, Any]]:
            return rows_by_setting(folder)[name]

        found[f"conseq-{name}"] = lambda rows=rows: arms_table(rows())
        found[f"conseq-{name}-paired"] = lambda rows=rows: conseq_effect.paired_table(rows())
    return found


TABLES: dict[str, Callable[[], str]] = tables()
