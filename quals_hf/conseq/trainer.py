"""`ContrastiveTrainer`: ConSeq contrastive training as a drop-in for `Seq2SeqTrainer`.

Swap the class name, pass a `ContrastiveConfig` and the `ContrastiveSets`, and train. Each
batch holds the examples' sources, references (``labels``), positives and negatives; each
source is encoded once and one decoder pass scores all their targets, and the loss is
normalised over the whole accumulated batch and all processes, so gradient accumulation and
data parallelism give the loss of one large batch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel, Seq2SeqTrainer
from transformers.modeling_outputs import BaseModelOutput
from transformers.trainer_utils import get_last_checkpoint

from ..core.inputs import default_max_length
from ..core.rows import check_rows, dataset_row
from .collator import CONTRASTIVE_KEYS, ContrastiveCollator
from .config import ContrastiveConfig
from .loss import IGNORE, pairwise_losses, sequence_logps, token_losses
from .sets import FILE_NAME, ContrastiveSets

logger = logging.getLogger("quals_hf")

# the loss denominators, counted over an accumulated batch: see `_get_num_items_in_batch`
CONTRASTIVE_TOKENS, MLE_TOKENS, PAIRS = 0, 1, 2


def _stack(blocks: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate label blocks of different widths, padding with IGNORE."""
    width = max(b.shape[1] for b in blocks)
    return torch.cat([nn.functional.pad(b, (0, width - b.shape[1]), value=IGNORE) for b in blocks])


