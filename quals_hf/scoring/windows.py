"""Source windows: a long source read as overlapping, sentence-aligned pieces.

A QAGen trained on SQuAD paragraphs (about 150 tokens) reads 1,000-token news articles when
QUALS scores lp_x. With ``QualsConfig.source_window_tokens`` set, each pair is scored against
every window of its source and keeps the window where it is most likely: a fact the source
states is then read in a context of the length the QAGen learned on. The paper reads the
whole source (the default).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import torch

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentence_windows(
    text: str, count_tokens: Callable[[list[str]], list[int]], max_tokens: int
) -> list[str]:
    """``text`` cut into windows of whole sentences of at most ``max_tokens`` tokens each.

    Each window after the first starts about half way through the one before it (at a sentence
    boundary, at least one sentence later), so most sentences are read with context on both
    sides; a window inside the one before it is left out. A sentence longer than ``max_tokens``
    is a window of its own (the scorer cuts inputs only at its ``max_input_length``). Windows
    are slices of ``text``, line breaks kept. ``count_tokens`` gives the token count of each of
    a list of sentences.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    bounds, begin = [], 0  # (start, end) character offsets of each sentence
    for gap in SENTENCE_END.finditer(text):
        bounds.append((begin, gap.start()))
        begin = gap.end()
    bounds.append((begin, len(text)))
    bounds = [(a, b) for a, b in bounds if text[a:b].strip()]
    if len(bounds) <= 1:
        return [text]
    sizes = count_tokens([text[a:b] for a, b in bounds])
    windows, start, last_end = [], 0, 0
    while last_end < len(bounds):
        end, total = start + 1, sizes[start]
        while end < len(bounds) and total + sizes[end] <= max_tokens:
            total, end = total + sizes[end], end + 1
        if end > last_end:  # not a part of the window before it
            windows.append(text[bounds[start][0] : bounds[end - 1][1]])
            last_end = end
        nxt, covered = start, 0
        while nxt < end - 1 and covered + sizes[nxt] <= total / 2:
            covered, nxt = covered + sizes[nxt], nxt + 1
        start = max(nxt, start + 1)
    return windows


def best_window(per_window: Sequence[Sequence[torch.Tensor]]) -> list[torch.Tensor]:
    """For each pair, its token log-probabilities in the window where their sum is highest.

    ``per_window[w][j]``: pair ``j``'s token log-probabilities given window ``w``.
    """
    if not per_window:
        return []
    return [
        max((window[j] for window in per_window), key=lambda lps: float(lps.sum()))
        for j in range(len(per_window[0]))
    ]
