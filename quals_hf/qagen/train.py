"""Train a QAGen: fine-tune a seq2seq or decoder-only model on QA data.

Input: the context in the format's prompt (at most ``max_source_length`` tokens, cut inside the
context; a pair whose answer was cut off is dropped). Target: ``question <sep> answer`` then
EOS: for a seq2seq model the ``"qagen"`` format with a dedicated ``<sep>`` token; for a
decoder-only model the ``"causal-qagen"`` prompt (``Context: ...`` then ``Question and
answer:``) with ``<sep>`` as plain text, the loss on the target tokens only. Everything that
differs between the two goes through the model's `QAGenBackend`. The saved checkpoint carries its
`QAGenFormat` in its config, so ``QualsScorer.from_pretrained(path)`` needs no format argument.

    quals-hf train-qagen --model_name_or_path facebook/bart-large --squad hub \
        --newsqa combined-newsqa-data-v1.json --output_dir qagen-bart-large
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import (
    DataCollatorForSeq2Seq,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
)

from .augment import augment_rows
from .backend import QAGenBackend
from .codec import QAGenCodec
from .data import (
    from_columns,
    load_newsqa,
    load_squad,
    mix,
    split_by_context,
    with_sentence_contexts,
)
from .formats import FORMAT_FILE, PRESETS, QAGenFormat, answer_in_summary
from .loading import load_qagen

logger = logging.getLogger("quals_hf")


@dataclass
class QAGenArguments:
    """What to fine-tune, on which QA data."""

    model_name_or_path: str = field(
        default="facebook/bart-large",
        metadata={"help": "Checkpoint to start from: seq2seq or decoder-only (causal LM)."},
    )
    squad: str | None = field(
        default=None,
        metadata={"help": "SQuAD v1.1: a path to its JSON file, or 'hub' for rajpurkar/squad."},
    )
    newsqa: str | None = field(
        default=None, metadata={"help": "NewsQA-shaped JSON file (consensus answer spans)."}
    )
    dataset: str | None = field(
        default=None,
        metadata={
            "help": "Any QA data with context/question/answer columns: a .jsonl/.csv/"
            ".parquet file or a datasets name."
        },
    )
    eval_size: int = field(default=500, metadata={"help": "QA pairs held out for evaluation."})
    max_source_length: int = field(default=1024, metadata={"help": "Longest context, in tokens."})
    max_target_length: int = field(
        default=64, metadata={"help": "Longest `question <sep> answer`."}
    )
    train_top_layers: int | None = field(
        default=None,
        metadata={
            "help": "Train only the top N decoder blocks and the decoder's final norm (all "
            "else frozen): much faster on CPUs. Default: train everything."
        },
    )
    sentence_context_rate: float = field(
        default=0.0,
        metadata={
            "help": "Share of QA pairs whose context is only the sentence holding the answer "
            "(QUALS reads short summaries); the rest keep their whole paragraph."
        },
    )
    max_train_examples: int | None = field(
        default=None,
        metadata={"help": "Train on at most this many QA pairs (after shuffling)."},
    )
    lora_r: int | None = field(
        default=None,
        metadata={
            "help": "Train a LoRA adapter of this rank (peft) instead of the weights; saves "
            "only the adapter. Default: no adapter."
        },
    )
    lora_alpha: int | None = field(
        default=None, metadata={"help": "LoRA scaling alpha; default twice the rank."}
    )
    adapter_init: str | None = field(
        default=None,
        metadata={
            "help": "Continue training this LoRA adapter (a peft folder, e.g. the package's "
            "quals_hf/default_qagen) instead of starting a new one; saves the adapter."
        },
    )
    skip_train_examples: int = field(
        default=0,
        metadata={
            "help": "Skip this many training pairs (after shuffling) first: with the same seed, "
            "train on pairs an earlier run of max_train_examples did not see."
        },
    )
    window_rate: float = field(
        default=0.0,
        metadata={
            "help": "Share of QA pairs whose context is 2 to max_window_sentences sentences "
            "around the answer (summary-sized texts; drawn after sentence_context_rate)."
        },
    )
    max_window_sentences: int = field(
        default=3, metadata={"help": "Most sentences in a window context (window_rate)."}
    )
    lower_ptb_rate: float = field(
        default=0.0,
        metadata={
            "help": "Share of QA pairs whose context and answer are lower-cased and "
            "PTB-tokenized (as many summarizers write); needs sacremoses."
        },
    )
    lora_target_modules: str = field(
        default="all-linear",
        metadata={"help": "Modules given adapters: 'all-linear' or comma-separated names."},
    )
    format: str | None = field(
        default=None,
        metadata={
            "help": "QAGen format preset; default 'qagen' for seq2seq, 'causal-qagen' for "
            "decoder-only models."
        },
    )


def _rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 on lower-cased whitespace tokens."""
    a, b = candidate.lower().split(), reference.lower().split()
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 2 * p * r / (p + r)


