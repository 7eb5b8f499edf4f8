"""QA data for training a QAGen: SQuAD v1.1, NewsQA-shaped JSON, or any QA dataset.

Every loader returns a `datasets.Dataset` with ``context``, ``question`` and ``answer`` (and
``answer_start``, the answer's character offset in the context, -1 when unknown), one row per
distinct answer text of a question, as the paper trains its QAGen.
"""

from __future__ import annotations

import gzip
import itertools
import json
import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

COLUMNS = ("context", "question", "answer", "answer_start")


def _rows(context: str, question: str, answers: Iterable[tuple[str, int]]) -> Iterator[dict]:
    """One row per distinct (stripped) answer text of a question."""
    seen = set()
    for raw, start in answers:
        text = raw.strip()
        if start >= 0:
            start += len(raw) - len(raw.lstrip())  # past the stripped leading whitespace
        if text and question.strip() and text not in seen:
            seen.add(text)
            yield {
                "context": context,
                "question": question.strip(),
                "answer": text,
                "answer_start": int(start),
            }


def read_json(path: str | Path) -> Any:
    """A JSON document from a ``.json`` file or a gzip-compressed ``.json.gz`` one."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def _dataset(rows: Iterable[dict]) -> Any:
    from datasets import Dataset

    rows = list(rows)
    return Dataset.from_dict({c: [r[c] for r in rows] for c in COLUMNS})


def squad_rows(data: dict) -> Iterator[dict]:
    """Rows of a SQuAD v1.1 JSON document (``{"data": [{"paragraphs": [...]}]}``)."""
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield from _rows(
                    paragraph["context"],
                    qa["question"],
                    ((a["text"], a.get("answer_start", -1)) for a in qa["answers"]),
                )


def load_squad(path: str | Path | None = None, split: str = "train") -> Any:
    """SQuAD v1.1: from the original JSON file at ``path`` (``.json`` or ``.json.gz``), else
    ``rajpurkar/squad`` (online)."""
    if path is not None:
        return _dataset(squad_rows(read_json(path)))
    from datasets import load_dataset

    hub = load_dataset("rajpurkar/squad", split=split)
    return _dataset(
        row
        for ex in hub
        for row in _rows(
            ex["context"], ex["question"], zip(ex["answers"]["text"], ex["answers"]["answer_start"])
        )
    )


def newsqa_rows(data: dict, split: str = "train") -> Iterator[dict]:
    """Rows of NewsQA's combined JSON: each story's questions with a consensus answer span.

    ``{"data": [{"type": "train", "text": ..., "questions": [{"q": ..., "consensus":
    {"s": 3, "e": 9}}]}]}``. Only stories of ``split`` are read (by their ``type``; stories
    without one are kept); questions whose consensus is ``badQuestion`` or ``noAnswer`` are
    skipped.
    """
    for story in data["data"]:
        if story.get("type", split) != split:
            continue
        text = story["text"]
        for question in story["questions"]:
            consensus = question.get("consensus", {})
            if "s" not in consensus or "e" not in consensus:
                continue
            start, end = consensus["s"], consensus["e"]
            yield from _rows(text, question["q"], [(text[start:end], start)])


def load_newsqa(path: str | Path, split: str = "train") -> Any:
    """NewsQA-shaped JSON (the dataset must be built locally from CNN stories; no download)."""
    return _dataset(newsqa_rows(read_json(path), split))


def from_columns(
    dataset: Any, context: str = "context", question: str = "question", answer: str = "answer"
) -> Any:
    """Rows from any dataset with context/question/answer columns (answer: text or list)."""

    def rows() -> Iterator[dict]:
        for ex in dataset:
            answers = ex[answer] if isinstance(ex[answer], list) else [ex[answer]]
            yield from _rows(ex[context], ex[question], ((a, -1) for a in answers))

    return _dataset(rows())


def mix(*datasets: Any, seed: int = 0) -> Any:
    """Concatenate QA datasets and shuffle them (the paper mixes SQuAD and NewsQA)."""
    from datasets import concatenate_datasets

    return concatenate_datasets([d for d in datasets if d is not None]).shuffle(seed=seed)


SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]*[A-Z0-9])")


def sentence_bounds(context: str) -> list[int]:
    """Character offsets where the sentences of ``context`` begin, and its length last."""
    return [0, *(m.end() for m in SENTENCE_END.finditer(context)), len(context)]


def answer_sentence(context: str, answer: str, answer_start: int = -1) -> tuple[str, int]:
    """The sentence of ``context`` that holds the answer, and the answer's offset in it.

    Sentences end at ``.``, ``!`` or ``?`` followed by white space and a capital or digit. The
    answer is found at ``answer_start`` (else its first occurrence); an answer that runs across
    a sentence end keeps the whole context.
    """
    start = answer_start if answer_start >= 0 else context.find(answer)
    if start < 0:
        return context, answer_start
    for begin, end in itertools.pairwise(sentence_bounds(context)):
        if begin <= start < end:
            if start + len(answer) > end:
                break
            sentence = context[begin:end]
            lead = len(sentence) - len(sentence.lstrip())
            return sentence.strip(), start - begin - lead
    return context, start


def with_sentence_contexts(qa: Any, rate: float, seed: int = 0) -> Any:
    """Replace the context of about ``rate`` of the rows by the sentence holding their answer.

    QUALS asks its QAGen about summaries, which are short: training on single sentences as well
    as whole paragraphs (as the shared SmolLM2 QAGen was) prepares it for both. Rows are drawn
    with a seeded generator, so the same call gives the same data.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"sentence context rate must be in [0, 1], got {rate}")
    if rate == 0.0:
        return qa
    draw = random.Random(seed)

    def shorten(row: dict) -> dict:
        if draw.random() < rate:
            row["context"], row["answer_start"] = answer_sentence(
                row["context"], row["answer"], row["answer_start"]
            )
        return row

    return qa.map(shorten, desc="answer-sentence contexts")


def split_by_context(qa: Any, eval_size: int, seed: int = 0) -> tuple[Any, Any]:
    """``(train, eval)`` with about ``eval_size`` eval rows and no context in both.

    Held-out contexts are drawn whole, so the evaluation never sees a text the model trained on.
    """
    import random
    from collections import Counter

    counts = Counter(qa["context"])
    contexts = sorted(counts)
    random.Random(seed).shuffle(contexts)
    held: set[str] = set()
    total = 0
    for context in contexts:
        if total >= eval_size:
            break
        held.add(context)
        total += counts[context]
    in_eval = [c in held for c in qa["context"]]
    rows = range(len(qa))
    return (
        qa.select([i for i in rows if not in_eval[i]]),
        qa.select([i for i in rows if in_eval[i]]),
    )
