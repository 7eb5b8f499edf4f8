"""Text forms of QA rows (quals_hf.qagen.augment) and the form checks of QA pairs
(quals_hf.scoring.pair_quality)."""

import random

import pytest
from datasets import Dataset

from quals_hf.qagen.augment import answer_window, augment_rows, lower_ptb
from quals_hf.scoring.pair_quality import PAIR_FLAWS, flaw_shares, pair_flaws

CONTEXT = (
    "Anna Brown opened a school in Oslo. The 37-year-old paid $5,000 for it. "
    "It has 40 pupils. The mayor, John Smith, came."
)


def test_lower_ptb_splits_punctuation_and_hyphens_as_tokenized_corpora_do():
    assert lower_ptb('The 37-year-old, "Anna", paid $5.') == (
        'the 37 - year - old , " anna " , paid $ 5 .'
    )


def test_answer_windows_hold_the_answer_and_whole_sentences():
    start = CONTEXT.index("40 pupils")
    seen = set()
    for seed in range(20):
        window, offset = answer_window(CONTEXT, start, "40 pupils", 2, random.Random(seed))
        assert window[offset : offset + len("40 pupils")] == "40 pupils"
        assert window.count(".") == 2 and window.endswith(".")
        seen.add(window)
    assert len(seen) == 2  # the answer's sentence with the one before it, or after it
    assert answer_window(CONTEXT, -1, "40 pupils", 2, random.Random(0)) is None
    across = CONTEXT.index("Oslo")
    assert answer_window(CONTEXT, across, "Oslo. The", 2, random.Random(0)) is None


def test_augment_rows_rewrites_the_drawn_shares_and_keeps_answers_spans():
    n = 400
    rows = Dataset.from_dict(
        {
            "context": [CONTEXT] * n,
            "question": ["Who came?"] * n,
            "answer": ["John Smith"] * n,
            "answer_start": [CONTEXT.index("John Smith")] * n,
        }
    )
    out = augment_rows(rows, window_rate=0.5, lower_ptb_rate=0.5, seed=3).to_list()
    lowered = [r for r in out if r["answer"] == "john smith"]
    windowed = [r for r in out if r["context"].count(".") < CONTEXT.count(".")]
    assert 0.4 < len(lowered) / n < 0.6
    assert 0.4 < len(windowed) / n < 0.6
    for r in out:
        assert r["context"][r["answer_start"] :].startswith(r["answer"])
        assert r["question"] == "Who came?"  # questions keep their form
    again = augment_rows(rows, window_rate=0.5, lower_ptb_rate=0.5, seed=3).to_list()
    assert again == out
    with pytest.raises(ValueError, match="lower_ptb_rate"):
        augment_rows(rows, lower_ptb_rate=1.5)


@pytest.mark.parametrize(
    ("question", "answer", "cut", "flaws"),
    [
        ("Who opened the school?", "Anna Brown", False, set()),
        ("Where did she go?", "the u.s. on monday", False, set()),  # abbreviations end nothing
        ("Who opened the school?", "Anna Brown .", False, set()),  # a final point only
        (
            "In what show was she appearing?",
            "the jeremy kyle show . she accused long-term chum , convicted burglar jamie",
            True,
            {"cut", "crosses_sentence", "long_answer"},
        ),
        ("Anna opened what", "a school", False, {"no_question_mark"}),
        ("Who is Anna Brown?", "Anna Brown", False, {"answer_in_question"}),
        ("When?", "fourth last may. Toulon tournament runs", False, {"crosses_sentence"}),
    ],
)
def test_pair_flaws(question, answer, cut, flaws):
    assert pair_flaws(question, answer, cut) == flaws
    assert flaws <= set(PAIR_FLAWS)


def test_flaw_shares_count_each_flaw_and_any():
    shares = flaw_shares(
        [("Who?", "Anna", False), ("Who", "Anna", False), ("Who?", "a b c d e f g h i", True)]
    )
    assert shares["pairs"] == 3
    assert shares["malformed"] == pytest.approx(2 / 3)
    assert shares["no_question_mark"] == pytest.approx(1 / 3)
    assert shares["cut"] == pytest.approx(1 / 3)
    assert shares["long_answer"] == pytest.approx(1 / 3)


def test_pair_filter_reads_well_formed_pairs_and_falls_back_to_all():
    from quals_hf import QualsConfig
    from quals_hf.scoring.pairs import PairScore, QAPair

    def scored(question, answer, lp_x, cut=False):
        return PairScore(QAPair(question, answer, 0.0, cut=cut), lp_x, 0.0, [lp_x], [0.0])

    good = scored("Who came?", "John Smith", -0.2)
    run_on = scored("Who came?", "john smith . the mayor said he would", -2.0, cut=True)
    paper, filtered = QualsConfig(), QualsConfig(pair_filter="well_formed")
    assert paper.summary_score([good, run_on]) == pytest.approx(-1.1)
    assert filtered.summary_score([good, run_on]) == pytest.approx(-0.2)
    assert filtered.summary_score([run_on]) == paper.summary_score([run_on]) == -2.0
    with pytest.raises(ValueError, match="pair_filter must be one of"):
        QualsConfig(pair_filter="some")