def prepare_examples(
    qa: Any,
    codec: QAGenCodec,
    backend: QAGenBackend,
    max_source_length: int = 1024,
    max_target_length: int = 64,
) -> Any:
    """Tokenize QA rows into QAGen examples; drop pairs whose answer the truncation cut off.

    The prompt is cut inside the context, never in the format's prefix or suffix. The text
    columns and ``prompt_ids`` (what the model reads before its target) stay beside
    ``input_ids`` and ``labels`` (remove them before training).
    """

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        prompts = codec.encode_inputs(batch["context"], max_source_length, "contexts")
        columns: dict[str, list] = {
            name: [] for name in ("input_ids", "attention_mask", "labels", "prompt_ids")
        }
        columns["answer_kept"] = []
        for prompt, question, answer in zip(prompts, batch["question"], batch["answer"]):
            cut = len(prompt) >= max_source_length
            kept = not cut or answer_in_summary(answer, codec.tokenizer.decode(prompt))
            columns["answer_kept"].append(kept)
            target = codec.target_ids(question, answer)
            if len(target) > max_target_length:  # cut, but still end with EOS
                target = [*target[: max_target_length - 1], codec.eos_id]
            for name, ids in backend.training_example(prompt, target).items():
                columns[name].append(ids)
            columns["prompt_ids"].append(prompt)
        return columns

    before = len(qa)
    qa = qa.map(tokenize, batched=True, desc="tokenizing")  # text columns kept, for metrics
    qa = qa.filter(lambda kept: kept, input_columns="answer_kept").remove_columns("answer_kept")
    if len(qa) < before:
        logger.warning(
            "dropped %d of %d QA pairs whose answer lies beyond %d tokens",
            before - len(qa),
            before,
            max_source_length,
        )
    return qa


def usability(
    generations: list[list[int]], codec: QAGenCodec, contexts: list[str], questions: list[str]
) -> dict[str, float]:
    """Whether generations are usable for QUALS: parse rate, answer-span rate, question ROUGE-L.

    Generations are parsed by the scorer's own `QAGenCodec`, so the parse rate is what QUALS
    will see.
    """
    parsed = spans = 0
    rouge = 0.0
    for ids, context, reference in zip(generations, contexts, questions):
        pairs = codec.parse(ids)
        if pairs:
            parsed += 1
            spans += answer_in_summary(pairs[0][1], context)
            rouge += _rouge_l(pairs[0][0], reference)
    n = max(len(contexts), 1)
    return {"parse_rate": parsed / n, "answer_span_rate": spans / n, "question_rouge_l": rouge / n}


