"""measure_validity and `quals-hf validity` on the toy QAGen and a few QAGS summaries: fresh,
interrupted and resumed, stored-only runs, callables, the likelihood baseline and the report."""

import argparse
import json
import math
import subprocess
import sys

import pytest
import torch

from quals_hf import QualsScorer, load_qags
from quals_hf.evaluation import (
    LikelihoodBaseline,
    MissingRowsError,
    OutDirMismatchError,
    correlations,
    measure_validity,
    qagen_fingerprint,
    read_jsonl,
)
from quals_hf.evaluation.cli import validity, validity_options
from quals_hf.evaluation.sets import seeded_order


@pytest.fixture(scope="module")
def scorer(toy_qagen_dir):
    """QUALS with the toy QAGen, 4 search groups (fast; the QAGS texts are mostly unknown
    words to it: these tests check the mechanics, not the numbers)."""
    return QualsScorer.from_pretrained(
        str(toy_qagen_dir), device="cpu", num_groups=4, progress=False
    )


@pytest.fixture(scope="module")
def fresh(scorer, tmp_path_factory):
    """A run on the first 3 summaries of each QAGS set's seeded order, in batches of 2."""
    out = tmp_path_factory.mktemp("validity") / "run"
    return out, measure_validity(scorer, n=3, out=out, batch_size=2, progress=False)


def _nan_equal(a, b):
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def test_a_fresh_run_stores_a_row_per_summary_and_measures_every_metric(
    fresh, scorer, toy_qagen_dir
):
    out, result = fresh
    for name in ("cnndm", "xsum"):
        ids = seeded_order(len(load_qags(name)), 3)
        rows = read_jsonl(out / f"quals_{name}.jsonl.gz")
        assert [r["id"] for r in rows] == ids == result.sets[name].ids
        assert {"quals", "num_pairs", "pairs", "seconds"} <= set(rows[0])
        data = load_qags(name)
        again = scorer.score([data["document"][i] for i in ids], [data["summary"][i] for i in ids])
        assert _nan_equal(result.sets[name].columns["quals"], again.scores)  # what was stored
        assert set(result.sets[name].columns) == {"rouge2_p", "word_share", "bigram_share", "quals"}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["fingerprint"] == {
        **qagen_fingerprint(toy_qagen_dir),
        "max_tokens": 2048,
        "dtype": "fp32",
        "num_groups": 4,
        "form": "text",
        "search": 2,
    }
    table = result.table().splitlines()
    defined = [
        sum(not math.isnan(v) for v in result.sets[s].columns["quals"]) for s in ("cnndm", "xsum")
    ]
    assert table[2].startswith("| QUALS |") and table[2].endswith(
        f"| {defined[0]} / {defined[1]} |"
    )
    assert table[3].startswith("| ROUGE-2 precision (summary vs source) |")
    assert table[6] == "| Likelihood gain: source vs empty prompt |" + " not run |" * 4 + " — |"
    json.dumps(result.summary())  # JSON-able, as summary.json
    assert "options" in result.sets["cnndm"].extra["quals"]


