"""`ContrastiveCollator`: seq2seq batches with each example's positive and negative targets.

The summaries are looked up in the `ContrastiveSets` when the batch is built, so a running
dataloader picks up re-mined sets at once.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DataCollatorForSeq2Seq, PreTrainedTokenizerBase

from ..core.padding import pad_sequences
from .loss import IGNORE
from .sets import ContrastiveSets

CONTRASTIVE_KEYS = ("positive_labels", "negative_labels", "has_entry")


class ContrastiveCollator:
    """Pads ``input_ids``/``labels`` and adds ``positive_labels`` and ``negative_labels``.

    An example without a positive gets an all-padding positive row, likewise for negatives.
    An example with no entry in the sets gets neither (``has_entry`` is False): the
    contrastive terms skip it, and only the MLE term (``mle_weight > 0``) trains on it.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        sets: ContrastiveSets,
        id_column: str = "id",
        max_target_length: int = 128,
    ) -> None:
        self.tokenizer = tokenizer
        self.sets = sets
        self.id_column = id_column
        self.max_target_length = max_target_length
        self.base = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE)
        self._cache: dict[str, list[int]] = {}

    def _target(self, text: str) -> list[int]:
        if text not in self._cache:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[text] = self.tokenizer(
                text_target=text, max_length=self.max_target_length, truncation=True
            )["input_ids"]
        return self._cache[text]

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        ids = [f[self.id_column] for f in features]
        base = [
            {k: f[k] for k in ("input_ids", "attention_mask", "labels") if k in f} for f in features
        ]
        batch = self.base(base)
        positives, negatives, has_entry = [], [], []
        for example_id in ids:
            entry = self.sets.get(example_id)
            has_entry.append(entry is not None)
            positives.append(self._target(entry.positive) if entry and entry.positive else [])
            negatives.append(self._target(entry.negative) if entry and entry.negative else [])
        batch["positive_labels"] = pad_sequences(positives, IGNORE)[0]
        batch["negative_labels"] = pad_sequences(negatives, IGNORE)[0]
        batch["has_entry"] = torch.tensor(has_entry)
        return batch
