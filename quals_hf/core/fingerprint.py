"""What made a file of scores: the scorer (its class, config and models' weights), the package
version, and the input rows, as one JSON-able dict. A resumed run compares its own with the one
stored beside the file, so that two metrics are never mixed in one file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import torch

SAMPLED_VALUES = 4096  # values read from each tensor: enough to tell two fine-tunes apart


def model_digest(model: torch.nn.Module) -> str:
    """A SHA-256 of a model's state: every tensor's name, shape and dtype, and up to
    `SAMPLED_VALUES` of its values, evenly spaced (a whole 135M-parameter model would take
    seconds to hash; a fine-tune or a merged adapter moves values everywhere)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict(keep_vars=False).items()):
        flat = tensor.detach().reshape(-1)
        step = max(1, flat.numel() // SAMPLED_VALUES)
        sample = flat[::step][:SAMPLED_VALUES].to("cpu", torch.float64)
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(sample.numpy().tobytes())
    return digest.hexdigest()


def rows_digest(*columns: Sequence[Any]) -> str:
    """A SHA-256 of input rows (ids and texts, in order)."""
    digest = hashlib.sha256()
    for row in zip(*columns):
        digest.update(json.dumps([str(v) for v in row], ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def scorer_fingerprint(scorer: Any) -> dict[str, Any]:
    """The scorer's class, its config (a dataclass, as JSON) and a digest of each model it
    holds (`model_digest`, keyed by attribute name), with the package's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("quals_hf")
    except PackageNotFoundError:  # run from a source tree that was not installed
        package = "unknown"
    config = getattr(scorer, "config", None)
    models = {
        name: model_digest(value)
        for name, value in sorted(vars(scorer).items())
        if isinstance(value, torch.nn.Module)
    }
    return {
        "scorer": type(scorer).__name__,
        "config": json.loads(json.dumps(dataclasses.asdict(config), default=str))
        if dataclasses.is_dataclass(config)
        else None,
        "models": models,
        "quals_hf": package,
    }
