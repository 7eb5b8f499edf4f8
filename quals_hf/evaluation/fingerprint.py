"""What a validity run's rows were made with, kept in ``meta.json`` beside them, so that one
folder never mixes rows of two models, weight dtypes, search widths, text forms or metrics."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

# 2: a finished search group no longer lowers EOS for later groups when the QAGen pads with
# EOS (quals_hf.qagen.search.NO_TOKEN); folders without the key hold rows of search 1
SEARCH_VERSION = 2
DTYPE_NAMES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


class OutDirMismatchError(ValueError):
    """An output folder holds rows made by another model or setting than this run's."""


def qagen_fingerprint(qagen: Path) -> dict[str, str]:
    """What identifies a QAGen folder wherever it lies: its config's and weights' SHA-256."""
    weights = sorted(qagen.glob("*.safetensors")) or sorted(qagen.glob("*.bin"))
    digest = hashlib.sha256()
    for path in weights:
        with path.open("rb") as f:
            while chunk := f.read(1 << 24):
                digest.update(chunk)
    return {
        "config_sha256": hashlib.sha256((qagen / "config.json").read_bytes()).hexdigest(),
        "weights_sha256": digest.hexdigest(),
    }


def model_fingerprint(model: Any) -> dict[str, str]:
    """`qagen_fingerprint` of the folder a model was loaded from; a digest of its weights
    (`quals_hf.core.fingerprint.model_digest`) when it has no local folder (a Hub id, or a
    model built in memory)."""
    folder = Path(str(getattr(model.config, "name_or_path", "") or ""))
    if str(folder) and (folder / "config.json").is_file():
        return qagen_fingerprint(folder)
    from ..core.fingerprint import model_digest

    return {"weights_digest": model_digest(model)}


def dtype_name(model: Any) -> str:
    """``fp32``, ``bf16`` or ``fp16``: the dtype of a model's weights, as the options name it."""
    name = str(model.dtype).removeprefix("torch.")
    return DTYPE_NAMES.get(name, name)


def machine(device: str) -> str:
    """The platform, CPU count, torch threads and version, and the device (with its GPU)."""
    import torch

    cpu = platform.processor() or platform.machine()
    text = f"{platform.platform()}, {cpu}, {os.cpu_count()} CPUs ({torch.get_num_threads()} "
    text += f"torch threads), torch {torch.__version__}, device {device}"
    if device.startswith("cuda") and torch.cuda.is_available():
        text += f" ({torch.cuda.get_device_name()})"
    return text


def prepare_out_dir(out: Path, fingerprint: dict[str, Any], about: dict[str, Any]) -> None:
    """Check that ``out`` holds rows of this ``fingerprint`` (a resume), or start it: a new
    folder gets ``meta.json`` with the fingerprint, ``about`` (what ran it, where) and the date.

    Raises `OutDirMismatchError` naming the keys that differ."""
    meta = out / "meta.json"
    if meta.exists():
        old = json.loads(meta.read_text()).get("fingerprint", {})
        differ = [k for k in {**fingerprint, **old} if old.get(k) != fingerprint.get(k)]
        if differ:
            raise OutDirMismatchError(
                f"{out} holds results of another model or setting ({', '.join(differ)} "
                "differ); pass another output folder or delete that one"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    record = {"fingerprint": fingerprint, **about, "date": str(datetime.date.today())}
    meta.write_text(json.dumps(record, indent=1) + "\n")


def read_meta(out: Path | None) -> dict[str, Any]:
    """The ``meta.json`` of an output folder; empty when there is none."""
    if out is None or not (out / "meta.json").is_file():
        return {}
    return json.loads((out / "meta.json").read_text())
