"""`RemineCallback`: keep the contrastive sets fresh while the summarizer trains.

Every N optimizer steps (or every epoch) the callback re-mines the sets with the current model
on every process (`mine_contrastive_sets` shares the documents out and gathers the results),
and replaces the contents of the trainer's `ContrastiveSets` in place, so the running
dataloader uses the new sets from its next batch. The next checkpoint saves them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from ..core.protocols import ConsistencyScorer
from .mining import MiningConfig, ScoreFn, mine_contrastive_sets
from .sets import ContrastiveSets

logger = logging.getLogger("quals_hf")


class RemineCallback(TrainerCallback):
    """Re-mine ``sets`` with the model being trained.

    Args:
        sets: the `ContrastiveSets` the trainer trains on (the same object).
        dataset: documents with id, source and reference columns (text, not tokenized).
        scorer: a `QualsScorer`, ``"rouge"``, or a callable, as for `mine_contrastive_sets`.
        every_n_steps: re-mine after every this many optimizer steps.
        every_epoch: re-mine at the end of every epoch.
        config: a `MiningConfig`.
        id_column: the dataset's id column.
        source_column: its source document column.
        target_column: its reference summary column.

    The mining time, the set sizes and the mean positive and negative scores are logged under
    ``remine/`` with the trainer's next log.
    """

    def __init__(
        self,
        sets: ContrastiveSets,
        dataset: Any,
        scorer: ConsistencyScorer | ScoreFn | str,
        every_n_steps: int | None = None,
        every_epoch: bool = False,
        config: MiningConfig | None = None,
        id_column: str = "id",
        source_column: str = "document",
        target_column: str = "summary",
    ) -> None:
        if not every_n_steps and not every_epoch:
            raise ValueError("set every_n_steps or every_epoch")
        self.sets = sets
        self.dataset = dataset
        self.scorer = scorer
        self.every_n_steps = every_n_steps
        self.every_epoch = every_epoch
        self.config = config or MiningConfig()
        self.columns = {
            "id_column": id_column,
            "source_column": source_column,
            "target_column": target_column,
        }
        self.rounds = 0
        self._pending: dict[str, float] = {}

    def remine(self, model: Any, tokenizer: Any, args: TrainingArguments) -> None:
        """Mine a new round with ``model`` and put it into the sets."""
        start = time.perf_counter()
        new = mine_contrastive_sets(
            model,
            tokenizer,
            self.dataset,
            self.scorer,
            self.config,
            round=self.sets.round + 1,
            progress=not args.disable_tqdm,
            **self.columns,
        )
        self.sets.replace_with(new)
        self.rounds += 1
        stats = new.stats()
        self._pending = {
            "remine/round": float(new.round),
            "remine/seconds": time.perf_counter() - start,
            "remine/examples": float(stats["examples"]),
            "remine/mean_positive_score": stats["mean_positive_score"],
            "remine/mean_negative_score": stats["mean_negative_score"],
        }

    def pop_logs(self) -> dict[str, float]:
        """The metrics of the last re-mining, once (`ContrastiveTrainer.log` collects them)."""
        logs, self._pending = self._pending, {}
        return logs

    def _maybe(
        self,
        due: bool,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> TrainerControl:
        if due:
            # the trainer passes its unwrapped model; `.module` unwraps anything still wrapped
            # (DDP). FSDP/DeepSpeed ZeRO-3 need their full parameters gathered to generate:
            # subclass and override `remine` to enter that context around `super().remine`.
            model = getattr(kwargs["model"], "module", kwargs["model"])
            self.remine(model, kwargs["processing_class"], args)
            control.should_log = True
        return control

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if args.dataloader_num_workers > 0:
            raise ValueError(
                "RemineCallback needs dataloader_num_workers=0: worker processes hold copies "
                "of the contrastive sets and would not see the re-mined ones"
            )

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        due = bool(self.every_n_steps) and state.global_step % self.every_n_steps == 0
        # no round after the last step: nothing would train on it
        return self._maybe(
            due and state.global_step < state.max_steps, args, state, control, **kwargs
        )

    def on_epoch_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        due = self.every_epoch and state.global_step < state.max_steps
        return self._maybe(due, args, state, control, **kwargs)
