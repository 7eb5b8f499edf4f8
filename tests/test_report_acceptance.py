"""benchmarks/report_acceptance.py and pair_acceptance.py: the reader's judgements of pairs."""

from __future__ import annotations

import pytest


def test_the_wilson_interval_has_its_textbook_values(load_benchmark):
    report = load_benchmark("report_acceptance")
    assert report.wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert report.wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    low, high = report.wilson(10, 10)
    assert low == pytest.approx(0.7225, abs=1e-4) and high == pytest.approx(1.0)


def test_the_form_table_counts_the_judgements(load_benchmark, monkeypatch):
    report = load_benchmark("report_acceptance")
    judged = [
        ("cnndm", 1, "Who won?", "Morrisons", True, ""),
        ("cnndm", 1, "Who won", "Morrisons", False, "no question"),  # no question mark
        ("cnndm", 2, "When?", "last year", False, "wrong answer"),
        ("cnndm", 9, "When?", "in may", False, "wrong answer"),  # the search cut it (below)
        ("xsum", 3, "Who?", "a b c d e f g h i", False, "wrong kind of answer"),  # 9 words
    ]
    fake = {
        (s, i, q, a): {"set": s, "id": i, "question": q, "answer": a, "accept": ok, "reason": why}
        for s, i, q, a, ok, why in judged
    }
    monkeypatch.setattr(report, "labels", lambda: fake)
    monkeypatch.setattr(report, "_stored", lambda key: {"cut": key[1] == 9})
    lines = report.by_form().splitlines()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    reasons = list(report.REASONS)
    cnndm_bad, cnndm_good, xsum_bad, xsum_good = rows[2:]
    assert cnndm_bad[:2] == ["QAGS-CNNDM", "malformed"]
    assert cnndm_bad[2:5] == ["2", "0", "0.0% [0.0, 65.8]"]
    assert cnndm_bad[5 + reasons.index("no question")] == "1"
    assert cnndm_bad[5 + reasons.index("wrong answer")] == "1"
    assert cnndm_good[2:5] == ["2", "1", "50.0% [9.5, 90.5]"]
    assert cnndm_good[5 + reasons.index("wrong answer")] == "1"
    assert xsum_bad[5 + reasons.index("wrong kind of answer")] == "1"
    assert xsum_good[2:5] == ["0", "0", "n/a"]


def test_every_pair_of_the_sheets_is_judged_once(load_benchmark):
    """The stored judgements are those of the sheets that pair_acceptance.py draws today."""
    sampling = load_benchmark("pair_acceptance")
    keys = {sampling.label_key(r) for round_ in sampling.ROUNDS for r in sampling.sheet(round_)}
    report = load_benchmark("report_acceptance")
    labels = report.labels()
    lines = sampling.LABELS.read_text().splitlines()
    assert len(keys) == len(labels) == len(lines) > 0  # a pair two rounds drew is judged once
    assert keys == set(labels)
    for r in labels.values():
        assert not r["reason"] if r["accept"] else r["reason"] in report.REASONS
