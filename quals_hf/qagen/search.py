"""Diverse (group) beam search with Hamming diversity, for Hugging Face seq2seq and causal LMs.

transformers 5 removed ``num_beam_groups``/``diversity_penalty`` from ``generate()``. This module
re-implements the search of transformers 4.x (``_group_beam_search``, Vijayakumar et al. 2016)
for groups of one beam each, the setting QUALS uses, and returns the same hypotheses with the
same scores. Each group's log-probabilities are lowered by ``diversity_penalty`` times the
number of earlier groups that chose the same token at that step; instead of stepping through
the groups in Python, all groups choose at once and repeat until their choices agree (the
fixed point is exactly the sequential result). Many inputs are searched at once over the
model's KV cache, and finished groups are dropped from the model's batch as the search goes.
Everything model-specific (reading the inputs, one step, copying cache rows) goes through the
`QAGenBackend` of the model, so encoder-decoder and decoder-only QAGens share this search.

Deliberate differences from transformers 4.x ``generate()``:

* only the minimum-length and diversity rules shape the scores: logits processors that a
  checkpoint's ``generation_config`` would add (``no_repeat_ngram_size``, forced BOS/EOS,
  repetition penalty...) are not applied, so results do not change with a checkpoint's defaults;
* a finished group counts toward no later group's diversity penalty when the model pads with
  its EOS id (4.x counted its pad id, which then lowered EOS for every later group: see
  `NO_TOKEN`); with a distinct pad id, as in BART, the results are 4.x's;
* each beam group holds exactly one beam (``num_beams == num_beam_groups``);
* ties between equal scores may be broken in another order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from transformers import PreTrainedModel

from .backend import DecodeState, QAGenBackend
from .normalise import best_log_probs

# transformers 4.x counted a finished group's pad id toward later groups' diversity penalty.
# For a model whose pad id is its EOS id (most decoder-only models, our SmolLM2 QAGen among them)
# that lowers EOS by the penalty for every finished earlier group, so late groups cannot end
# their answers and run on to max_new_tokens. Such a group counts this id instead: no token.
NO_TOKEN = -1


@dataclass
class DiverseBeamOutput:
    """The finished hypotheses of one input, best search score first.

    Attributes:
        sequences: ``(num_groups, width)`` token ids: the decoder start token of an
            encoder-decoder model (none for a decoder-only model, whose prompt is not repeated
            here), then the generated tokens, ending with EOS when the hypothesis finished;
            right-padded with the pad id.
        lengths: ``(num_groups,)`` number of generated tokens (EOS included) in each sequence.
        scores: ``(num_groups,)`` search scores as transformers 4.x reported them: the sum of the
            diversity-penalised log-probabilities divided by ``length ** length_penalty``.
        log_likelihoods: ``(num_groups,)`` the model's pure log-likelihood of each sequence's
            generated tokens (no diversity penalty), summed over tokens.
        token_logprobs: ``(num_groups, max_length)`` the pure log-probability of each generated
            token given the input and the tokens before it; 0 past a hypothesis' length.
        num_prefix_tokens: leading tokens of ``sequences`` that were read, not generated.
    """

    sequences: torch.LongTensor
    lengths: torch.LongTensor
    scores: torch.Tensor
    log_likelihoods: torch.Tensor
    token_logprobs: torch.Tensor
    num_prefix_tokens: int = 1

    def generated(self, i: int) -> list[int]:
        """The tokens hypothesis ``i`` generated, EOS included when it finished."""
        start = self.num_prefix_tokens
        return self.sequences[i, start : start + int(self.lengths[i])].tolist()


@torch.inference_mode()
def diverse_beam_search(
    model: PreTrainedModel | QAGenBackend,
    input_ids: torch.LongTensor | None = None,
    attention_mask: torch.LongTensor | None = None,
    num_groups: int = 60,
    diversity_penalty: float = 0.5,
    min_new_tokens: int = 8,
    max_new_tokens: int = 60,
    length_penalty: float = 1.0,
    state: DecodeState | None = None,
) -> list[DiverseBeamOutput]:
    """Hamming-diverse beam search with ``num_groups`` groups of one beam, for each input.

    Equivalent to transformers 4.x ``model.generate(input_ids, num_beams=num_groups,
    num_beam_groups=num_groups, diversity_penalty=diversity_penalty, length_penalty=
    length_penalty, min_new_tokens=min_new_tokens, max_new_tokens=max_new_tokens,
    num_return_sequences=num_groups, do_sample=False)`` (see the module docstring for the
    differences), with every hypothesis returned together with its pure log-likelihood.
    For a decoder-only model the inputs are prompts, left-padded as ``generate()`` takes them;
    each prompt is read once and its cache copied to the groups.

    Args:
        model: a QAGen with a language-modelling head: encoder-decoder
            (``AutoModelForSeq2SeqLM``) or decoder-only (``AutoModelForCausalLM``), or its
            `QAGenBackend` (as `target_token_logprobs` takes it).
        input_ids: ``(batch, source_length)`` input ids (decoder-only: prompts, left-padded);
            not needed when ``state`` is given.
        attention_mask: ``(batch, source_length)``; all ones when omitted.
        num_groups: beam groups (and hypotheses per input).
        diversity_penalty: subtracted from a token's log-probability once for every earlier
            group that chose that token at the same step.
        min_new_tokens: EOS is forbidden before this many tokens were generated.
        max_new_tokens: hypotheses are cut at this many generated tokens (EOS included).
        length_penalty: exponent of the length that divides a finished hypothesis' score.
        state: the backend's `DecodeState` after reading ``input_ids``, when the caller
            already has it (it is consumed: its cache is extended in place).

    Returns:
        One `DiverseBeamOutput` per input, hypotheses sorted by search score, best first.
    """
    if num_groups < 1 or max_new_tokens < 1:
        raise ValueError("num_groups and max_new_tokens must be at least 1")
    backend = QAGenBackend.of(model)
    if state is None:
        if input_ids is None:
            raise ValueError("give input_ids or a state")
        input_ids = input_ids.to(backend.device)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        state = backend.read(input_ids, attention_mask.to(backend.device))
    search = _GroupSearch(backend, state.rows, num_groups, diversity_penalty, max_new_tokens)
    # every group of an input starts from the same read of it (the encoder and decoder-start
    # step, or the prompt): done once per input, its cache then copied to the groups (or, for
    # a decoder-only model, kept once and shared by them)
    owner = torch.arange(state.rows, device=backend.device).repeat_interleave(num_groups)
    state = backend.fan_out(state, owner, max_new_tokens)
    for step in range(max_new_tokens):
        if step > 0:
            state, _ = backend.step(state, search.last)
        search.advance(step, state.logits, step < min_new_tokens, length_penalty)
        if search.finished:
            break
        keep_rows = ~search.done.view(-1)[search.active]
        if not bool(keep_rows.all()):  # finished groups leave the model's batch
            sel = keep_rows.nonzero().squeeze(1)
            # this step's logits are used up: drop them instead of copying them
            state = replace(state, logits=state.logits[:, :0]).select(sel)
            search.active = search.active[sel]
    return search.outputs(backend.prefix_tokens)


class _GroupSearch:
    """The hypotheses of ``batch`` inputs x ``groups`` groups (row r = input r // groups, group
    r % groups) as the search extends them one step at a time."""

    def __init__(
        self,
        backend: QAGenBackend,
        batch: int,
        groups: int,
        diversity_penalty: float,
        max_new_tokens: int,
    ) -> None:
        device, rows = backend.device, batch * groups
        self.batch, self.groups, self.penalty = batch, groups, diversity_penalty
        self.eos_ids = torch.tensor(sorted(set(backend.eos_ids)), device=device)
        self.pad_id = backend.pad_id
        self.finished_choice = NO_TOKEN if self.pad_id in backend.eos_ids else self.pad_id
        self.keep = 1 + len(self.eos_ids)  # candidates the 4.x search keeps per group and step
        # With at most g tokens penalised for group g, its best `keep` tokens after the penalty
        # are among its best g + keep before it: search those instead of the whole vocabulary.
        self.width = groups - 1 + self.keep
        self.tokens = torch.full(
            (rows, max_new_tokens), self.pad_id, dtype=torch.long, device=device
        )
        self.lengths = torch.full((rows,), max_new_tokens, dtype=torch.long, device=device)
        self.beam_scores = torch.zeros(batch, groups, device=device)
        self.final_scores = torch.zeros(rows, device=device)
        self.token_lp = torch.zeros(rows, max_new_tokens, device=device)
        self.done = torch.zeros(batch, groups, dtype=torch.bool, device=device)
        # earlier[g, k, h]: group h comes before group g (its choice can penalise g's candidates)
        self.earlier = torch.ones(groups, groups, dtype=torch.bool, device=device).tril(-1)
        self.earlier = self.earlier.unsqueeze(1)
        self.active = torch.arange(rows, device=device)  # rows still fed to the model
        self.last = torch.empty(0)  # each step's chosen tokens, fed to the model at the next
        self.finished = False

    def _candidates(self, logits: torch.Tensor, ban_eos: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """The best ``width`` tokens of every row and their log-probabilities, ``(batch,
        groups, width)``; rows no longer fed to the model get none (-inf)."""
        k = min(self.width, logits.shape[-1])
        lp_active, tok_active = best_log_probs(logits, k, self.eos_ids if ban_eos else None)
        rows = self.batch * self.groups
        cand_lp = torch.full((rows, k), float("-inf"), device=logits.device)
        cand_tok = torch.full((rows, k), self.pad_id, dtype=torch.long, device=logits.device)
        cand_lp[self.active], cand_tok[self.active] = lp_active, tok_active
        shape = (self.batch, self.groups, k)
        return cand_lp.view(shape), cand_tok.view(shape)

    def _choose(
        self, cand_lp: torch.Tensor, cand_tok: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every group's choice at this step, given the choices of the groups before it.

        Iterates all groups' choices to their fixed point, vectorised: after iteration t groups
        < t are final, so at most groups + 1 iterations are needed (that many at step 0, where
        all groups share one distribution; two or three at later steps). Returns the tokens
        chosen to continue (the finished groups' `finished_choice`), and each group's best
        ``keep`` penalised totals, their positions among the candidates, and their tokens.
        """
        running = ~self.done
        chosen = torch.full_like(self.done, self.finished_choice, dtype=torch.long)
        for _ in range(self.groups + 1):
            hits = (cand_tok.unsqueeze(-1) == chosen[:, None, None, :]) & self.earlier
            totals = self.beam_scores.unsqueeze(-1) + cand_lp - hits.sum(-1) * self.penalty
            top_totals, top_pos = totals.topk(self.keep, dim=-1)
            top_toks = cand_tok.gather(2, top_pos)
            cont = (~torch.isin(top_toks, self.eos_ids)).int().argmax(dim=-1, keepdim=True)
            # every running group moves on with its best non-EOS candidate (4.x keeps that beam
            # alive for one more step, so it still counts toward later groups' penalty)
            next_tok = top_toks.gather(2, cont).squeeze(2)
            settled = torch.where(running, next_tok, self.finished_choice)
            if torch.equal(settled, chosen):
                break
            chosen = settled
        return chosen, top_totals, top_pos, top_toks

    def advance(
        self, step: int, logits: torch.Tensor, ban_eos: bool, length_penalty: float
    ) -> None:
        """Extend every running group by one token from this step's ``logits``; a group whose
        best candidate is EOS finishes, and groups still running at the cut are scored too."""
        cand_lp, cand_tok = self._candidates(logits, ban_eos)
        chosen, top_totals, top_pos, top_toks = self._choose(cand_lp, cand_tok)
        running = ~self.done
        top_is_eos = torch.isin(top_toks, self.eos_ids)
        cont = (~top_is_eos).int().argmax(dim=-1, keepdim=True)  # first non-EOS candidate
        finishing = running & top_is_eos[..., 0]
        extend = running & ~finishing
        top_lp = cand_lp.gather(2, top_pos)
        step_lp = torch.where(finishing, top_lp[..., 0], 0.0) + torch.where(
            extend, top_lp.gather(2, cont).squeeze(2), 0.0
        )
        self.token_lp[:, step] = step_lp.view(-1)
        step_tok = torch.where(finishing, top_toks[..., 0], chosen)
        column = self.tokens[:, step].view(self.batch, self.groups)
        self.tokens[:, step] = torch.where(running, step_tok, column).view(-1)
        ends = finishing.view(-1)
        scale = float(step + 1) ** length_penalty
        self.final_scores = torch.where(
            ends, top_totals[..., 0].reshape(-1) / scale, self.final_scores
        )
        self.lengths = torch.where(ends, step + 1, self.lengths)
        self.beam_scores = torch.where(running, top_totals.gather(2, cont).squeeze(2), 0.0)
        self.done |= finishing
        flat_done = self.done.view(-1)
        self.finished = bool(flat_done.all())
        if not self.finished:
            # groups still running at the cut get their final score from their running score
            unfinished = ~flat_done
            running_final = self.beam_scores.view(-1) / scale
            self.final_scores = torch.where(unfinished, running_final, self.final_scores)
            self.lengths = torch.where(unfinished, step + 1, self.lengths)
            self.last = chosen.view(-1)[self.active[~flat_done[self.active]]].unsqueeze(1)

    def outputs(self, prefix: list[int]) -> list[DiverseBeamOutput]:
        """Each input's hypotheses, best search score first."""
        return _collect(
            self.tokens,
            self.lengths,
            self.final_scores,
            self.token_lp,
            self.batch,
            self.groups,
            prefix,
            self.pad_id,
        )


def _collect(
    tokens: torch.Tensor,
    lengths: torch.Tensor,
    scores: torch.Tensor,
    token_lp: torch.Tensor,
    batch: int,
    groups: int,
    prefix: list[int],
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
        past_end = steps[:width] >= lens.unsqueeze(1)
        body = body.masked_fill(past_end, pad_id)
        lps = token_lp[sl][order_t, :width].masked_fill(past_end, 0.0)
        start = torch.tensor(prefix, dtype=torch.long, device=tokens.device).expand(groups, -1)
        outputs.append(
            DiverseBeamOutput(
                sequences=torch.cat([start, body], dim=1).cpu(),
                lengths=lens.cpu(),
                scores=scores[sl][order_t].cpu(),
                log_likelihoods=lps.sum(dim=1).cpu(),
                token_logprobs=lps.cpu(),
                num_prefix_tokens=len(prefix),
            )
        )
    return outputs
