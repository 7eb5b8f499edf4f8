"""Teacher-forced per-token log-probabilities of many targets against few encoder inputs.

Each encoder input is encoded once; its hidden states are then expanded to all of its targets
and every target is scored in one decoder pass. This is what makes QUALS' two scoring passes
cheap: a source document is never re-encoded per question-answer pair.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from .diverse_search import encode, start_step


def pad_sequences(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token id lists into ``(ids, attention_mask)`` tensors."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


@torch.inference_mode()
def target_token_logprobs(
    model: PreTrainedModel,
    inputs: list[list[int]],
    targets: list[list[tuple[list[int], list[int]]]],
    pad_id: int,
    encoder_states: torch.Tensor | None = None,
) -> list[list[torch.Tensor]]:
    """Log-probability of every scored target token given its input, teacher-forced.

    Args:
        model: an encoder-decoder model.
        inputs: encoder token ids, one list per input.
        targets: for each input, its targets as ``(prefix_ids, token_ids)``: the decoder reads
            the decoder start token, then the prefix, then the tokens; only ``token_ids`` are
            scored.
        pad_id: the pad token id.
        encoder_states: the encoder's hidden states of the right-padded ``inputs``, if the
            caller already has them; otherwise they are computed here.

    Returns:
        For each input, for each target, a float tensor of ``len(token_ids)`` log-probabilities.
    """
    owner = [i for i, ts in enumerate(targets) for _ in ts]
    if not any(prefix + tokens for ts in targets for prefix, tokens in ts):
        return [[torch.zeros(len(tokens)) for _, tokens in ts] for ts in targets]
    device = model.device
    input_ids, input_mask = pad_sequences(inputs, pad_id)
    input_ids, input_mask = input_ids.to(device), input_mask.to(device)
    states = encode(model, input_ids, input_mask) if encoder_states is None else encoder_states
    index = torch.tensor(owner, device=device)
    flat = [t for ts in targets for t in ts]
    full = [prefix + tokens for prefix, tokens in flat]
    # the decoder start token is every target's first input: read once per input, then copied
    first_logits, cache = start_step(model, states, input_mask)
    first_lp = torch.log_softmax(first_logits.float(), dim=-1)
    labels, _ = pad_sequences(full, pad_id)
    labels = labels.to(device)
    token_lp = first_lp[index, labels[:, 0]].unsqueeze(1)
    if labels.shape[1] > 1:
        cache.batch_select_indices(index)
        rest, _ = pad_sequences([f[:-1] or [pad_id] for f in full], pad_id)
        logits = model(
            encoder_outputs=BaseModelOutput(last_hidden_state=states.index_select(0, index)),
            attention_mask=input_mask.index_select(0, index),
            decoder_input_ids=rest.to(device),
            cache=cache,
            use_cache=True,
        ).logits.float()
        rest_lp = logits.gather(-1, labels[:, 1:].unsqueeze(-1)).squeeze(-1)
        token_lp = torch.cat([token_lp, rest_lp - logits.logsumexp(-1)], dim=1)
    token_lp = token_lp.cpu()
    result: list[list[torch.Tensor]] = [[] for _ in inputs]
    for row, ((prefix, tokens), i) in enumerate(zip(flat, owner)):
        result[i].append(token_lp[row, len(prefix) : len(prefix) + len(tokens)])
    return result
