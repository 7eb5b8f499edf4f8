"""The in-place KV cache of the search: the same logits as transformers' own cache."""

import pytest
import torch
from transformers import BartForConditionalGeneration, DynamicLayer, LlamaForCausalLM

from quals_hf.qagen.backend import QAGenBackend
from quals_hf.qagen.cache import ReservedLayer, reserve_cache
from quals_hf.toy.models import toy_bart_config, toy_llama_config, toy_tokenizer


def _models():
    torch.manual_seed(0)
    tokenizer = toy_tokenizer(append_eos=False)
    causal = LlamaForCausalLM(toy_llama_config(tokenizer, hidden_size=32, layers=2)).eval()
    seq2seq = BartForConditionalGeneration(toy_bart_config(tokenizer)).eval()
    return [causal, seq2seq]


def _decode(model, reserve: int | None) -> list[torch.Tensor]:
    """Read 3 inputs, copy each to 4 rows, take 6 steps, dropping rows after the second;
    the logits of every step."""
    backend = QAGenBackend.for_model(model)
    state = backend.read_lists([[5, 6, 7, 8, 9], [10, 11, 12], [13, 14, 15, 16]])
    if reserve is not None:
        reserve_cache(state.cache, reserve)
    state = state.repeat(4)
    generator = torch.Generator().manual_seed(1)
    seen = [state.logits]
    for step in range(6):
        tokens = torch.randint(20, 40, (state.rows, 1 + step % 2), generator=generator)
        state, logits = backend.step(state, tokens)
        seen.append(logits)
        if step == 1:
            state = state.select(torch.tensor([0, 2, 3, 5, 8, 11]))
    return seen


@pytest.mark.parametrize("model", _models(), ids=["decoder-only", "encoder-decoder"])
@pytest.mark.parametrize("reserve", [0, 3, 60])  # no room, room for a few steps, for all
def test_reserved_cache_gives_the_logits_of_the_dynamic_cache(model, reserve):
    with torch.inference_mode():
        want = _decode(model, None)
        got = _decode(model, reserve)
    assert len(got) == len(want) == 7
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-6, rtol=0)


def test_only_plain_dynamic_layers_are_replaced():
    model = _models()[0]
    backend = QAGenBackend.for_model(model)
    with torch.inference_mode():
        state = backend.read_lists([[5, 6, 7]])
    assert all(type(layer) is DynamicLayer for layer in state.cache.layers)
    reserve_cache(state.cache, 10)
    layers = state.cache.layers
    assert all(isinstance(layer, ReservedLayer) for layer in layers)
    assert [layer.keys.shape[-2] for layer in layers] == [3, 3]
    assert [layer._keys.shape[-2] for layer in layers] == [13, 13]
