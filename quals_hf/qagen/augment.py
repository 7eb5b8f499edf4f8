"""Text forms and contexts as QUALS meets them, for training a QAGen that copes with both.

Many summarizers and benchmarks write lower-cased, Penn-Treebank-tokenized text (``the 37 - year
- old was arrested .``); SQuAD's contexts are cased prose of whole paragraphs or single
sentences. A QAGen that has seen only prose copies answers on past a `` . `` it does not read as
a sentence end. These functions rewrite QA rows (``context``, ``question``, ``answer``,
``answer_start``) into such forms, each row drawn with a seeded generator.
"""

from __future__ import annotations

import itertools
import random
import re
from functools import lru_cache
from typing import Any

from .data import sentence_bounds


@lru_cache(maxsize=1)
def _moses() -> Any:
    try:
        from sacremoses import MosesTokenizer
    except ImportError as error:  # an extra: only training and the benchmarks need it
        raise ImportError(
            "PTB-style text forms need sacremoses: pip install 'quals_hf[augment]'"
        ) from error
    return MosesTokenizer(lang="en")


_DASH = re.compile(r" @(\S)@ ")


def ptb_tokenize(text: str) -> str:
    """``text`` split as Penn-Treebank-tokenized corpora write it: punctuation and clitics apart,
    hyphens as `` - `` (``37 - year - old``); sacremoses' tokenizer, no escaping."""
    tokens = _moses().tokenize(text, escape=False, aggressive_dash_splits=True, return_str=True)
    return _DASH.sub(r" \1 ", tokens)


def lower_ptb(text: str) -> str:
    """``text`` lower-cased and PTB-tokenized, as many summarizers write their outputs."""
    return ptb_tokenize(text).lower()


def answer_window(
    context: str, answer_start: int, answer: str, sentences: int, draw: random.Random
) -> tuple[str, int] | None:
    """A window of ``sentences`` consecutive sentences of ``context`` holding the answer, placed
    at random around the answer's sentence, and the answer's offset in it; ``None`` when the
    answer's position is unknown or runs across a sentence end."""
    if answer_start < 0:
        return None
    bounds = sentence_bounds(context)
    spans = list(itertools.pairwise(bounds))
    home = next((i for i, (b, e) in enumerate(spans) if b <= answer_start < e), None)
    if home is None or answer_start + len(answer) > spans[home][1]:
        return None
    sentences = min(sentences, len(spans))
    first = draw.randint(max(0, home - sentences + 1), min(home, len(spans) - sentences))
    begin, end = spans[first][0], spans[first + sentences - 1][1]
    window = context[begin:end]
    lead = len(window) - len(window.lstrip())
    return window.strip(), answer_start - begin - lead


def augment_rows(
    qa: Any,
    window_rate: float = 0.0,
    max_window_sentences: int = 3,
    lower_ptb_rate: float = 0.0,
    seed: int = 0,
) -> Any:
    """QA rows rewritten as QUALS meets texts: summary-sized contexts and PTB-tokenized ones.

    - ``window_rate`` of the rows read 2 to ``max_window_sentences`` consecutive sentences around
      their answer instead of the whole paragraph: summary-sized texts whose answers are often
      followed by a sentence end, where the QAGen must stop.
    - ``lower_ptb_rate`` of the rows (drawn independently) have context and answer lower-cased and
      PTB-tokenized (`lower_ptb`); the question stays as written, so questions read the same
      whatever the text's form. A row whose rewritten answer is no longer a span of its
      rewritten context keeps its original form.
    """
    for name, rate in (("window_rate", window_rate), ("lower_ptb_rate", lower_ptb_rate)):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {rate}")
    if max_window_sentences < 2 and window_rate > 0:
        raise ValueError(f"max_window_sentences must be at least 2, got {max_window_sentences}")
    draw = random.Random(seed)

    def rewrite(row: dict) -> dict:
        if draw.random() < window_rate:
            size = draw.randint(2, max_window_sentences)
            found = answer_window(row["context"], row["answer_start"], row["answer"], size, draw)
            if found is not None:
                row["context"], row["answer_start"] = found
        if draw.random() < lower_ptb_rate:
            context, answer = lower_ptb(row["context"]), lower_ptb(row["answer"])
            start = context.find(answer)
            if answer and start >= 0:
                row["context"], row["answer"], row["answer_start"] = context, answer, start
        return row

    return qa.map(rewrite, desc="text forms")
