"""Loading a QAGen checkpoint: seq2seq or decoder-only, the one place that tells them apart
before a model exists (afterwards `QAGenBackend.for_model` does)."""

from __future__ import annotations

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from ..core.loading import default_device, resolve_dtype


def load_qagen(
    name_or_path: str | None = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a QAGen: seq2seq or decoder-only, as its config's ``is_encoder_decoder`` says.

    ``None``: the package's own QAGen (`quals_hf.qagen.default`), built on first use.
    """
    if name_or_path is None:
        from .default import default_qagen_dir

        name_or_path = str(default_qagen_dir())
    config = AutoConfig.from_pretrained(name_or_path)
    auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
    model = auto.from_pretrained(name_or_path, dtype=resolve_dtype(dtype))
    return model.to(default_device(device)).eval(), AutoTokenizer.from_pretrained(name_or_path)