class QAGenTrainer(Seq2SeqTrainer):
    """A Seq2SeqTrainer whose evaluation also generates (greedy, through the backend) and
    reports `usability`, for seq2seq and decoder-only QAGens alike."""

    def __init__(
        self, *args: Any, codec: QAGenCodec, eval_rows: Any, max_new_tokens: int, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.codec = codec
        self.backend = QAGenBackend.for_model(self.model)
        self.eval_rows = eval_rows
        self.max_new_tokens = max_new_tokens

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        metrics = super().evaluate(*args, **kwargs)
        prefix = kwargs.get("metric_key_prefix", "eval")
        was_training = self.model.training
        self.model.eval()
        batch = self.args.per_device_eval_batch_size
        prompts = list(self.eval_rows["prompt_ids"])
        generations = [
            ids
            for start in range(0, len(prompts), batch)
            for ids in self.backend.greedy(prompts[start : start + batch], self.max_new_tokens)
        ]
        self.model.train(was_training)
        found = usability(
            generations, self.codec, self.eval_rows["context"], self.eval_rows["question"]
        )
        found = {f"{prefix}_{name}": value for name, value in found.items()}
        self.log(found)
        metrics.update(found)
        return metrics


def train_only_top_layers(model: PreTrainedModel, n: int) -> int:
    """Freeze everything but the top ``n`` decoder blocks and the decoder's final norm.

    Returns the number of trainable parameters.
    """
    decoder = model.get_decoder()
    norm = next(
        (
            getattr(decoder, name)
            for name in ("norm", "final_layer_norm", "layer_norm")
            if getattr(decoder, name, None) is not None
        ),
        None,
    )
    if not 0 < n <= len(decoder.layers):
        raise ValueError(f"train_top_layers must be in 1..{len(decoder.layers)}, got {n}")
    model.requires_grad_(False)
    for module in [*decoder.layers[-n:], *([norm] if norm is not None else [])]:
        module.requires_grad_(True)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def add_lora(model: PreTrainedModel, qagen_args: QAGenArguments) -> PreTrainedModel:
    """Wrap ``model`` in a trainable peft LoRA adapter: ``adapter_init``'s, else a new one of
    rank ``lora_r`` (every layer's linear maps by default)."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if qagen_args.adapter_init:
        return PeftModel.from_pretrained(model, qagen_args.adapter_init, is_trainable=True)

    targets = qagen_args.lora_target_modules
    config = LoraConfig(
        r=qagen_args.lora_r,
        lora_alpha=qagen_args.lora_alpha or 2 * qagen_args.lora_r,
        lora_dropout=0.0,
        target_modules=targets if targets == "all-linear" else targets.split(","),
        task_type="SEQ_2_SEQ_LM" if model.config.is_encoder_decoder else "CAUSAL_LM",
    )
    return get_peft_model(model, config)


def _qa_sources(qagen_args: QAGenArguments) -> list[Any]:
    """The QA data ``qagen_args`` names, one table of QA rows per source (SQuAD, NewsQA, a
    dataset); a ValueError when it names none."""
    from ..core.tables import load_table

    sources = []
    if qagen_args.squad:
        sources.append(load_squad(None if qagen_args.squad == "hub" else qagen_args.squad))
    if qagen_args.newsqa:
        sources.append(load_newsqa(qagen_args.newsqa))
    if qagen_args.dataset:
        sources.append(from_columns(load_table(qagen_args.dataset)))
    if not sources:
        raise ValueError("no QA data: give --squad, --newsqa and/or --dataset")
    return sources


def _trains_adapter(qagen_args: QAGenArguments) -> bool:
    """Whether a LoRA adapter is trained (``lora_r`` or ``adapter_init``) rather than weights;
    a ValueError for ways of training that exclude each other."""
    if qagen_args.lora_r and qagen_args.adapter_init:
        raise ValueError("give lora_r (a new adapter) or adapter_init (an existing one), not both")
    adapter = bool(qagen_args.lora_r or qagen_args.adapter_init)
    if qagen_args.train_top_layers and adapter:
        raise ValueError("give train_top_layers or a LoRA adapter, not both")
    return adapter


def _fit_tokenizer(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, fmt: QAGenFormat, adapter: bool
) -> None:
    """Give the tokenizer a pad token (EOS) and the ``"qagen"`` format's separator token, and
    the model an embedding for a new token; a ValueError when a LoRA adapter would have to
    learn one (it cannot)."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if fmt.name == "qagen" and fmt.separator not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [fmt.separator]})
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        if adapter:  # the new token's embedding would stay untrained under LoRA
            raise ValueError(
                f"format {fmt.name!r} adds the token {fmt.separator!r} to the tokenizer, which "
                "a LoRA adapter cannot learn; use a format whose separator is plain text "
                "(e.g. 'causal-qagen' or 't5-sep') or train without lora_r"
            )
        model.resize_token_embeddings(len(tokenizer))


def _load_model(
    qagen_args: QAGenArguments, adapter: bool
) -> tuple[PreTrainedModel, QAGenBackend, QAGenCodec]:
    """The model to fine-tune, in training mode, with its backend and codec (its tokenizer): its
    config carries the QAGen format, it forces no BOS, and with ``train_top_layers`` only its
    top decoder blocks train."""
    model, tokenizer = load_qagen(qagen_args.model_name_or_path, device="cpu")
    model.train()
    backend = QAGenBackend.for_model(model)
    fmt = PRESETS[qagen_args.format or backend.default_format]
    _fit_tokenizer(model, tokenizer, fmt, adapter)
    model.config.qagen_format = fmt.to_dict()
    # targets are trained without a leading BOS: the checkpoint must not force one
    model.generation_config.forced_bos_token_id = None
    if qagen_args.train_top_layers:
        trainable = train_only_top_layers(model, qagen_args.train_top_layers)
        logger.info(
            "training %d parameters (top %d layers)", trainable, qagen_args.train_top_layers
        )
    codec = QAGenCodec(tokenizer, fmt, backend.eos_ids, tuple(backend.prefix_tokens))
    return model, backend, codec


def _qa_rows(sources: list[Any], qagen_args: QAGenArguments, seed: int) -> tuple[Any, Any]:
    """The training and evaluation rows: the sources mixed, evaluation pairs held out by
    context, the training slice asked for (``skip_train_examples``, ``max_train_examples``),
    and contexts rewritten into sentences, windows and lower-cased PTB text at their rates."""
    qa = mix(*sources, seed=seed)
    eval_size = min(qagen_args.eval_size, max(len(qa) // 10, 1))
    train_rows, eval_rows = split_by_context(qa, eval_size, seed=seed)
    skip = min(qagen_args.skip_train_examples, len(train_rows))
    stop = len(train_rows)
    if qagen_args.max_train_examples is not None:
        stop = min(skip + qagen_args.max_train_examples, stop)
    train_rows = train_rows.select(range(skip, stop))
    rate = qagen_args.sentence_context_rate
    forms = {
        "window_rate": qagen_args.window_rate,
        "max_window_sentences": qagen_args.max_window_sentences,
        "lower_ptb_rate": qagen_args.lower_ptb_rate,
    }
    train_rows = with_sentence_contexts(train_rows, rate, seed=seed)
    eval_rows = with_sentence_contexts(eval_rows, rate, seed=seed + 1)
    if any(forms.values()):
        train_rows = augment_rows(train_rows, **forms, seed=seed)
        eval_rows = augment_rows(eval_rows, **forms, seed=seed + 1)
    return train_rows, eval_rows


def _examples(
    rows: tuple[Any, Any], codec: QAGenCodec, backend: QAGenBackend, qagen_args: QAGenArguments
) -> tuple[Any, Any]:
    """The training and evaluation rows tokenized (`prepare_examples`), a decoder-only model's
    prompts cut to leave its target room in the model's positions."""
    source_limit = qagen_args.max_source_length
    if backend.prompt_limit_includes_generation and backend.max_positions:
        # a decoder-only model reads prompt and target in one window
        source_limit = min(source_limit, backend.max_positions - qagen_args.max_target_length)
    lengths = (source_limit, qagen_args.max_target_length)
    train_rows, eval_rows = rows
    return (
        prepare_examples(train_rows, codec, backend, *lengths),
        prepare_examples(eval_rows, codec, backend, *lengths),
    )


def _trainer(
    model: PreTrainedModel,
    codec: QAGenCodec,
    examples: tuple[Any, Any],
    qagen_args: QAGenArguments,
    training_args: Seq2SeqTrainingArguments,
    adapter: bool,
) -> QAGenTrainer:
    """The `QAGenTrainer` of ``model`` (wrapped in its LoRA adapter first when one trains) on
    the tokenized examples; evaluation also generates from the evaluation prompts."""
    train, evaluation = examples
    text_columns = ["context", "question", "answer", "answer_start", "prompt_ids"]
    training_args.predict_with_generate = False
    if adapter:
        model = add_lora(model, qagen_args)
        trainable, total = model.get_nb_trainable_parameters()
        logger.info("training %d of %d parameters (LoRA)", trainable, total)
    return QAGenTrainer(
        model=model,
        args=training_args,
        train_dataset=train.remove_columns(text_columns),
        eval_dataset=evaluation.remove_columns(text_columns),
        processing_class=codec.tokenizer,
        data_collator=DataCollatorForSeq2Seq(codec.tokenizer, model=model),
        codec=codec,
        eval_rows=evaluation,
        max_new_tokens=qagen_args.max_target_length,
    )


def _save(
    trainer: QAGenTrainer,
    qagen_args: QAGenArguments,
    training_args: Seq2SeqTrainingArguments,
    adapter: bool,
) -> None:
    """Save the model (or its adapter, with the format's file beside it) and a model card."""
    trainer.save_model()
    if adapter and trainer.is_world_process_zero():
        # the adapter folder holds no model config: the format goes beside it
        fmt = trainer.codec.format
        Path(training_args.output_dir, FORMAT_FILE).write_text(json.dumps(fmt.to_dict(), indent=1))
    names = [
        n
        for n, given in (
            ("squad", qagen_args.squad),
            ("newsqa", qagen_args.newsqa),
            (qagen_args.dataset, qagen_args.dataset),
        )
        if given
    ]
    trainer.create_model_card(
        model_name=training_args.output_dir.rstrip("/").split("/")[-1],
        finetuned_from=qagen_args.model_name_or_path,
        dataset=names,
        tags=["quals", "qagen", "question-generation", "summarization-factuality"],
    )


def train_qagen(
    qagen_args: QAGenArguments, training_args: Seq2SeqTrainingArguments
) -> tuple[Seq2SeqTrainer, dict[str, float]]:
    """Fine-tune ``qagen_args.model_name_or_path`` into a QAGen; saves it to ``output_dir``.

    Seq2seq and decoder-only checkpoints both work (``config.is_encoder_decoder`` decides).
    Returns the trainer and its final evaluation: ``eval_loss``, ``eval_parse_rate``
    (greedy generations that parse into a pair), ``eval_answer_span_rate`` (whose answer is a
    span of the input) and ``eval_question_rouge_l`` (questions against the references).
    """
    sources = _qa_sources(qagen_args)
    adapter = _trains_adapter(qagen_args)
    model, backend, codec = _load_model(qagen_args, adapter)
    rows = _qa_rows(sources, qagen_args, training_args.seed)
    examples = _examples(rows, codec, backend, qagen_args)
    trainer = _trainer(model, codec, examples, qagen_args, training_args, adapter)
    resume = training_args.resume_from_checkpoint
    trainer.train(resume_from_checkpoint=True if resume == "last" else resume)
    _save(trainer, qagen_args, training_args, adapter)
    return trainer, trainer.evaluate()
