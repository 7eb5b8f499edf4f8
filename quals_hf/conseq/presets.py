"""Named ConSeq recipes: the paper's, and the recommended one measured against it.

A recipe spans three configs: the loss (`ContrastiveConfig`), the selection of documents
(`MiningConfig`) and the score that mines them (the mining scorer's `QualsConfig` fields).
`ContrastiveConfig.preset` and `MiningConfig.preset` read the same `ConseqPreset`, so a recipe
is named once; docs/conseq.md has the stored measurement of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConseqPreset:
    """One ConSeq recipe.

    Attributes:
        contrastive_loss: `ContrastiveConfig.contrastive_loss`.
        mle_weight: `ContrastiveConfig.mle_weight`.
        positive_ratio: `MiningConfig.positive_ratio`.
        negative_ratio: `MiningConfig.negative_ratio`.
        num_candidates: `MiningConfig.num_candidates`.
        pair_score: the mining scorer's `QualsConfig.pair_score`.
        aggregate: the mining scorer's `QualsConfig.aggregate`.
    """

    contrastive_loss: str
    mle_weight: float
    positive_ratio: float
    negative_ratio: float
    num_candidates: int
    pair_score: str
    aggregate: str

    def training_options(self) -> dict[str, Any]:
        """The `ContrastiveConfig` fields this recipe sets."""
        return {"contrastive_loss": self.contrastive_loss, "mle_weight": self.mle_weight}

    def mining_options(self) -> dict[str, Any]:
        """The `MiningConfig` fields this recipe sets."""
        return {
            "positive_ratio": self.positive_ratio,
            "negative_ratio": self.negative_ratio,
            "num_candidates": self.num_candidates,
            "quals_pair_score": self.pair_score,  # for scorer="quals"
            "quals_aggregate": self.aggregate,
        }

    def scorer_options(self) -> dict[str, Any]:
        """The `QualsConfig` fields of the scorer that mines, for a scorer you build yourself
        (``QualsScorer.from_pretrained(path, **these)``); ``scorer="quals"`` with
        ``MiningConfig.preset(name)`` applies them itself."""
        return {"pair_score": self.pair_score, "aggregate": self.aggregate}


CONSEQ_PRESETS: dict[str, ConseqPreset] = {
    # Nan et al. 2021: token-level unlikelihood, top 30% references ∩ bottom 30% negatives
    "paper": ConseqPreset("unlikelihood", 0.0, 0.3, 0.3, 6, "pair", "mean"),
    "recommended": ConseqPreset("margin", 0.0, 0.6, 0.6, 6, "answer", "mean"),
}


def conseq_preset(name: str) -> ConseqPreset:
    """The recipe called ``name`` (`CONSEQ_PRESETS`), or a ValueError naming the ones there are."""
    try:
        return CONSEQ_PRESETS[name]
    except KeyError:
        known = sorted(CONSEQ_PRESETS)
        raise ValueError(f"unknown ConSeq preset {name!r}; choose from {known}") from None
