"""Mining contrastive sets with QUALS (or ROUGE, or any scorer), on one or many processes.

For each document: sample candidate summaries from the summarizer, score them and the ground
truth, and take the lowest-scoring candidate as the document's negative. Then select the
documents whose negative is among the lowest-scoring and whose ground truth is among the
highest-scoring (both 30% by default) as ConSeq's (source, positive, negative) triples.

Determinism: documents are cut into fixed batches by position, each batch samples with its own
seed (``seed + batch index``), and processes share out whole batches. Every batch is therefore
computed exactly as in a single-process run, whatever the number of processes.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..core.inputs import default_max_length
from ..core.protocols import ConsistencyScorer
from ..core.rows import check_rows, dataset_row
from .presets import conseq_preset
from .sets import ContrastiveEntry, ContrastiveSets

logger = logging.getLogger("quals_hf")

ScoreFn = Callable[[list[str], list[str], list[str]], list[float]]


@dataclass(frozen=True)
class MiningConfig:
    """How candidates are sampled and documents selected; defaults are the paper's.

    Attributes:
        num_candidates: summaries sampled per document.
        top_k: top-k sampling.
        min_new_tokens, max_new_tokens: candidate length bounds.
        negative_ratio: share of documents with the lowest negative scores that qualify.
        positive_ratio: share of documents with the highest ground-truth scores that qualify.
        batch_size: documents per generation batch (and per unit of work shared out).
        seed: sampling seed.
        max_source_length: longest source, in tokens, fed to the summarizer; capped at the
            summarizer's own limit (its positions or its tokenizer's limit), and longer
            sources are cut.
        quals_pair_score, quals_aggregate: with ``scorer="quals"`` (the package's QAGen), the
            mining scorer's `QualsConfig.pair_score` and ``aggregate`` (the paper's: ``"pair"``,
            ``"mean"``); a scorer object you pass keeps its own.
    """

    # metadata "help": the command line's help (`quals-hf mine --help` adds the default)
    num_candidates: int = field(default=6, metadata={"help": "summaries sampled per document"})
    top_k: int = field(default=50, metadata={"help": "top-k sampling of the candidates"})
    min_new_tokens: int = field(default=10, metadata={"help": "shortest candidate, in tokens"})
    max_new_tokens: int = field(default=60, metadata={"help": "longest candidate, in tokens"})
    negative_ratio: float = field(
        default=0.3,
        metadata={"help": "share of documents with the lowest negative scores that qualify"},
    )
    positive_ratio: float = field(
        default=0.3,
        metadata={"help": "share of documents with the highest ground-truth scores that qualify"},
    )
    batch_size: int = field(
        default=8,
        metadata={"help": "documents per generation batch, and per unit of work shared out"},
    )
    seed: int = field(default=0, metadata={"help": "sampling seed: batch i samples with seed + i"})
    max_source_length: int = field(
        default=1024,
        metadata={
            "help": "longest source fed to the summarizer, in tokens, capped at its own limit; "
            "longer sources are cut"
        },
    )
    quals_pair_score: str = field(
        default="pair",
        metadata={"help": "with scorer quals: the pair_score of the QUALS that mines"},
    )
    quals_aggregate: str = field(
        default="mean",
        metadata={"help": "with scorer quals: the aggregate of the QUALS that mines"},
    )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> MiningConfig:
        """The selection of the ConSeq recipe ``name`` (``"paper"``, ``"recommended"``)."""
        return cls(**{**conseq_preset(name).mining_options(), **overrides})


@dataclass
class MinedDocument:
    """The candidates of one document with their scores (NaN: could not be scored)."""

    index: int
    candidates: list[str]
    candidate_scores: list[float]
    reference_score: float

    def negative(self, reference: str) -> tuple[str, float] | None:
        """The lowest-scoring scorable candidate that differs from the reference."""
        usable = [
            (s, c)
            for c, s in zip(self.candidates, self.candidate_scores)
            if not math.isnan(s) and c.strip() != reference.strip()
        ]
        if not usable:
            return None
        score, text = min(usable, key=lambda sc: sc[0])  # first of equal scores
        return text, score


def _top(indices: Sequence[int], scores: Sequence[float], count: int, lowest: bool) -> set[int]:
    """``count`` indices with the lowest/highest non-NaN scores; ties keep document order."""
    valid = [i for i in indices if not math.isnan(scores[i])]
    ranked = sorted(valid, key=lambda i: scores[i] if lowest else -scores[i])
    return set(ranked[:count])


def select_documents(
    negative_scores: Sequence[float],
    reference_scores: Sequence[float],
    negative_ratio: float = 0.3,
    positive_ratio: float = 0.3,
) -> list[int]:
    """The paper's selection: lowest negatives ∩ highest ground truths, by document index.

    Each ratio is a share of all documents, rounded to the nearest count. NaN scores (no
    negative, or no QA pair) never qualify. Returns sorted document indices.
    """
    n = len(negative_scores)
    if len(reference_scores) != n:
        raise ValueError(f"got {n} negative scores and {len(reference_scores)} reference scores")
    everyone = range(n)
    low = _top(everyone, negative_scores, round(negative_ratio * n), lowest=True)
    high = _top(everyone, reference_scores, round(positive_ratio * n), lowest=False)
    return sorted(low & high)


def rouge_score_fn(sources: list[str], summaries: list[str], references: list[str]) -> list[float]:
    """The paper's ROUGE baseline: mean of ROUGE-1/2/L F1 against the ground truth."""
    try:
        from rouge_score import rouge_scorer
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the ROUGE scorer needs `pip install rouge_score`") from err
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    return [
        sum(s.fmeasure for s in scorer.score(ref, summ).values()) / 3
        for summ, ref in zip(summaries, references)
    ]