def test_quals_agrees_with_labels_it_can_read_and_every_option_is_recomputed(
    scorer, tmp_path, monkeypatch
):
    """The QAGS texts are unknown words to the toy QAGen: here the labelled summaries are toy
    stories' faithful (1) and corrupted (0) summaries, which it reads."""
    import datasets

    from quals_hf.toy.world import make_examples

    stories = make_examples(6, seed=5)
    rows = [
        (s.document, t, float(k == 0))
        for s in stories
        for k, t in enumerate((s.summary, s.corrupted_summary))
    ]
    toy = datasets.Dataset.from_dict(
        {
            "id": list(range(len(rows))),
            "system": ["toy"] * len(rows),
            "document": [d for d, _, _ in rows],
            "summary": [t for _, t, _ in rows],
            "consistency": [c for _, _, c in rows],
        }
    )
    monkeypatch.setattr("quals_hf.benchmark_data.load_qags", lambda name: toy)
    result = measure_validity(scorer, sets=["xsum"], out=tmp_path, batch_size=4, progress=False)
    res = result.sets["xsum"]
    assert sorted(res.ids) == list(range(12)) and not any(map(math.isnan, res.columns["quals"]))
    stored = read_jsonl(tmp_path / "quals_xsum.jsonl.gz")
    assert all(r["pairs"] and "token_logprobs_x" in r["pairs"][0] for r in stored)
    quals = res.extra["quals"]
    assert quals["ranking"]["share"] > 0.75  # faithful above corrupted, as on toy data
    assert res.corr["quals"]["pearson"]["r"] > 0.3
    assert quals["options"]["paper: pair tokens, mean"]["A"]["diff"]["r"] == 0.0
    paper = quals["variants"]["QUALS as specified: mean of lp_x - lp_y"]
    assert paper["pearson"]["r"] == pytest.approx(res.corr["quals"]["pearson"]["r"])
    assert [w["id"] for w in res.extra["worst"]] and all(w["pairs"] for w in res.extra["worst"])


def test_an_interrupted_run_resumes_without_scoring_a_summary_twice(scorer, tmp_path, monkeypatch):
    scored, score = [], scorer.score

    def killed_after_one_batch(sources, summaries, **kwargs):
        if scored and kill:
            raise KeyboardInterrupt
        scored.extend(summaries)
        return score(sources, summaries, **kwargs)

    monkeypatch.setattr(scorer, "score", killed_after_one_batch)
    kill = True
    with pytest.raises(KeyboardInterrupt):
        measure_validity(scorer, sets=["xsum"], n=5, out=tmp_path, batch_size=2, progress=False)
    assert len(read_jsonl(tmp_path / "quals_xsum.jsonl.gz")) == 2  # the first batch was kept
    kill = False
    result = measure_validity(
        scorer, sets=["xsum"], n=5, out=tmp_path, batch_size=2, progress=False
    )
    data = load_qags("xsum")
    ids = seeded_order(len(data), 5)
    assert sorted(scored) == sorted(data["summary"][i] for i in ids)  # each one once
    assert [r["id"] for r in read_jsonl(tmp_path / "quals_xsum.jsonl.gz")] == ids
    assert result.sets["xsum"].ids == ids
    other = QualsScorer(scorer.model, scorer.tokenizer, num_groups=5, progress=False)
    with pytest.raises(OutDirMismatchError, match="num_groups"):  # no rows of two settings
        measure_validity(other, sets=["xsum"], n=5, out=tmp_path, progress=False)


def test_stored_rows_are_read_without_a_model_and_a_missing_one_names_its_set(fresh):
    out, result = fresh
    stored = measure_validity("quals", out=out, n=3, stored=True, progress=False)
    assert stored.summary() == result.summary()
    assert stored.text() == result.text()
    with pytest.raises(MissingRowsError, match=r"1 of the 4 summaries of QAGS-XSum \(set 'xsum'\)"):
        measure_validity("quals", out=out, n={"cnndm": 3, "xsum": 4}, stored=True, progress=False)
    with pytest.raises(OutDirMismatchError, match="form 'text', not 'lower-ptb'"):
        measure_validity("quals", out=out, n=3, stored=True, form="lower-ptb", progress=False)


