"""The validity analysis (`quals_hf.evaluation`, run by benchmarks/validity.py): variants and
options from stored pairs, worst disagreements, the stored rows and their folder's meta."""

import json
import math

import pytest

from quals_hf import evaluation as validity
from quals_hf.evaluation.fingerprint import OutDirMismatchError, prepare_out_dir, qagen_fingerprint


def _pair(question, answer, lp_x, lp_y):
    return {"question": question, "answer": answer, "lp_x": lp_x, "lp_y": lp_y}


def test_variants_are_recomputed_from_the_stored_pairs():
    summary = "anna opened a school"
    pairs = [
        _pair("who opened a school?", "anna", -0.5, -0.1),
        _pair("what happened?", "anna opened a school", -0.2, -0.1),  # the whole summary
        _pair("what did anna open?", "a school", -1.5, -0.3),
    ]
    scores = {label: fn(pairs, summary) for label, fn in validity.VARIANTS}
    paper, no_long, minimum, lp_x_only = scores.values()
    assert paper == pytest.approx((-0.4 - 0.1 - 1.2) / 3)
    assert no_long == pytest.approx((-0.4 - 1.2) / 2)
    assert minimum == pytest.approx(-1.2)
    assert lp_x_only == pytest.approx(-2.2 / 3)
    assert all(math.isnan(fn([], summary)) for _, fn in validity.VARIANTS)


def test_faithful_above_unfaithful_counts_pairs_of_wholly_labelled_summaries():
    metric = [-0.1, -0.5, -0.3, -0.5, float("nan"), -0.2]
    human = [1.0, 1.0, 0.0, 0.0, 0.0, 0.5]  # the NaN and the half label take no part
    # faithful -0.1 beats both; -0.5 loses to -0.3 and ties -0.5: (2 + 0 + 0.5) / 4
    assert validity.faithful_above_unfaithful(metric, human) == {
        "share": 0.625,
        "faithful": 2,
        "unfaithful": 2,
    }


def test_worst_disagreements_are_the_largest_rank_gaps():
    human = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    metric = [0.0, 0.1, 5.0, 0.3, math.nan, -3.0]  # #2 ranks top, #5 bottom; #4 has no score
    assert validity.worst_disagreements(metric, human, k=2) == [5, 2]
    assert 4 not in validity.worst_disagreements(metric, human, k=5)


def _stored(consistencies, answer_start=2):
    """A row of stored pairs whose per-token log-probs give these pair consistencies, each with
    2 supported question tokens and answer tokens carrying the whole gap."""
    pairs = []
    for c in consistencies:
        x, y = [-0.1, -0.1, -0.2 + 2 * c], [-0.1, -0.1, -0.2]
        pair = _pair("q?", "a", sum(x) / 3, sum(y) / 3)
        pairs.append({**pair, "token_logprobs_x": x, "token_logprobs_y": y, "answer_start": 2})
    return {"pairs": pairs}


def test_options_are_rescored_from_stored_pairs_and_compared_on_halves():
    rows = [_stored([-0.1 * k, -0.01]) for k in range(40)]
    human = [-float(k) + (k % 3) for k in range(40)]
    scores = validity.option_scores(rows)
    paper = scores["paper: pair tokens, mean"]
    assert paper[5] == pytest.approx((2 * -0.5 / 3 + 2 * -0.01 / 3) / 2)
    assert scores["answer tokens, mean"][5] == pytest.approx((2 * -0.5 + 2 * -0.01) / 2)
    assert scores["pair tokens, min"][5] == pytest.approx(2 * -0.5 / 3)
    assert math.isnan(
        validity.option_scores([{"pairs": [_pair("q", "a", -1, -1)]}])["answer tokens, mean"][0]
    )  # an older run's pairs have no per-token log-probs
    a, b = validity.halves(range(40))
    assert 12 <= len(a) <= 28 and sorted(a + b) == list(range(40))
    ids = [7, 3, 30, 12]  # a sample keeps each summary in the half it has in the whole set
    assert [k in a for k in ids] == [k in validity.halves(ids)[0] for k in range(4)]
    same = validity.paired_difference(paper, paper, human)
    assert same == {"r": 0.0, "low": 0.0, "high": 0.0}
    better = validity.paired_difference(
        human, [h + 5 * (k % 2) for k, h in enumerate(human)], human
    )
    assert better["r"] > 0 and better["low"] > 0
    analysis = validity.option_analysis(rows, human, list(range(40)))
    assert set(analysis["pair tokens, min"]) == {"A", "B"}
    assert analysis["paper: pair tokens, mean"]["A"]["diff"]["r"] == 0.0


