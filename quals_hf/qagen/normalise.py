"""Log-probabilities from a batch of logits without a log-softmax over the whole vocabulary.

The search and the scoring passes normalise hundreds of rows of 49k logits per step. Each row
needs only its log-sum-exp and a few entries (the best tokens, or the target token), so neither
writes a full log-softmax; and on CPU the rows go in blocks of 16 that stay in the processor's
cache across the passes of the log-sum-exp: half the time of one pass over a 480 x 49k
matrix, with the same values. bf16 logits are converted to float32 a block at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

CPU_BLOCK_ROWS = 16


def _float_blocks(logits: torch.Tensor) -> Iterator[tuple[slice, torch.Tensor]]:
    """``(rows, vocab)`` logits in blocks of rows (one block off the CPU), as float32."""
    size = CPU_BLOCK_ROWS if logits.device.type == "cpu" else max(1, logits.shape[0])
    for start in range(0, logits.shape[0], size):
        rows = slice(start, start + size)
        yield rows, logits[rows].float()


def best_log_probs(
    logits: torch.Tensor, k: int, banned: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best tokens of each row and their log-probabilities, ``banned`` columns (EOS
    before the minimum length) excluded after normalising, as 4.x's min-length processor did
    (fp32 ``logits`` have those columns set to -inf in place)."""
    lps, toks = [], []
    for _, block in _float_blocks(logits):
        log_norm = block.logsumexp(dim=-1, keepdim=True)
        if banned is not None:
            block[:, banned] = float("-inf")
        top, tok = block.topk(k, dim=-1)
        lps.append(top - log_norm)
        toks.append(tok)
    return torch.cat(lps), torch.cat(toks)


def label_log_probs(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """log p(``labels[r]``) under each row ``r`` of ``(rows, vocab)`` logits, in float32."""
    return torch.cat(
        [
            block.gather(-1, labels[rows].unsqueeze(-1)).squeeze(-1) - block.logsumexp(-1)
            for rows, block in _float_blocks(logits)
        ]
    )
