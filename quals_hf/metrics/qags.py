"""The ``qags`` metric for 🤗 evaluate: a thin shell over `QagsScorer`, loaded like ``quals``.

``evaluate.load(quals_hf.QAGS_METRIC_PATH)``, ``evaluate.load("qags")`` after
``quals-hf install-metric --name qags``, or the Space folder ``quals_hf/spaces/qags``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import evaluate

from ..qags.scorer import QagsConfig, QagsScorer
from .base import SourceSummaryMetric, load_checkpoint

DEFAULT_QG_CHECKPOINT = "lmqg/t5-base-squad-qg"
DEFAULT_QG_TEMPLATE = "generate question: {highlighted}"
DEFAULT_QA_CHECKPOINT = "deepset/roberta-base-squad2"

_CITATION = """\
@inproceedings{wang-etal-2020-asking,
    title = "Asking and Answering Questions to Evaluate the Factual Consistency of Summaries",
    author = "Wang, Alex and Cho, Kyunghyun and Lewis, Mike",
    booktitle = "Proceedings of the 58th Annual Meeting of the Association for Computational
      Linguistics",
    year = "2020",
    publisher = "Association for Computational Linguistics",
    pages = "5008--5020",
}
"""

_DESCRIPTION = """\
QAGS (Question Answering and Generation for Summarization) checks a summary by asking questions
about it: answer candidates are taken from the summary (named entities and noun chunks), a
question generation model writes one question per candidate (beam search), an extractive QA
model answers each question on the summary and on the source, questions whose summary-side
answer does not match their candidate are dropped, and QAGS is the mean token F1 between the
two answers. Higher is more consistent (1.0: the source gives every answer the summary gives).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): the summaries to score.
    sources (`list` of `str`): their source documents, in the same order.
    qg_checkpoint (`str`, optional): question generation seq2seq model (Hub id or path).
    qa_checkpoint (`str`, optional): extractive QA model (Hub id or path).
    answer_extractor (`str`, optional): "spacy" (default; needs spaCy and the pipeline named by
        spacy_model, default en_core_web_sm) or "regex" (no dependency).
    device (`str`, optional): "cuda", "cpu", ...; default: CUDA when available.
    dtype (`str`, optional): "bf16" or "fp16" to run the models in half precision.
    batch_size (`int`, optional): summaries per batch (default 8).
    return_details (`bool`, optional): also return every question with both answers.
    Any `QagsConfig` field (num_answers, num_beams, qg_template, answer_match_f1, ...) as well.
Returns:
    qags (`float`): mean QAGS over the examples with at least one kept question (NaN if none).
    scores (`list` of `float`): QAGS per example, NaN where no question was kept.
    num_questions (`list` of `int`): kept questions per example.
    questions (`list` of `list` of `dict`): with return_details; per question: candidate,
        question, summary_answer, source_answer, kept, f1.
Examples:
    >>> qags = evaluate.load("qags", answer_extractor="regex")  # doctest: +SKIP
    >>> qags.compute(  # doctest: +SKIP
    ...     predictions=["The plant in Ghent will employ 505 people."],
    ...     sources=["Altaris opened a plant in Ghent on Friday. It will employ 505 people."],
    ... )
    {'qags': 1.0, 'scores': [1.0], 'num_questions': [2]}
"""

_LOAD_OPTIONS = ("qg_checkpoint", "qa_checkpoint", "answer_extractor", "device", "dtype")
OPTIONS = frozenset(
    {*_LOAD_OPTIONS, "batch_size", "progress", "return_details"}
    | {f.name for f in dataclasses.fields(QagsConfig)}
)


@functools.lru_cache(maxsize=2)
def _shared_qags(
    qg_checkpoint: str, qa_checkpoint: str, device: str | None, dtype: Any
) -> QagsScorer:
    """One loaded pair of models per checkpoints, device and dtype, and process.

    Only the models are shared; each compute call builds its own extractor (spaCy pipelines
    are cached by name in `load_spacy`).
    """
    return load_checkpoint(
        QagsScorer.from_pretrained,
        qg_checkpoint,
        qa_checkpoint,
        "regex",
        option="qg_checkpoint= and qa_checkpoint=",
        device=device,
        dtype=dtype,
    )


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Qags(SourceSummaryMetric):
    """QAGS as an evaluate metric. Load-time keyword arguments set the defaults of `compute`.

    A ready ``scorer`` (a `QagsScorer`) may be passed instead of checkpoints. An unknown
    option raises a ValueError that lists the valid ones.
    """

    options = OPTIONS
    result_keys = ("qags", "num_questions", "questions")

    def __init__(self, scorer: QagsScorer | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scorer = scorer

    def _info(self) -> evaluate.MetricInfo:
        return self._source_summary_info(
            _DESCRIPTION,
            _CITATION,
            _KWARGS_DESCRIPTION,
            codebase_urls=["https://github.com/W4ngatang/qags"],
            reference_urls=["https://aclanthology.org/2020.acl-main.450"],
        )

    def _scorer_for(self, merged: dict[str, Any]) -> QagsScorer:
        """A scorer for one compute call: the shared models, this call's extractor and config.

        Checkpoints (both, or the default for the one not given) load models; without them the
        ``scorer`` passed at load time is used, and ``device``/``dtype`` cannot apply to it.
        """
        loading = {k: merged.pop(k, None) for k in _LOAD_OPTIONS}
        # an explicit extractor wins; a spacy_model alone asks for spaCy
        extractor = loading["answer_extractor"] or ("spacy" if "spacy_model" in merged else None)
        if self.scorer is not None and not (loading["qg_checkpoint"] or loading["qa_checkpoint"]):
            self._check_scorer_options(loading["device"], loading["dtype"])
            base = self.scorer
            extractor = extractor or base.extract_answers
        else:
            qg_checkpoint = loading["qg_checkpoint"] or DEFAULT_QG_CHECKPOINT
            if qg_checkpoint == DEFAULT_QG_CHECKPOINT:
                merged.setdefault("qg_template", DEFAULT_QG_TEMPLATE)
            base = _shared_qags(
                qg_checkpoint,
                loading["qa_checkpoint"] or DEFAULT_QA_CHECKPOINT,
                loading["device"],
                loading["dtype"],
            )
        batch_size = merged.pop("batch_size", None) or base.batch_size
        return QagsScorer(
            base.qg_model,
            base.qg_tokenizer,
            base.qa_model,
            base.qa_tokenizer,
            extractor or "spacy",
            config=base.config,
            batch_size=batch_size,
            progress=merged.pop("progress", base.progress),
            **merged,
        )
