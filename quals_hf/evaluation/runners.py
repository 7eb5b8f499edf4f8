"""Scoring the summaries of a set a batch at a time into a `ResultStore`, so that a run
killed at any point resumes where it stopped and never scores a summary twice."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from tqdm.auto import tqdm

from .sets import QagsSample
from .store import ResultStore, Row, chunks

# a batch scorer: (sources, summaries) -> one row of results per summary
RowsFn = Callable[[list[str], list[str]], list[Row]]


def run_resumable(
    store: ResultStore,
    sample: QagsSample,
    score: RowsFn,
    batch_size: int,
    desc: str,
    progress: bool = True,
) -> None:
    """Score the summaries of ``sample`` that ``store`` lacks, a batch at a time, appending
    each batch's rows (with the summary ``id`` and ``seconds`` per summary) as it is done."""
    todo = [k for k, i in enumerate(sample.ids) if i not in store.rows]
    if not todo:
        return
    total = len(sample.ids)
    with tqdm(total=total, initial=total - len(todo), desc=desc, disable=not progress) as bar:
        for batch in chunks(todo, batch_size):
            start = time.perf_counter()
            rows = score([sample.documents[k] for k in batch], [sample.summaries[k] for k in batch])
            if len(rows) != len(batch):
                raise ValueError(f"{desc}: got {len(rows)} results for {len(batch)} summaries")
            seconds = (time.perf_counter() - start) / len(batch)
            store.append(
                [{"id": sample.ids[k], **row, "seconds": seconds} for k, row in zip(batch, rows)]
            )
            bar.update(len(batch))


def pair_rows(pair_scores: Sequence[Sequence[Any]]) -> list[list[Row]]:
    """Each summary's `PairScore`s as dicts, with their per-token log-probabilities."""
    return [[p.to_dict() for p in pairs] for pairs in pair_scores]


def quals_rows_fn(scorer: Any, batch_size: int) -> RowsFn:
    """A batch scorer around a `QualsScorer` keeping each summary's score, pair count and
    scored pairs (so that every scoring option can be recomputed later)."""

    def score(sources: list[str], summaries: list[str]) -> list[Row]:
        out = scorer.score(
            sources, summaries, batch_size=batch_size, return_details=True, progress=False
        )
        return [
            {"quals": float(s), "num_pairs": int(n), "pairs": pairs}
            for s, n, pairs in zip(out.scores, out.num_pairs, pair_rows(out.pair_scores))
        ]

    return score


def _as_float(value: Any) -> float:
    return math.nan if value is None else float(value)


def metric_rows_fn(metric: Any, column: str) -> RowsFn:
    """A batch scorer around a callable ``metric(sources, summaries) -> scores`` or an object
    with ``score(sources, summaries)`` returning an output with ``.scores`` (any
    `ConsistencyScorer`): one row ``{column: score}`` per summary (None means NaN)."""

    def score(sources: list[str], summaries: list[str]) -> list[Row]:
        if hasattr(metric, "score") and not callable(metric):
            scores = metric.score(sources, summaries, progress=False).scores
        else:
            scores = metric(sources, summaries)
            scores = getattr(scores, "scores", scores)
        return [{column: _as_float(s)} for s in scores]

    return score


def windows_rows_fn(
    scorer: Any, size: int, stored: dict[tuple[str, str], list[Row]], batch_size: int
) -> RowsFn:
    """A batch scorer that re-scores the stored QUALS pairs of each (source, summary) with the
    source read in windows of about ``size`` tokens, no new search; and, as the control,
    re-scores them on the whole source the same way (tokenized from their text, lp_y
    teacher-forced), so that what differs between the two is the windows alone."""
    from ..scoring.pairs import PairScore
    from ..scoring.scorer import QualsScorer

    windowed, whole = (
        QualsScorer(
            scorer.model,
            scorer.tokenizer,
            format=scorer.format,
            config=replace(scorer.config, source_window_tokens=tokens),
            batch_size=batch_size,
            progress=False,
        )
        for tokens in (size, None)
    )

    def score(sources: list[str], summaries: list[str]) -> list[Row]:
        pairs = [[PairScore.from_dict(p).pair for p in stored[k]] for k in zip(sources, summaries)]
        in_windows = pair_rows(windowed.score_pairs(sources, summaries, pairs))
        control = pair_rows(whole.score_pairs(sources, summaries, pairs))
        return [{"pairs": w, "pairs_whole": c} for w, c in zip(in_windows, control)]

    return score
