"""Validity: how well a metric agrees with human factual-consistency labels.

`measure_validity` measures any `QualsScorer` (any QAGen, any `QualsConfig`) or any callable
metric on the QAGS sets vendored in `quals_hf.benchmark_data`, beside word-overlap and
likelihood baselines, with bootstrap intervals; it stores per-summary rows as it goes
(`ResultStore`), so a run resumes, and writes a Markdown report with figures. ``quals-hf
validity`` is its command line (`quals_hf.evaluation.cli`).

Imports `quals_hf.core`, `quals_hf.qagen`, `quals_hf.scoring` and `quals_hf.benchmark_data`;
names load on first use, so that building the command line stays light.
"""

from typing import TYPE_CHECKING

from ..core.lazy import lazy_exports

if TYPE_CHECKING:  # what the lazy loader below returns, for type checkers and IDEs
    from .baselines import bigram_share, lexical_columns, rouge2_precision_fn, word_share, words
    from .fingerprint import OutDirMismatchError, qagen_fingerprint
    from .likelihood import LikelihoodBaseline
    from .measure import MissingRowsError, measure_validity
    from .options import OPTIONS, VARIANTS, option_analysis, option_scores
    from .result import SetResult, ValidityResult
    from .sets import FORMS, SET_TITLES, QagsSample, load_sample
    from .stats import (
        BOOTSTRAP,
        SEED,
        auc,
        correlations,
        faithful_above_unfaithful,
        halves,
        paired_difference,
        pearson,
        rankdata,
        roc_auc,
        spearman,
        worst_disagreements,
    )
    from .store import ResultStore, chunks, read_jsonl

_EXPORTS = {
    "BOOTSTRAP": ".stats",
    "FORMS": ".sets",
    "LikelihoodBaseline": ".likelihood",
    "MissingRowsError": ".measure",
    "OPTIONS": ".options",
    "OutDirMismatchError": ".fingerprint",
    "QagsSample": ".sets",
    "ResultStore": ".store",
    "SEED": ".stats",
    "SET_TITLES": ".sets",
    "SetResult": ".result",
    "VARIANTS": ".options",
    "ValidityResult": ".result",
    "auc": ".stats",
    "bigram_share": ".baselines",
    "chunks": ".store",
    "correlations": ".stats",
    "faithful_above_unfaithful": ".stats",
    "halves": ".stats",
    "lexical_columns": ".baselines",
    "load_sample": ".sets",
    "measure_validity": ".measure",
    "option_analysis": ".options",
    "option_scores": ".options",
    "paired_difference": ".stats",
    "pearson": ".stats",
    "qagen_fingerprint": ".fingerprint",
    "rankdata": ".stats",
    "read_jsonl": ".store",
    "roc_auc": ".stats",
    "rouge2_precision_fn": ".baselines",
    "spearman": ".stats",
    "word_share": ".baselines",
    "words": ".baselines",
    "worst_disagreements": ".stats",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "BOOTSTRAP",
    "FORMS",
    "OPTIONS",
    "SEED",
    "SET_TITLES",
    "VARIANTS",
    "LikelihoodBaseline",
    "MissingRowsError",
    "OutDirMismatchError",
    "QagsSample",
    "ResultStore",
    "SetResult",
    "ValidityResult",
    "auc",
    "bigram_share",
    "chunks",
    "correlations",
    "faithful_above_unfaithful",
    "halves",
    "lexical_columns",
    "load_sample",
    "measure_validity",
    "option_analysis",
    "option_scores",
    "paired_difference",
    "pearson",
    "qagen_fingerprint",
    "rankdata",
    "read_jsonl",
    "roc_auc",
    "rouge2_precision_fn",
    "spearman",
    "word_share",
    "words",
    "worst_disagreements",
]
