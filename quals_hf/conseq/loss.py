"""The ConSeq loss terms, on logits and label tensors (``-100`` marks padding).

Two layers. The ``*_losses`` functions and `sequence_logps` return one value per token, per
row or per pair. The ``*_loss`` functions are the terms `ContrastiveTrainer` adds up: each
sums its per-item values over a micro batch and divides by their count over the whole
(gradient-accumulated, multi-process) batch (`batch_mean`), so that accumulated micro batches
give the loss of one large batch; each also returns its per-item values, for logging.
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


def batch_mean(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """``total``, a sum over one micro batch, divided by ``count`` (at least 1).

    ``count`` is the number of items (tokens or pairs) in the whole accumulated batch over all
    processes, not in this micro batch: the micro batches' terms then add up to the mean over
    one large batch, which a per-micro-batch mean would not.
    """
    return total / count.clamp(min=1)


def unlikelihood_loss(
    positive_logits: torch.Tensor,
    positive_labels: torch.Tensor,
    negative_logits: torch.Tensor,
    negative_labels: torch.Tensor,
    num_tokens: torch.Tensor,
    label_smoothing: float = 0.0,
    clamp: float = 1e-20,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The paper's ConSeq loss: likelihood on the positives' tokens plus unlikelihood on the
    negatives' tokens, one mean over both (``num_tokens``: positive plus negative tokens).

    Token-level, as in Nan et al. 2021: every token of a negative is pushed down, including the
    ones it shares with its positive. Returns the loss and the per-token likelihood and
    unlikelihood terms (`token_losses`).
    """
    likelihood = token_losses(positive_logits, positive_labels, label_smoothing)
    unlikelihood = token_losses(
        negative_logits, negative_labels, label_smoothing, unlikelihood=True, clamp=clamp
    )
    return batch_mean(likelihood.sum() + unlikelihood.sum(), num_tokens), likelihood, unlikelihood


def paired_rows(
    has_positive: torch.Tensor, has_negative: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each example with both a positive and a negative, its row among the positives and
    its row among the negatives.

    The positives (and the negatives) of a batch are scored in a block holding only the
    examples that have one, in example order; a pairwise loss needs them matched by example.
    """
    pair = has_positive & has_negative
    positive_row = torch.cumsum(has_positive, 0) - 1
    negative_row = torch.cumsum(has_negative, 0) - 1
    return positive_row[pair], negative_row[pair]


def pairwise_loss(
    positive: torch.Tensor,
    negative: torch.Tensor,
    num_pairs: torch.Tensor,
    kind: str,
    weight: float = 1.0,
    margin: float = 1.0,
    beta: float = 0.1,
    ref_positive: torch.Tensor | None = None,
    ref_negative: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight`` times the mean `pairwise_losses` over the ``num_pairs`` pairs.

    Sequence-level: compares the length-normalised log-likelihoods of each example's positive
    and negative, so the tokens they share are not pushed down. Returns the loss and the
    per-pair losses.
    """
    per_pair = pairwise_losses(positive, negative, kind, margin, beta, ref_positive, ref_negative)
    return batch_mean(weight * per_pair.sum(), num_pairs), per_pair


def mle_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    num_tokens: torch.Tensor,
    weight: float = 1.0,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight`` times the mean label-smoothed NLL of the reference summaries' tokens.

    An optional anchor (``mle_weight``; not in the paper) that keeps the summarizer close to
    its references while the contrastive term moves it. Returns the loss and the per-token
    NLL.
    """
    per_token = token_losses(logits, labels, label_smoothing)
    return batch_mean(weight * per_token.sum(), num_tokens), per_token
