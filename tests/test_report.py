"""benchmarks/report.py: every results table in docs/ is what the stored rows give."""

import pytest


def test_every_results_table_in_the_docs_matches_the_stored_rows(load_benchmark):
    report = load_benchmark("report")
    placed = {m["name"] for p in report.PAGES for m in report.BLOCK.finditer(p.read_text())}
    assert placed == set(report.TABLES)  # each table is shown somewhere, and only known ones
    assert report.stale() == [], "run: python benchmarks/report.py"


def test_the_package_ships_the_stored_scores_of_its_qagen(load_benchmark):
    """The demo's closing sentence reads `stored_quals_scores`: it must be the stored run."""
    from quals_hf.benchmark_data import QAGS_NAMES, load_qags, stored_quals_scores

    report = load_benchmark("report")
    rows = report.validity_runs()[report.SHIPPED_RUN]["rows"]
    for name in QAGS_NAMES:
        scores = stored_quals_scores(name)
        assert sorted(scores) == list(load_qags(name)["id"])  # every summary of the set
        assert all(scores[i] == rows[name][i]["quals"] for i in scores)


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
