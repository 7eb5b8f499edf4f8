"""QUALS written the way the reference pipeline runs it: the yardstick of the speed benchmark.

One summary at a time; the diverse beam search feeds all its beams to the model at every step
but then steps through the groups in Python, each over the whole vocabulary (as transformers
4.x ``_group_beam_search`` did); and every question-answer pair is scored on its own, the source
document re-encoded for each pair. The hypotheses and scores equal `QualsScorer`'s; only the
batching differs, which is what the benchmark measures.
"""

from __future__ import annotations

import math

import torch
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from quals_hf import QualsScorer
from quals_hf.qagen.likelihood import target_token_logprobs
from quals_hf.qagen.search import DiverseBeamOutput, eos_token_ids, special_token_id


@torch.inference_mode()
def reference_group_beam_search(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    num_groups: int,
    diversity_penalty: float,
    min_new_tokens: int,
    max_new_tokens: int,
    length_penalty: float,
) -> DiverseBeamOutput:
    """Diverse beam search of one input, groups of one beam, stepping through groups."""
    device = model.device
    input_ids = input_ids.to(device)
    eos = eos_token_ids(model)
    start = special_token_id(model, "decoder_start_token_id")
    pad = special_token_id(model, "pad_token_id")
    states = model.get_encoder()(input_ids=input_ids).last_hidden_state
    states = states.expand(num_groups, -1, -1)
    tokens = torch.full((num_groups, 1), start, dtype=torch.long, device=device)
    beam_scores = torch.zeros(num_groups, device=device)
    log_likelihoods = torch.zeros(num_groups, device=device)
    finished: dict[int, tuple[torch.Tensor, float, float]] = {}
    cache = None
    for step in range(max_new_tokens):
        out = model(
            encoder_outputs=BaseModelOutput(last_hidden_state=states),
            decoder_input_ids=tokens[:, -1:],
            cache=cache,
            use_cache=True,
        )
        cache = out.cache
        logprobs = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)
        if step < min_new_tokens:
            logprobs[:, eos] = -math.inf
        counts = torch.zeros(logprobs.shape[-1], device=device)
        next_tokens = torch.full((num_groups,), pad, dtype=torch.long, device=device)
        for g in range(num_groups):
            if g in finished:
                counts[pad] += 1
                continue
            totals = beam_scores[g] + logprobs[g] - diversity_penalty * counts
            top, ids = totals.topk(1 + len(eos))
            if int(ids[0]) in eos:
                seq = torch.cat([tokens[g, 1:], ids[:1]])
                score = float(top[0]) / (step + 1) ** length_penalty
                finished[g] = (seq, score, float(log_likelihoods[g] + logprobs[g, ids[0]]))
            pick = next(i for i in range(len(ids)) if int(ids[i]) not in eos)
            next_tokens[g] = ids[pick]
            counts[ids[pick]] += 1
            if g not in finished:
                beam_scores[g] = top[pick]
                log_likelihoods[g] += logprobs[g, ids[pick]]
        tokens = torch.cat([tokens, next_tokens.unsqueeze(1)], dim=1)
        if len(finished) == num_groups:
            break
    for g in range(num_groups):
        if g not in finished:
            n = tokens.shape[1] - 1
            finished[g] = (
                tokens[g, 1:],
                float(beam_scores[g]) / n**length_penalty,
                float(log_likelihoods[g]),
            )
    order = sorted(range(num_groups), key=lambda g: finished[g][1])[::-1]
    width = max(len(finished[g][0]) for g in order)
    sequences = torch.full((num_groups, 1 + width), pad, dtype=torch.long)
    sequences[:, 0] = start
    for row, g in enumerate(order):
        seq = finished[g][0].cpu()
        sequences[row, 1 : 1 + len(seq)] = seq
    return DiverseBeamOutput(
        sequences=sequences,
        lengths=torch.tensor([len(finished[g][0]) for g in order]),
        scores=torch.tensor([finished[g][1] for g in order]),
        log_likelihoods=torch.tensor([finished[g][2] for g in order]),
    )


def naive_quals(scorer: QualsScorer, sources: list[str], summaries: list[str]) -> list[float]:
    """QUALS of each example, reference-style: one summary, then one pair, at a time."""
    pad = scorer.tokenizer.pad_token_id
    search = scorer.config.search_kwargs()
    scores = []
    for source, summary in zip(sources, summaries):
        source_ids, summary_ids = (
            scorer._encode([source], "sources"),
            scorer._encode([summary], "summaries"),
        )
        out = reference_group_beam_search(scorer.model, torch.tensor(summary_ids), **search)
        pairs = scorer._pairs_from_search(summary, out)
        gaps = []
        for pair in pairs:
            target = [[(pair.prefix_ids, pair.token_ids)]]
            lp_x = target_token_logprobs(scorer.model, source_ids, target, pad)[0][0]
            lp_y = target_token_logprobs(scorer.model, summary_ids, target, pad)[0][0]
            gaps.append(float(lp_x.mean() - lp_y.mean()))
        scores.append(sum(gaps) / len(gaps) if gaps else math.nan)
    return scores
