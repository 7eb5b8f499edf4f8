"""quals_hf: QUALS factual-consistency scoring and ConSeq training for the Hugging Face stack."""

from .diverse_search import DiverseBeamOutput, diverse_beam_search
from .formats import PRESETS, QAGenFormat
from .pairs import QAPair, answer_in_summary, select_pairs
from .scorer import PairScore, QualsConfig, QualsOutput, QualsScorer, quals_from_pair_scores

__version__ = "0.1.0"

__all__ = [
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
    "quals_from_pair_scores",
    "select_pairs",
]
