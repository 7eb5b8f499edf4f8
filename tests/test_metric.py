"""The quals evaluate metric: its three routes, and use inside a Seq2SeqTrainer."""

import ast
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import evaluate
import pytest
from datasets import Dataset
from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

import quals_hf.metrics.quals
from quals_hf import METRIC_PATH, quals_compute_metrics
from quals_hf.toy.world import make_examples

EXAMPLES = make_examples(5, seed=21)
SOURCES = [e.document for e in EXAMPLES]
SUMMARIES = [e.summary for e in EXAMPLES[:3]] + [e.corrupted_summary for e in EXAMPLES[3:]]


@pytest.fixture(scope="module")
def expected(toy_scorer):
    return toy_scorer.score(SOURCES, SUMMARIES, return_details=True)


def _assert_same(result, expected, tol=1e-5):
    assert result["num_qa_pairs"] == expected.num_pairs
    assert max(abs(a - b) for a, b in zip(result["scores"], expected.scores)) < tol
    assert result["quals"] == pytest.approx(expected.mean, abs=tol)


def test_package_path_needs_no_setup(toy_scorer, expected):
    metric = evaluate.load(METRIC_PATH, scorer=toy_scorer)
    assert metric.name == "quals"
    assert "Nan" in metric.citation and "predictions" in metric.features
    _assert_same(metric.compute(predictions=SUMMARIES, sources=SOURCES), expected)


def test_details_carry_the_pairs_and_per_token_scores(toy_scorer, expected):
    metric = evaluate.load(METRIC_PATH, scorer=toy_scorer)
    result = metric.compute(predictions=SUMMARIES, sources=SOURCES, return_details=True)
    first = result["qa_pairs"][0][0]
    want = expected.pair_scores[0][0]
    assert (first["question"], first["answer"]) == (want.pair.question, want.pair.answer)
    assert first["lp_x"] == pytest.approx(want.lp_x, abs=1e-6)
    assert len(first["token_logprobs_y"]) == len(want.pair.token_ids)
    # the same as a load-time default, which compute's own argument overrides
    by_default = evaluate.load(METRIC_PATH, scorer=toy_scorer, return_details=True)
    assert (
        by_default.compute(predictions=SUMMARIES, sources=SOURCES)["qa_pairs"]
        == (result["qa_pairs"])
    )
    plain = by_default.compute(predictions=SUMMARIES, sources=SOURCES, return_details=False)
    assert "qa_pairs" not in plain


def test_bare_name_after_registration_works_offline(toy_qagen_dir, expected, tmp_path):
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_EVALUATE_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_MODULES_CACHE": str(tmp_path / "hf" / "modules"),
    }
    script = textwrap.dedent(f"""
        import json, sys, evaluate
        try:
            evaluate.load("quals")
            print("loaded before registration"); sys.exit(1)
        except FileNotFoundError:
            pass
        from quals_hf.cli import main
        main(["install-metric"])
        metric = evaluate.load("quals", qagen={str(toy_qagen_dir)!r}, format="qagen")
        result = metric.compute(predictions={SUMMARIES!r}, sources={SOURCES!r}, progress=False)
        print("RESULT" + json.dumps(result))
    """)
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "installed 'quals'" in run.stdout
    result = json.loads(run.stdout.split("RESULT", 1)[1])
    _assert_same(result, expected, tol=1e-4)


def test_space_folder_loads_from_wherever_it_is_pushed(toy_scorer, expected, tmp_path):
    space = shutil.copytree(METRIC_PATH, tmp_path / "quals")
    card = (space / "README.md").read_text()
    header = card.split("---")[1]
    for key in ("title:", "sdk: gradio", "app_file: app.py", "- evaluate", "- metric"):
        assert key in header
    for section in (
        "## Metric Description",
        "## How to Use",
        "### Output Values",
        "## Limitations and Bias",
        "## Citation",
    ):
        assert section in card
    assert "build_space(module" in (space / "app.py").read_text()
    assert "quals_hf" in (space / "requirements.txt").read_text().split()
    metric = evaluate.load(str(space), scorer=toy_scorer)
    _assert_same(metric.compute(predictions=SUMMARIES, sources=SOURCES), expected)


