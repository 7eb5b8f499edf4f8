"""Shared fixtures. No test may reach a hub: everything is built locally."""

import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_EVALUATE_OFFLINE"] = "1"

import pytest
import torch
from transformers import BartForConditionalGeneration

from quals_hf import QualsScorer
from quals_hf.toy.models import (
    toy_bart_config,
    toy_tokenizer,
    train_toy_causal_qagen,
    train_toy_qagen,
    train_toy_summarizer,
)


@pytest.fixture(scope="session")
def torchrun():
    """The torchrun command, found through this Python whatever the PATH."""
    return [sys.executable, "-m", "torch.distributed.run"]


@pytest.fixture(scope="session")
def toy_qagen_dir(tmp_path_factory):
    """The toy QAGen, trained once per test run (about 35 s on 2 cores), saved to disk."""
    path = tmp_path_factory.mktemp("toy_qagen")
    train_toy_qagen(path)
    return path


@pytest.fixture(scope="session")
def toy_qagen(toy_qagen_dir):
    model = BartForConditionalGeneration.from_pretrained(toy_qagen_dir).eval()
    return model, toy_tokenizer()


@pytest.fixture(scope="session")
def toy_summarizer_dir(tmp_path_factory):
    """An MLE toy summarizer (document -> summary), trained once per test run (about 35 s)."""
    path = tmp_path_factory.mktemp("toy_summarizer")
    train_toy_summarizer(path, steps=700)
    return path


@pytest.fixture(scope="session")
def toy_scorer(toy_qagen):
    model, tokenizer = toy_qagen
    return QualsScorer(model, tokenizer, progress=False)


@pytest.fixture()
def random_toy_model():
    """An untrained model with the toy tokenizer: cheap, for mechanics only."""
    torch.manual_seed(0)
    tokenizer = toy_tokenizer()
    return BartForConditionalGeneration(
        toy_bart_config(tokenizer, d_model=32, layers=1)
    ).eval(), tokenizer


@pytest.fixture(scope="session")
def toy_causal_qagen_dir(tmp_path_factory):
    """The decoder-only toy QAGen (a tiny Llama), trained once per test run, saved to disk."""
    path = tmp_path_factory.mktemp("toy_causal_qagen")
    train_toy_causal_qagen(path)
    return path


@pytest.fixture(scope="session")
def load_benchmark():
    """Import a script of ``benchmarks/`` (not a package) as a module, by file name."""
    import importlib.util
    from pathlib import Path

    def load(name: str):
        path = Path(__file__).parent.parent / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses resolve their module by name
        spec.loader.exec_module(module)
        return module

    return load
