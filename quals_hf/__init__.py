"""quals_hf: QUALS factual-consistency scoring and ConSeq training for the Hugging Face stack."""

from .contrastive_collator import ContrastiveCollator
from .contrastive_config import ContrastiveConfig
from .contrastive_sets import ContrastiveEntry, ContrastiveSets
from .contrastive_trainer import ContrastiveTrainer
from .diverse_search import DiverseBeamOutput, diverse_beam_search
from .explain import Explanation
from .formats import PRESETS, QAGenFormat
from .hub_metric import METRIC_PATH, QAGS_METRIC_PATH, install_metric
from .mining import MiningConfig, mine_contrastive_sets, rouge_score_fn, select_documents
from .pairs import QAPair, answer_in_summary, select_pairs
from .qagen_data import load_newsqa, load_squad
from .qags import QagsConfig, QagsOutput, QagsQuestion, QagsScorer, token_f1
from .remine_callback import RemineCallback
from .scorer import (
    PairScore,
    QualsConfig,
    QualsOutput,
    QualsScorer,
    load_seq2seq,
    quals_from_pair_scores,
)
from .train_qagen import QAGenArguments, train_qagen
from .trainer_metrics import quals_compute_metrics

__version__ = "0.1.0"

__all__ = [
    "METRIC_PATH",
    "PRESETS",
    "QAGS_METRIC_PATH",
    "ContrastiveCollator",
    "ContrastiveConfig",
    "ContrastiveEntry",
    "ContrastiveSets",
    "ContrastiveTrainer",
    "DiverseBeamOutput",
    "Explanation",
    "MiningConfig",
    "PairScore",
    "QAGenArguments",
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
    "answer_in_summary",
    "diverse_beam_search",
    "install_metric",
    "load_newsqa",
    "load_seq2seq",
    "load_squad",
    "mine_contrastive_sets",
    "quals_compute_metrics",
    "quals_from_pair_scores",
    "rouge_score_fn",
    "select_documents",
    "select_pairs",
    "token_f1",
    "train_qagen",
]
