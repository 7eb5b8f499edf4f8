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

from quals_hf import QualsScorer
from quals_hf.qagen.backend import QAGenBackend
from quals_hf.qagen.likelihood import target_token_logprobs
from quals_hf.qagen.search import DiverseBeamOutput


@torch.inference_mode()
def reference_group_beam_search(
    model: PreTrainedModel,
    input_ids: list[int],
    num_groups: int,
    diversity_penalty: float,
    min_new_tokens: int,
    max_new_tokens: int,
    length_penalty: float,
) -> DiverseBeamOutput:
    """Diverse beam search of one input, groups of one beam, stepping through groups."""
    backend = QAGenBackend.for_model(model)
    device, eos, pad = backend.device, backend.eos_ids, backend.pad_id
    one_copy_per_group = torch.zeros(num_groups, dtype=torch.long, device=device)
    state = backend.read_lists([input_ids]).select(one_copy_per_group)
    logits = state.logits
    tokens = torch.empty((num_groups, 0), dtype=torch.long, device=device)
    beam_scores = torch.zeros(num_groups, device=device)
    token_lps: list[list[float]] = [[] for _ in range(num_groups)]  # pure, per generated token
    finished: dict[int, tuple[torch.Tensor, float]] = {}
    for step in range(max_new_tokens):
        if step > 0:
            state, _ = backend.step(state, tokens[:, -1:])
            logits = state.logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)
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
                seq = torch.cat([tokens[g], ids[:1]])
                finished[g] = (seq, float(top[0]) / (step + 1) ** length_penalty)
                token_lps[g].append(float(logprobs[g, ids[0]]))
            pick = next(i for i in range(len(ids)) if int(ids[i]) not in eos)
            next_tokens[g] = ids[pick]
            counts[ids[pick]] += 1
            if g not in finished:
                beam_scores[g] = top[pick]
                token_lps[g].append(float(logprobs[g, ids[pick]]))
        tokens = torch.cat([tokens, next_tokens.unsqueeze(1)], dim=1)
        if len(finished) == num_groups:
            break
    for g in range(num_groups):
        if g not in finished:
            finished[g] = (tokens[g], float(beam_scores[g]) / tokens.shape[1] ** length_penalty)
    order = sorted(range(num_groups), key=lambda g: finished[g][1])[::-1]
    prefix = backend.prefix_tokens
    width = max(len(finished[g][0]) for g in order)
    sequences = torch.full((num_groups, len(prefix) + width), pad, dtype=torch.long)
    sequences[:, : len(prefix)] = torch.tensor(prefix, dtype=torch.long)
    token_logprobs = torch.zeros(num_groups, width)
    for row, g in enumerate(order):
        seq = finished[g][0].cpu()
        sequences[row, len(prefix) : len(prefix) + len(seq)] = seq
        token_logprobs[row, : len(seq)] = torch.tensor(token_lps[g])
    return DiverseBeamOutput(
        sequences=sequences,
        lengths=torch.tensor([len(finished[g][0]) for g in order]),
        scores=torch.tensor([finished[g][1] for g in order]),
        log_likelihoods=token_logprobs.sum(dim=1),
        token_logprobs=token_logprobs,
        num_prefix_tokens=len(prefix),
    )


def naive_quals(scorer: QualsScorer, sources: list[str], summaries: list[str]) -> list[float]:
    """QUALS of each example, reference-style: one summary, then one pair, at a time.

    Both lp_x and lp_y are teacher-forced, each pair on its own (the search's own log-probs,
    which the batched scorer uses as lp_y, are not reused here).
    """
    search = scorer.config.search_kwargs()
    scores = []
    for source, summary in zip(sources, summaries):
        source_ids, summary_ids = (
            scorer._encode([source], "sources"),
            scorer._encode([summary], "summaries"),
        )
        out = reference_group_beam_search(scorer.model, summary_ids[0], **search)
        gaps = []
        for pair, _ in scorer._pairs_from_search(summary, out):
            target = [[(pair.prefix_ids, pair.token_ids)]]
            lp_x = target_token_logprobs(scorer.backend, source_ids, target)[0][0]
            lp_y = target_token_logprobs(scorer.backend, summary_ids, target)[0][0]
            gaps.append(float(lp_x.mean() - lp_y.mean()))
        scores.append(sum(gaps) / len(gaps) if gaps else math.nan)
    return scores
