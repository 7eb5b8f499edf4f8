"""quals_hf: QUALS factual-consistency scoring and ConSeq training for the Hugging Face stack."""

from typing import TYPE_CHECKING

from .core.lazy import lazy_exports

if TYPE_CHECKING:  # what the lazy loader below returns, for type checkers and IDEs
    from .benchmark_data import QAGS_NAMES, load_qags
    from .conseq.collator import ContrastiveCollator
    from .conseq.config import ContrastiveConfig
    from .conseq.mining import MiningConfig, mine_contrastive_sets, rouge_score_fn, select_documents
    from .conseq.presets import CONSEQ_PRESETS, ConseqPreset
    from .conseq.remine import RemineCallback
    from .conseq.sets import ContrastiveEntry, ContrastiveSets
    from .conseq.trainer import ContrastiveTrainer
    from .core.loading import load_seq2seq
    from .core.protocols import ConsistencyScorer
    from .evaluation import LikelihoodBaseline, MissingRowsError, ValidityResult, measure_validity
    from .metrics.install import METRIC_PATH, QAGS_METRIC_PATH, install_metric
    from .metrics.trainer import quals_compute_metrics
    from .qagen.backend import DecoderOnlyBackend, EncoderDecoderBackend, QAGenBackend
    from .qagen.data import load_newsqa, load_squad
    from .qagen.formats import PRESETS, QAGenFormat
    from .qagen.loading import load_qagen
    from .qagen.search import DiverseBeamOutput, diverse_beam_search
    from .qagen.train import QAGenArguments, train_qagen
    from .qags import QagsConfig, QagsOutput, QagsQuestion, QagsScorer, token_f1
    from .scoring.explain import Explanation
    from .scoring.pair_quality import PAIR_FLAWS, pair_flaws
    from .scoring.pairs import (
        PairScore,
        QAPair,
        answer_in_summary,
        quals_from_pair_scores,
        select_pairs,
    )
    from .scoring.scorer import QualsConfig, QualsOutput, QualsScorer

_EXPORTS = {
    "load_qags": ".benchmark_data",
    "QAGS_NAMES": ".benchmark_data",
    "select_pairs": ".scoring.pairs",
    "pair_flaws": ".scoring.pair_quality",
    "PAIR_FLAWS": ".scoring.pair_quality",
    "quals_from_pair_scores": ".scoring.pairs",
    "answer_in_summary": ".scoring.pairs",
    "QAPair": ".scoring.pairs",
    "PairScore": ".scoring.pairs",
    "ConsistencyScorer": ".core.protocols",
    "LikelihoodBaseline": ".evaluation",
    "MissingRowsError": ".evaluation",
    "ValidityResult": ".evaluation",
    "measure_validity": ".evaluation",
    "CONSEQ_PRESETS": ".conseq.presets",
    "ConseqPreset": ".conseq.presets",
    "ContrastiveCollator": ".conseq.collator",
    "ContrastiveConfig": ".conseq.config",
    "ContrastiveEntry": ".conseq.sets",
    "ContrastiveSets": ".conseq.sets",
    "ContrastiveTrainer": ".conseq.trainer",
    "DecoderOnlyBackend": ".qagen.backend",
    "DiverseBeamOutput": ".qagen.search",
    "EncoderDecoderBackend": ".qagen.backend",
    "Explanation": ".scoring.explain",
    "METRIC_PATH": ".metrics.install",
    "MiningConfig": ".conseq.mining",
    "PRESETS": ".qagen.formats",
    "QAGS_METRIC_PATH": ".metrics.install",
    "QAGenArguments": ".qagen.train",
    "QAGenBackend": ".qagen.backend",
    "QAGenFormat": ".qagen.formats",
    "QagsConfig": ".qags",
    "QagsOutput": ".qags",
    "QagsQuestion": ".qags",
    "QagsScorer": ".qags",
    "QualsConfig": ".scoring.scorer",
    "QualsOutput": ".scoring.scorer",
    "QualsScorer": ".scoring.scorer",
    "RemineCallback": ".conseq.remine",
    "diverse_beam_search": ".qagen.search",
    "install_metric": ".metrics.install",
    "load_newsqa": ".qagen.data",
    "load_qagen": ".qagen.loading",
    "load_seq2seq": ".core.loading",
    "load_squad": ".qagen.data",
    "mine_contrastive_sets": ".conseq.mining",
    "quals_compute_metrics": ".metrics.trainer",
    "rouge_score_fn": ".conseq.mining",
    "select_documents": ".conseq.mining",
    "token_f1": ".qags",
    "train_qagen": ".qagen.train",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__version__ = "0.1.0"

__all__ = [
    "CONSEQ_PRESETS",
    "METRIC_PATH",
    "PAIR_FLAWS",
    "PRESETS",
    "QAGS_METRIC_PATH",
    "QAGS_NAMES",
    "ConseqPreset",
    "ConsistencyScorer",
    "ContrastiveCollator",
    "ContrastiveConfig",
    "ContrastiveEntry",
    "ContrastiveSets",
    "ContrastiveTrainer",
    "DecoderOnlyBackend",
    "DiverseBeamOutput",
    "EncoderDecoderBackend",
    "Explanation",
    "LikelihoodBaseline",
    "MiningConfig",
    "MissingRowsError",
    "PairScore",
    "QAGenArguments",
    "QAGenBackend",
    "QAGenFormat",
    "QAPair",
    "QagsConfig",
    "QagsOutput",
    "QagsQuestion",
    "QagsScorer",
    "QualsConfig",
    "QualsOutput",
    "QualsScorer",
    "RemineCallback",
    "ValidityResult",
    "answer_in_summary",
    "diverse_beam_search",
    "install_metric",
    "load_newsqa",
    "load_qagen",
    "load_qags",
    "load_seq2seq",
    "load_squad",
    "measure_validity",
    "mine_contrastive_sets",
    "pair_flaws",
    "quals_compute_metrics",
    "quals_from_pair_scores",
    "rouge_score_fn",
    "select_documents",
    "select_pairs",
    "token_f1",
    "train_qagen",
]
