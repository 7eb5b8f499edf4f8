"""Scatter plots of model scores against the human labels (matplotlib: quals_hf[explain])."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .sets import SET_TITLES
from .stats import SEED

if TYPE_CHECKING:
    from .result import ValidityResult


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(
            "the validity figures need matplotlib: pip install quals_hf[explain]"
        ) from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scatter_plots(result: ValidityResult, folder: Path, prefix: str) -> list[Path]:
    """One figure per set (``folder/PREFIX_SET.png``): each model score (the measured metric,
    the likelihood baseline) against the human label, jittered so that equal labels spread."""
    model_columns = {result.column, "likelihood"}
    panels = [(label, col) for label, col in result.rows if col in model_columns]
    panels = [(label, col) for label, col in panels if col not in result.not_run]
    if not panels:
        return []
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(SEED)
    for name, res in result.sets.items():
        shown = [(label, col) for label, col in panels if col in res.columns]
        if not shown:
            continue
        fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 4), squeeze=False)
        human = np.asarray(res.human, dtype=float)
        jitter = rng.uniform(-0.04, 0.04, size=len(human))
        for ax, (label, col) in zip(axes[0], shown):
            x = np.asarray(res.columns[col], dtype=float)
            keep = ~np.isnan(x)
            ax.scatter(x[keep], human[keep] + jitter[keep], s=12, alpha=0.6)
            c = res.corr[col]
            r = "n/a" if c["pearson"] is None else f"{c['pearson']['r']:.2f}"
            rho = "n/a" if c["spearman"] is None else f"{c['spearman']['r']:.2f}"
            ax.set_title(f"{label.split(':')[0]}: Pearson {r}, Spearman {rho} (n={c['n']})")
            ax.set_xlabel(label)
            ax.set_ylabel("human consistency (jittered ±0.04)")
        fig.suptitle(SET_TITLES[name])
        fig.tight_layout()
        path = folder / f"{prefix}_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
