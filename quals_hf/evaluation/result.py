"""What `measure_validity` returns: per set, every metric's scores and their agreement with
the human labels, with what the run was; it prints, saves and writes itself as a report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SetResult:
    """One QAGS set of a validity run.

    Attributes:
        name: the set (``"cnndm"`` or ``"xsum"``).
        ids: the summaries measured (row ids of `quals_hf.load_qags`), in scoring order.
        human: their human consistency labels.
        columns: each metric's score per summary (NaN where it could not score), by column.
        corr: each column's `quals_hf.evaluation.correlations` with ``human``.
        extra: more statistics: ``n``, per model metric its pairs, time and ranking (the ROC
            AUC of wholly consistent against wholly inconsistent summaries), for QUALS the
            scoring options and variants recomputed from its pairs, and the ``worst``
            disagreements.
    """

    name: str
    ids: list[int]
    human: list[float]
    columns: dict[str, list[float]]
    corr: dict[str, dict[str, Any]]
    extra: dict[str, Any]


@dataclass
class ValidityResult:
    """The agreement of a metric (and the baselines) with the QAGS human labels.

    Attributes:
        sets: a `SetResult` per set, by name.
        label: the measured metric's name in tables (``"QUALS"``); ``None``: baselines only.
        column: its column in `SetResult.columns` (``"quals"``).
        rows: ``(label, column)`` of the table's rows, in order.
        not_run: the columns of ``rows`` that were not measured (shown as "not run").
        settings: what was measured: ``qagen``, ``dtype``, ``num_groups``, ``config`` (the
            non-default `QualsConfig` fields) for QUALS, ``metric`` for a callable, and
            ``machine``.
    """

    sets: dict[str, SetResult]
    label: str | None
    column: str | None
    rows: list[tuple[str, str]]
    not_run: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def pearson(self, name: str, column: str | None = None) -> float | None:
        """Pearson's r of ``column`` (default: the measured metric) on set ``name``."""
        c = self.sets[name].corr.get(column or self.column or "", {}).get("pearson")
        return None if c is None else c["r"]

    def summary(self) -> dict[str, Any]:
        """Correlations and statistics per set, as JSON-able dicts (``summary.json``)."""
        return {name: {"corr": res.corr, "extra": res.extra} for name, res in self.sets.items()}

    def save_summary(self, path: str | Path) -> Path:
        """Write `summary` as JSON."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.summary(), indent=1) + "\n")
        return path

    def table(self) -> str:
        """The Markdown table of correlations, measured rows then published ones."""
        from .report import table

        return table(self)

    def text(self) -> str:
        """The table, the statistics per set and the analysis of the worst disagreements."""
        from .report import analysis, extra_lines, table

        return f"{table(self)}\n\n{extra_lines(self)}\n\n{analysis(self)}"

    def save_figures(self, folder: str | Path, prefix: str = "validity") -> list[Path]:
        """A scatter plot per set of each model score against the human label
        (``folder/PREFIX_SET.png``; needs matplotlib: ``pip install quals_hf[explain]``)."""
        from .figures import scatter_plots

        return scatter_plots(self, Path(folder), prefix)

    def write_report(self, path: str | Path, command: str | None = None) -> Path:
        """Write a Markdown page of the run to ``path`` with its figures beside it (images/;
        needs matplotlib); ``command`` is shown as what made it."""
        from .report import write_page

        return write_page(Path(path), self, command)

    def __str__(self) -> str:
        return self.text()
