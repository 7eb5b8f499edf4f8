"""Loading checkpoints: the device and dtype rules every loader of the package shares."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

DTYPES = {
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "fp16": torch.float16,
    "float16": torch.float16,
    "fp32": torch.float32,
    "float32": torch.float32,
}


def cache_root() -> Path:
    """Where the package keeps what it builds or trains on first use (the toy QAGen, the
    default QAGen): ``$QUALS_HF_CACHE``, else ``$XDG_CACHE_HOME/quals_hf`` (``~/.cache``)."""
    if "QUALS_HF_CACHE" in os.environ:
        return Path(os.environ["QUALS_HF_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "quals_hf"


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    """A torch dtype from a name such as ``"bf16"`` (``None`` keeps the checkpoint's)."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {sorted(DTYPES)}")
    return DTYPES[dtype]


def default_device(device: str | torch.device | None = None) -> str | torch.device:
    """``device``, or CUDA when available, else the CPU."""
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def load_seq2seq(
    name_or_path: str,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a seq2seq model (a summarizer, QAGS' QG) and its tokenizer; CUDA when available."""
    model = AutoModelForSeq2SeqLM.from_pretrained(name_or_path, dtype=resolve_dtype(dtype))
    return model.to(default_device(device)).eval(), AutoTokenizer.from_pretrained(name_or_path)
