"""Train a QAGen: fine-tune a seq2seq model on QA data into the ``"qagen"`` format.

Input: the context (at most ``max_source_length`` tokens; a pair whose answer was cut off is
dropped). Target: ``question <sep> answer``, with a dedicated ``<sep>`` token added to the
tokenizer. The saved checkpoint carries its `QAGenFormat` in its config, so
``QualsScorer.from_pretrained(path)`` needs no format argument.

    quals-hf train-qagen --model_name_or_path facebook/bart-large --squad hub \
        --newsqa combined-newsqa-data-v1.json --output_dir qagen-bart-large
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    EvalPrediction,
    PreTrainedTokenizerBase,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
)

from .backend import QAGenBackend
from .codec import QAGenCodec
from .data import from_columns, load_newsqa, load_squad, mix, split_by_context
from .formats import PRESETS, QAGenFormat, answer_in_summary

logger = logging.getLogger("quals_hf")


@dataclass
class QAGenArguments:
    """What to fine-tune, on which QA data."""

    model_name_or_path: str = field(
        default="facebook/bart-large", metadata={"help": "Seq2seq checkpoint to start from."}
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
    tokenizer: PreTrainedTokenizerBase,
    fmt: QAGenFormat,
    max_source_length: int = 1024,
    max_target_length: int = 64,
) -> Any:
    """Tokenize QA rows into QAGen examples; drop pairs whose answer the truncation cut off.

    The text columns stay beside ``input_ids`` and ``labels`` (remove them before training).
    """

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        enc = tokenizer(
            [fmt.render_input(c) for c in batch["context"]],
            truncation=True,
            max_length=max_source_length,
            return_offsets_mapping=True,
        )
        enc["answer_kept"] = []  # is the answer inside the kept part of the context?
        for context, answer, start, offsets in zip(
            batch["context"], batch["answer"], batch["answer_start"], enc.pop("offset_mapping")
        ):
            end_char = max((e for _, e in offsets), default=0) - len(fmt.input_prefix)
            if start < 0:
                start = context.find(answer)
            enc["answer_kept"].append(start >= 0 and start + len(answer) <= end_char)
        targets = [fmt.render_pair(q, a) for q, a in zip(batch["question"], batch["answer"])]
        enc["labels"] = tokenizer(
            text_target=targets, truncation=True, max_length=max_target_length
        )["input_ids"]
        return enc

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


def qagen_metrics(
    codec: QAGenCodec, contexts: list[str], questions: list[str]
) -> Callable[[EvalPrediction], dict[str, float]]:
    """Whether generations are usable for QUALS: parse rate, answer-span rate, question ROUGE-L.

    Generations are parsed by the scorer's own `QAGenCodec`, so the parse rate is what QUALS
    will see. ``contexts`` and ``questions`` are the evaluation rows' inputs and reference
    questions, in evaluation order.
    """

    def compute(eval_pred: EvalPrediction) -> dict[str, float]:
        predictions = eval_pred.predictions
        predictions = predictions[0] if isinstance(predictions, tuple) else predictions
        parsed = spans = 0
        rouge = 0.0
        for ids, context, reference in zip(predictions, contexts, questions):
            pairs = codec.parse([int(t) for t in ids if t >= 0])
            if pairs:
                parsed += 1
                spans += answer_in_summary(pairs[0][1], context)
                rouge += _rouge_l(pairs[0][0], reference)
        n = max(len(contexts), 1)
        return {
            "parse_rate": parsed / n,
            "answer_span_rate": spans / n,
            "question_rouge_l": rouge / n,
        }

    return compute


def train_qagen(
    qagen_args: QAGenArguments, training_args: Seq2SeqTrainingArguments
) -> tuple[Seq2SeqTrainer, dict[str, float]]:
    """Fine-tune ``qagen_args.model_name_or_path`` into a QAGen; saves it to ``output_dir``.

    Returns the trainer and its final evaluation: ``eval_parse_rate`` (generations that parse
    into a pair), ``eval_answer_span_rate`` (whose answer is a span of the input) and
    ``eval_question_rouge_l`` (questions against the references).
    """
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
    fmt = PRESETS["qagen"]
    tokenizer = AutoTokenizer.from_pretrained(qagen_args.model_name_or_path)
    if fmt.separator not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [fmt.separator]})
    model = AutoModelForSeq2SeqLM.from_pretrained(qagen_args.model_name_or_path)
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    model.config.qagen_format = fmt.to_dict()

    qa = mix(*sources, seed=training_args.seed)
    eval_size = min(qagen_args.eval_size, max(len(qa) // 10, 1))
    train_rows, eval_rows = split_by_context(qa, eval_size, seed=training_args.seed)
    lengths = (qagen_args.max_source_length, qagen_args.max_target_length)
    train = prepare_examples(train_rows, tokenizer, fmt, *lengths)
    evaluation = prepare_examples(eval_rows, tokenizer, fmt, *lengths)
    text_columns = ["context", "question", "answer", "answer_start"]
    backend = QAGenBackend.for_model(model)
    codec = QAGenCodec(tokenizer, fmt, backend.eos_ids, tuple(backend.prefix_tokens))
    metrics_fn = qagen_metrics(codec, list(evaluation["context"]), list(evaluation["question"]))
    training_args.predict_with_generate = True
    training_args.generation_max_length = qagen_args.max_target_length
    trainer = Seq2SeqTrainer(
        model=model,
        args=training_args,
        train_dataset=train.remove_columns(text_columns),
        eval_dataset=evaluation.remove_columns(text_columns),
        processing_class=tokenizer,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        compute_metrics=metrics_fn,
    )
    trainer.train()
    trainer.save_model()
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
    return trainer, trainer.evaluate()
