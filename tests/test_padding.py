"""Splitting rows of unequal length into calls that pad little (`length_chunks`), and the
teacher-forced scoring that runs its targets in such parts."""

import random

import pytest
import torch
from transformers import LlamaForCausalLM

from quals_hf import DecoderOnlyBackend
from quals_hf.core.padding import length_chunks
from quals_hf.qagen.likelihood import target_token_logprobs
from quals_hf.qagen.shared_prefix import SharedPrefix
from quals_hf.toy.models import toy_llama_config, toy_tokenizer

_step = DecoderOnlyBackend.step


def _cost(chunks: list[list[int]], widths: list[int], call_cost: int) -> int:
    cost = 0
    for chunk in chunks:
        width = max(widths[r] for r in chunk)
        cost += width * len(chunk) + (call_cost if width else 0)
    return cost


def _partitions(rows: list[int]):
    """Every split of ``rows`` into non-empty sets (any sets, not only runs of some order)."""
    if not rows:
        yield []
        return
    first, rest = rows[0], rows[1:]
    for split in _partitions(rest):
        yield [[first], *split]
        for k in range(len(split)):
            yield [*split[:k], [first, *split[k]], *split[k + 1 :]]


@pytest.mark.parametrize("seed", range(20))
def test_length_chunks_cover_every_row_once_at_the_least_cost(seed):
    rng = random.Random(seed)
    widths = [rng.choice([0, 1, 3, 5, 12, 20, 40, 61]) for _ in range(rng.randint(1, 7))]
    call_cost = rng.choice([0, 4, 16, 64, 500])
    chunks = length_chunks(widths, call_cost)
    assert sorted(r for c in chunks for r in c) == list(range(len(widths)))
    best = min(_cost(split, widths, call_cost) for split in _partitions(list(range(len(widths)))))
    assert _cost(chunks, widths, call_cost) == best
    firsts = [widths[c[0]] for c in chunks]
    assert firsts == sorted(firsts, reverse=True)  # widest rows first


def test_length_chunks_trade_calls_against_padding():
    lengths = [60, 20, 20, 20, 20, 20, 20, 20, 20, 20]
    assert len(length_chunks(lengths, call_cost=10_000)) == 1  # calls dear: pad to 60
    assert [len(c) for c in length_chunks(lengths, call_cost=16)] == [1, 9]
    assert length_chunks([], call_cost=16) == []
    assert length_chunks([20, 0, 0, 0], call_cost=64) == [[0], [1, 2, 3]]  # width 0: no call


@pytest.mark.parametrize("call_cost", [0, 64])
def test_targets_scored_in_parts_get_what_one_call_per_target_gets(call_cost, monkeypatch):
    """Targets of 0 to 40 tokens (one of them empty), run in parts of like length through the
    shared-prompt backend, score what each target read alone after its input scores."""
    monkeypatch.setattr("quals_hf.qagen.likelihood.CALL_COST_TOKENS", call_cost)
    steps = []
    monkeypatch.setattr(
        DecoderOnlyBackend, "step", lambda self, *a: steps.append(1) or _step(self, *a)
    )
    made = []
    from_cache = SharedPrefix.from_cache.__func__
    monkeypatch.setattr(
        SharedPrefix,
        "from_cache",
        classmethod(lambda cls, *a: made.append(1) or from_cache(cls, *a)),
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(toy_llama_config(toy_tokenizer(), hidden_size=32, layers=2)).eval()
    rng = random.Random(1)
    vocab = model.config.vocab_size

    def ids(n: int) -> list[int]:
        return [rng.randrange(4, vocab) for _ in range(n)]

    first = ids(9)
    inputs = [first, ids(15), first]  # equal inputs are read once
    targets = [
        [([], ids(n)) for n in (40, 3, 0, 12, 1)],
        [(ids(1), ids(n)) for n in (2, 25, 1)],
        [([], ids(n)) for n in (7, 1)],
    ]
    got = target_token_logprobs(model, inputs, targets)
    assert [len(t) for ts in got for t in ts] == [40, 3, 0, 12, 1, 2, 25, 1, 7, 1]
    assert len(steps) == (6 if call_cost == 0 else 2)  # a part per width above 0, or fewer
    assert len(made) == 1  # the parts share one float32 copy of the read prompts
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
