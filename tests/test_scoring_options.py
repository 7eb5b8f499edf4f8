"""QUALS scoring options beyond the paper (QualsConfig.pair_score / aggregate): the arithmetic on
hand-made per-token log-probabilities, answer tokens found by the codec, and the toy QAGen."""

import math

import pytest
import torch

from quals_hf import QualsConfig, QualsScorer
from quals_hf.scoring.pairs import PairScore, QAPair, aggregate
from quals_hf.scoring.windows import best_window, sentence_windows
from quals_hf.toy.world import make_examples


def pair(x, y, answer_start):
    mean = lambda v: sum(v) / len(v)  # noqa: E731
    return PairScore(QAPair("q?", "a", 0.0), mean(x), mean(y), x, y, answer_start)


# question tokens [0:3], answer and EOS [3:5]: the answer is unsupported by the source
UNSUPPORTED = pair([-0.1, -0.2, -0.3, -4.0, -0.5], [-0.1, -0.1, -0.1, -0.5, -0.1], 3)
SUPPORTED = pair([-0.2, -0.2, -0.2, -0.3], [-0.1, -0.1, -0.1, -0.1], 2)


def test_pair_scores_average_the_chosen_tokens():
    assert UNSUPPORTED.score("pair") == pytest.approx(-5.1 / 5 - (-0.9 / 5))
    assert UNSUPPORTED.score("answer") == pytest.approx(-4.5 / 2 - (-0.6 / 2))  # -1.95
    question = -0.6 / 3 - (-0.3 / 3)
    assert UNSUPPORTED.score("weighted", question_weight=0.25) == pytest.approx(
        0.25 * question + 0.75 * -1.95
    )
    # the answer option sees the unsupported answer 2.3 times as strongly as the whole pair
    assert UNSUPPORTED.score("answer") < 2 * UNSUPPORTED.score("pair")
    with pytest.raises(ValueError, match="answer tokens are unknown"):
        pair([-1.0], [-1.0], None).score("answer")
    with pytest.raises(ValueError, match="unknown pair score"):
        SUPPORTED.score("tokens")


def test_aggregates_of_pair_scores():
    values = [-0.1, -0.2, -2.0]
    assert aggregate(values) == pytest.approx(-2.3 / 3)
    assert aggregate(values, "min") == -2.0
    assert aggregate(values, "worst_k", worst_k=2) == pytest.approx(-1.1)
    assert aggregate(values, "worst_k", worst_k=10) == pytest.approx(-2.3 / 3)
    soft = aggregate(values, "softmin", temperature=0.5)
    want = -0.5 * math.log(sum(math.exp(v / -0.5) for v in values) / 3)
    assert soft == pytest.approx(want)
    assert -2.0 < soft < -2.3 / 3  # between the minimum and the mean
    assert aggregate(values, "softmin", temperature=1e-3) == pytest.approx(-2.0, abs=1e-2)
    assert aggregate(values, "softmin", temperature=1e3) == pytest.approx(-2.3 / 3, abs=1e-2)
    assert math.isnan(aggregate([], "min"))


def test_config_checks_and_combines_the_options():
    config = QualsConfig(pair_score="answer", aggregate="min")
    assert config.summary_score([UNSUPPORTED, SUPPORTED]) == pytest.approx(-1.95)
    assert QualsConfig().summary_score([UNSUPPORTED, SUPPORTED]) == pytest.approx(
        (UNSUPPORTED.consistency + SUPPORTED.consistency) / 2
    )
    for bad in (
        {"pair_score": "tokens"},
        {"aggregate": "max"},
        {"worst_k": 0},
        {"question_weight": 1.5},
        {"softmin_temperature": 0.0},
    ):
        with pytest.raises(ValueError):
            QualsConfig(**bad)


def test_the_codec_finds_where_the_answer_begins(toy_scorer):
    codec = toy_scorer.codec
    ids = codec.target_ids("who opened the factory ?", "anna petrov")
    start = codec.answer_start(ids)
    assert codec.decode(ids[start:]).strip() == "anna petrov"
    assert codec.format.separator in codec.decode(ids[:start])
    assert codec.answer_start(codec.target_ids("who ?", "x")[:1]) is None  # no separator


def test_options_rescore_the_same_pairs_with_the_toy_qagen(toy_qagen):
    model, tokenizer = toy_qagen
    stories = make_examples(6, seed=91)
    sources = [s.document for s in stories] * 2
    summaries = [s.summary for s in stories] + [s.corrupted_summary for s in stories]
    paper = QualsScorer(model, tokenizer, num_groups=8, progress=False)
    out = paper.score(sources, summaries, return_details=True)
    for options in ({"pair_score": "answer", "aggregate": "softmin"}, {"aggregate": "min"}):
        scorer = QualsScorer(model, tokenizer, num_groups=8, progress=False, **options)
        got = scorer.score(sources, summaries).scores
        want = [scorer.config.summary_score(pairs) for pairs in out.pair_scores]
        assert got == pytest.approx(want, abs=1e-6)  # same pairs, other arithmetic
    for pairs in out.pair_scores:
        for p in pairs:  # every generated pair's answer tokens are known
            assert p.answer_start is not None and 0 < p.answer_start < len(p.token_logprobs_x)


