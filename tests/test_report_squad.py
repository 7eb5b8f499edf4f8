"""benchmarks/report_squad.py: the model card's table from hand-made qagen_squad rows."""

from __future__ import annotations

import json

from quals_hf.evaluation import ResultStore


def _generated(lp: float, parsed: bool, span: bool, rouge: float, flaws: list[str]) -> dict:
    return {"lp": lp, "parsed": parsed, "span": span, "question_rouge_l": rouge, "flaws": flaws}


def test_the_squad_table_is_what_the_rows_give(load_benchmark, tmp_path):
    report = load_benchmark("report_squad")
    runs = {
        "base": [{"lp": -3.0}, {"lp": -4.5}],
        "mine": [
            _generated(-1.0, True, True, 0.5, []),
            _generated(-2.0, True, False, 0.25, ["no_question_mark"]),
            _generated(-1.5, False, False, 0.0, []),
        ],
    }
    for name, rows in runs.items():
        ResultStore(tmp_path / f"{name}.jsonl.gz").append(
            [{"id": i, **row} for i, row in enumerate(rows)]
        )
    lines = report.squad_table(tmp_path).splitlines()
    assert len(lines) == 4  # head, rule, one line per run
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    base, mine = runs["base"], runs["mine"]
    assert cells[0] == [
        report.LABELS["base"],
        "2",
        f"{-(base[0]['lp'] + base[1]['lp']) / 2:.2f}",
        *["n/a"] * 4,
    ]
    parsed = [r for r in mine if r["parsed"]]
    assert cells[1] == [
        "mine",
        "3",
        f"{-sum(r['lp'] for r in mine) / 3:.2f}",
        f"{100 * len(parsed) / 3:.1f}%",
        f"{100 * sum(r['span'] for r in mine) / 3:.1f}%",
        f"{sum(r['question_rouge_l'] for r in mine) / 3:.3f}",
        f"{100 * sum(bool(r['flaws']) for r in parsed) / len(parsed):.1f}%",
    ]


def test_the_training_table_reads_the_first_and_last_logged_loss(load_benchmark, tmp_path):
    report = load_benchmark("report_squad")
    log = tmp_path / "training_log.json"
    history = [{"step": 10, "loss": 3.004}, {"step": 20, "loss": 2.0}, {"step": 30, "loss": 1.1}]
    log.write_text(json.dumps({"global_step": 33, "log_history": [*history, {"step": 33}]}))
    row = report.training_table(log).splitlines()[2]
    assert row == "| training loss, steps 1-10 → 21-30 of 33 | 3.00 → 1.10 |"
