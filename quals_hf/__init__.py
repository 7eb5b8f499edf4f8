"""quals_hf: QUALS factual-consistency scoring and ConSeq training for the Hugging Face stack."""

from .diverse_search import DiverseBeamOutput, diverse_beam_search
from .formats import PRESETS, QAGenFormat
from .hub_metric import METRIC_PATH, install_metric
from .pairs import QAPair, answer_in_summary, select_pairs
from .scorer import (
    PairScore,
    QualsConfig,
    QualsOutput,
    QualsScorer,
    load_qagen,
    quals_from_pair_scores,
)
from .trainer_metrics import quals_compute_metrics

__version__ = "0.1.0"

__all__ = [
    "METRIC_PATH",
    "PRESETS",
    "DiverseBeamOutput",
    "PairScore",
    "QAGenFormat",
    "QAPair",
    "QualsConfig",
    "QualsOutput",
    "QualsScorer",
    "answer_in_summary",
    "diverse_beam_search",
    "install_metric",
    "load_qagen",
    "quals_compute_metrics",
    "quals_from_pair_scores",
    "select_pairs",
]
