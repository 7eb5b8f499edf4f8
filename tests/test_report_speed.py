"""benchmarks/report_speed.py: the speed tables show the medians of the stored rows."""

import gzip
import json
import statistics
from pathlib import Path


def write_rows(path: Path, rows: list[dict]) -> None:
    """``rows`` as `speed.py --rows` stores them: one gzip member per row."""
    for row in rows:
        with gzip.open(path, "at") as f:
            f.write(json.dumps(row) + "\n")


def cells(table: str, first: str) -> list[str]:
    """The cells of the table row that starts with ``first``."""
    row = next(line for line in table.splitlines() if line.startswith(f"| {first} |"))
    return [c.strip() for c in row.strip("|").split("|")]


SHARED = {"commit": "abc1234", "date": "2026-12-04", "data": "cnndm", "n": 8, "dtype": "fp32"}


def test_the_trained_qagen_table_gives_each_labels_medians(load_benchmark, tmp_path):
    report_speed = load_benchmark("report_speed")
    seconds = {"new": [(7.8, 1.10), (7.2, 1.05), (9.0, 1.20)], "old": [(20.0, 1.0), (22.0, 1.1)]}
    machines = ["x86_64, 2 CPU threads", "AMD EPYC, AVX2, 2 cores, 2 torch threads"]
    rows = [
        {
            **SHARED,
            "label": label,
            "machine": machines[i % 2],  # the legacy name counts as the described machine
            "qagen": "the package's QAGen",
            "batch_size": 8,
            "num_groups": 60,
            "floor_s": floor,
            "quals_s": quals,
            "pairs_per_summary": 10.0,
        }
        for label, repeats in seconds.items()
        for i, (quals, floor) in enumerate(repeats)
    ]
    write_rows(tmp_path / "qagen_fp32.jsonl.gz", rows)
    table = report_speed.qagen_table(report_speed.stored("qagen", tmp_path))
    assert len(table.splitlines()) == 2 + len(seconds)  # one line per label
    for label, repeats in seconds.items():
        found = cells(table, label)
        assert found[3] == str(len(repeats))
        assert found[5] == f"{statistics.median(q for q, _ in repeats):.2f}"
        assert found[6] == f"{statistics.median(f for _, f in repeats):.2f}"
        assert found[7] == f"{statistics.median(q / f for q, f in repeats):.1f}"
        assert found[9] == machines[1]


def test_the_random_weight_table_gives_each_methods_medians(load_benchmark, tmp_path):
    report_speed = load_benchmark("report_speed")
    runs = [(2.0, 6.0), (3.0, 7.5), (2.5, 9.0)]  # QUALS, QAGS seconds per summary
    rows = []
    for quals, qags in runs:
        for method, s in (("QUALS (quals_hf)", quals), ("QAGS, batched", qags)):
            rows.append(
                {
                    **SHARED,
                    "label": "",
                    "machine": "AMD EPYC, AVX2, 2 cores, 1 torch threads",
                    "batch_size": 8,
                    "size": "small",
                    "method": method,
                    "seconds": 8 * s,
                    "s_per_summary": s,
                    "peak_memory_gib": 1.0,
                    "quals_faster": s / quals,
                    "scoring_share": 0.3 if method.startswith("QUALS") else None,
                    "gflop_per_summary": 10.0,
                    "achieved_gflop_s": 10.0 / s,
                    "matmul_gflop_s": 50.0,
                }
            )
    write_rows(tmp_path / "random_bart.jsonl.gz", rows)
    write_rows(tmp_path / "qagen_fp32.jsonl.gz", [{"qagen": "x"}])  # the other kind: not read
    table = report_speed.random_bart_table(report_speed.stored("method", tmp_path))
    quals = cells(table, "small")  # the QUALS line comes first
    assert quals[2] == "QUALS (quals_hf)" and quals[3] == str(len(runs))
    assert quals[4] == f"{statistics.median(q for q, _ in runs):.3f}"
    assert quals[7] == "30.0%"
    qags = cells(table.splitlines()[-1], "small")
    assert qags[2] == "QAGS, batched"
    assert qags[6] == f"{statistics.median(a / q for q, a in runs):.1f}"
    assert qags[7] == "n/a"  # QAGS has no scoring passes of QUALS
