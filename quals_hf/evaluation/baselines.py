"""Word-overlap baselines: how much of a summary is copied from its source.

A factual-consistency metric should beat them to be worth its cost; they need no model.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence

WORD = re.compile(r"\w+")

# (label, column) of the baselines, in table order; all are "higher = more consistent"
LEXICAL = [
    ("ROUGE-2 precision (summary vs source)", "rouge2_p"),
    ("Summary words in source", "word_share"),
    ("Summary bigrams in source", "bigram_share"),
]


def words(text: str) -> list[str]:
    """Lower-cased ``\\w+`` tokens."""
    return WORD.findall(text.lower())


def word_share(source: str, summary: str) -> float:
    """Share of the summary's word tokens that occur in the source (NaN without words)."""
    vocab = set(words(source))
    tokens = words(summary)
    return sum(t in vocab for t in tokens) / len(tokens) if tokens else math.nan


def bigram_share(source: str, summary: str) -> float:
    """Share of the summary's word bigrams that occur in the source (NaN under two words)."""
    vocab = set(itertools.pairwise(words(source)))
    grams = list(itertools.pairwise(words(summary)))
    return sum(g in vocab for g in grams) / len(grams) if grams else math.nan


def rouge2_precision_fn() -> Callable[[str, str], float]:
    """ROUGE-2 precision of a summary (prediction) against its source (target), no stemmer:
    a word counts only as written, so "arrested" does not match "arrest"."""
    try:
        from rouge_score import rouge_scorer
    except ImportError as err:
        raise ImportError(
            "the ROUGE baseline needs rouge_score: pip install quals_hf[rouge]"
        ) from err
    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=False)
    return lambda source, summary: scorer.score(source, summary)["rouge2"].precision


def lexical_columns(sources: Sequence[str], summaries: Sequence[str]) -> dict[str, list[float]]:
    """Every `LEXICAL` baseline of each (source, summary), by column."""
    rouge2 = rouge2_precision_fn()
    pairs = list(zip(sources, summaries))
    return {
        "rouge2_p": [rouge2(d, s) for d, s in pairs],
        "word_share": [word_share(d, s) for d, s in pairs],
        "bigram_share": [bigram_share(d, s) for d, s in pairs],
    }
