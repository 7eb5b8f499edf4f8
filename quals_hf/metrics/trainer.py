"""QUALS inside a `Seq2SeqTrainer` evaluation: a ``compute_metrics`` that gets the sources.

The trainer only hands ``compute_metrics`` the generated ids and the labels; with
``include_for_metrics=["inputs"]`` it also hands over the input ids, which are decoded back into
the source documents QUALS needs. Under ``torchrun``/``accelerate launch`` every process gets
all the gathered generations: each scores its share, and the scores are gathered back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch.distributed as dist
from transformers import EvalPrediction, PreTrainedTokenizerBase

from ..core.batching import nan_mean


def _decode(tokenizer: PreTrainedTokenizerBase, ids: Any) -> list[str]:
    ids = ids[0] if isinstance(ids, tuple) else ids
    ids = np.where(ids < 0, tokenizer.pad_token_id, ids)  # -100 padding from the trainer
    return tokenizer.batch_decode(ids, skip_special_tokens=True)


def quals_compute_metrics(
    tokenizer: PreTrainedTokenizerBase, metric: Any = None, **metric_kwargs: Any
) -> Callable[[EvalPrediction], dict[str, float]]:
    """A ``compute_metrics`` for ``Seq2SeqTrainer`` that reports QUALS of the generations.

    Needs ``Seq2SeqTrainingArguments(predict_with_generate=True,
    include_for_metrics=["inputs"])``. ``metric`` is a loaded ``quals`` metric (or any metric
    with the same inputs); by default the package's metric is loaded with ``metric_kwargs``.
    Empty generations cannot be scored: they count as examples without QA pairs.

    Returns metrics ``quals`` (mean over scorable summaries), ``quals_qa_pairs`` (mean pairs
    per summary) and ``quals_unscored`` (share of summaries with no QA pair).
    """
    if metric is None:
        import evaluate

        from .install import METRIC_PATH

        metric = evaluate.load(METRIC_PATH, **metric_kwargs)

    def compute_metrics(eval_pred: EvalPrediction) -> dict[str, float]:
        if eval_pred.inputs is None:
            raise ValueError(
                "QUALS needs the source documents: set include_for_metrics=['inputs'] in the "
                "training arguments (and predict_with_generate=True)"
            )
        summaries = _decode(tokenizer, eval_pred.predictions)
        sources = _decode(tokenizer, eval_pred.inputs)
        keep = [i for i, s in enumerate(summaries) if s.strip()]
        scored = _score_shared(metric, [sources[i] for i in keep], [summaries[i] for i in keep])
        scores = [s for s, _ in scored]
        unscored = len(summaries) - sum(not math.isnan(s) for s in scores)
        return {
            "quals": nan_mean(scores),
            "quals_qa_pairs": sum(n for _, n in scored) / len(summaries),
            "quals_unscored": unscored / len(summaries),
        }

    return compute_metrics


def _score_shared(metric: Any, sources: list[str], summaries: list[str]) -> list[tuple[float, int]]:
    """(score, QA pairs) of every summary; with several processes each scores every n-th one
    and all of them get the gathered results, in input order."""
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    mine = list(range(rank, len(summaries), world))
    local: list[tuple[int, float, int]] = []
    if mine:
        result = metric.compute(
            predictions=[summaries[i] for i in mine], sources=[sources[i] for i in mine]
        )
        local = list(zip(mine, result["scores"], result["num_qa_pairs"]))
    if world > 1:
        gathered: list[Any] = [None] * world
        dist.all_gather_object(gathered, local)
        local = [row for rows in gathered for row in rows]
    return [(score, pairs) for _, score, pairs in sorted(local)]