def test_loading_twice_loads_the_model_once(toy_qagen_dir, monkeypatch):
    calls = []
    original = quals_hf.metrics.quals.load_qagen

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(quals_hf.metrics.quals, "load_qagen", counting)
    quals_hf.metrics.quals._shared_qagen.cache_clear()
    first = evaluate.load(METRIC_PATH, qagen=str(toy_qagen_dir), progress=False)
    second = evaluate.load(METRIC_PATH, qagen=str(toy_qagen_dir), progress=False)
    a = first.compute(predictions=SUMMARIES[:2], sources=SOURCES[:2])
    b = second.compute(predictions=SUMMARIES[:2], sources=SOURCES[:2], num_groups=30)
    first.compute(predictions=SUMMARIES[:2], sources=SOURCES[:2])
    assert len(calls) == 1
    assert a["num_qa_pairs"] != b["num_qa_pairs"] or a["scores"] != b["scores"]


def test_the_old_checkpoint_option_still_works_with_a_future_warning(toy_qagen_dir, expected):
    with pytest.warns(FutureWarning, match=r"option checkpoint= is deprecated.*pass qagen="):
        old = evaluate.load(METRIC_PATH, checkpoint=str(toy_qagen_dir), progress=False)
    new = evaluate.load(METRIC_PATH, qagen=str(toy_qagen_dir), progress=False)
    assert old.defaults == new.defaults
    _assert_same(old.compute(predictions=SUMMARIES, sources=SOURCES), expected, tol=1e-4)
    at_compute = evaluate.load(METRIC_PATH, progress=False)
    with pytest.warns(FutureWarning, match="pass qagen= instead"):
        result = at_compute.compute(
            predictions=SUMMARIES, sources=SOURCES, checkpoint=str(toy_qagen_dir)
        )
    _assert_same(result, expected, tol=1e-4)
    with pytest.raises(TypeError, match="both checkpoint= and qagen="):
        evaluate.load(METRIC_PATH, checkpoint="a", qagen="b")


def test_the_space_modules_import_their_metric_in_one_hop():
    for name in ("quals", "qags"):
        script = Path(METRIC_PATH).parent / name / f"{name}.py"
        tree = ast.parse(script.read_text())
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert imported == [f"quals_hf.metrics.{name}"], script


@pytest.mark.parametrize(
    "name,old_path", [("quals", "quals_hf.metric"), ("qags", "quals_hf.qags_metric")]
)
def test_a_module_cached_by_an_older_version_still_loads(name, old_path, tmp_path):
    """Older versions registered modules that import the metric from ``old_path``."""
    cls = name.capitalize()
    folder = tmp_path / name
    folder.mkdir()
    (folder / f"{name}.py").write_text(f"from {old_path} import {cls}\n\n__all__ = [{cls!r}]\n")
    metric = evaluate.load(str(folder))
    assert type(metric) is getattr(importlib.import_module(f"quals_hf.metrics.{name}"), cls)
    assert metric.name == name


@pytest.mark.parametrize(
    "predictions,sources,message",
    [
        (["a summary .", "b"], ["a doc ."], r"differ in length"),
        (["a summary .", ""], ["a doc .", "b doc ."], r"predictions\[1\] is empty"),
        (["a summary .", "b"], ["a doc .", 3], r"sources\[1\] must be a string, got int"),
        ([None], ["a doc ."], r"predictions\[0\] must be a string"),
    ],
)
def test_bad_inputs_give_the_scorers_errors(toy_scorer, predictions, sources, message):
    metric = evaluate.load(METRIC_PATH, scorer=toy_scorer)
    with pytest.raises(ValueError, match=message):
        metric.compute(predictions=predictions, sources=sources)


def test_combine_with_another_metric(toy_scorer, expected, tmp_path):
    other = tmp_path / "length_ratio"
    other.mkdir()
    (other / "length_ratio.py").write_text(
        textwrap.dedent("""
        import datasets
        import evaluate

        class LengthRatio(evaluate.Metric):
            def _info(self):
                text = datasets.Value("string")
                return evaluate.MetricInfo(description="", citation="", features=datasets.Features(
                    {"predictions": text, "references": text}))

            def _compute(self, predictions, references):
                return {"length_ratio": sum(map(len, predictions)) / sum(map(len, references))}
    """)
    )
    combined = evaluate.combine(
        [evaluate.load(METRIC_PATH, scorer=toy_scorer), evaluate.load(str(other))]
    )
    references = [e.summary for e in EXAMPLES]
    combined.add_batch(predictions=SUMMARIES, references=references, sources=SOURCES)
    result = combined.compute()
    assert result["length_ratio"] == pytest.approx(
        sum(map(len, SUMMARIES)) / sum(map(len, references))
    )
    assert result["quals"] == pytest.approx(expected.mean, abs=1e-5)