@functools.lru_cache(maxsize=1)
def _default_quals_scorer(pair_score: str, aggregate: str) -> ConsistencyScorer:
    """QUALS with the package's own QAGen, loaded once per process (re-mining reuses it) on
    the process's device (each process of a multi-GPU launch its own)."""
    from accelerate import PartialState

    from ..scoring.scorer import QualsScorer

    return QualsScorer.from_pretrained(
        device=PartialState().device, progress=False, pair_score=pair_score, aggregate=aggregate
    )


def as_score_fn(
    scorer: ConsistencyScorer | ScoreFn | str, config: MiningConfig | None = None
) -> ScoreFn:
    """A ``(sources, summaries, references) -> scores`` function from a scorer spec
    (``"quals"``: the package's QAGen with ``config``'s mining score options)."""
    if isinstance(scorer, ConsistencyScorer):
        return lambda sources, summaries, _refs: (
            scorer.score(sources, summaries, progress=False).scores
        )
    if scorer == "rouge":
        return rouge_score_fn
    if scorer == "quals":
        config = config or MiningConfig()
        return as_score_fn(_default_quals_scorer(config.quals_pair_score, config.quals_aggregate))
    if callable(scorer):
        return scorer
    raise ValueError(
        f"unknown scorer {scorer!r}: pass a scorer (QualsScorer, QagsScorer...), 'quals' (the "
        "package's QAGen), 'rouge' or a callable"
    )


def _score(
    score_fn: ScoreFn, sources: list[str], summaries: list[str], refs: list[str]
) -> list[float]:
    """Scores, NaN for empty summaries (they cannot be scored)."""
    keep = [i for i, s in enumerate(summaries) if s.strip()]
    scores = [math.nan] * len(summaries)
    if keep:
        got = score_fn(
            [sources[i] for i in keep], [summaries[i] for i in keep], [refs[i] for i in keep]
        )
        for i, s in zip(keep, got):
            scores[i] = float(s)
    return scores


@torch.no_grad()
def _mine_batch(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    seed: int,
    sources: list[str],
    references: list[str],
    score_fn: ScoreFn,
    config: MiningConfig,
) -> list[tuple[list[str], list[float], float]]:
    k = config.num_candidates
    enc = tokenizer(
        sources,
        max_length=default_max_length(model, tokenizer, config.max_source_length),
        truncation=True,
        padding=True,
        return_tensors="pt",
    ).to(model.device)
    devices = [model.device] if model.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # leaves the training run's RNG alone
        torch.manual_seed(seed)
        out = model.generate(
            **enc,
            do_sample=True,
            top_k=config.top_k,
            num_return_sequences=k,
            min_new_tokens=config.min_new_tokens,
            max_new_tokens=config.max_new_tokens,
            num_beams=1,
        )
    texts = [t.strip() for t in tokenizer.batch_decode(out, skip_special_tokens=True)]
    # each source's k candidates and its reference side by side: a scorer batches equal
    # sources together and reads each once (see `target_token_logprobs`)
    groups = [[*texts[i * k : (i + 1) * k], ref] for i, ref in enumerate(references)]
    scores = _score(
        score_fn,
        [s for s in sources for _ in range(k + 1)],
        [t for group in groups for t in group],
        [r for r in references for _ in range(k + 1)],
    )
    return [
        (group[:k], scores[i * (k + 1) : i * (k + 1) + k], scores[i * (k + 1) + k])
        for i, group in enumerate(groups)
    ]


