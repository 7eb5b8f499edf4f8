"""benchmarks/report.py: every results table in docs/ is what the stored rows give."""

import pytest


def test_every_results_table_in_the_docs_matches_the_stored_rows(load_benchmark):
    report = load_benchmark("report")
    placed = {m["name"] for p in report.PAGES for m in report.BLOCK.finditer(p.read_text())}
    assert placed == set(report.TABLES)  # each table is shown somewhere, and only known ones
    assert report.stale_tables() == [], "run: python benchmarks/report.py"


def test_a_changed_number_or_an_unknown_table_is_found(load_benchmark, tmp_path):
    report = load_benchmark("report")
    name = next(iter(report.TABLES))
    body = report.TABLES[name]()
    page = tmp_path / "page.md"
    page.write_text(f"text\n<!-- results:{name} -->\n{body}<!-- /results:{name} -->\nmore\n")
    assert report.stale_tables([page]) == []
    digit = next(i for i, c in enumerate(body) if c.isdigit())
    changed = body[:digit] + str((int(body[digit]) + 1) % 10) + body[digit + 1 :]
    page.write_text(f"<!-- results:{name} -->\n{changed}<!-- /results:{name} -->\n")
    assert report.stale_tables([page]) == [f"page.md: {name}"]
    assert (
        report.render(page.read_text())
        == f"<!-- results:{name} -->\n{body}<!-- /results:{name} -->\n"
    )
    with pytest.raises(KeyError, match="unknown results table 'nope'"):
        report.render("<!-- results:nope -->\nx\n<!-- /results:nope -->")
