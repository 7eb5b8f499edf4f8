"""Tiny models trained on the toy world in seconds on a CPU: real models for tests and demos.

No QAGen checkpoint can be downloaded here, and random weights show nothing about QUALS. This
module builds a word-level tokenizer for the toy world and small BARTs trained from scratch with
a fixed seed: a QAGen writing ``question <sep> answer`` pairs for toy-world texts, and an MLE
summarizer for ConSeq examples.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    BartForQuestionAnswering,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

from ..core.loading import cache_root
from .world import (
    SEP,
    document_questions,
    make_examples,
    qa_examples,
    summary_questions,
    vocabulary,
)

TRAIN_SEED = 1234
TOY_QG_TEMPLATE = "{summary} <sep> {answer}"  # the toy QG's input (QAGS' qg_template)
# How the decoder-only toy QAGen reads and writes (a `QAGenFormat` dict, saved in its config):
# the prompt is the text closed by `<s>`, the target `question <sep> answer </s>` follows it.
TOY_CAUSAL_FORMAT = {
    "name": "toy-causal",
    "input_prefix": "",
    "input_suffix": " <s>",
    "template": "{question} <sep> {answer}",
    "pair_delimiter": None,
}

T = TypeVar("T")
M = TypeVar("M", bound=torch.nn.Module)


def toy_tokenizer(append_eos: bool = True) -> PreTrainedTokenizerFast:
    """A word-level tokenizer covering every toy-world token; appends ``</s>`` to each text
    (``append_eos=False``: adds nothing, as decoder-only tokenizers usually do)."""
    vocab = {token: i for i, token in enumerate(vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>" if append_eos else "$A",
        pair="<s> $A </s> $B:1 </s>:1",  # (question, context) for extractive QA
        special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        additional_special_tokens=[SEP],
        model_max_length=128,
    )


def toy_bart_config(
    tokenizer: PreTrainedTokenizerFast, d_model: int = 64, layers: int = 2
) -> BartConfig:
    """A small BART config matching ``tokenizer``: decoding starts from ``<s>``."""
    return BartConfig(
        vocab_size=len(tokenizer),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=2 * d_model,
        decoder_ffn_dim=2 * d_model,
        max_position_embeddings=tokenizer.model_max_length,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.bos_token_id,
        forced_eos_token_id=None,
        dropout=0.0,
        attention_dropout=0.0,
        scale_embedding=True,
    )


def train_toy_seq2seq(
    pairs: list[tuple[str, str]],
    output_dir: str | Path | None = None,
    steps: int = 700,
    batch_size: int = 48,
    learning_rate: float = 5e-3,
    seed: int = TRAIN_SEED,
    verbose: bool = False,
    target_bos: bool = False,
    d_model: int = 64,
    layers: int = 2,
    start: BartForConditionalGeneration | None = None,
) -> tuple[BartForConditionalGeneration, PreTrainedTokenizerFast]:
    """Train a small BART (``d_model`` wide, ``layers`` deep) from scratch on pairs of
    ``(input text, target text)``, or go on training ``start`` in place (``d_model`` and
    ``layers`` are then ignored).

    A plain AdamW loop (faster than a Trainer for a model this small), deterministic for a
    given seed and thread count. ``target_bos`` starts every label with ``<s>``, as
    checkpoints fine-tuned with a BOS-adding target template do (the default: none, as
    fairseq-style checkpoints). Returns ``(model, tokenizer)``, saved to ``output_dir`` if set.
    """
    torch.manual_seed(seed)
    tokenizer = toy_tokenizer()
    model = (
        start
        if start is not None
        else BartForConditionalGeneration(toy_bart_config(tokenizer, d_model, layers))
    )

    def make_batch(batch: list[tuple[str, str]]) -> dict[str, torch.Tensor]:
        enc = tokenizer(
            [t for t, _ in batch],
            text_target=[q for _, q in batch],
            padding=True,
            return_tensors="pt",
        )
        labels = enc["labels"]
        if target_bos:
            bos = torch.full((labels.shape[0], 1), tokenizer.bos_token_id)
            labels = torch.cat([bos, labels], dim=1)
        labels[labels == tokenizer.pad_token_id] = -100
        enc["labels"] = labels
        return enc

    _train(model, pairs, make_batch, steps, batch_size, learning_rate, seed, verbose)
    return _saved(model, tokenizer, output_dir)


def _saved(
    model: M, tokenizer: PreTrainedTokenizerFast, output_dir: str | Path | None
) -> tuple[M, PreTrainedTokenizerFast]:
    """``(model, tokenizer)``, first saved to ``output_dir`` when one is given."""
    if output_dir is not None:
        model.save_pretrained(output_dir)
        tokenizer.save_pretrained(output_dir)
    return model, tokenizer


def _train(
    model: torch.nn.Module,
    examples: list[T],
    make_batch: Callable[[list[T]], dict[str, torch.Tensor]],
    steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    verbose: bool,
) -> None:
    """A plain AdamW loop with a one-cycle schedule over random batches of ``examples``."""
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=learning_rate, total_steps=steps, pct_start=0.1
    )
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        loss = model(**make_batch(rng.sample(examples, batch_size))).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if verbose and (step % 100 == 0 or step == steps - 1):
            print(f"step {step:5d}  loss {loss.item():.4f}  {time.perf_counter() - start:.0f}s")
    model.eval()


def train_toy_qagen(
    output_dir: str | Path | None = None,
    num_stories: int = 1500,
    seed: int = TRAIN_SEED,
    **kwargs: Any,
) -> tuple[BartForConditionalGeneration, PreTrainedTokenizerFast]:
    """The toy QAGen: writes ``question <sep> answer`` for toy-world texts (about 50 s on
    one CPU thread).

    Stories come from ``seed``; tests and demos draw theirs from other seeds, so the model is
    always scored on unseen stories. ``kwargs`` go to `train_toy_seq2seq`.
    """
    pairs = qa_examples(make_examples(num_stories, seed=seed))
    return train_toy_seq2seq(pairs, output_dir, seed=seed, **kwargs)


def toy_llama_config(
    tokenizer: PreTrainedTokenizerFast, hidden_size: int = 64, layers: int = 2
) -> LlamaConfig:
    """A small Llama config matching ``tokenizer``, with room for a prompt and 60 new tokens."""
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2 * tokenizer.model_max_length,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )


def train_toy_causal_qagen(
    output_dir: str | Path | None = None,
    num_stories: int = 1500,
    seed: int = TRAIN_SEED,
    steps: int = 2500,
    batch_size: int = 48,
    learning_rate: float = 5e-3,
    verbose: bool = False,
) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """A decoder-only toy QAGen: reads ``text <s>``, writes ``question <sep> answer </s>``.

    The same stories and pairs as `train_toy_qagen`; the loss is on the target tokens only
    (2500 steps, about 3 minutes on one CPU thread: at 1500 it prefers faithful summaries in
    only 91 of 100 test pairs, at 2500 in 99). Its format (`TOY_CAUSAL_FORMAT`) is saved in
    ``config.qagen_format``.
    """
    torch.manual_seed(seed)
    tokenizer = toy_tokenizer(append_eos=False)
    model = LlamaForCausalLM(toy_llama_config(tokenizer))
    model.config.qagen_format = TOY_CAUSAL_FORMAT
    suffix, eos = TOY_CAUSAL_FORMAT["input_suffix"], tokenizer.eos_token_id
    examples = [
        (tokenizer(text + suffix)["input_ids"], tokenizer(target)["input_ids"] + [eos])
        for text, target in qa_examples(make_examples(num_stories, seed=seed))
    ]

    def make_batch(batch: list[tuple[list[int], list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(p) + len(t) for p, t in batch)
        ids = torch.full((len(batch), width), tokenizer.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (prompt, target) in enumerate(batch):
            n = len(prompt) + len(target)
            ids[i, :n] = torch.tensor(prompt + target)
            labels[i, len(prompt) : n] = torch.tensor(target)
            mask[i, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    _train(model, examples, make_batch, steps, batch_size, learning_rate, seed, verbose)
    return _saved(model, tokenizer, output_dir)


def train_toy_summarizer(
    output_dir: str | Path | None = None,
    num_stories: int = 1500,
    seed: int = TRAIN_SEED + 1,
    steps: int = 300,
    **kwargs: Any,
) -> tuple[BartForConditionalGeneration, PreTrainedTokenizerFast]:
    """An MLE toy summarizer (document -> faithful summary), the start of ConSeq training.

    Few steps by default: the model is still unsure of its facts, which is what ConSeq fixes.
    """
    pairs = [(ex.document, ex.summary) for ex in make_examples(num_stories, seed=seed)]
    return train_toy_seq2seq(pairs, output_dir, seed=seed, steps=steps, **kwargs)


def train_toy_qg(
    output_dir: str | Path | None = None,
    num_stories: int = 1500,
    seed: int = TRAIN_SEED + 2,
    steps: int = 800,
    learning_rate: float = 3e-3,
    **kwargs: Any,
) -> tuple[BartForConditionalGeneration, PreTrainedTokenizerFast]:
    """QAGS' question generator for the toy world: ``summary <sep> answer`` -> question.

    At the QAGen's learning rate the model stalls on answer-independent questions; 3e-3 learns
    to copy the summary's entities (about 40 s on 2 CPU cores).
    """
    pairs = [
        (TOY_QG_TEMPLATE.format(summary=text, answer=a), q)
        for ex in make_examples(num_stories, seed=seed)
        for text, story in ((ex.summary, ex.story), (ex.corrupted_summary, ex.corrupted_story))
        for q, a in summary_questions(story)
    ]
    return train_toy_seq2seq(
        pairs, output_dir, seed=seed, steps=steps, learning_rate=learning_rate, **kwargs
    )


def train_toy_qa(
    output_dir: str | Path | None = None,
    num_stories: int = 1500,
    seed: int = TRAIN_SEED + 3,
    steps: int = 200,
    batch_size: int = 48,
    learning_rate: float = 5e-3,
    verbose: bool = False,
) -> tuple[BartForQuestionAnswering, PreTrainedTokenizerFast]:
    """QAGS' extractive QA model for the toy world: answer spans in documents and summaries."""
    torch.manual_seed(seed)
    tokenizer = toy_tokenizer()
    model = BartForQuestionAnswering(toy_bart_config(tokenizer))
    examples = [
        (q, text, text.index(a), text.index(a) + len(a))
        for ex in make_examples(num_stories, seed=seed)
        for text, questions in (
            (ex.document, document_questions(ex.story)),
            (ex.summary, summary_questions(ex.story)),
        )
        for q, a in questions
        if a in text
    ]

    def make_batch(batch: list[tuple[str, str, int, int]]) -> dict[str, torch.Tensor]:
        enc = tokenizer(
            [q for q, *_ in batch],
            [c for _, c, *_ in batch],
            padding=True,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping")
        starts, ends = [], []
        for i, (*_, first, last) in enumerate(batch):
            context = torch.tensor([s == 1 for s in enc.sequence_ids(i)])
            starts.append(int((context & (offsets[i, :, 0] == first)).nonzero()[0]))
            ends.append(int((context & (offsets[i, :, 1] == last)).nonzero()[0]))
        return {**enc, "start_positions": torch.tensor(starts), "end_positions": torch.tensor(ends)}

    _train(model, examples, make_batch, steps, batch_size, learning_rate, seed, verbose)
    return _saved(model, tokenizer, output_dir)


def default_cache_dir() -> Path:
    """Where `load_or_train_toy_qagen` keeps the trained toy QAGen."""
    return cache_root() / f"toy-qagen-seed{TRAIN_SEED}"


def load_or_train_toy_qagen(
    cache_dir: str | Path | None = None, verbose: bool = False
) -> tuple[BartForConditionalGeneration, PreTrainedTokenizerFast]:
    """The toy QAGen from ``cache_dir`` if it was trained before, else train and save it."""
    path = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if (path / "model.safetensors").exists():
        return BartForConditionalGeneration.from_pretrained(path).eval(), toy_tokenizer()
    return train_toy_qagen(path, verbose=verbose)
