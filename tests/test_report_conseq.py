"""benchmarks/report_conseq.py: the ConSeq tables of docs/conseq.md from a folder of rows."""

import json
import statistics
from dataclasses import asdict

MACHINE = "Test CPU, AVX2, 2 cores; Linux x86_64; torch 0"


def _row(effect, setting: str, seed: int, arm: str, rate: float, rouge2: float) -> dict:
    """A hand-made row of `benchmarks/conseq_effect.py` (1 torch thread)."""
    return {
        "setting": {**asdict(effect.SETTINGS[setting]), "threads": 1},
        "seed": seed,
        "arm": arm,
        "machine": MACHINE,
        "date": f"2026-12-0{4 + seed}",
        "selected": [] if arm.startswith("mle") else [40 + seed],
        "seconds": 10.0 + seed,
        "hallucination": rate,
        "hallucination_without_number": 2 * rate,
        "hallucination_with_number": 0.0,
        "quals": -0.05,
        "rouge1": 0.9,
        "rouge2": rouge2,
        "rougeL": 0.7,
        "example": "a summary",
    }


def test_conseq_tables_render_the_stored_rows_paired_by_run(load_benchmark, tmp_path):
    report = load_benchmark("report_conseq")
    effect = report.conseq_effect
    control = {0: (0.30, 0.66), 1: (0.245, 0.70), 2: (0.35, 0.68)}
    conseq = {0: (0.20, 0.67), 1: (0.26, 0.69), 2: (0.15, 0.70)}
    rows = [
        _row(effect, "recommended", seed, arm, *values[seed])
        for seed in control
        for arm, values in (("mle-start", control), ("mle", control), ("conseq-quals", conseq))
    ]
    lines = [json.dumps(r) for r in rows[:5]]
    (tmp_path / "recommended_a.jsonl").write_text("\n".join(lines) + "\n")
    lines = [json.dumps(r) for r in rows[5:]]  # a last line still being written is left out
    (tmp_path / "recommended_b.jsonl").write_text("\n".join(lines) + '\n{"setting": {')
    paper = _row(effect, "paper", 0, "mle-start", 0.3, 0.66)  # a setting with no pair yet
    (tmp_path / "paper.jsonl").write_text(json.dumps(paper) + "\n")

    tables = report.tables(tmp_path)
    assert list(tables) == [
        "conseq-paper",
        "conseq-paper-paired",
        "conseq-recommended",
        "conseq-recommended-paired",
    ]
    assert tables["conseq-paper-paired"]() == "no stored runs\n"
    assert "MLE checkpoint (start) | 1 |" in tables["conseq-paper"]()

    diffs = [100 * (conseq[s][0] - control[s][0]) for s in control]
    rouge = [100 * (conseq[s][1] - control[s][1]) for s in control]
    paired = tables["conseq-recommended-paired"]()
    line = next(x for x in paired.splitlines() if x.startswith("| conseq-quals |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == "3"
    assert cells[2] == f"{statistics.mean(diffs):+.1f}"
    low, high = (float(x) for x in cells[3].strip("[]").split(", "))
    assert min(diffs) <= low <= statistics.mean(diffs) <= high <= max(diffs)
    assert cells[4] == f"{sum(d < 0 for d in diffs)} of 3"
    assert cells[5] == f"{statistics.mean(rouge):+.1f}"
    assert cells[6] == ", ".join(f"{s}/1: {d:+.1f}" for s, d in zip(control, diffs))
    assert tables["conseq-recommended-paired"]() == paired  # the bootstrap is seeded
    one = effect.paired_table([r for r in rows if r["seed"] == 0])
    assert f"| conseq-quals | 1 | {diffs[0]:+.1f} | — | {int(diffs[0] < 0)} of 1 |" in one

    arms = tables["conseq-recommended"]()
    assert "ConSeq, QUALS, one round | 3 |" in arms
    assert "seeds [0, 1, 2], torch threads [1]" in arms
    assert f"{MACHINE}: 2026-12-04, 2026-12-05, 2026-12-06" in arms
    assert "no stored runs" in report.arms_table([])
