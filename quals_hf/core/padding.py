"""Padding token id lists into tensors: one helper for the scorers, QA and the collator."""

from __future__ import annotations

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
