"""benchmarks/report.py: a number quoted in prose follows the table cell it quotes."""

import pytest


def test_a_quoted_cell_is_checked_and_rewritten(load_benchmark, tmp_path):
    report = load_benchmark("report")
    name = "validity"
    row = next(line for line in report.rendered(name).splitlines() if line.startswith("| QUALS |"))
    value = row.split(" | ")[1]  # the first data column: QAGS-CNNDM Pearson
    ref = f"{name}|QUALS|QAGS-CNNDM Pearson"
    page = tmp_path / "page.md"
    page.write_text(f"Pearson <!-- cell:{ref} -->{value}<!-- /cell --> on CNNDM.\n")
    assert report.stale_tables([page]) == []
    page.write_text(f"Pearson <!-- cell:{ref} -->99.9<!-- /cell --> on CNNDM.\n")
    assert report.stale_tables([page]) == [f"page.md: cell {ref}"]
    assert value in report.render(page.read_text())
    first = report.cell(ref + "|first")
    assert first == value.split()[0] and first != value


def test_a_cell_reference_that_matches_no_single_row_fails(load_benchmark):
    report = load_benchmark("report")
    with pytest.raises(KeyError, match="0 rows match"):
        report.cell("validity|no such metric|QAGS-CNNDM Pearson")
    with pytest.raises(KeyError, match="rows match"):
        report.cell("validity|QUALS|no such column")
