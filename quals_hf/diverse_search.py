"""Diverse (group) beam search with Hamming diversity, for any Hugging Face seq2seq model.

transformers 5 removed ``num_beam_groups``/``diversity_penalty`` from ``generate()``. This module
re-implements the search of transformers 4.x (``_group_beam_search``, Vijayakumar et al. 2016)
for groups of one beam each, the setting QUALS uses, and returns the same hypotheses with the
same scores. Each group's log-probabilities are lowered by ``diversity_penalty`` times the
number of earlier groups that chose the same token at that step; instead of stepping through
the groups in Python, all groups choose at once and repeat until their choices agree (the
fixed point is exactly the sequential result). Many inputs are searched at once over the
model's KV cache, and finished groups are dropped from the model's batch as the search goes.

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
from transformers import Cache, PreTrainedModel
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
def encode(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor):
    """The encoder's last hidden states for a padded batch."""
    return model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


@torch.inference_mode()
def start_step(
    model: PreTrainedModel, encoder_states: torch.Tensor, attention_mask: torch.Tensor
) -> tuple[torch.Tensor, Cache]:
    """One decoder step on the start token for each input: its next-token logits and cache.

    Every continuation of an input begins with this step, so callers run it once per input and
    copy the cache to the continuations: the cross-attention keys and values over the input
    are then computed once per input rather than once per continuation.
    """
    start = special_token_id(model, "decoder_start_token_id")
    starts = torch.full((encoder_states.shape[0], 1), start, device=encoder_states.device)
    out = model(
        encoder_outputs=BaseModelOutput(last_hidden_state=encoder_states),
        attention_mask=attention_mask,
        decoder_input_ids=starts,
        use_cache=True,
    )
    return out.logits[:, -1, :], out.cache


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
    encoder_states: torch.Tensor | None = None,
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
        encoder_states: the encoder's last hidden states of ``input_ids``, when the caller
            already has them (QUALS reuses them to score pairs given the summary).

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

    if encoder_states is None:
        encoder_states = encode(model, input_ids, attention_mask)
    enc_states = encoder_states.repeat_interleave(groups, dim=0)
    enc_mask = attention_mask.repeat_interleave(groups, dim=0)

    tokens = torch.full((rows, max_new_tokens), pad_id, dtype=torch.long, device=device)
    lengths = torch.full((rows,), max_new_tokens, dtype=torch.long, device=device)
    beam_scores = torch.zeros(batch, groups, device=device)
    final_scores = torch.zeros(rows, device=device)
    log_likelihoods = torch.zeros(rows, device=device)
    done = torch.zeros(batch, groups, dtype=torch.bool, device=device)

    # earlier[g, k, h]: group h comes before group g (its choice can penalise g's candidates)
    earlier = torch.ones(groups, groups, dtype=torch.bool, device=device).tril(-1).unsqueeze(1)
    active = torch.arange(rows, device=device)  # rows still fed to the model
    # step 0 reads the same start token in every group of an input: once per input, then copied
    logits, cache = start_step(model, encoder_states, attention_mask)
    cache.batch_repeat_interleave(groups)
    logits = logits.repeat_interleave(groups, dim=0)
    vocab_ids = torch.arange(logits.shape[-1], device=device)
    eos_columns = vocab_ids[torch.isin(vocab_ids, eos_ids)]
    last = torch.empty(0)  # each step's chosen tokens, fed to the model at the next step
    for step in range(max_new_tokens):
        if step > 0:
            out = model(
                encoder_outputs=BaseModelOutput(last_hidden_state=enc_states),
                attention_mask=enc_mask,
                decoder_input_ids=last,
                cache=cache,
                use_cache=True,
            )
            cache, logits = out.cache, out.logits[:, -1, :]
        # log-probabilities of the k best tokens only: top-k of the logits minus their
        # log-sum-exp, without writing a log-softmax over the whole vocabulary (EOS is masked
        # after normalising, as 4.x's min-length processor did)
        logits = logits.float()
        log_norm = logits.logsumexp(dim=-1, keepdim=True)
        if step < min_new_tokens:
            logits[:, eos_columns] = float("-inf")
        k = min(width, logits.shape[-1])
        cand_top, cand_tok_active = logits.topk(k, dim=-1)
        cand_lp_active = cand_top - log_norm
        cand_lp = torch.full((rows, k), float("-inf"), device=device)
        cand_tok = torch.full((rows, k), pad_id, dtype=torch.long, device=device)
        cand_lp[active], cand_tok[active] = cand_lp_active, cand_tok_active
        cand_lp, cand_tok = cand_lp.view(batch, groups, k), cand_tok.view(batch, groups, k)

        # Group g's choice depends on the tokens groups < g chose at this step. Iterate all
        # groups' choices to their fixed point, vectorised: after iteration t groups < t are
        # final, so at most groups + 1 iterations are needed (that many at step 0, where all
        # groups share one distribution; two or three at later steps).
        running = ~done
        chosen = torch.full((batch, groups), pad_id, dtype=torch.long, device=device)
        for _ in range(groups + 1):
            hits = (cand_tok.unsqueeze(-1) == chosen[:, None, None, :]) & earlier
            totals = beam_scores.unsqueeze(-1) + cand_lp - hits.sum(-1) * diversity_penalty
            top_totals, top_pos = totals.topk(keep, dim=-1)
            top_toks = cand_tok.gather(2, top_pos)
            top_is_eos = torch.isin(top_toks, eos_ids)
            cont = (~top_is_eos).int().argmax(dim=-1, keepdim=True)  # first non-EOS candidate
            next_tok = top_toks.gather(2, cont).squeeze(2)
            # every running group moves on with its best non-EOS candidate (4.x keeps that beam
            # alive for one more step, so it still counts toward later groups' penalty)
            settled = torch.where(running, next_tok, pad_id)
            if torch.equal(settled, chosen):
                break
            chosen = settled

        # a group whose best candidate is EOS finishes: its hypothesis ends here
        finishing = running & top_is_eos[..., 0]
        extend = running & ~finishing
        top_lp = cand_lp.gather(2, top_pos)
        step_lp = torch.where(finishing, top_lp[..., 0], 0.0) + torch.where(
            extend, top_lp.gather(2, cont).squeeze(2), 0.0
        )
        log_likelihoods += step_lp.view(-1)
        step_tok = torch.where(finishing, top_toks[..., 0], next_tok)
        tokens[:, step] = torch.where(running, step_tok, tokens[:, step].view(batch, groups)).view(
            -1
        )
        final_scores = torch.where(
            finishing.view(-1),
            top_totals[..., 0].reshape(-1) / float(step + 1) ** length_penalty,
            final_scores,
        )
        lengths = torch.where(finishing.view(-1), step + 1, lengths)
        beam_scores = torch.where(running, top_totals.gather(2, cont).squeeze(2), 0.0)
        done |= finishing

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
