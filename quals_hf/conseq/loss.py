"""The ConSeq loss terms, on logits and label tensors (``-100`` marks padding).

Token terms return per-token losses so the trainer can normalise them over a whole
(gradient-accumulated, multi-process) batch; sequence terms return one value per pair.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = -100


def token_losses(
    logits: torch.Tensor,
    labels: torch.Tensor,
    label_smoothing: float = 0.0,
    unlikelihood: bool = False,
    clamp: float = 1e-20,
) -> torch.Tensor:
    """Per-token label-smoothed ``-log q(y_t)``, 0 at padding; ``(rows, length)``.

    ``q = p`` (likelihood) or ``q = 1 - p`` clamped at ``clamp`` (unlikelihood), and
    ``LS(-log q(y_t)) = (1 - eps) * -log q(y_t) + (eps / V) * sum_v -log q(v)``.
    """
    logp = torch.log_softmax(logits.float(), dim=-1)
    logq = torch.log(torch.clamp(-torch.expm1(logp), min=clamp)) if unlikelihood else logp
    mask = labels != IGNORE
    nll = -logq.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    if label_smoothing > 0:
        nll = (1 - label_smoothing) * nll - label_smoothing * logq.mean(dim=-1)
    return nll * mask


def sequence_logps(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Length-normalised log-likelihood of each row's labels; ``(rows,)``."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    mask = labels != IGNORE
    token = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask
    return token.sum(-1) / mask.sum(-1).clamp(min=1)


def pairwise_losses(
    positive: torch.Tensor,
    negative: torch.Tensor,
    kind: str,
    margin: float = 1.0,
    beta: float = 0.1,
    ref_positive: torch.Tensor | None = None,
    ref_negative: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-pair loss on length-normalised log-likelihoods of positive vs negative.

    ``margin``: ``max(0, margin - (pos - neg))``. ``sigmoid`` (DPO-style):
    ``-log sigmoid(beta * ((pos - ref_pos) - (neg - ref_neg)))``, the reference terms 0 when
    there is no reference model.
    """
    if kind == "margin":
        return F.relu(margin - (positive - negative))
    if kind == "sigmoid":
        if ref_positive is not None:
            positive, negative = positive - ref_positive, negative - ref_negative
        return -F.logsigmoid(beta * (positive - negative))
    raise ValueError(f"unknown pairwise loss {kind!r}")
