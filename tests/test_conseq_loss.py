"""The batch-level ConSeq loss terms of `quals_hf.conseq.loss`, against hand computations."""

import math

import pytest
import torch

from quals_hf.conseq.loss import (
    IGNORE,
    batch_mean,
    mle_loss,
    paired_rows,
    pairwise_loss,
    unlikelihood_loss,
)

# one row of three tokens over a vocabulary of 3; the last position is padding
LOGITS = torch.tensor([[[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [9.0, 9.0, 9.0]]])
LABELS = torch.tensor([[0, 2, IGNORE]])


def _hand_tokens(logits, labels, eps, unlikelihood=False):
    """Sum over labelled tokens of the label-smoothed ``-log q(y)``, q = p or 1 - p."""
    total = 0.0
    for row, row_labels in zip(logits.tolist(), labels.tolist()):
        for scores, y in zip(row, row_labels):
            if y == IGNORE:
                continue
            z = sum(math.exp(s) for s in scores)
            q = [math.exp(s) / z for s in scores]
            q = [1 - p for p in q] if unlikelihood else q
            smooth = sum(-math.log(v) for v in q) / len(q)
            total += (1 - eps) * -math.log(q[y]) + eps * smooth
    return total


def test_batch_mean_divides_by_the_accumulated_count_at_least_1():
    assert batch_mean(torch.tensor(6.0), torch.tensor(4)).item() == 1.5
    assert batch_mean(torch.tensor(6.0), torch.tensor(0)).item() == 6.0  # nothing counted
    # two micro batches, each over the count of both, add up to the mean of one batch
    tokens = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    count = torch.tensor(len(tokens))
    parts = batch_mean(tokens[:2].sum(), count) + batch_mean(tokens[2:].sum(), count)
    assert parts.item() == pytest.approx(tokens.mean().item())


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_unlikelihood_loss_is_likelihood_plus_unlikelihood_over_all_tokens(eps):
    negative_logits = torch.tensor([[[0.0, 3.0, 1.0], [1.0, 1.0, -2.0], [-1.0, 0.0, 2.0]]])
    negative_labels = torch.tensor([[1, 0, 2]])
    loss, likelihood, unlikelihood = unlikelihood_loss(
        LOGITS, LABELS, negative_logits, negative_labels, torch.tensor(10), eps
    )
    want_likelihood = _hand_tokens(LOGITS, LABELS, eps)
    want_unlikelihood = _hand_tokens(negative_logits, negative_labels, eps, unlikelihood=True)
    assert likelihood.sum().item() == pytest.approx(want_likelihood, rel=1e-6)
    assert unlikelihood.sum().item() == pytest.approx(want_unlikelihood, rel=1e-6)
    assert likelihood[0, 2].item() == 0.0  # padding
    # divided by the given count (the accumulated batch's 10 tokens), not this batch's 5
    want = (want_likelihood + want_unlikelihood) / 10
    assert loss.item() == pytest.approx(want, rel=1e-6)


def test_unlikelihood_loss_clamps_1_minus_p():
    certain = torch.tensor([[[50.0, 0.0, 0.0]]])  # p(0) = 1 - 4e-22: log(1 - p) is -inf
    _, _, unlikelihood = unlikelihood_loss(
        certain[:, :0], LABELS[:, :0], certain, torch.tensor([[0]]), torch.tensor(1), clamp=1e-6
    )
    assert unlikelihood.item() == pytest.approx(-math.log(1e-6), rel=1e-6)


def test_paired_rows_match_each_example_to_its_rows_in_both_blocks():
    # examples 1 and 3 have both; the positive block holds examples 1, 2, 3, the negative 0, 1, 3
    has_positive = torch.tensor([False, True, True, True])
    has_negative = torch.tensor([True, True, False, True])
    positive_rows, negative_rows = paired_rows(has_positive, has_negative)
    assert positive_rows.tolist() == [0, 2]
    assert negative_rows.tolist() == [1, 2]
    none = paired_rows(torch.tensor([True, False]), torch.tensor([False, True]))
    assert [rows.tolist() for rows in none] == [[], []]


def test_pairwise_loss_is_the_weighted_mean_over_the_accumulated_pairs():
    pos, neg = torch.tensor([-0.1, -0.5]), torch.tensor([-2.0, -0.6])
    loss, per_pair = pairwise_loss(pos, neg, torch.tensor(4), "margin", weight=0.5, margin=1.0)
    assert per_pair.tolist() == pytest.approx([0.0, 0.9])
    assert loss.item() == pytest.approx(0.5 * 0.9 / 4)
    loss, per_pair = pairwise_loss(
        pos, neg, torch.tensor(2), "sigmoid", beta=0.5, ref_positive=pos, ref_negative=neg - 1
    )
    # against the reference, each gap is (pos - pos) - (neg - (neg - 1)) = -1
    assert loss.item() == pytest.approx(-math.log(1 / (1 + math.exp(0.5))), rel=1e-6)
    empty, _ = pairwise_loss(pos[:0], neg[:0], torch.tensor(0), "margin")
    assert empty.item() == 0.0


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_mle_loss_is_the_weighted_token_mean_of_the_nll(eps):
    loss, per_token = mle_loss(LOGITS, LABELS, torch.tensor(4), weight=0.3, label_smoothing=eps)
    want = _hand_tokens(LOGITS, LABELS, eps)
    assert per_token.sum().item() == pytest.approx(want, rel=1e-6)
    assert loss.item() == pytest.approx(0.3 * want / 4, rel=1e-6)
