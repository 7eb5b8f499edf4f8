"""Diverse (group) beam search with Hamming diversity, for any Hugging Face seq2seq model.

transformers 5 removed ``num_beam_groups``/``diversity_penalty`` from ``generate()``. This module
re-implements the search of transformers 4.x (``_group_beam_search``, Vijayakumar et al. 2016)
for groups of one beam each, the setting QUALS uses, and returns the same hypotheses with the
same scores. Groups are processed in order at every step; each group's log-probabilities are
lowered by ``diversity_penalty`` times the number of earlier groups that chose the same token
at that step. Many inputs are searched at once over the model's KV cache, and finished groups
are dropped from the model's batch as the search goes.

Deliberate differences from transformers 4.x ``generate()``:

* only the minimum-length and diversity rules shape the scores: logits processors that a
  checkpoint's ``generation_config`` would add (``no_repeat_ngram_size``, forced BOS/EOS,
  repetition penalty...) are not applied, so results do not change with a checkpoint's defaults;
* each beam group holds exactly one beam (``num_beams == num_beam_groups``);
* ties between equal scores may be broken in another order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput


@dataclass
class DiverseBeamOutput:
    """The finished hypotheses of one input, best search score first.

    Attributes:
        sequences: ``(num_groups, length)`` token ids, each starting with the decoder start
            token and ending with EOS when the hypothesis finished; right-padded with the pad id.
        lengths: ``(num_groups,)`` number of generated tokens (EOS included) in each sequence.
        scores: ``(num_groups,)`` search scores as transformers 4.x reported them: the sum of the
            diversity-penalised log-probabilities divided by ``length ** length_penalty``.
        log_likelihoods: ``(num_groups,)`` the model's pure log-likelihood of each sequence's
            generated tokens (no diversity penalty), summed over tokens.
    """

    sequences: torch.LongTensor
    lengths: torch.LongTensor
    scores: torch.Tensor
    log_likelihoods: torch.Tensor


def eos_token_ids(model: PreTrainedModel) -> list[int]:
    """The model's end-of-sequence ids (generation config first, then model config)."""
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = model.config.eos_token_id
    if eos is None:
        raise ValueError("the model defines no eos_token_id; diverse beam search needs one")
    return [eos] if isinstance(eos, int) else list(eos)


def special_token_id(model: PreTrainedModel, name: str) -> int:
    """A special token id (e.g. ``decoder_start_token_id``), generation config first."""
    value = getattr(model.generation_config, name, None)
    if value is None:
        value = getattr(model.config, name, None)
    if value is None:
        raise ValueError(f"the model defines no {name}; diverse beam search needs one")
    return int(value)


