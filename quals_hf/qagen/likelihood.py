"""Teacher-forced per-token log-probabilities of many targets against few inputs.

Each input (a source document, a summary) is read once by the model's backend, and equal
inputs of one call only once (mining scores several summaries of one source); its cache is
then copied to all of its targets and every target is scored in one further pass (where the
backend can fan a read out again, a few passes over targets of like length, so that short
pairs are not padded to the longest). This is what makes QUALS' scoring cheap: a source
document is never re-read per question-answer pair.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel

from ..core.padding import length_chunks, pad_sequences
from .backend import DecodeState, QAGenBackend
from .normalise import label_log_probs

# What one model call costs, in padded target tokens: `length_chunks` weighs fewer calls
# against less padding with it (a QUALS batch of 8 summaries' 80 pairs: about 5 calls).
CALL_COST_TOKENS = 64


@torch.inference_mode()
def target_token_logprobs(
    model: PreTrainedModel | QAGenBackend,
    inputs: list[list[int]],
    targets: list[list[tuple[list[int], list[int]]]],
    state: DecodeState | None = None,
) -> list[list[torch.Tensor]]:
    """Log-probability of every scored target token given its input, teacher-forced.

    Args:
        model: the QAGen, or its `QAGenBackend` (as `diverse_beam_search` takes it).
        inputs: input token ids, one list per input (unpadded).
        targets: for each input, its targets as ``(prefix_ids, token_ids)``: after reading the
            input, the model reads the prefix, then the tokens; only ``token_ids`` are scored.
        state: the backend's state after reading ``inputs``, if the caller already has it
            (it is used up unless the backend `fans_out_again`: its cache is extended in place).

    Returns:
        For each input, for each target, a float tensor of ``len(token_ids)`` log-probabilities.
    """
    backend = QAGenBackend.of(model)
    owner = [i for i, ts in enumerate(targets) for _ in ts]
    if not any(prefix + tokens for ts in targets for prefix, tokens in ts):
        return [[torch.zeros(len(tokens)) for _, tokens in ts] for ts in targets]
    device = backend.device
    if state is None:  # equal inputs (one source, many summaries) are read once
        unique: dict[tuple[int, ...], int] = {}
        row_of = [unique.setdefault(tuple(ids), len(unique)) for ids in inputs]
        state = backend.read_lists([list(ids) for ids in unique])
    else:
        row_of = list(range(len(inputs)))
    index = torch.tensor([row_of[i] for i in owner], device=device)
    flat = [t for ts in targets for t in ts]
    full = [prefix + tokens for prefix, tokens in flat]
    # the first target token is predicted by the read itself: once per input, then copied
    first_lp = torch.log_softmax(state.logits.float(), dim=-1)
    parts = [list(range(len(full)))]
    if backend.fans_out_again:  # each part padded to its own longest target, not all to one
        # a target's pass reads all its tokens but the last (the read predicts the first)
        parts = length_chunks([max(len(f) - 1, 0) for f in full], CALL_COST_TOKENS)
    token_lp: list[torch.Tensor] = [torch.zeros(0)] * len(full)
    for part in parts:
        part_full = [full[r] for r in part]
        for r, lps in zip(part, _teacher_forced(backend, state, index[part], part_full, first_lp)):
            token_lp[r] = lps
    result: list[list[torch.Tensor]] = [[] for _ in inputs]
    for row, ((prefix, tokens), i) in enumerate(zip(flat, owner)):
        result[i].append(token_lp[row][len(prefix) : len(prefix) + len(tokens)])
    return result


def _teacher_forced(
    backend: QAGenBackend,
    state: DecodeState,
    index: torch.Tensor,
    full: list[list[int]],
    first_lp: torch.Tensor,
) -> list[torch.Tensor]:
    """log p of each row's tokens ``full[r]`` after input ``index[r]`` of the read ``state``
    (whose next-token log-probabilities are ``first_lp``), all rows in one teacher-forced call."""
    if not any(full):
        return [torch.zeros(0) for _ in full]
    labels, _ = pad_sequences(full, backend.pad_id)
    labels = labels.to(backend.device)
    token_lp = first_lp[index, labels[:, 0]].unsqueeze(1)
    if labels.shape[1] > 1:
        rest, _ = pad_sequences([f[:-1] or [backend.pad_id] for f in full], backend.pad_id)
        _, logits = backend.step(backend.fan_out(state, index, rest.shape[1]), rest.to(labels))
        rest_lp = label_log_probs(logits.flatten(0, 1), labels[:, 1:].flatten())
        token_lp = torch.cat([token_lp, rest_lp.view(len(full), -1)], dim=1)
    token_lp = token_lp.cpu()
    return [token_lp[r, : len(f)] for r, f in enumerate(full)]
