"""The ``quals`` metric for 🤗 evaluate: a thin shell over `QualsScorer`.

Load it by path with no setup (``evaluate.load(quals_hf.METRIC_PATH)``), by its bare name after
``quals-hf install-metric`` (``evaluate.load("quals")``), or from the Hub Space folder in
``quals_hf/spaces/quals``; all three import `Quals` from this module. The QAGen (``qagen=``) is
loaded once per process and shared by every metric instance that names it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import evaluate
import torch

from ..qagen.formats import QAGenFormat
from ..qagen.loading import load_qagen
from ..scoring.scorer import QualsConfig, QualsScorer
from .base import SourceSummaryMetric, load_checkpoint

_CITATION = """\
@inproceedings{nan-etal-2021-improving,
    title = "Improving Factual Consistency of Abstractive Summarization via Question Answering",
    author = "Nan, Feng and dos Santos, Cicero Nogueira and Zhu, Henghui and Ng, Patrick and
      McKeown, Kathleen and Nallapati, Ramesh and Zhang, Dejiao and Wang, Zhiguo and
      Arnold, Andrew O. and Xiang, Bing",
    booktitle = "Proceedings of the 59th Annual Meeting of the Association for Computational
      Linguistics and the 11th International Joint Conference on Natural Language Processing
      (Volume 1: Long Papers)",
    year = "2021",
    publisher = "Association for Computational Linguistics",
    pages = "6881--6894",
}
"""

_DESCRIPTION = """\
QUALS (QUestion Answering with Language model score for Summarization) scores how consistent a
summary is with its source document using one question-answer generation model (QAGen). The
QAGen writes question-answer pairs about the summary (diverse beam search, 60 hypotheses);
pairs whose answer appears in the summary are kept (at most 10), and QUALS is the mean over
those pairs of log p(pair | source) - log p(pair | summary), each a per-token average. Higher is
more consistent; values near 0 mean the source supports the summary's facts.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): the summaries to score.
    sources (`list` of `str`): their source documents, in the same order.
    qagen (`str`, optional): the QAGen checkpoint (Hub id or path); a load-time default.
        Default: the package's own SmolLM2 QAGen, built into the cache on first use.
        (`checkpoint`, its old name, still works for a release, with a FutureWarning.)
    format (`str` or `QAGenFormat`, optional): the QAGen's format preset ("qagen",
        "t5-sep", "lmqg") or a QAGenFormat; default: the one in the QAGen's config.
    device (`str`, optional): "cuda", "cpu", ...; default: CUDA when available.
    dtype (`str`, optional): "bf16" or "fp16" to run the model in half precision.
    batch_size (`int`, optional): examples per batch (default 8).
    return_details (`bool`, optional): also return every example's QA pairs and their scores.
    Any `QualsConfig` field (num_groups, diversity_penalty, min_new_tokens, max_new_tokens,
    length_penalty, max_pairs, max_input_length; the scoring options pair_score,
    question_weight, aggregate, worst_k, softmin_temperature, source_window_tokens,
    pair_filter; normalize_text: read the texts lower-cased with PTB tokenization undone) may
    be given as well.
Returns:
    quals (`float`): mean QUALS over the examples with at least one QA pair (NaN if none).
    scores (`list` of `float`): QUALS per example, NaN where no QA pair survived.
    num_qa_pairs (`list` of `int`): QA pairs scored per example.
    qa_pairs (`list` of `list` of `dict`): with return_details; per pair: question, answer,
        lp_x, lp_y, consistency (lp_x - lp_y), token_logprobs_x, token_logprobs_y and
        answer_start (where the answer's tokens begin), cut; with normalize_text also
        summary_span (the answer as the summary writes it).
Examples:
    >>> quals = evaluate.load("quals")  # the package's QAGen  # doctest: +SKIP
    >>> quals.compute(predictions=["a summary ."], sources=["a document ."])  # doctest: +SKIP
    {'quals': -0.08, 'scores': [-0.08], 'num_qa_pairs': [6]}
"""

_LOAD_OPTIONS = ("qagen", "format", "device", "dtype")
OPTIONS = frozenset(
    {*_LOAD_OPTIONS, "batch_size", "progress", "return_details"}
    | {f.name for f in dataclasses.fields(QualsConfig)}
)


@functools.lru_cache(maxsize=4)
def _shared_qagen(
    qagen: str | None, device: str | None, dtype: str | torch.dtype | None
) -> tuple[Any, Any]:
    """One loaded model per (QAGen, device, dtype) and process; ``None``: the package's
    QAGen, whose own error says what to fetch when it cannot be built."""
    if qagen is None:
        return load_qagen(None, device=device, dtype=dtype)
    return load_checkpoint(load_qagen, qagen, option="qagen=", device=device, dtype=dtype)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Quals(SourceSummaryMetric):
    """QUALS as an evaluate metric. Load-time keyword arguments set the defaults of `compute`.

    Besides ``qagen``, ``format``, ``device``, ``dtype`` and ``batch_size``, a ready
    ``scorer`` (a `QualsScorer`) may be passed to score with an already loaded model. An
    unknown option raises a ValueError that lists the valid ones; ``checkpoint``, the old
    name of ``qagen``, still works for a release, with a FutureWarning.
    """

    options = OPTIONS
    renamed_options: ClassVar[dict[str, str]] = {"checkpoint": "qagen"}
    result_keys = ("quals", "num_qa_pairs", "qa_pairs")

    def __init__(
        self,
        qagen: str | None = None,
        format: str | QAGenFormat | None = None,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int | None = None,
        scorer: QualsScorer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            qagen=qagen,
            format=format,
            device=device,
            dtype=dtype,
            batch_size=batch_size,
            **kwargs,
        )
        self.scorer = scorer

    def _info(self) -> evaluate.MetricInfo:
        return self._source_summary_info(
            _DESCRIPTION,
            _CITATION,
            _KWARGS_DESCRIPTION,
            codebase_urls=["https://github.com/amazon-science/fact-check-summarization"],
            reference_urls=["https://aclanthology.org/2021.acl-long.536"],
        )

    def _scorer_for(self, options: dict[str, Any]) -> QualsScorer:
        """A scorer for one compute call: the shared model, this call's format and config."""
        qagen, fmt, device, dtype = (options.pop(k) for k in _LOAD_OPTIONS)
        if qagen is None and self.scorer is not None:
            self._check_scorer_options(device, dtype)
        batch_size = options.pop("batch_size") or (self.scorer.batch_size if self.scorer else 8)
        options["batch_size"] = batch_size
        if qagen is None and self.scorer is not None:
            model, tokenizer = self.scorer.model, self.scorer.tokenizer
            fmt = fmt or self.scorer.format
            config = self.scorer.config
            options.setdefault("progress", self.scorer.progress)
        else:
            model, tokenizer = _shared_qagen(qagen, device, dtype)
            config = None
        return QualsScorer(model, tokenizer, format=fmt, config=config, **options)
