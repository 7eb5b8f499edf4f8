"""Splitting rows of unequal length into calls that pad little (`length_chunks`), and the
teacher-forced scoring that runs its targets in such parts."""

import itertools
import random

import pytest
import torch
from transformers import LlamaForCausalLM

from quals_hf import DecoderOnlyBackend
from quals_hf.core.padding import length_chunks
from quals_hf.qagen.likelihood import target_token_logprobs
from quals_hf.toy.models import toy_llama_config, toy_tokenizer

_step = DecoderOnlyBackend.step


def _cost(chunks: list[list[int]], lengths: list[int], call_cost: int) -> int:
    return sum(max(lengths[r] for r in c) * len(c) + call_cost for c in chunks)


def _best_cost_by_brute_force(lengths: list[int], call_cost: int) -> int:
    """Every split of the rows, sorted longest first, into consecutive runs."""
    order = sorted(range(len(lengths)), key=lambda r: -lengths[r])
    best = None
    for cuts in itertools.product([False, True], repeat=len(order) - 1):
        chunks, current = [], [order[0]]
        for row, cut in zip(order[1:], cuts):
            if cut:
                chunks.append(current)
                current = []
            current.append(row)
        chunks.append(current)
        cost = _cost(chunks, lengths, call_cost)
        best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(20))
def test_length_chunks_cover_every_row_once_at_the_least_cost(seed):
    rng = random.Random(seed)
    lengths = [rng.choice([0, 1, 3, 5, 12, 20, 40, 61]) for _ in range(rng.randint(1, 11))]
    call_cost = rng.choice([0, 4, 16, 64, 500])
    chunks = length_chunks(lengths, call_cost)
    assert sorted(r for c in chunks for r in c) == list(range(len(lengths)))
    assert _cost(chunks, lengths, call_cost) == _best_cost_by_brute_force(lengths, call_cost)
    firsts = [lengths[c[0]] for c in chunks]
    assert firsts == sorted(firsts, reverse=True)  # longest rows first


def test_length_chunks_trade_calls_against_padding():
    lengths = [60, 20, 20, 20, 20, 20, 20, 20, 20, 20]
    assert len(length_chunks(lengths, call_cost=10_000)) == 1  # calls dear: pad to 60
    assert [len(c) for c in length_chunks(lengths, call_cost=16)] == [1, 9]
    assert length_chunks([], call_cost=16) == []


@pytest.mark.parametrize("call_cost", [0, 64])
def test_targets_scored_in_parts_get_what_one_call_per_target_gets(call_cost, monkeypatch):
    """Targets of 0 to 40 tokens (one of them empty), run in parts of like length through the
    shared-prompt backend, score what each target read alone after its input scores."""
    monkeypatch.setattr("quals_hf.qagen.likelihood.CALL_COST_TOKENS", call_cost)
    steps = []
    monkeypatch.setattr(
        DecoderOnlyBackend, "step", lambda self, *a: steps.append(1) or _step(self, *a)
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(toy_llama_config(toy_tokenizer(), hidden_size=32, layers=2)).eval()
    rng = random.Random(1)
    vocab = model.config.vocab_size

    def ids(n: int) -> list[int]:
        return [rng.randrange(4, vocab) for _ in range(n)]

    inputs = [ids(9), ids(15)]
    targets = [
        [([], ids(n)) for n in (40, 3, 0, 12)],
        [(ids(1), ids(n)) for n in (2, 25, 1)],
    ]
    got = target_token_logprobs(model, inputs, targets)
    assert len(steps) == (5 if call_cost == 0 else 2)  # a part per length of 2+ tokens, or fewer
    assert [len(t) for ts in got for t in ts] == [40, 3, 0, 12, 2, 25, 1]
    for text, ts, lps in zip(inputs, targets, got):
        for (prefix, tokens), lp in zip(ts, lps):
            if not tokens:
                continue
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([text + prefix + tokens])).logits[0]
            start = len(text) + len(prefix)
            want = torch.log_softmax(logits[start - 1 : -1].float(), -1)
            want = want.gather(-1, torch.tensor(tokens)[:, None]).squeeze(-1)
            torch.testing.assert_close(lp, want, atol=1e-5, rtol=0)