def test_compute_metrics_in_a_seq2seq_trainer(toy_qagen, toy_scorer, tmp_path):
    model, tokenizer = toy_qagen
    docs = [e.summary for e in make_examples(6, seed=31)]  # any texts; the QAGen writes QA text
    data = Dataset.from_dict(dict(tokenizer(docs, text_target=docs)))  # the trainer needs labels
    args = Seq2SeqTrainingArguments(
        output_dir=str(tmp_path),
        per_device_eval_batch_size=4,
        predict_with_generate=True,
        generation_max_length=20,
        generation_num_beams=1,
        include_for_metrics=["inputs"],
        report_to=[],
        use_cpu=True,
    )
    metric = evaluate.load(METRIC_PATH, scorer=toy_scorer)
    trainer = Seq2SeqTrainer(
        model=model,
        args=args,
        eval_dataset=data,
        processing_class=tokenizer,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        compute_metrics=quals_compute_metrics(tokenizer, metric),
    )
    metrics = trainer.evaluate()
    generated = trainer.predict(data).predictions
    summaries = tokenizer.batch_decode(generated.clip(min=0), skip_special_tokens=True)
    want = toy_scorer.score(docs, summaries)
    assert metrics["eval_quals"] == pytest.approx(want.mean, abs=1e-5)
    assert metrics["eval_quals_qa_pairs"] == pytest.approx(sum(want.num_pairs) / len(docs))
    assert metrics["eval_quals_unscored"] == pytest.approx(
        sum(math.isnan(s) for s in want.scores) / len(docs)
    )


def test_compute_metrics_explains_missing_inputs(toy_scorer):
    from transformers import EvalPrediction

    fn = quals_compute_metrics(toy_scorer.tokenizer, evaluate.load(METRIC_PATH, scorer=toy_scorer))
    with pytest.raises(ValueError, match="include_for_metrics"):
        fn(EvalPrediction(predictions=[[5, 6]], label_ids=[[5, 6]]))


@pytest.mark.slow
def test_compute_metrics_under_two_processes_scores_half_each_and_gives_one_process_numbers(
    toy_qagen_dir, tmp_path, torchrun
):
    script = Path(__file__).parent / "scripts" / "compute_metrics_distributed.py"
    outputs = {}
    for processes in (1, 2):
        prefix = tmp_path / f"n{processes}"
        run = subprocess.run(
            [
                *torchrun,
                "--nproc_per_node",
                str(processes),
                str(script),
                str(toy_qagen_dir),
                str(prefix),
            ],
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        outputs[processes] = [
            json.loads((tmp_path / f"n{processes}.{rank}.json").read_text())
            for rank in range(processes)
        ]
    (single,) = outputs[1]
    assert single["scored_here"] == 9  # 10 generations, one empty
    assert [r["scored_here"] for r in outputs[2]] == [5, 4]
    for rank in outputs[2]:
        for key, value in single["metrics"].items():
            assert rank["metrics"][key] == pytest.approx(value, abs=1e-6), key


class _FakeGradio(types.ModuleType):
    """Just enough of gradio for `build_space` to build its page: records what is clicked."""

    class Error(Exception):
        pass

    def __init__(self) -> None:
        super().__init__("gradio")
        self.clicks, self.markdown = [], []

    def _component(self, *args, **kwargs):
        fake = self

        class Component:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def click(self, fn, inputs, outputs, **kwargs):
                fake.clicks.append(fn)

        return Component()

    Blocks = Row = Textbox = Button = Number = Dataframe = Examples = _component

    def Markdown(self, text):
        self.markdown.append(text)


def test_space_page_shows_the_metrics_score_and_pairs(toy_scorer, expected, monkeypatch):
    fake = _FakeGradio()
    monkeypatch.setitem(sys.modules, "gradio", fake)
    from quals_hf.metrics.space import build_space, metric_card

    card = metric_card(Path(METRIC_PATH) / "README.md")
    assert card.startswith("# Metric Card for QUALS") and "sdk_version" not in card
    build_space(evaluate.load(METRIC_PATH, scorer=toy_scorer), card=card)
    assert card in fake.markdown and len(fake.clicks) == 1
    value, table = fake.clicks[0](SOURCES[3], SUMMARIES[3])
    assert value == pytest.approx(expected.scores[3], abs=1e-5)
    assert list(table.columns) == [
        "question",
        "answer",
        "lp_x",
        "lp_y",
        "consistency",
        "answer_start",
        "cut",
    ]
    assert list(table["question"]) == [p.pair.question for p in expected.pair_scores[3]]
    with pytest.raises(_FakeGradio.Error, match="Enter a source"):
        fake.clicks[0](SOURCES[3], "  ")