@torch.inference_mode()
def diverse_beam_search(
    model: PreTrainedModel,
    input_ids: torch.LongTensor,
    attention_mask: torch.LongTensor | None = None,
    num_groups: int = 60,
    diversity_penalty: float = 0.5,
    min_new_tokens: int = 8,
    max_new_tokens: int = 60,
    length_penalty: float = 1.0,
) -> list[DiverseBeamOutput]:
    """Hamming-diverse beam search with ``num_groups`` groups of one beam, for each input.

    Equivalent to transformers 4.x ``model.generate(input_ids, num_beams=num_groups,
    num_beam_groups=num_groups, diversity_penalty=diversity_penalty, length_penalty=
    length_penalty, min_new_tokens=min_new_tokens, max_new_tokens=max_new_tokens,
    num_return_sequences=num_groups, do_sample=False)`` (see the module docstring for the
    differences), with every hypothesis returned together with its pure log-likelihood.

    Args:
        model: an encoder-decoder model with a language-modelling head
            (any ``AutoModelForSeq2SeqLM``).
        input_ids: ``(batch, source_length)`` encoder input ids.
        attention_mask: ``(batch, source_length)``; all ones when omitted.
        num_groups: beam groups (and hypotheses per input).
        diversity_penalty: subtracted from a token's log-probability once for every earlier
            group that chose that token at the same step.
        min_new_tokens: EOS is forbidden before this many tokens were generated.
        max_new_tokens: hypotheses are cut at this many generated tokens (EOS included).
        length_penalty: exponent of the length that divides a finished hypothesis' score.

    Returns:
        One `DiverseBeamOutput` per input, hypotheses sorted by search score, best first.
    """
    if num_groups < 1 or max_new_tokens < 1:
        raise ValueError("num_groups and max_new_tokens must be at least 1")
    if not model.config.is_encoder_decoder:
        raise ValueError("diverse_beam_search needs an encoder-decoder (seq2seq) model")
    device = model.device
    input_ids = input_ids.to(device)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    attention_mask = attention_mask.to(device)
    eos_ids = torch.tensor(eos_token_ids(model), device=device)
    pad_id = special_token_id(model, "pad_token_id")
    start_id = special_token_id(model, "decoder_start_token_id")

    batch, groups = input_ids.shape[0], num_groups
    rows = batch * groups  # row r = input r // groups, group r % groups
    keep = 1 + len(eos_ids)  # candidates the 4.x search keeps per group and step
    # With at most g tokens penalised for group g, its best `keep` tokens after the penalty are
    # among its best g + keep before it: search those instead of the whole vocabulary.
    width = groups - 1 + keep

    encoder_states = model.get_encoder()(
        input_ids=input_ids, attention_mask=attention_mask
    ).last_hidden_state
    enc_states = encoder_states.repeat_interleave(groups, dim=0)
    enc_mask = attention_mask.repeat_interleave(groups, dim=0)

    tokens = torch.full((rows, max_new_tokens), pad_id, dtype=torch.long, device=device)
    lengths = torch.full((rows,), max_new_tokens, dtype=torch.long, device=device)
    beam_scores = torch.zeros(batch, groups, device=device)
    final_scores = torch.zeros(rows, device=device)
    log_likelihoods = torch.zeros(rows, device=device)
    done = torch.zeros(batch, groups, dtype=torch.bool, device=device)

    active = torch.arange(rows, device=device)  # rows still fed to the model
    last = torch.full((rows, 1), start_id, dtype=torch.long, device=device)
    cache = None
    vocab_ids = None
    for step in range(max_new_tokens):
        out = model(
            encoder_outputs=BaseModelOutput(last_hidden_state=enc_states),
            attention_mask=enc_mask,
            decoder_input_ids=last,
            cache=cache,
            use_cache=True,
        )
        cache = out.cache
        logprobs = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)
        if vocab_ids is None:
            vocab_ids = torch.arange(logprobs.shape[-1], device=device)
            is_eos_vocab = torch.isin(vocab_ids, eos_ids)
        if step < min_new_tokens:
            logprobs = logprobs.masked_fill(is_eos_vocab, float("-inf"))
        k = min(width, logprobs.shape[-1])
        cand_lp_active, cand_tok_active = logprobs.topk(k, dim=-1)
        cand_lp = torch.full((rows, k), float("-inf"), device=device)
        cand_tok = torch.full((rows, k), pad_id, dtype=torch.long, device=device)
        cand_lp[active], cand_tok[active] = cand_lp_active, cand_tok_active
        cand_lp, cand_tok = cand_lp.view(batch, groups, k), cand_tok.view(batch, groups, k)

        chosen = torch.full((batch, groups), pad_id, dtype=torch.long, device=device)
        chosen_lp = torch.zeros(batch, groups, device=device)
        for g in range(groups):
            toks, lps = cand_tok[:, g], cand_lp[:, g]
            penalty = (toks.unsqueeze(-1) == chosen[:, None, :g]).sum(-1) * diversity_penalty
            totals = beam_scores[:, g, None] + lps - penalty
            top_totals, top_pos = totals.topk(keep, dim=-1)
            top_toks = toks.gather(1, top_pos)
            top_is_eos = torch.isin(top_toks, eos_ids)
            cont = (~top_is_eos).int().argmax(dim=-1, keepdim=True)  # first non-EOS candidate
            running = ~done[:, g]
            finishing = running & top_is_eos[:, 0]
            r = torch.arange(batch, device=device) * groups + g
            # a group whose best candidate is EOS finishes: its hypothesis ends here
            final_scores[r] = torch.where(
                finishing, top_totals[:, 0] / float(step + 1) ** length_penalty, final_scores[r]
            )
            eos_lp = lps.gather(1, top_pos[:, :1]).squeeze(1)
            log_likelihoods[r] += torch.where(finishing, eos_lp, 0.0)
            tokens[r, step] = torch.where(finishing, top_toks[:, 0], tokens[r, step])
            lengths[r] = torch.where(finishing, step + 1, lengths[r])
            # every running group moves on with its best non-EOS candidate (4.x keeps that beam
            # alive for one more step, so it still counts toward later groups' penalty)
            next_tok = top_toks.gather(1, cont).squeeze(1)
            next_lp = lps.gather(1, top_pos.gather(1, cont)).squeeze(1)
            chosen[:, g] = torch.where(running, next_tok, pad_id)
            chosen_lp[:, g] = next_lp
            beam_scores[:, g] = torch.where(running, top_totals.gather(1, cont).squeeze(1), 0.0)
            extend = running & ~finishing
            tokens[r, step] = torch.where(extend, next_tok, tokens[r, step])
            log_likelihoods[r] += torch.where(extend, next_lp, 0.0)
            done[:, g] |= finishing

        flat_done = done.view(-1)
        if bool(flat_done.all()):
            break
        unfinished = ~flat_done
        # groups still running at the cut get their final score from their running score
        final_scores = torch.where(
            unfinished, beam_scores.view(-1) / float(step + 1) ** length_penalty, final_scores
        )
        lengths = torch.where(unfinished, step + 1, lengths)
        keep_rows = ~flat_done[active]
        if not bool(keep_rows.all()):
            sel = keep_rows.nonzero().squeeze(1)
            cache.batch_select_indices(sel)
            active, enc_states, enc_mask = active[sel], enc_states[sel], enc_mask[sel]
        last = chosen.view(-1)[active].unsqueeze(1)

    return _collect(tokens, lengths, final_scores, log_likelihoods, batch, groups, start_id, pad_id)


def _collect(
    tokens: torch.Tensor,
    lengths: torch.Tensor,
    scores: torch.Tensor,
    log_likelihoods: torch.Tensor,
    batch: int,
    groups: int,
    start_id: int,
    pad_id: int,
) -> list[DiverseBeamOutput]:
    """Sort each input's hypotheses as 4.x did (stable ascending sort, read from the end)."""
    outputs = []
    steps = torch.arange(tokens.shape[1], device=tokens.device)
    for b in range(batch):
        sl = slice(b * groups, (b + 1) * groups)
        order = sorted(range(groups), key=lambda i: scores[sl][i].item())[::-1]
        order_t = torch.tensor(order, device=tokens.device)
        lens = lengths[sl][order_t]
        width = int(lens.max())
        body = tokens[sl][order_t, :width]
        body = body.masked_fill(steps[:width] >= lens.unsqueeze(1), pad_id)
        start = torch.full((groups, 1), start_id, dtype=torch.long, device=tokens.device)
        outputs.append(
            DiverseBeamOutput(
                sequences=torch.cat([start, body], dim=1).cpu(),
                lengths=lens.cpu(),
                scores=scores[sl][order_t].cpu(),
                log_likelihoods=log_likelihoods[sl][order_t].cpu(),
            )
        )
    return outputs
