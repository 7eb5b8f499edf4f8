"""Attention over a prompt that many rows share, read from one copy of its keys and values.

QUALS continues every prompt in many rows: 60 search groups per summary, 10 pairs per source.
A plain KV cache holds the prompt once per row and each step's attention reads all those
copies (a third of a bf16 search step of the SmolLM2 QAGen on CPU). Here a decoder-only
backend keeps the prompts' keys and values once (`SharedPrefix`) and only the tokens each row
added in its own cache; `shared_prefix_attention` attends to both parts and merges their
softmaxes exactly (log-sum-exp), in float32.

`install_shared_prefix` sets a Llama model's attention once to a registered dispatcher
(`AttentionInterface`): a call that passes ``shared_prefix`` (a `PrefixRows`) gets
`shared_prefix_attention`, every other call the model's own SDPA or eager attention, with its
own masks. Nothing is switched per call, so threads may share one model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import AttentionInterface, Cache, LlamaPreTrainedModel, PreTrainedModel
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, eager_mask, sdpa_mask
from transformers.models.llama.modeling_llama import eager_attention_forward

ATTENTION_NAME = "quals_shared_prefix"


@dataclass
class SharedPrefix:
    """The keys and values of a batch of prompts, once per prompt, in float32.

    Attributes:
        keys: per layer ``(prompts, kv_heads, length, head_dim)``.
        values: as ``keys``.
        valid: ``(prompts, 1, 1, length)`` whether a position holds a token (not padding).
    """

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    valid: torch.Tensor

    @classmethod
    def from_cache(cls, cache: Cache, mask: torch.Tensor) -> SharedPrefix:
        """The prompts a backend read: its cache and ``(prompts, length)`` attention mask."""
        layers = cache.layers
        return cls(
            [layer.keys.float() for layer in layers],
            [layer.values.float() for layer in layers],
            mask.bool()[:, None, None, :],
        )

    def rows(self, owner: torch.Tensor) -> PrefixRows:
        """Rows continuing the prompts: row ``r`` continues prompt ``owner[r]``."""
        prompts = self.valid.shape[0]
        counts = torch.bincount(owner, minlength=prompts)
        order = torch.argsort(owner, stable=True)
        starts = counts.cumsum(0) - counts
        slot = torch.empty_like(owner)
        slot[order] = torch.arange(len(owner), device=owner.device) - starts[owner[order]]
        return PrefixRows(self, owner, slot, int(counts.max()))


@dataclass
class PrefixRows:
    """Which prompt each row continues; ``slot`` numbers the rows of one prompt from 0."""

    prefix: SharedPrefix
    owner: torch.Tensor
    slot: torch.Tensor
    width: int

    def gather(self, per_row: torch.Tensor) -> torch.Tensor:
        """``(rows, ...)`` -> ``(prompts, width, ...)``, zeros where a prompt has fewer rows."""
        out = per_row.new_zeros(self.prefix.valid.shape[0], self.width, *per_row.shape[1:])
        out[self.owner, self.slot] = per_row
        return out


def _softmax_parts(
    scores: torch.Tensor, values: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Max, sum of exponentials and unnormalised output of a softmax over the last dim (all
    zero where every score is masked: such a part then adds nothing to the merge)."""
    top = scores.amax(-1, keepdim=True)
    top = top.masked_fill(top.isneginf(), 0.0)
    weights = (scores - top).exp_()
    return top, weights.sum(-1, keepdim=True), weights @ values


