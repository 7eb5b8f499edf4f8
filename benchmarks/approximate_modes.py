"""Validity of QUALS' approximate modes (bf16 weights, fewer search groups) against fp32.

Reads the stored per-summary QUALS rows of `benchmarks/validity.py` runs (one ``--out`` folder
per mode, the first the reference) and prints, per QAGS set, each mode's Pearson with the human
labels beside the reference's on the same summaries, their difference with a paired
bootstrap interval (the same resamples for both) and how far the scores moved. Time them with
`benchmarks/speed.py --qagen --repeat 3` (the runs' own seconds depend on what else ran):

    python benchmarks/approximate_modes.py runs/validity runs/validity_bf16 runs/validity_g30

The bar an approximate mode must pass to be offered as a faster stand-in for fp32: its Pearson
with the human labels stays within 1 point (x100) of fp32's on the same summaries, so that
choosing it for speed costs no measurable agreement with people (the paired interval printed
beside the difference tells whether the data can show that).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from quals_hf import QAGS_NAMES, load_qags
from quals_hf.evaluation import ResultStore, correlations, paired_difference


def mode_name(folder: Path) -> str:
    """The weights and search groups a validity.py folder was run with."""
    meta = json.loads((folder / "meta.json").read_text())
    meta = meta.get("fingerprint", meta)  # older folders keep the settings at the top
    return f"{meta.get('dtype', 'fp32')}, {meta.get('num_groups', 60)} groups"


def stored_scores(folder: Path, name: str) -> dict[int, float]:
    """QUALS of each summary id scored in ``folder`` (NaN where no pair survived; none when
    the set was not scored there)."""
    rows = ResultStore(folder / f"quals_{name}.jsonl").rows
    return {i: math.nan if row["quals"] is None else float(row["quals"]) for i, row in rows.items()}


def points(c: dict[str, float], sign: str = "") -> str:
    """A correlation (or difference) and its interval, x100."""
    return f"{100 * c['r']:{sign}.1f} [{100 * c['low']:{sign}.1f}, {100 * c['high']:{sign}.1f}]"


def compare(folders: list[Path]) -> str:
    """A markdown table: every mode on every set, against the first folder's mode, over the
    summaries both scored (where the mode's QUALS is defined)."""
    lines = [
        "| set | mode | n | Pearson [95%] | reference on the same n | − reference [95%, paired] "
        "| mean abs. score change |",
        "|---|---|---:|---|---:|---|---:|",
    ]
    for name in QAGS_NAMES:
        reference = stored_scores(folders[0], name)
        if not reference:
            continue
        human_of = dict(zip(*(load_qags(name)[c] for c in ("id", "consistency"))))
        for folder in folders:
            scores = stored_scores(folder, name)
            ids = sorted(i for i in set(scores) & set(reference) if not math.isnan(scores[i]))
            x = [scores[i] for i in ids]
            ref = [reference[i] for i in ids]
            human = [human_of[i] for i in ids]
            r = correlations(x, human)["pearson"] if len(ids) >= 3 else None
            if r is None:
                continue
            if folder == folders[0]:
                same, change = "", "(reference)"
            else:
                same = f"{100 * correlations(ref, human)['pearson']['r']:.1f}"
                diff = paired_difference(x, ref, human)
                change = points(diff, "+") if diff else "n/a"
            moved = float(np.nanmean(np.abs(np.subtract(x, ref))))
            lines.append(
                f"| {name} | {mode_name(folder)} | {len(ids)} | {points(r)} | {same} "
                f"| {change} | {moved:.3f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+", help="validity.py --out folders")
    args = parser.parse_args(argv)
    print(compare(args.folders))


if __name__ == "__main__":
    main()
