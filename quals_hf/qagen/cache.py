"""A KV cache that grows in place, for the many short steps of the diverse search.

transformers' `DynamicLayer` appends each step's keys and values with ``torch.cat``, which
copies the whole cache at every step: with 480 search rows over a 100-token summary that copy
took a third of a SmolLM2 search step on CPU. `reserve_cache` swaps a cache's plain dynamic
layers for `ReservedLayer`s, which keep their keys and values in a buffer with room for the
tokens still to come and write each step into it; attention reads a view of the filled part.
The values are the same tensors `DynamicLayer` would hold, so scores do not change.
"""

from __future__ import annotations

import torch
from transformers import Cache, DynamicLayer, EncoderDecoderCache


class ReservedLayer(DynamicLayer):
    """A `DynamicLayer` whose keys and values sit in a buffer with spare room along the
    sequence; `update` writes into it and only copies when the room runs out."""

    def __init__(
        self, layer: DynamicLayer, extra_tokens: int, dtype: torch.dtype | None = None
    ) -> None:
        super().__init__()
        self.is_initialized = layer.is_initialized
        self.spare = extra_tokens
        self.dtype = dtype  # of the stored values (default: as given)
        self.length = 0
        if layer.is_initialized:
            self.device = layer.device
            self._store(layer.keys, layer.values)

    def _store(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Copy ``keys`` and ``values`` into new buffers with ``spare`` free positions."""
        self.length = keys.shape[-2]
        shape = (*keys.shape[:-2], self.length + self.spare, keys.shape[-1])
        self._keys = keys.new_empty(shape, dtype=self.dtype or keys.dtype)
        self._values = values.new_empty(shape, dtype=self.dtype or values.dtype)
        self._keys[..., : self.length, :] = keys
        self._values[..., : self.length, :] = values
        self._expose()

    def _expose(self) -> None:
        self.keys = self._keys[..., : self.length, :]
        self.values = self._values[..., : self.length, :]

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized or self.length == 0:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            self.spare = max(self.spare - key_states.shape[-2], 0)  # these are of the extra
            self._store(key_states, value_states)
            return self.keys, self.values
        new = key_states.shape[-2]
        if self.length + new > self._keys.shape[-2]:
            self.spare = max(self.spare, new)
            self._store(self.keys, self.values)
        self._keys[..., self.length : self.length + new, :] = key_states
        self._values[..., self.length : self.length + new, :] = value_states
        self.length += new
        self._expose()
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.length > 0:
            self._keys = self._keys.index_select(0, indices.to(self.device))
            self._values = self._values.index_select(0, indices.to(self.device))
            self._expose()

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        self.batch_select_indices(beam_idx)

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self.length > 0:
            index = torch.arange(self._keys.shape[0], device=self.device)
            self.batch_select_indices(index.repeat_interleave(repeats))

    def crop(self, tokens_to_remove: int) -> None:
        super().crop(tokens_to_remove)
        if self.is_initialized and tokens_to_remove < 0:
            self.length = self.keys.shape[-2]

    def reset(self) -> None:
        super().reset()
        self.length = 0


def reserve_cache(cache: Cache, extra_tokens: int) -> None:
    """Give every plain dynamic layer of ``cache`` room for ``extra_tokens`` more tokens
    (in place; sliding-window, static and cross-attention layers are left as they are)."""
    if isinstance(cache, EncoderDecoderCache):
        cache = cache.self_attention_cache
    layers = getattr(cache, "layers", [])
    for i, layer in enumerate(layers):
        if type(layer) is DynamicLayer:
            layers[i] = ReservedLayer(layer, extra_tokens)
