"""The quals-hf command line."""

import json
import subprocess
import sys

import pytest

from quals_hf import CONSEQ_PRESETS, ContrastiveSets, MiningConfig, QualsConfig
from quals_hf.cli import main
from quals_hf.toy.world import make_examples


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "explain", "install-metric", "mine", "train-qagen"):
        assert command in out


def test_explain_help_names_its_inputs_and_outputs(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    out = capsys.readouterr().out
    for option in ("--qagen", "--source-file", "--summary", "--html", "--png"):
        assert option in out


@pytest.fixture()
def documents(tmp_path):
    path = tmp_path / "docs.jsonl"
    with path.open("w") as f:
        for e in make_examples(12, seed=71):
            f.write(json.dumps({"document": e.document, "summary": e.summary}) + "\n")
    return path


def test_mine_writes_sets_from_a_jsonl_file(
    toy_summarizer_dir, toy_qagen_dir, documents, tmp_path, capsys
):
    out = tmp_path / "sets.jsonl"
    code = main(
        [
            "mine",
            "--model",
            str(toy_summarizer_dir),
            "--qagen",
            str(toy_qagen_dir),
            "--data",
            str(documents),
            "--output",
            str(out),
            "--batch-size",
            "6",
            "--negative-ratio",
            "0.5",
            "--positive-ratio",
            "0.5",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    sets = ContrastiveSets.load(out)
    printed = capsys.readouterr().out
    assert f"selected {len(sets)} of 12 documents" in printed
    assert all(0 <= int(i) < 12 for i in sets)  # ids from row numbers
    assert all(e.negative_score < e.positive_score for e in sets.values())


class _Mined(Exception):
    """Raised by a stand-in for mining: what the CLI passed it is all the test needs."""


def test_mine_presets_set_the_selection_and_the_mining_score(
    toy_summarizer_dir, toy_qagen_dir, documents, tmp_path, monkeypatch
):
    seen = {}

    def mine(model, tokenizer, data, scorer, config, *args):
        seen.update(scorer=scorer, config=config)
        raise _Mined

    monkeypatch.setattr("quals_hf.conseq.mining.mine_contrastive_sets", mine)
    args = ["mine", "--model", str(toy_summarizer_dir), "--qagen", str(toy_qagen_dir)]
    args += ["--data", str(documents), "--output", str(tmp_path / "s.jsonl"), "--device", "cpu"]
    preset = CONSEQ_PRESETS["recommended"]
    with pytest.raises(_Mined):
        main([*args, "--preset", "recommended"])
    assert seen["config"] == MiningConfig.preset("recommended", batch_size=8)
    assert seen["scorer"].config.pair_score == preset.pair_score
    assert seen["scorer"].config.aggregate == preset.aggregate
    with pytest.raises(_Mined):  # an explicit option wins over the preset
        main([*args, "--preset", "recommended", "--negative-ratio", "0.05"])
    assert seen["config"].negative_ratio == 0.05
    assert seen["config"].positive_ratio == preset.positive_ratio
    with pytest.raises(_Mined):
        main(args)  # the paper's by default
    assert seen["config"] == MiningConfig(batch_size=8)
    assert seen["scorer"].config == QualsConfig()


def test_mine_errors_are_one_line_and_nonzero(tmp_path, toy_summarizer_dir, documents):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "quals_hf.cli", "mine", *args],
            capture_output=True,
            text=True,
            timeout=300,
        )

    missing = run(
        "--model",
        str(toy_summarizer_dir),
        "--data",
        str(tmp_path / "nope.jsonl"),
        "--output",
        str(tmp_path / "o.jsonl"),
        "--scorer",
        "rouge",
    )
    assert missing.returncode == 2 and "error: no such file" in missing.stderr.splitlines()[-1]
    no_qagen = run(
        "--model",
        str(toy_summarizer_dir),
        "--data",
        str(documents),
        "--output",
        str(tmp_path / "o.jsonl"),
    )
    # no --qagen: the package's QAGen, which tests never fetch (HF_HUB_OFFLINE, empty caches)
    assert no_qagen.returncode == 2
    last = no_qagen.stderr.strip().splitlines()[-1]
    assert last.startswith("quals-hf mine: error: could not fetch the default QAGen's base model")
    assert "pass a local QAGen folder" in last and "--qagen DIR" in last


def test_demo_scores_a_faithful_and_an_unfaithful_qags_summary(toy_scorer, monkeypatch, capsys):
    from quals_hf.benchmark_data import load_qags
    from quals_hf.scoring.scorer import QualsScorer

    asked = []  # the package's QAGen is asked for; the toy QAGen stands in for it
    monkeypatch.setattr(
        QualsScorer, "from_pretrained", lambda *a, **k: asked.append(a) or toy_scorer
    )
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert asked == [()]
    rows = {r["id"]: r for r in load_qags("cnndm")}
    shortest = sorted(rows.values(), key=lambda r: len(r["document"]))
    for label, value in (("faithful", 1.0), ("unfaithful", 0.0)):
        row = next(r for r in shortest if r["consistency"] == value)
        assert f"source (QAGS-CNNDM #{row['id']}): {row['document']}" in out
        assert f"\n{label} summary (human label), by {row['system']}: {row['summary']}" in out
    assert out.count("QUALS = ") == 2
    first, second = (float(x.split()[0]) for x in out.split("QUALS = ")[1:])
    if first == second:  # equal at the printed precision: the order is in digits not shown
        assert "QUALS puts the faithful summary " in out
    else:
        order = "above" if first > second else "not above"
        assert f"QUALS puts the faithful summary {order} the unfaithful one." in out
