"""The search's caches: in place (`ReservedLayer`) and with the prompt shared by its rows
(`shared_prefix`) give the logits of transformers' own cache."""

import pytest
import torch
from transformers import BartForConditionalGeneration, DynamicLayer, LlamaForCausalLM

from quals_hf.qagen.backend import QAGenBackend
from quals_hf.qagen.cache import ReservedLayer, reserve_cache
from quals_hf.qagen.shared_prefix import shares_prefix
from quals_hf.toy.models import toy_bart_config, toy_llama_config, toy_tokenizer

PROMPTS = [[5, 6, 7, 8, 9], [10, 11, 12], [13, 14, 15, 16]]  # left-padded in one batch


def _models():
    torch.manual_seed(0)
    tokenizer = toy_tokenizer(append_eos=False)
    config = toy_llama_config(tokenizer, hidden_size=32, layers=2)
    config.num_key_value_heads = config.num_attention_heads // 2  # grouped-query attention
    causal = LlamaForCausalLM(config).eval()
    seq2seq = BartForConditionalGeneration(toy_bart_config(tokenizer)).eval()
    return [causal, seq2seq]


def _decode(model, mode: str) -> list[torch.Tensor]:
    """Continue each prompt in 4 rows (the third prompt twice as often), take 6 steps of 1 or
    2 tokens, dropping rows after the second; the logits of every step."""
    backend = QAGenBackend.for_model(model)
    state = backend.read_lists(PROMPTS)
    index = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 0, 2, 2])
    if mode == "fan_out":
        state = backend.fan_out(state, index, 8)
    else:
        if mode != "dynamic":
            reserve_cache(state.cache, int(mode))
        state = state.select(index)
    generator = torch.Generator().manual_seed(1)
    seen = [state.logits]
    for step in range(6):
        tokens = torch.randint(20, 40, (state.rows, 1 + step % 2), generator=generator)
        state, logits = backend.step(state, tokens)
        seen.append(logits)
        if step == 1:
            state = state.select(torch.tensor([0, 2, 3, 5, 8, 11, 13, 15]))
    return seen


@pytest.mark.parametrize("model", _models(), ids=["decoder-only", "encoder-decoder"])
@pytest.mark.parametrize("mode", ["0", "3", "60", "fan_out"])  # room for none, few, all steps
def test_search_caches_give_the_logits_of_the_dynamic_cache(model, mode):
    with torch.inference_mode():
        want = _decode(model, "dynamic")
        got = _decode(model, mode)
    assert len(got) == len(want) == 7
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=0)


def test_decoder_only_rows_share_one_copy_of_the_prompt():
    causal, seq2seq = _models()
    assert not shares_prefix(causal)  # until a backend installs the dispatcher, once
    backend = QAGenBackend.for_model(causal)
    QAGenBackend.for_model(seq2seq)
    assert shares_prefix(causal) and not shares_prefix(seq2seq)
    with torch.inference_mode():
        state = backend.fan_out(backend.read_lists(PROMPTS), torch.arange(3).repeat(5), 8)
        state, _ = backend.step(state, torch.full((15, 2), 21))
    assert state.prefix.keys[0].shape[0] == 3  # the prompts, once
    assert state.cache.layers[0].keys.shape[:3] == (15, 2, 2)  # each row: only its 2 tokens


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


def test_an_empty_prompt_adds_nothing_to_the_shared_attention():
    model = _models()[0]
    backend = QAGenBackend.for_model(model)
    index, tokens = torch.tensor([0, 0, 1]), torch.tensor([[21, 22], [23, 24], [25, 26]])
    with torch.inference_mode():
        shared = backend.step(
            backend.fan_out(backend.read_lists([[], [5, 6, 7]]), index, 2), tokens
        )
        copied = backend.step(backend.read_lists([[], [5, 6, 7]]).select(index), tokens)
    assert torch.isfinite(shared[1]).all()
    torch.testing.assert_close(shared[1], copied[1], atol=1e-5, rtol=0)