def test_windowed_rows_add_every_option_and_a_whole_source_control():
    rows = [_stored([-0.1 * k, -0.01]) for k in range(4)]
    windowed = [
        {"pairs": _stored([-0.05 * k, 0.0])["pairs"], "pairs_whole": r["pairs"]}
        for k, r in zip(range(4), rows)
    ]
    scores = validity.option_scores(rows, (256, windowed))
    n = len(validity.OPTIONS)
    assert len(scores) == 2 * n + 1
    assert scores["answer tokens, min, windows 256"][2] == pytest.approx(2 * -0.1)
    control = scores["paper: pair tokens, mean, whole source re-scored (control)"]
    assert control == scores["paper: pair tokens, mean"]  # here: the same stored numbers


def test_approximate_modes_are_compared_with_the_reference_on_the_same_summaries(
    load_benchmark, tmp_path
):
    compare = load_benchmark("approximate_modes")
    from quals_hf import load_qags

    human = load_qags("cnndm")["consistency"]
    noisy = [h + (0.3 if i % 2 else -0.3) for i, h in enumerate(human)]
    for folder, meta, scores in (
        ("fp32", {}, human),
        ("bf16", {"dtype": "bf16"}, noisy),
        ("g15", {"num_groups": 15}, noisy[:100]),
    ):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "meta.json").write_text(json.dumps(meta))
        lines = [json.dumps({"id": i, "quals": s}) for i, s in enumerate(scores)]
        (tmp_path / folder / "quals_cnndm.jsonl").write_text("\n".join(lines) + "\n")
    table = compare.compare([tmp_path / f for f in ("fp32", "bf16", "g15")])
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    assert [(r[1], r[2]) for r in rows] == [
        ("fp32, 60 groups", "235"),
        ("bf16, 60 groups", "235"),
        ("fp32, 15 groups", "100"),
    ]
    assert rows[0][3].startswith("100.0 ") and rows[0][5] == "(reference)"
    assert rows[1][4] == rows[2][4] == "100.0"  # the reference on the mode's summaries
    reference_minus = float(rows[1][5].split()[0])
    assert reference_minus < 0
    assert float(rows[1][3].split()[0]) == pytest.approx(100 + reference_minus, abs=0.11)
    assert float(rows[1][6].rstrip(" |")) == pytest.approx(0.3)


def test_stored_rows_survive_a_write_cut_short_and_older_plain_files_are_read(tmp_path):
    store = validity.ResultStore(tmp_path / "quals_cnndm.jsonl")
    assert store.path.name == "quals_cnndm.jsonl.gz"
    store.append([{"id": 0, "quals": -0.5}, {"id": 1, "quals": -1.0}])
    whole = store.path.stat().st_size
    store.append([{"id": 2, "quals": -2.0}])
    assert set(validity.ResultStore(store.path).rows) == {0, 1, 2}
    last = store.path.stat().st_size - whole
    with store.path.open("r+b") as f:  # the last batch's gzip member cut mid-write
        f.truncate(whole + last // 2)
    (tmp_path / "quals_cnndm.jsonl").write_text('{"id": 7, "quals": 0.1}\n{"id": 8, "qu')
    again = validity.ResultStore(tmp_path / "quals_cnndm.jsonl")
    assert set(again.rows) == {0, 1, 7}
    assert again.rows[1]["quals"] == -1.0
    assert store.path.read_bytes()[:2] == b"\x1f\x8b"  # gzip members, not plain text


def test_a_run_folder_refuses_rows_of_another_model_or_text_form(tmp_path):
    qagen = tmp_path / "qagen"
    qagen.mkdir()
    (qagen / "config.json").write_text("{}")
    (qagen / "model.safetensors").write_bytes(b"weights")

    def fingerprint(form):
        return {**qagen_fingerprint(qagen), "dtype": "fp32", "num_groups": 60, "form": form}

    out = tmp_path / "run"
    prepare_out_dir(out, fingerprint("text"), {"command": "c"})
    assert json.loads((out / "meta.json").read_text())["fingerprint"] == fingerprint("text")
    prepare_out_dir(out, fingerprint("text"), {"command": "c"})  # the same settings resume
    with pytest.raises(OutDirMismatchError, match="form differ"):
        prepare_out_dir(out, fingerprint("lower-ptb"), {"command": "c"})
    with pytest.raises(OutDirMismatchError, match=r"\(search differ"):  # a key one side lacks
        prepare_out_dir(out, {**fingerprint("text"), "search": 2}, {"command": "c"})
    (qagen / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(OutDirMismatchError, match=r"\(weights_sha256 differ"):
        prepare_out_dir(out, fingerprint("text"), {"command": "c"})