class ContrastiveTrainer(Seq2SeqTrainer):
    """A `Seq2SeqTrainer` that trains on positive and negative summaries (ConSeq).

    Args:
        model: the summarizer (any ``AutoModelForSeq2SeqLM``), usually MLE-trained first.
        args: a `ContrastiveConfig`.
        contrastive_sets: the sets to train on; re-mining may replace their contents in place.
        train_dataset: tokenized (``input_ids``, ``labels``) or text (``args.source_column``,
            ``args.target_column``) rows, each with its own ``args.id_column`` id. Texts are
            checked first: an empty or missing text, or a missing or repeated id, is a
            ValueError naming the row. Sources are cut at ``args.max_source_length`` tokens,
            capped at the model's limit (`default_max_length`).
        ref_model: a frozen reference model for ``contrastive_loss="sigmoid"`` (optional).
        processing_class: the tokenizer (required: positives and negatives are tokenized
            when batches are built).
        **kwargs: the other arguments of `Seq2SeqTrainer`.

    Evaluation is that of `Seq2SeqTrainer` (MLE loss on the references, and generation with
    ``predict_with_generate``). The loss components are logged under ``contrastive/``.
    """

    loss_is_scaled_for_ga = True  # compute_loss normalises over the whole accumulated batch

    def __init__(
        self,
        model: PreTrainedModel,
        args: ContrastiveConfig,
        contrastive_sets: ContrastiveSets,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        ref_model: PreTrainedModel | None = None,
        data_collator: Any = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(args, ContrastiveConfig):
            raise TypeError("ContrastiveTrainer needs a ContrastiveConfig as args")
        if processing_class is None:
            raise ValueError("ContrastiveTrainer needs processing_class (the tokenizer)")
        if processing_class.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token first")
        source_length = default_max_length(model, processing_class, args.max_source_length)
        if train_dataset is not None:
            train_dataset = self._prepare_dataset(
                train_dataset, args, processing_class, source_length, "train"
            )
            contrastive_sets.validate_ids(train_dataset[args.id_column])
        if eval_dataset is not None:
            eval_dataset = self._prepare_dataset(
                eval_dataset, args, processing_class, source_length, "eval"
            )
        self.contrastive_sets = contrastive_sets
        collator = data_collator or ContrastiveCollator(
            processing_class, contrastive_sets, args.id_column, args.max_target_length
        )
        super().__init__(
            model=model,
            args=args,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            data_collator=collator,
            **kwargs,
        )
        self.ref_model = None
        if ref_model is not None:
            self.ref_model = ref_model.to(self.args.device).eval().requires_grad_(False)
        self._metrics: dict[str, dict[str, list[float]]] = {
            "train": defaultdict(list),
            "eval": defaultdict(list),
        }

    # -- data ------------------------------------------------------------------------------

    @staticmethod
    def _prepare_dataset(
        dataset: Any, args: ContrastiveConfig, tokenizer: Any, source_length: int, name: str
    ) -> Any:
        """Check the id column, the ids and the texts (`check_rows`); tokenize text columns,
        sources cut at ``source_length`` tokens, when the dataset is not tokenized."""
        if args.id_column not in dataset.column_names:
            raise ValueError(
                f"the {name} dataset has no id column {args.id_column!r} "
                f"(columns: {dataset.column_names}); set ContrastiveConfig.id_column"
            )
        tokenized = "input_ids" in dataset.column_names
        missing = {args.source_column, args.target_column} - set(dataset.column_names)
        if missing and not tokenized:
            raise ValueError(
                f"the {name} dataset has neither input_ids nor the text columns "
                f"{sorted(missing)}; set source_column/target_column"
            )
        columns = [] if tokenized else [args.source_column, args.target_column]
        ids = list(dataset[args.id_column])
        check_rows(
            ids, {c: list(dataset[c]) for c in columns}, dataset_row(f"the {name} dataset", ids)
        )
        if tokenized:
            return dataset

        def tokenize(batch: dict[str, list]) -> dict[str, list]:
            enc = tokenizer(batch[args.source_column], max_length=source_length, truncation=True)
            enc["labels"] = tokenizer(
                text_target=batch[args.target_column],
                max_length=args.max_target_length,
                truncation=True,
            )["input_ids"]
            return enc

        return dataset.map(tokenize, batched=True, desc=f"tokenizing the {name} dataset")

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        if self.args.id_column not in self._signature_columns:
            self._signature_columns.append(self.args.id_column)  # the collator needs the ids

    # -- loss ------------------------------------------------------------------------------

    def _get_num_items_in_batch(self, batch_samples: list, device: torch.device) -> Any:
        """The loss denominators of a whole accumulated batch, summed over processes.

        ``[contrastive tokens, MLE tokens, pairs]``: each loss term is a sum over this micro
        batch divided by its count over the accumulated batch, so accumulated micro batches
        add up to the loss of one large batch.
        """
        if not batch_samples or "positive_labels" not in batch_samples[0]:
            return super()._get_num_items_in_batch(batch_samples, device)
        totals = [0, 0, 0]
        for batch in batch_samples:
            pos = batch["positive_labels"] != IGNORE
            neg = batch["negative_labels"] != IGNORE
            totals[CONTRASTIVE_TOKENS] += int(pos.sum()) + int(neg.sum())
            totals[MLE_TOKENS] += int((batch["labels"] != IGNORE).sum())
            totals[PAIRS] += int((pos.any(-1) & neg.any(-1)).sum())
        counts = torch.tensor(totals, dtype=torch.long, device=device)
        if self.args.average_tokens_across_devices and self.args.world_size > 1:
            counts = self.accelerator.gather(counts).view(-1, 3).sum(0)
        return counts

    def _forward_targets(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        owner: torch.Tensor,
        decoder_input_ids: torch.Tensor,
    ) -> Any:
        """``model`` on every target row; row ``r`` belongs to source ``owner[r]``.

        Each source is encoded once and its states are selected per target, so a source
        with a reference, a positive and a negative is not encoded three times; gradients
        flow through the selection back into the one encoder pass.
        """
        encoder = self.accelerator.unwrap_model(model).get_encoder()
        states = encoder(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]
        ).last_hidden_state
        return model(
            encoder_outputs=BaseModelOutput(last_hidden_state=states[owner]),
            attention_mask=inputs["attention_mask"][owner],
            decoder_input_ids=decoder_input_ids,
            use_cache=False,
        )

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        if "positive_labels" not in inputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        args: ContrastiveConfig = self.args
        positive, negative = inputs["positive_labels"], inputs["negative_labels"]
        has_pos, has_neg = (positive != IGNORE).any(-1), (negative != IGNORE).any(-1)
        rows = torch.arange(positive.shape[0], device=positive.device)
        blocks = [(positive[has_pos], rows[has_pos]), (negative[has_neg], rows[has_neg])]
        if args.mle_weight > 0:
            blocks.append((inputs["labels"], rows))
        skipped = not any(len(o) for _, o in blocks)
        if skipped:  # nothing to train on: a zero-weight pass keeps every process in step
            blocks.append((inputs["labels"], rows))
        labels = _stack([b for b, _ in blocks])
        owner = torch.cat([o for _, o in blocks])
        decoder_input_ids = self.accelerator.unwrap_model(
            model
        ).prepare_decoder_input_ids_from_labels(labels=labels)
        outputs = self._forward_targets(model, inputs, owner, decoder_input_ids)
        logits = outputs.logits
        sizes = [len(o) for _, o in blocks]
        splits = list(zip(torch.split(logits, sizes), torch.split(labels, sizes)))
        counts = num_items_in_batch
        if counts is None:  # no accumulated counts (e.g. called directly): this batch's
            counts = self._get_num_items_in_batch([inputs], logits.device)
        eps = args.label_smoothing_factor
        metrics: dict[str, float] = {}
        loss = logits.new_zeros(())

        pos_logits, pos_labels = splits[0]
        neg_logits, neg_labels = splits[1]
        pairwise_mode = args.contrastive_loss != "unlikelihood"
        with torch.set_grad_enabled(pairwise_mode and torch.is_grad_enabled()):
            seq_pos = sequence_logps(pos_logits, pos_labels)  # one per example with a positive
            seq_neg = sequence_logps(neg_logits, neg_labels)
        if not pairwise_mode:
            likelihood = token_losses(pos_logits, pos_labels, eps)
            unlikelihood = token_losses(
                neg_logits, neg_labels, eps, unlikelihood=True, clamp=args.unlikelihood_clamp
            )
            loss = loss + (likelihood.sum() + unlikelihood.sum()) / counts[
                CONTRASTIVE_TOKENS
            ].clamp(min=1)
            metrics["likelihood"] = likelihood.sum().item() / max(
                int((pos_labels != IGNORE).sum()), 1
            )
            metrics["unlikelihood"] = unlikelihood.sum().item() / max(
                int((neg_labels != IGNORE).sum()), 1
            )
        else:
            pair = has_pos & has_neg
            pos_rank = torch.cumsum(has_pos, 0) - 1  # row of each example in the positive block
            neg_rank = torch.cumsum(has_neg, 0) - 1
            ref_pos = ref_neg = None
            if self.ref_model is not None and args.contrastive_loss == "sigmoid":
                with torch.no_grad():
                    ref_logits = self._forward_targets(
                        self.ref_model, inputs, owner, decoder_input_ids
                    ).logits
                ref = [
                    sequence_logps(lg, lb)
                    for lg, lb in zip(torch.split(ref_logits, sizes), torch.split(labels, sizes))
                ]
                ref_pos, ref_neg = ref[0][pos_rank[pair]], ref[1][neg_rank[pair]]
            pairwise = pairwise_losses(
                seq_pos[pos_rank[pair]],
                seq_neg[neg_rank[pair]],
                args.contrastive_loss,
                args.margin,
                args.beta,
                ref_pos,
                ref_neg,
            )
            loss = loss + args.pairwise_weight * pairwise.sum() / counts[PAIRS].clamp(min=1)
            metrics["pairwise"] = pairwise.mean().item() if len(pairwise) else 0.0
        if args.mle_weight > 0:
            mle = token_losses(*splits[2], eps)
            loss = loss + args.mle_weight * mle.sum() / counts[MLE_TOKENS].clamp(min=1)
            metrics["mle"] = mle.sum().item() / max(int((splits[2][1] != IGNORE).sum()), 1)
        if skipped:
            loss = loss + 0.0 * logits.sum()
        if args.average_tokens_across_devices and args.world_size > 1:
            loss = loss * args.world_size  # DDP averages gradients over processes

        with torch.no_grad():
            metrics["pairs"] = float((has_pos & has_neg).sum())
            metrics["skipped"] = float((~inputs["has_entry"]).sum())
            if len(seq_pos):
                metrics["logp/positive"] = seq_pos.mean().item()
            if len(seq_neg):
                metrics["logp/negative"] = seq_neg.mean().item()
        mode = "train" if model.training else "eval"
        for key, value in metrics.items():
            self._metrics[mode][f"contrastive/{key}"].append(value)
        return (loss, outputs) if return_outputs else loss

    def prediction_step(self, model: nn.Module, inputs: dict[str, Any], *args: Any, **kwargs: Any):
        """Evaluation as in `Seq2SeqTrainer`: on the references, without the contrastive keys."""
        inputs = {k: v for k, v in inputs.items() if k not in CONTRASTIVE_KEYS}
        return super().prediction_step(model, inputs, *args, **kwargs)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the averaged loss components since the last log, as TRL's trainers do."""
        mode = "train" if "loss" in logs else "eval"
        averaged = {k: sum(v) / len(v) for k, v in self._metrics[mode].items() if v}
        if mode == "eval":
            averaged = {f"eval_{k}": v for k, v in averaged.items()}
        logs.update(averaged)
        for callback in self.callback_handler.callbacks:  # e.g. RemineCallback's metrics
            if hasattr(callback, "pop_logs"):
                logs.update(callback.pop_logs())
        self._metrics[mode].clear()
        super().log(logs, start_time)

    # -- checkpoints -----------------------------------------------------------------------

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """Save the model and, beside it, the contrastive sets in use."""
        super().save_model(output_dir, _internal_call)
        if self.args.should_save:
            self.contrastive_sets.save(Path(output_dir or self.args.output_dir))

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs: Any):
        """`Seq2SeqTrainer.train`; resuming from a checkpoint also restores its sets."""
        path = resume_from_checkpoint
        if path is True:
            path = get_last_checkpoint(self.args.output_dir)
        if isinstance(path, str) and (Path(path) / FILE_NAME).exists():
            self.contrastive_sets.replace_with(ContrastiveSets.load(path))
            logger.info(
                "restored the contrastive sets (round %d) from %s",
                self.contrastive_sets.round,
                path,
            )
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)
