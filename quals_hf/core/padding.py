"""Padding token id lists into tensors (one helper for the scorers, QA and the collator), and
splitting rows of unequal length into calls that pad little."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def pad_sequences(
    seqs: list[list[int]], pad_id: int, left: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad token id lists into ``(ids, attention_mask)`` tensors, on the right by default.

    ``left=True`` pads on the left, as decoder-only models read a batch of prompts.
    """
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        span = slice(width - len(s), width) if left else slice(0, len(s))
        ids[i, span] = torch.tensor(s, dtype=torch.long)
        mask[i, span] = 1
    return ids, mask


def length_chunks(widths: Sequence[int], call_cost: int) -> list[list[int]]:
    """Split rows into chunks, each to be padded to its own widest row, at the least cost.

    A chunk costs its padded tokens (rows x its widest row) plus ``call_cost`` tokens for the
    call that runs it (none for a chunk of width 0, which needs no call): one call pads short
    rows to the widest, one call per row pays the call that many times. Some best split cuts
    the rows sorted widest first into runs at changes of width, so an exact dynamic programme
    over the distinct widths finds it.

    Returns:
        The chunks as lists of row positions, widest rows first (every row exactly once).
    """
    groups: dict[int, list[int]] = {}
    for row in sorted(range(len(widths)), key=lambda r: -widths[r]):
        groups.setdefault(widths[row], []).append(row)
    runs = list(groups.values())
    rows_before = [0]
    for run in runs:
        rows_before.append(rows_before[-1] + len(run))
    best = [0.0] + [math.inf] * len(runs)  # best[j]: least cost of the first j runs
    start = [0] * (len(runs) + 1)
    for end in range(1, len(runs) + 1):
        for first in range(end):
            width = widths[runs[first][0]]
            rows = rows_before[end] - rows_before[first]
            cost = best[first] + width * rows + (call_cost if width else 0)
            if cost < best[end]:
                best[end], start[end] = cost, first
    chunks, end = [], len(runs)
    while end:
        chunks.append([row for run in runs[start[end] : end] for row in run])
        end = start[end]
    return chunks[::-1]