def shared_prefix_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    shared_prefix: PrefixRows | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """Causal attention of each row over its prompt's shared keys, then its own.

    ``query``: ``(rows, heads, new, dim)``; ``key``/``value``: the row's own tokens,
    ``(rows, kv_heads, own, dim)``, the last ``new`` of them just added.
    """
    if shared_prefix is None:
        raise ValueError(f"{ATTENTION_NAME} attention needs the shared_prefix of the rows")
    rows, heads, new, dim = query.shape
    kv_heads, own = key.shape[1], key.shape[2]
    group = heads // kv_heads  # query heads per key/value head, next to each other
    scale = dim**-0.5 if scaling is None else scaling
    q = query.float().reshape(rows, kv_heads, group * new, dim) * scale

    scores = q @ key.float().transpose(-1, -2)  # (rows, kv_heads, group * new, own)
    if new > 1:  # new token i sees the row's tokens up to itself
        future = torch.ones(new, own, dtype=torch.bool, device=q.device).triu(own - new + 1)
        scores = scores.masked_fill(future.repeat(group, 1), float("-inf"))
    own_parts = _softmax_parts(scores, value.float())

    layer, prompts = module.layer_idx, shared_prefix.prefix
    batch = prompts.valid.shape[0]
    grouped = shared_prefix.gather(q).transpose(1, 2)  # (prompts, kv_heads, width, g*new, dim)
    grouped = grouped.reshape(batch, kv_heads, -1, dim)
    scores = grouped @ prompts.keys[layer].transpose(-1, -2)
    scores = scores.masked_fill(~prompts.valid, float("-inf"))
    prompt_parts = [
        part.view(batch, kv_heads, shared_prefix.width, group * new, -1).transpose(1, 2)[
            shared_prefix.owner, shared_prefix.slot
        ]
        for part in _softmax_parts(scores, prompts.values[layer])
    ]

    (top_a, sum_a, out_a), (top_b, sum_b, out_b) = prompt_parts, own_parts
    top = torch.maximum(top_a, top_b)
    weight_a, weight_b = (top_a - top).exp_(), (top_b - top).exp_()
    out = (out_a * weight_a + out_b * weight_b) / (sum_a * weight_a + sum_b * weight_b)
    out = out.view(rows, heads, new, dim).transpose(1, 2).contiguous()
    return out.to(query.dtype), None


def _dispatcher(own: Callable[..., tuple[torch.Tensor, torch.Tensor | None]]):
    """An attention function: `shared_prefix_attention` for calls with a ``shared_prefix``,
    ``own`` (the model's own attention) for all others."""

    def attention(module, query, key, value, attention_mask, shared_prefix=None, **kwargs):
        if shared_prefix is None:
            return own(module, query, key, value, attention_mask, **kwargs)
        return shared_prefix_attention(
            module, query, key, value, attention_mask, shared_prefix=shared_prefix, **kwargs
        )

    return attention


# the implementations a dispatcher can stand in for: attention function and mask maker
OWN_ATTENTION = {
    "sdpa": (sdpa_attention_forward, sdpa_mask),
    "eager": (eager_attention_forward, eager_mask),
}
DISPATCHERS = {f"{ATTENTION_NAME}_{name}": name for name in OWN_ATTENTION}
for _name, _own in DISPATCHERS.items():
    AttentionInterface.register(_name, _dispatcher(OWN_ATTENTION[_own][0]))
    AttentionMaskInterface.register(_name, OWN_ATTENTION[_own][1])


def install_shared_prefix(model: PreTrainedModel) -> None:
    """Route a transformers Llama's SDPA or eager attention through its dispatcher, once
    (other models and implementations are left alone). The model computes what it computed
    before for every call that passes no ``shared_prefix``; the setting is not saved with it."""
    name = model.config._attn_implementation
    if isinstance(model, LlamaPreTrainedModel) and name in OWN_ATTENTION:
        model.set_attn_implementation(f"{ATTENTION_NAME}_{name}")


def shares_prefix(model: PreTrainedModel) -> bool:
    """Whether rows of ``model`` can attend to one shared copy of their prompt: a transformers
    Llama in inference mode (not custom code, no dropout) whose attention is a dispatcher of
    `install_shared_prefix`."""
    return (
        isinstance(model, LlamaPreTrainedModel)
        and not model.training
        and model.config._attn_implementation in DISPATCHERS
    )
