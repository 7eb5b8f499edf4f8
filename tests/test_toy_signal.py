"""QUALS works for real: with a trained QAGen it prefers faithful summaries."""

import math
from collections import Counter

import pytest

from quals_hf.toy.world import CORRUPTIONS, make_examples

pytestmark = pytest.mark.slow


def test_faithful_summaries_score_higher_than_corrupted_ones(toy_scorer):
    examples = make_examples(100, seed=7)  # stories the toy QAGen never saw
    sources = [e.document for e in examples]
    faithful = toy_scorer.score(sources, [e.summary for e in examples], batch_size=20)
    corrupted = toy_scorer.score(sources, [e.corrupted_summary for e in examples], batch_size=20)
    assert not any(math.isnan(s) for s in faithful.scores + corrupted.scores)
    wins = [f > c for f, c in zip(faithful.scores, corrupted.scores)]
    assert sum(wins) >= 90, Counter(e.corruption for e, w in zip(examples, wins) if not w)
    # every kind of corruption is caught most of the time
    for kind in CORRUPTIONS:
        kind_wins = [w for e, w in zip(examples, wins) if e.corruption == kind]
        assert sum(kind_wins) >= 0.7 * len(kind_wins), kind
    # faithful summaries sit near 0, as in the paper; corrupted ones clearly below
    assert faithful.mean > -0.3
    assert corrupted.mean < faithful.mean - 0.2