def mine_documents(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    sources: Sequence[str],
    references: Sequence[str],
    scorer: ConsistencyScorer | ScoreFn | str,
    config: MiningConfig | None = None,
    progress: bool = True,
    round: int = 0,
) -> list[MinedDocument]:
    """Sample and score candidates for every document, on all processes of the current run.

    With several processes (``torchrun``, ``accelerate launch``), each takes its share of
    whole batches; results are gathered so every process returns the full list. Batch ``b``
    of round ``r`` samples with seed ``config.seed + r * 1_000_003 + b``.
    """
    from accelerate import PartialState
    from accelerate.utils import gather_object

    config = config or MiningConfig()
    score_fn = as_score_fn(scorer, config)
    # the shared accelerate state (a Trainer's, if one runs); created here under a plain
    # torchrun launch, with gloo when the model is on the CPU
    state = PartialState(cpu=model.device.type == "cpu")
    n = len(sources)
    batches = list(range(math.ceil(n / config.batch_size)))
    was_training = model.training
    model.eval()
    results: list[tuple[int, tuple[list[str], list[float], float]]] = []
    with state.split_between_processes(batches) as mine:
        bar = tqdm(
            total=n, desc="mining", unit="doc", disable=not progress or not state.is_main_process
        )
        for b in mine:
            lo, hi = b * config.batch_size, min((b + 1) * config.batch_size, n)
            seed = config.seed + round * 1_000_003 + b
            mined = _mine_batch(
                model,
                tokenizer,
                seed,
                list(sources[lo:hi]),
                list(references[lo:hi]),
                score_fn,
                config,
            )
            results.extend(zip(range(lo, hi), mined))
            bar.update((hi - lo) * state.num_processes)
        bar.close()
    model.train(was_training)
    if state.num_processes > 1:
        results = gather_object(results)
    results.sort(key=lambda r: r[0])
    return [MinedDocument(i, c, s, r) for i, (c, s, r) in results]


def mine_contrastive_sets(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Any,
    scorer: ConsistencyScorer | ScoreFn | str,
    config: MiningConfig | None = None,
    id_column: str = "id",
    source_column: str = "document",
    target_column: str = "summary",
    round: int = 0,
    progress: bool = True,
) -> ContrastiveSets:
    """Build ConSeq's contrastive sets from a dataset of documents and reference summaries.

    Args:
        model: the summarizer to sample candidates from (unwrapped: not DDP/FSDP-wrapped).
        tokenizer: its tokenizer.
        dataset: a `datasets.Dataset` (or a dict of lists) with id, source and target columns.
        scorer: a `QualsScorer` (the paper), ``"quals"`` (QUALS with the package's own QAGen),
            ``"rouge"`` (the paper's baseline), or any
            callable ``(sources, summaries, references) -> scores``, higher = better.
        config: a `MiningConfig` (6 candidates, top-k 50, 10-60 tokens, 30% and 30%).
        round: the mining round, stored in every entry.

    Returns:
        `ContrastiveSets` with, for each selected document, its reference as positive and its
        worst candidate as negative.

    Raises:
        ValueError: before any model work, naming the row (index and id) of the first empty,
            whitespace-only or missing source or reference, or of a missing or repeated id.
    """
    config = config or MiningConfig()
    columns = dataset.column_names if hasattr(dataset, "column_names") else list(dataset)
    for column in (id_column, source_column, target_column):
        if column not in columns:
            raise ValueError(f"the dataset has no column {column!r} (columns: {columns})")
    ids, sources, refs = (list(dataset[c]) for c in (id_column, source_column, target_column))
    check_rows(ids, {source_column: sources, target_column: refs}, dataset_row("the dataset", ids))
    start = time.perf_counter()
    mined = mine_documents(model, tokenizer, sources, refs, scorer, config, progress, round)
    negatives = [doc.negative(ref) for doc, ref in zip(mined, refs)]
    neg_scores = [n[1] if n else math.nan for n in negatives]
    chosen = select_documents(
        neg_scores, [d.reference_score for d in mined], config.negative_ratio, config.positive_ratio
    )
    sets = ContrastiveSets(round=round)
    for i in chosen:
        sets[ids[i]] = ContrastiveEntry(
            positive=refs[i],
            negative=negatives[i][0],
            positive_score=mined[i].reference_score,
            negative_score=negatives[i][1],
            round=round,
        )
    stats = sets.stats()
    logger.info(
        "mined round %d in %.1fs: %d of %d documents selected (mean positive %.3f, "
        "mean negative %.3f)",
        round,
        time.perf_counter() - start,
        len(sets),
        len(ids),
        stats["mean_positive_score"],
        stats["mean_negative_score"],
    )
    return sets
