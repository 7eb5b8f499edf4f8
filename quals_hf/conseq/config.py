"""`ContrastiveConfig`: `Seq2SeqTrainingArguments` plus the options of ConSeq training."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from transformers import Seq2SeqTrainingArguments

from .presets import conseq_preset

LOSSES = ("unlikelihood", "margin", "sigmoid")

# Nan et al. 2021's training hyperparameters, shared by every ConSeq recipe (`preset`)
PAPER_HYPERPARAMETERS: dict[str, Any] = dict(
    learning_rate=3e-6,
    lr_scheduler_type="polynomial",
    warmup_steps=0,
    num_train_epochs=2,
    adam_beta1=0.9,
    adam_beta2=0.999,
    adam_epsilon=1e-8,
    weight_decay=0.01,
    max_grad_norm=0.1,
    label_smoothing_factor=0.1,
)


@dataclass
class ContrastiveConfig(Seq2SeqTrainingArguments):
    """Training arguments of `ContrastiveTrainer`.

    Everything `Seq2SeqTrainingArguments` takes, plus the contrastive options below. Label
    smoothing of the contrastive terms comes from ``label_smoothing_factor`` (the paper: 0.1).
    ``ContrastiveConfig.preset(name, output_dir)`` gives a named recipe's hyperparameters
    (``"paper"``: the paper's).
    """

    contrastive_loss: str = field(
        default="unlikelihood",
        metadata={
            "help": "'unlikelihood' (the paper's: likelihood on positive tokens plus "
            "unlikelihood on negative tokens), 'margin' or 'sigmoid' (pairwise, on "
            "length-normalised sequence log-likelihoods; sigmoid is DPO-style)."
        },
    )
    mle_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight of a plain MLE term on every training example's reference "
            "summary, added to the contrastive loss (0: the paper's, no MLE term)."
        },
    )
    pairwise_weight: float = field(
        default=1.0, metadata={"help": "Weight of the 'margin' or 'sigmoid' pairwise term."}
    )
    margin: float = field(
        default=1.0,
        metadata={
            "help": "'margin': wanted gap between the positive's and the negative's mean "
            "token log-likelihood."
        },
    )
    beta: float = field(default=0.1, metadata={"help": "'sigmoid': the DPO temperature beta."})
    unlikelihood_clamp: float = field(
        default=1e-20, metadata={"help": "1 - p is clamped at this value before the log."}
    )
    id_column: str = field(default="id", metadata={"help": "Column with the example ids."})
    source_column: str = field(
        default="document", metadata={"help": "Source text column, for untokenized datasets."}
    )
    target_column: str = field(
        default="summary", metadata={"help": "Reference summary column, for untokenized datasets."}
    )
    max_source_length: int = field(
        default=1024,
        metadata={"help": "Longest source, in tokens; capped at the model's (default_max_length)."},
    )
    max_target_length: int = field(
        default=128,
        metadata={"help": "Longest summary (reference, positive, negative), in tokens."},
    )

    def __post_init__(self) -> None:
        if self.contrastive_loss not in LOSSES:
            raise ValueError(
                f"contrastive_loss must be one of {LOSSES}, got {self.contrastive_loss!r}"
            )
        if self.mle_weight < 0 or self.pairwise_weight < 0:
            raise ValueError("mle_weight and pairwise_weight must be >= 0")
        super().__post_init__()

    @classmethod
    def preset(cls, name: str, output_dir: str, **overrides: Any) -> ContrastiveConfig:
        """The ConSeq recipe ``name`` (``"paper"`` or ``"recommended"``,
        `quals_hf.conseq.presets`): the paper's hyperparameters (`PAPER_HYPERPARAMETERS`:
        learning rate, schedule, epochs, optimizer, clipping, label smoothing) with the recipe's
        loss; ``overrides`` win. Start from the MLE checkpoint. Pair it with
        ``MiningConfig.preset(name)`` and a mining scorer built with the recipe's
        ``scorer_options()``.

        The paper also trained in fp16: pass ``fp16=True`` (or ``bf16=True``) on GPUs.
        """
        options = {**PAPER_HYPERPARAMETERS, **conseq_preset(name).training_options()}
        return cls(output_dir=output_dir, **{**options, **overrides})

    @classmethod
    def conseq(cls, output_dir: str, **overrides: Any) -> ContrastiveConfig:
        """Deprecated spelling of ``ContrastiveConfig.preset("paper", output_dir, **overrides)``,
        which returns the same config: this set the paper's hyperparameters, and the paper's
        loss (``contrastive_loss="unlikelihood"``, ``mle_weight=0``) is the default. Emits a
        FutureWarning; kept for one release, then removed."""
        warnings.warn(
            "ContrastiveConfig.conseq(output_dir, ...) is deprecated and will be removed: use "
            'ContrastiveConfig.preset("paper", output_dir, ...), which returns the same config '
            "(the paper's hyperparameters and loss)",
            FutureWarning,
            stacklevel=2,
        )
        return cls.preset("paper", output_dir, **overrides)