def words(sentences):
    return [len(s.split()) for s in sentences]


def test_source_windows_are_sentence_slices_that_cover_the_text_in_order():
    text = "One two three. Four five. Six seven eight nine. Ten. Eleven twelve! Thirteen?"
    windows = sentence_windows(text, words, max_tokens=5)
    assert windows == [
        "One two three. Four five.",  # ("Four five." alone would be inside it: left out)
        "Six seven eight nine. Ten.",  # the sentence after is too long to share
        "Ten. Eleven twelve! Thirteen?",  # starts half way through the one before
    ]
    assert all(len(w.split()) <= 5 for w in windows)
    assert sentence_windows(text, words, max_tokens=100) == [text]
    lines = "First line here.\nSecond line is here.\n\nThird one."
    assert sentence_windows(lines, words, max_tokens=100) == [lines]  # the text itself
    assert sentence_windows(lines, words, max_tokens=7) == [
        "First line here.\nSecond line is here.",
        "Second line is here.\n\nThird one.",
    ]
    assert sentence_windows("No sentence end here", words, max_tokens=1) == ["No sentence end here"]
    with pytest.raises(ValueError, match="at least 1"):
        sentence_windows(text, words, max_tokens=0)
    with pytest.raises(ValueError, match="source_window_tokens"):
        QualsConfig(source_window_tokens=0)


def test_best_window_keeps_each_pairs_most_likely_window():
    a, b = torch.tensor([-1.0, -1.0]), torch.tensor([-0.5, -0.6])
    c, d = torch.tensor([-3.0]), torch.tensor([-0.1])
    first, second = best_window([[a, d], [b, c]])
    assert first is b and second is d
    assert best_window([]) == []


def test_windowed_lp_x_is_the_best_of_scoring_each_window_alone(toy_qagen):
    model, tokenizer = toy_qagen
    stories = make_examples(4, seed=92)
    sources, summaries = [s.document for s in stories], [s.summary for s in stories]
    whole = QualsScorer(model, tokenizer, num_groups=8, progress=False)
    out = whole.score(sources, summaries, return_details=True)
    # a window larger than the source is the source itself: the paper's scores
    wide = QualsScorer(model, tokenizer, num_groups=8, progress=False, source_window_tokens=10**4)
    assert wide.score(sources, summaries).scores == pytest.approx(out.scores, abs=1e-6)

    windowed = QualsScorer(model, tokenizer, num_groups=8, progress=False, source_window_tokens=12)
    pairs = [[p.pair for p in ps] for ps in out.pair_scores]
    got = windowed.score_pairs(sources, summaries, pairs)
    count = lambda ss: [len(tokenizer(s, add_special_tokens=False)["input_ids"]) for s in ss]  # noqa: E731
    for source, summary, example, scored in zip(sources, summaries, pairs, got):
        windows = sentence_windows(source, count, 12)
        assert len(windows) > 2
        alone = [whole.score_pairs([w], [summary], [example])[0] for w in windows]
        for j, p in enumerate(scored):
            assert p.lp_x == pytest.approx(max(a[j].lp_x for a in alone), abs=1e-5)
            assert p.lp_y == pytest.approx(alone[0][j].lp_y, abs=1e-5)  # lp_y: the summary


def test_recommended_config_is_the_measured_options_over_the_papers():
    from quals_hf.scoring.scorer import RECOMMENDED_OPTIONS

    assert QualsConfig.recommended() == QualsConfig(**RECOMMENDED_OPTIONS)
    assert QualsConfig.recommended(aggregate="min").aggregate == "min"  # overrides win
    assert QualsConfig.recommended(num_groups=30).num_groups == 30
    with pytest.raises(ValueError, match="aggregate"):
        QualsConfig.recommended(aggregate="max")


def test_prefer_well_formed_reaches_the_scorers_pair_selection(toy_qagen, monkeypatch):
    """The toy QAGen makes no flawed pairs, so this test calls a number answer a flaw."""
    model, tokenizer = toy_qagen
    monkeypatch.setattr(
        "quals_hf.scoring.pairs.pair_flaws",
        lambda question, answer, cut=False: {"long_answer"} if answer.isdigit() else set(),
    )
    stories = make_examples(6, seed=91)
    sources = [s.document for s in stories]
    summaries = [s.summary for s in stories]

    def numbers(**options):
        scorer = QualsScorer(model, tokenizer, num_groups=8, max_pairs=2, progress=False, **options)
        pairs = scorer.score(sources, summaries, return_details=True).pairs
        assert [len(p) for p in pairs] == [2] * len(stories)
        return sum(p.answer.isdigit() for ps in pairs for p in ps)

    assert numbers() >= 2  # the paper's selection takes number answers...
    assert numbers(pair_filter="prefer_well_formed") == 0  # ...this one other answers first
