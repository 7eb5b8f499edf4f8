"""The vendored QAGS annotations load with their documented sizes and label ranges."""

import pytest

from quals_hf.benchmark_data import load_qags


@pytest.mark.parametrize(("name", "rows"), [("cnndm", 235), ("xsum", 239)])
def test_qags_sizes_and_columns(name, rows):
    data = load_qags(name)
    assert data.num_rows == rows
    assert data.column_names == ["id", "system", "document", "summary", "consistency"]
    assert data["id"] == list(range(rows))
    assert all(s.strip() for s in data["summary"])
    assert all(d.strip() for d in data["document"])


@pytest.mark.parametrize("name", ["cnndm", "xsum"])
def test_qags_consistency_in_unit_interval(name):
    labels = load_qags(name)["consistency"]
    assert all(isinstance(x, float) and 0.0 <= x <= 1.0 for x in labels)


def test_qags_xsum_labels_are_binary():
    assert set(load_qags("xsum")["consistency"]) == {0.0, 1.0}


def test_qags_bad_name():
    with pytest.raises(ValueError, match="cnndm, xsum"):
        load_qags("summeval")