def test_the_command_reads_stored_rows_and_writes_its_summary_and_report(fresh, tmp_path, capsys):
    out, result = fresh
    parser = argparse.ArgumentParser()
    validity_options(parser)
    page = tmp_path / "docs" / "validity.md"
    args = parser.parse_args(
        ["--stored", "--out", str(out), "--n", "3", "--write", str(page), "--no-progress"]
    )
    args.command_line = "quals-hf validity --stored"
    assert validity(args) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(result.table()) and f"wrote {page}" in printed
    assert json.loads((out / "summary.json").read_text()) == json.loads(
        json.dumps(result.summary())
    )
    text = page.read_text()
    assert text.startswith("# Validity: QUALS against human labels")
    assert "- command: `quals-hf validity --stored`" in text
    assert result.table() in text and "## Scoring options, on two halves" in text
    assert "not verified against the paper" in text and "brief" not in text
    assert (page.parent / "images" / "validity_cnndm.png").stat().st_size > 1000
    assert "![validity_xsum](images/validity_xsum.png)" in text


def test_a_callable_metric_is_measured_and_stored_under_its_name(tmp_path):
    def length(sources, summaries):
        return [float(len(s)) for s in summaries]

    result = measure_validity(length, sets=["xsum"], n=6, out=tmp_path, progress=False)
    data = load_qags("xsum")
    ids = seeded_order(len(data), 6)
    assert [r["length"] for r in read_jsonl(tmp_path / "length_xsum.jsonl.gz")] == [
        float(len(data["summary"][i])) for i in ids
    ]
    human = [data["consistency"][i] for i in ids]
    assert result.sets["xsum"].corr["length"] == correlations(
        [len(data["summary"][i]) for i in ids], human
    )
    assert result.rows[0] == ("length", "length")
    assert "Likelihood" not in result.table()
    assert json.loads((tmp_path / "meta.json").read_text())["fingerprint"] == {
        "metric": "length",
        "form": "text",
    }
    page = result.write_report(tmp_path / "page.md")
    assert page.read_text().startswith("# Validity: length against human labels")
    with pytest.raises(ValueError, match="give the metric a name="):
        measure_validity(lambda sources, summaries: [0.0] * len(sources), sets=["xsum"], n=3)


def test_the_likelihood_baseline_compares_the_source_with_an_empty_prompt():
    from transformers import LlamaForCausalLM

    from quals_hf.toy.models import toy_llama_config, toy_tokenizer

    torch.manual_seed(0)
    tokenizer = toy_tokenizer(append_eos=False)
    model = LlamaForCausalLM(toy_llama_config(tokenizer, hidden_size=32, layers=1)).eval()
    baseline = LikelihoodBaseline(model, tokenizer, "", " <s>")
    words = [w for w in tokenizer.get_vocab() if w.isalpha()][:12]
    source, summary = " ".join(words), " ".join(words[3:6])
    (row,) = baseline.score([source], [summary])

    def mean_logprob(prompt_text):
        prompt = tokenizer(prompt_text)["input_ids"]
        target = tokenizer(summary, add_special_tokens=False)["input_ids"] + [
            tokenizer.eos_token_id
        ]
        with torch.no_grad():
            logits = model(torch.tensor([prompt + target])).logits[0, len(prompt) - 1 : -1]
        lp = logits.log_softmax(-1).gather(-1, torch.tensor(target)[:, None])
        return lp.mean().item()

    assert row["lp_source"] == pytest.approx(mean_logprob(source + " <s>"), abs=1e-5)
    assert row["lp_empty"] == pytest.approx(mean_logprob(" <s>"), abs=1e-5)
    assert row["likelihood"] == row["lp_source"] - row["lp_empty"]
    assert row["summary_tokens"] == 4 and not row["source_truncated"]
    baseline.max_tokens = 10  # 4 summary tokens + a prompt of 6: the source is cut at its end
    (cut,) = baseline.score([source], [summary])
    assert cut["source_truncated"]
    assert cut["lp_source"] == pytest.approx(mean_logprob(" ".join(words[:5]) + " <s>"), abs=1e-5)


def test_building_the_command_line_imports_no_model_or_data_library():
    code = (
        "import sys, argparse; from quals_hf.evaluation.cli import validity_options; "
        "validity_options(argparse.ArgumentParser()); "
        "print(sorted(m for m in ('torch', 'datasets', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
