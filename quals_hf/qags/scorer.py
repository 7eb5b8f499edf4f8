"""`QagsScorer`: the QAGS baseline (Wang et al., ACL 2020), the three-model predecessor of QUALS.

For each summary: take answer candidates from the summary (spaCy entities and noun chunks, or
the regex extractor), generate one question per candidate with an answer-conditioned question
generation (QG) model and beam search, answer every question with an extractive QA model on the
summary and on the source, drop the questions whose summary-side answer does not match their
candidate, and average the token F1 between the two answers. Every stage runs batched over all
the questions of a batch of summaries. See docs/qags.md.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
from transformers import (
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from ..core.batching import batched_apply, nan_mean
from ..core.inputs import check_parallel, default_max_length
from ..core.loading import load_seq2seq, resolve_dtype
from .answers import DEFAULT_SPACY_MODEL, AnswerExtractor, get_answer_extractor
from .extractive_qa import answer_questions


@dataclass(frozen=True)
class QagsConfig:
    """The parameters of QAGS; the defaults are the published ones.

    Attributes:
        num_answers: answer candidates (and questions) per summary.
        num_beams: beam size of question generation.
        min_question_tokens: shortest question in tokens.
        max_question_tokens: longest question in tokens.
        qg_template: the QG model's input; ``{summary}`` and ``{answer}`` are filled in
            (QAGS' models read ``summary [ANS] answer``), and ``{highlighted}`` is the summary
            with the answer marked as ``<hl> answer <hl>`` (lmqg's QG models).
        answer_match_f1: a question is kept when the token F1 between its summary-side answer
            and its candidate is at least this (1.0: the same words after normalisation).
        qa_max_length: tokens per QA window (question included); capped at the QA model's
            limit (`default_max_length`), the stride then shrinking in proportion.
        qa_stride: tokens shared by consecutive windows of a long source.
        max_answer_tokens: longest answer span in tokens.
        spacy_model: the spaCy pipeline of ``answer_extractor="spacy"`` (QAGS used
            ``en_core_web_lg``; the small English pipeline is the lighter default).
    """

    num_answers: int = 10
    num_beams: int = 5
    min_question_tokens: int = 0
    max_question_tokens: int = 32
    qg_template: str = "{summary} [ANS] {answer}"
    answer_match_f1: float = 1.0
    qa_max_length: int = 384
    qa_stride: int = 128
    max_answer_tokens: int = 30
    spacy_model: str = DEFAULT_SPACY_MODEL

    def __post_init__(self) -> None:
        for name in ("num_answers", "num_beams", "max_question_tokens", "max_answer_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.min_question_tokens < 0:
            raise ValueError(f"min_question_tokens must be >= 0, got {self.min_question_tokens}")
        if not 0 <= self.answer_match_f1 <= 1:
            raise ValueError(f"answer_match_f1 must be in [0, 1], got {self.answer_match_f1}")
        both = "{answer}" in self.qg_template and "{summary}" in self.qg_template
        if not both and "{highlighted}" not in self.qg_template:
            raise ValueError("qg_template must contain {summary} and {answer}, or {highlighted}")

    def qg_input(self, summary: str, answer: str) -> str:
        """The question generator's input for one answer candidate of a summary."""
        at = summary.lower().find(answer.lower())
        if at < 0:
            highlighted = f"{summary} <hl> {answer} <hl>"
        else:
            end = at + len(answer)
            highlighted = f"{summary[:at]}<hl> {summary[at:end]} <hl>{summary[end:]}"
        return self.qg_template.format(summary=summary, answer=answer, highlighted=highlighted)


@dataclass
class QagsQuestion:
    """One generated question and how both texts answered it.

    Attributes:
        candidate: the answer candidate the question was generated for.
        question: the generated question.
        summary_answer: the QA model's answer on the summary ("" for no answer).
        source_answer: its answer on the source (only for kept questions).
        kept: whether the summary-side answer matched the candidate.
        f1: token F1 between the two answers (NaN for dropped questions).
    """

    candidate: str
    question: str
    summary_answer: str
    source_answer: str = ""
    kept: bool = False
    f1: float = math.nan


@dataclass
class QagsOutput:
    """QAGS scores of a list of examples.

    Attributes:
        scores: QAGS per example (mean answer F1), NaN where no question was kept.
        num_questions: kept questions per example.
        questions: with ``return_details``, every generated question of each example.
    """

    scores: list[float]
    num_questions: list[int]
    questions: list[list[QagsQuestion]] | None = None

    @property
    def mean(self) -> float:
        """Mean QAGS over examples with at least one kept question (NaN if there are none)."""
        return nan_mean(self.scores)

    @property
    def counts(self) -> list[int]:
        """Kept questions per example (`ConsistencyScorer` outputs have counts)."""
        return self.num_questions

    def details(self, k: int) -> list[dict[str, Any]]:
        """Example ``k``'s questions as dicts; needs return_details."""
        if self.questions is None:
            raise ValueError("no details: score with return_details=True")
        return [asdict(q) for q in self.questions[k]]


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def answer_tokens(text: str) -> list[str]:
    """SQuAD answer normalisation: lower case, no punctuation, no articles, split on spaces."""
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split()


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 between two answers; two empty answers agree (1.0)."""
    pred, ref = answer_tokens(prediction), answer_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


class QagsScorer:
    """Scores summaries with QAGS: question generation, then QA on summary and source.

    Args:
        qg_model: an answer-conditioned question generation seq2seq model.
        qg_tokenizer: its tokenizer.
        qa_model: an extractive QA model (``AutoModelForQuestionAnswering``).
        qa_tokenizer: its fast tokenizer.
        answer_extractor: ``"spacy"`` (QAGS' choice; needs spaCy and the pipeline named by
            ``spacy_model``), ``"regex"`` (no dependency; see `regex_answer_candidates`), or a
            callable returning a summary's candidates.
        config: the QAGS parameters; keyword arguments override single fields.
        batch_size: summaries per batch (all their questions are processed together).
        progress: show a progress bar over summaries.
    """

    def __init__(
        self,
        qg_model: PreTrainedModel,
        qg_tokenizer: PreTrainedTokenizerBase,
        qa_model: PreTrainedModel,
        qa_tokenizer: PreTrainedTokenizerBase,
        answer_extractor: str | AnswerExtractor = "spacy",
        config: QagsConfig | None = None,
        batch_size: int = 8,
        progress: bool = True,
        **overrides: int | float | str,
    ) -> None:
        unknown = set(overrides) - {f.name for f in fields(QagsConfig)}
        if unknown:
            raise TypeError(f"unknown QAGS parameters: {sorted(unknown)}")
        if not qa_tokenizer.is_fast:
            raise ValueError("the QA tokenizer must be a fast tokenizer (it needs offsets)")
        self.qg_model, self.qg_tokenizer = qg_model.eval(), qg_tokenizer
        self.qa_model, self.qa_tokenizer = qa_model.eval(), qa_tokenizer
        self.config = replace(config or QagsConfig(), **overrides)
        self.extract_answers = get_answer_extractor(answer_extractor, self.config.spacy_model)
        self.batch_size = batch_size
        self.progress = progress
        self.qg_max_length = default_max_length(qg_model, qg_tokenizer)
        wanted = self.config.qa_max_length
        self.qa_max_length = default_max_length(qa_model, qa_tokenizer, wanted)
        self.qa_stride = self.config.qa_stride * self.qa_max_length // wanted

    @classmethod
    def from_pretrained(
        cls,
        qg_name_or_path: str,
        qa_name_or_path: str,
        answer_extractor: str | AnswerExtractor = "spacy",
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        **kwargs: int | float | str | bool,
    ) -> QagsScorer:
        """Load the QG and QA checkpoints (Hub ids or paths); CUDA when available."""
        qg_model, qg_tokenizer = load_seq2seq(qg_name_or_path, device=device, dtype=dtype)
        qa_model = AutoModelForQuestionAnswering.from_pretrained(
            qa_name_or_path, dtype=resolve_dtype(dtype)
        ).to(qg_model.device)
        qa_tokenizer = AutoTokenizer.from_pretrained(qa_name_or_path)
        return cls(qg_model, qg_tokenizer, qa_model, qa_tokenizer, answer_extractor, **kwargs)

    def candidates(self, summary: str) -> list[str]:
        """The summary's first ``num_answers`` answer candidates."""
        return self.extract_answers(summary)[: self.config.num_answers]

    @torch.inference_mode()
    def generate_questions(self, summaries: list[str], answers: list[str]) -> list[str]:
        """One question per (summary, answer candidate), by beam search, in one batch."""
        if not answers:
            return []
        texts = [self.config.qg_input(s, a) for s, a in zip(summaries, answers)]
        enc = self.qg_tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.qg_max_length,
            return_tensors="pt",
        ).to(self.qg_model.device)
        out = self.qg_model.generate(
            **enc,
            num_beams=self.config.num_beams,
            min_new_tokens=self.config.min_question_tokens,
            max_new_tokens=self.config.max_question_tokens,
            do_sample=False,
            num_return_sequences=1,
        )
        return [q.strip() for q in self.qg_tokenizer.batch_decode(out, skip_special_tokens=True)]

    def _answer(self, questions: list[str], contexts: list[str]) -> list[str]:
        c = self.config
        return answer_questions(
            self.qa_model,
            self.qa_tokenizer,
            questions,
            contexts,
            max_length=self.qa_max_length,
            stride=self.qa_stride,
            max_answer_tokens=c.max_answer_tokens,
            batch_size=max(self.batch_size * c.num_answers, 1),
        )

    def _score_batch(self, batch: list[tuple[str, str]]) -> list[list[QagsQuestion]]:
        owners, answers = [], []
        for i, (_, summary) in enumerate(batch):
            for answer in self.candidates(summary):
                owners.append(i)
                answers.append(answer)
        summaries = [batch[i][1] for i in owners]
        questions = self.generate_questions(summaries, answers)
        on_summary = self._answer(questions, summaries)
        asked = [
            QagsQuestion(a, q, s, kept=bool(s) and token_f1(s, a) >= self.config.answer_match_f1)
            for a, q, s in zip(answers, questions, on_summary)
        ]
        kept = [k for k, q in enumerate(asked) if q.kept]
        on_source = self._answer(
            [asked[k].question for k in kept], [batch[owners[k]][0] for k in kept]
        )
        for k, source_answer in zip(kept, on_source):
            asked[k].source_answer = source_answer
            asked[k].f1 = token_f1(source_answer, asked[k].summary_answer)
        result: list[list[QagsQuestion]] = [[] for _ in batch]
        for i, question in zip(owners, asked):
            result[i].append(question)
        return result

    def score(
        self,
        sources: Sequence[str],
        summaries: Sequence[str],
        batch_size: int | None = None,
        return_details: bool = False,
        progress: bool | None = None,
    ) -> QagsOutput:
        """QAGS of each summary against its source: the mean answer F1 over kept questions.

        Returns a `QagsOutput`: NaN where no question was kept; with ``return_details``, every
        generated question with both answers.
        """
        texts = check_parallel(sources=sources, summaries=summaries)
        items = list(zip(texts["sources"], texts["summaries"]))
        asked = batched_apply(
            items,
            self._score_batch,
            lambda item: len(item[0]),
            batch_size or self.batch_size,
            self.progress if progress is None else progress,
            "QAGS",
        )
        kept = [[q for q in example if q.kept] for example in asked]
        return QagsOutput(
            scores=[sum(q.f1 for q in k) / len(k) if k else math.nan for k in kept],
            num_questions=[len(k) for k in kept],
            questions=asked if return_details else None,
        )
