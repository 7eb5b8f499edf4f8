"""benchmarks/report_toy.py: docs/quals.md's scoring-option table from hand-made rows."""

from __future__ import annotations

import statistics

from quals_hf.evaluation import ResultStore, read_jsonl

# per kind, the scores of its summaries under two options (None: the summary kept no pair)
SCORES = {
    "faithful": {"a": [-0.1, -0.2, -0.3], "b": [0.0, -0.4, None]},
    "added number": {"a": [-0.5, -0.2], "b": [-1.0, -2.0]},
    "copy error": {"a": [-1.0, -0.9, -1.1], "b": [-3.0, -4.0, -5.0]},
}


def _wins(higher: list[float], lower: list[float]) -> float:
    pairs = [(h, v) for h in higher for v in lower]
    return sum(1.0 if h > v else 0.5 if h == v else 0.0 for h, v in pairs) / len(pairs)


def test_the_options_table_is_what_the_rows_give(load_benchmark, tmp_path):
    report = load_benchmark("report_toy")
    rows = [
        {"kind": kind, "n": 3, "seed": 5, "num_groups": 2, "scores": {"a": a, "b": b}}
        for kind, by_option in SCORES.items()
        for a, b in zip(by_option["a"], by_option["b"])
    ]
    path = tmp_path / "toy.jsonl.gz"
    ResultStore(path).append([{"id": i, **row} for i, row in enumerate(rows)])
    text = report.options_table(read_jsonl(path))
    caption, _, table = text.partition("\n\n")
    assert caption == (
        "Toy QAGen (2 groups, seed 5): 3 faithful summaries, 2 with one added number, "
        "3 with copy errors."
    )
    lines = table.splitlines()
    assert len(lines) == 4  # head, rule, one line per option
    for option, line in zip("ab", lines[2:]):
        kept = {k: [s for s in v[option] if s is not None] for k, v in SCORES.items()}
        faithful, added, copy = (statistics.median(kept[k]) for k in report.KINDS)
        expected = [
            option,
            f"{faithful:.3f}",
            f"{added:.3f}",
            f"{copy:.3f}",
            f"{(added - faithful) / (copy - faithful):.2f}",
            "yes" if added <= copy else "no",
            f"{_wins(kept['faithful'], kept['added number']):.3f}",
            f"{_wins(kept['faithful'], kept['copy error']):.3f}",
        ]
        assert [c.strip() for c in line.strip("|").split("|")] == expected
