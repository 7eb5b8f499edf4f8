"""The model-backend seam: everything the search, the scoring kernel and the scorer do that
depends on the kind of QAGen model, behind one small interface.

A backend reads a batch of inputs once (an encoder pass and the decoder-start step for an
encoder-decoder model; a prompt prefill for a decoder-only one) and returns a `DecodeState`:
the next-token logits of each row, the model cache, and the per-row tensors a later step needs.
`QAGenBackend.fan_out` then continues each input in several rows (a copy of the cache per row,
or for decoder-only models one shared copy of the prompt, `shared_prefix`), rows can be
selected, and advanced by any number of tokens at once (one per search step, or a whole
teacher-forced target). `QAGenBackend.for_model` picks the implementation from
``config.is_encoder_decoder``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from transformers import Cache, DynamicCache, DynamicLayer, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from ..core.padding import pad_sequences
from .cache import ReservedLayer, reserve_cache
from .shared_prefix import SharedPrefix, install_shared_prefix, shares_prefix


@dataclass
class DecodeState:
    """Rows of continuations after their input was read.

    Attributes:
        logits: ``(rows, vocab)`` logits of each row's next token.
        cache: the model's cache of everything each row has read (with ``prefix``: of what
            each row added to its prompt).
        tensors: per-row tensors (first dimension = rows) that the backend's steps need.
        prefix: the prompts the rows continue, held once (decoder-only `fan_out`).
        as_prefix: the prompts this state read, as a `SharedPrefix`: made by the first
            decoder-only `fan_out` of the read and reused by any further one.
    """

    logits: torch.Tensor
    cache: Cache
    tensors: dict[str, torch.Tensor]
    prefix: SharedPrefix | None = None
    as_prefix: SharedPrefix | None = None

    @property
    def rows(self) -> int:
        return self.logits.shape[0]

    def select(self, index: torch.Tensor) -> DecodeState:
        """The rows at ``index`` (repeats allowed: each repeat continues on its own cache copy).

        The cache is changed in place; use the returned state, not this one, afterwards.
        """
        self.cache.batch_select_indices(index)
        return DecodeState(
            self.logits.index_select(0, index),
            self.cache,
            {name: t.index_select(0, index) for name, t in self.tensors.items()},
            self.prefix,
        )


class QAGenBackend(ABC):
    """How one kind of model reads inputs and continues targets; see the module docstring.

    Attributes:
        default_format: the `QAGenFormat` preset `train_qagen` trains this kind of model into.
    """

    default_format: str

    def __init__(self, model: PreTrainedModel) -> None:
        self.model = model

    @staticmethod
    def of(model: PreTrainedModel | QAGenBackend) -> QAGenBackend:
        """``model``'s backend, or ``model`` itself when it is one: what the search and the
        scoring functions take, so that callers holding a backend pass it and others a model."""
        return model if isinstance(model, QAGenBackend) else QAGenBackend.for_model(model)

    @staticmethod
    def for_model(model: PreTrainedModel) -> QAGenBackend:
        """The backend of ``model``: encoder-decoder or decoder-only, from its config."""
        if model.config.is_encoder_decoder:
            return EncoderDecoderBackend(model)
        return DecoderOnlyBackend(model)

    def special_token_id(self, name: str) -> int:
        """A special token id (e.g. ``pad_token_id``), generation config first."""
        value = getattr(self.model.generation_config, name, None)
        if value is None:
            value = getattr(self.model.config, name, None)
        if value is None:
            raise ValueError(f"the model defines no {name}; QUALS needs one")
        return int(value)

    @property
    def eos_ids(self) -> list[int]:
        """The model's end-of-sequence ids (generation config first, then model config)."""
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.model.config.eos_token_id
        if eos is None:
            raise ValueError("the model defines no eos_token_id; QUALS needs one")
        return [eos] if isinstance(eos, int) else list(eos)

    @property
    def pad_id(self) -> int:
        """The id padding rows of generated tokens (the pad id, else the first EOS id)."""
        for config in (self.model.generation_config, self.model.config):
            if getattr(config, "pad_token_id", None) is not None:
                return int(config.pad_token_id)
        return self.eos_ids[0]

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def max_positions(self) -> int | None:
        """How many positions the model can read (``None`` when its config does not say)."""
        return getattr(self.model.config, "max_position_embeddings", None)

    @property
    @abstractmethod
    def prompt_limit_includes_generation(self) -> bool:
        """Whether generated tokens share the input's positions (decoder-only models)."""

    @abstractmethod
    def pad_inputs(self, inputs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad token id lists the way the model reads a batch: ``(ids, attention_mask)``."""

    @abstractmethod
    def read(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> DecodeState:
        """Read a padded batch of inputs once: each row's first-token logits and cache."""

    @abstractmethod
    def step(self, state: DecodeState, tokens: torch.Tensor) -> tuple[DecodeState, torch.Tensor]:
        """Feed ``(rows, t)`` tokens to every row: the new state and ``(rows, t, vocab)`` logits.

        A row may be right-padded: padding at its end never changes its earlier logits.
        """

    def fan_out(self, state: DecodeState, index: torch.Tensor, extra_tokens: int) -> DecodeState:
        """Row ``r`` continues input ``index[r]`` of a freshly read ``state``, with room in the
        cache for ``extra_tokens`` more tokens (``state`` is used up unless `fans_out_again`)."""
        reserve_cache(state.cache, extra_tokens)
        return state.select(index)

    @property
    def fans_out_again(self) -> bool:
        """Whether `fan_out` leaves the read state intact, so that one read can be fanned out
        several times (`target_token_logprobs` then runs its targets in parts of like length)."""
        return False

    @torch.inference_mode()
    def read_lists(self, inputs: list[list[int]]) -> DecodeState:
        """`read` of unpadded token id lists."""
        ids, mask = self.pad_inputs(inputs)
        return self.read(ids.to(self.device), mask.to(self.device))

    @property
    def prefix_tokens(self) -> list[int]:
        """Tokens a decoder reads before the generated ones and that are not generated."""
        return []

    @abstractmethod
    def training_example(self, prompt: list[int], target: list[int]) -> dict[str, list[int]]:
        """A training example (``input_ids``, ``attention_mask``, ``labels``): loss on the
        target tokens only."""

    @abstractmethod
    def _generated_columns(self, input_width: int) -> slice:
        """Which columns of ``generate()``'s output the model generated."""

    @torch.inference_mode()
    def greedy(self, inputs: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        """Greedy generations for unpadded inputs (what a QAGen writes first; for metrics)."""
        ids, mask = self.pad_inputs(inputs)
        out = self.model.generate(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            pad_token_id=self.pad_id,
        )
        return out[:, self._generated_columns(ids.shape[1])].tolist()


class EncoderDecoderBackend(QAGenBackend):
    """Seq2seq QAGens (BART, T5...): the encoder reads the input, the decoder starts from
    ``decoder_start_token_id``; that start step is taken once per input by `read`."""

    prompt_limit_includes_generation = False
    default_format = "qagen"

    def training_example(self, prompt: list[int], target: list[int]) -> dict[str, list[int]]:
        return {"input_ids": prompt, "attention_mask": [1] * len(prompt), "labels": target}

    def _generated_columns(self, input_width: int) -> slice:
        return slice(len(self.prefix_tokens), None)

    def pad_inputs(self, inputs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        return pad_sequences(inputs, self.pad_id)

    @property
    def prefix_tokens(self) -> list[int]:
        return [self.special_token_id("decoder_start_token_id")]

    @torch.inference_mode()
    def read(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> DecodeState:
        states = self.model.get_encoder()(
            input_ids=input_ids, attention_mask=attention_mask
        ).last_hidden_state
        tensors = {"encoder_states": states, "encoder_mask": attention_mask}
        starts = torch.full((input_ids.shape[0], 1), self.prefix_tokens[0], device=self.device)
        out = self.model(
            encoder_outputs=BaseModelOutput(last_hidden_state=states),
            attention_mask=attention_mask,
            decoder_input_ids=starts,
            use_cache=True,
        )
        return DecodeState(out.logits[:, -1, :], out.cache, tensors)

    @torch.inference_mode()
    def step(self, state: DecodeState, tokens: torch.Tensor) -> tuple[DecodeState, torch.Tensor]:
        out = self.model(
            encoder_outputs=BaseModelOutput(last_hidden_state=state.tensors["encoder_states"]),
            attention_mask=state.tensors["encoder_mask"],
            decoder_input_ids=tokens,
            cache=state.cache,
            use_cache=True,
        )
        return DecodeState(out.logits[:, -1, :], out.cache, state.tensors), out.logits


class DecoderOnlyBackend(QAGenBackend):
    """Causal-LM QAGens (Llama, SmolLM2, GPT-2...): the prompt is read once, left-padded; the
    target continues it. Positions count real tokens only, as transformers' ``generate()``
    does, so a padded row gives the same logits as the row alone."""

    prompt_limit_includes_generation = True
    default_format = "causal-qagen"

    def __init__(self, model: PreTrainedModel) -> None:
        super().__init__(model)
        install_shared_prefix(model)  # once: no per-call switch, so threads may share a model

    def training_example(self, prompt: list[int], target: list[int]) -> dict[str, list[int]]:
        ids = prompt + target
        return {
            "input_ids": ids,
            "attention_mask": [1] * len(ids),
            "labels": [-100] * len(prompt) + target,
        }

    def _generated_columns(self, input_width: int) -> slice:
        return slice(input_width, None)

    def pad_inputs(self, inputs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        return pad_sequences(inputs, self.pad_id, left=True)

    @torch.inference_mode()
    def read(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> DecodeState:
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
        )
        tensors = {"mask": attention_mask, "next_position": positions[:, -1] + 1}
        return DecodeState(out.logits[:, -1, :], out.cache, tensors)

    @property
    def fans_out_again(self) -> bool:
        """True where the prompts are shared: their fan-out only reads the read state's cache."""
        return shares_prefix(self.model)

    def fan_out(self, state: DecodeState, index: torch.Tensor, extra_tokens: int) -> DecodeState:
        """As `QAGenBackend.fan_out`; for models `shares_prefix` accepts, the prompts stay in
        one copy and each row's cache holds only what it adds (in float32, as its attention
        reads it)."""
        if not self.fans_out_again:
            return super().fan_out(state, index, extra_tokens)
        own = DynamicCache()
        own.layers = [
            ReservedLayer(DynamicLayer(), extra_tokens, torch.float32) for _ in state.cache.layers
        ]
        tensors = {"next_position": state.tensors["next_position"][index], "owner": index}
        if state.as_prefix is None:
            state.as_prefix = SharedPrefix.from_cache(state.cache, state.tensors["mask"])
        return DecodeState(state.logits.index_select(0, index), own, tensors, state.as_prefix)

    @torch.inference_mode()
    def step(self, state: DecodeState, tokens: torch.Tensor) -> tuple[DecodeState, torch.Tensor]:
        width = tokens.shape[1]
        offsets = torch.arange(width, device=tokens.device)
        positions = state.tensors["next_position"].unsqueeze(1) + offsets
        tensors = {**state.tensors, "next_position": positions[:, -1] + 1}
        inputs = {"input_ids": tokens, "position_ids": positions, "cache": state.cache}
        if state.prefix is None:
            tensors["mask"] = torch.cat([state.tensors["mask"], torch.ones_like(tokens)], dim=1)
            out = self.model(**inputs, attention_mask=tensors["mask"], use_cache=True)
        else:
            rows = state.prefix.rows(state.tensors["owner"])
            out = self.model(**inputs, shared_prefix=rows, use_cache=True)
        return DecodeState(out.logits[:, -1, :], out.cache, tensors, state.prefix), out.logits
