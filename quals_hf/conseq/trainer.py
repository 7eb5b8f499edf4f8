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
from .loss import (
    IGNORE,
    mle_loss,
    paired_rows,
    pairwise_loss,
    sequence_logps,
    unlikelihood_loss,
)
from .sets import FILE_NAME, ContrastiveSets

logger = logging.getLogger("quals_hf")

# the loss denominators, counted over an accumulated batch: see `_get_num_items_in_batch`
CONTRASTIVE_TOKENS, MLE_TOKENS, PAIRS = 0, 1, 2


def _stack(blocks: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate label blocks of different widths, padding with IGNORE."""
    width = max(b.shape[1] for b in blocks)
    return torch.cat([nn.functional.pad(b, (0, width - b.shape[1]), value=IGNORE) for b in blocks])


def _token_mean(per_token: torch.Tensor, labels: torch.Tensor) -> float:
    """The mean of per-token losses over the labelled tokens (0 without any), for the logs:
    over this micro batch, unlike the loss, so a log shows what the batch looked like."""
    return per_token.sum().item() / max(int((labels != IGNORE).sum()), 1)


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

    def concatenated_inputs(self, model: nn.Module, inputs: dict[str, Any]) -> dict[str, Any]:
        """The target rows of one decoder pass: S+ and S− of the examples that have them, then
        the references S when there is an MLE term (TRL's ``concatenated_inputs``).

        Returns ``labels`` (the blocks stacked, padded with IGNORE), ``owner`` (each row's
        source), ``decoder_input_ids`` (from ``model``; the reference model reuses them),
        ``sizes`` (rows per block), the ``has_positive``/``has_negative`` masks and ``skipped``:
        a batch with nothing to train on sends its references through at zero weight, so
        every process runs the same passes.
        """
        positive, negative = inputs["positive_labels"], inputs["negative_labels"]
        has_pos, has_neg = (positive != IGNORE).any(-1), (negative != IGNORE).any(-1)
        rows = torch.arange(positive.shape[0], device=positive.device)
        blocks = [(positive[has_pos], rows[has_pos]), (negative[has_neg], rows[has_neg])]
        if self.args.mle_weight > 0:
            blocks.append((inputs["labels"], rows))
        skipped = not any(len(o) for _, o in blocks)
        if skipped:
            blocks.append((inputs["labels"], rows))
        labels = _stack([b for b, _ in blocks])
        unwrapped = self.accelerator.unwrap_model(model)
        return {
            "labels": labels,
            "owner": torch.cat([o for _, o in blocks]),
            "decoder_input_ids": unwrapped.prepare_decoder_input_ids_from_labels(labels=labels),
            "sizes": [len(o) for _, o in blocks],
            "has_positive": has_pos,
            "has_negative": has_neg,
            "skipped": skipped,
        }

    def concatenated_forward(
        self, model: nn.Module, inputs: dict[str, Any], batch: dict[str, Any]
    ) -> dict[str, Any]:
        """``model`` on every row of ``batch`` (`concatenated_inputs`) in one pass, split back.

        Returns the model ``outputs``; ``blocks``, (logits, labels) per block: ``positive``,
        ``negative`` and ``mle`` (the references, when sent); and the length-normalised
        log-likelihoods ``positive_logps``/``negative_logps``, one per example with that
        summary. Those carry gradients only for the pairwise losses, which train on them; the
        unlikelihood loss only logs them.
        """
        outputs = self._forward_targets(model, inputs, batch["owner"], batch["decoder_input_ids"])
        sizes = batch["sizes"]
        splits = zip(torch.split(outputs.logits, sizes), torch.split(batch["labels"], sizes))
        blocks = dict(zip(("positive", "negative", "mle"), splits))
        trains_on_logps = self.args.contrastive_loss != "unlikelihood"
        with torch.set_grad_enabled(trains_on_logps and torch.is_grad_enabled()):
            positive_logps = sequence_logps(*blocks["positive"])
            negative_logps = sequence_logps(*blocks["negative"])
        return {
            "outputs": outputs,
            "blocks": blocks,
            "positive_logps": positive_logps,
            "negative_logps": negative_logps,
        }

    def _unlikelihood_term(
        self, forward: dict[str, Any], counts: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The paper's loss (`unlikelihood_loss`) and its two parts' per-token means."""
        pos_logits, pos_labels = forward["blocks"]["positive"]
        neg_logits, neg_labels = forward["blocks"]["negative"]
        loss, likelihood, unlikelihood = unlikelihood_loss(
            pos_logits,
            pos_labels,
            neg_logits,
            neg_labels,
            counts[CONTRASTIVE_TOKENS],
            self.args.label_smoothing_factor,
            self.args.unlikelihood_clamp,
        )
        metrics = {
            "likelihood": _token_mean(likelihood, pos_labels),
            "unlikelihood": _token_mean(unlikelihood, neg_labels),
        }
        return loss, metrics

    def _pairwise_term(
        self,
        inputs: dict[str, Any],
        batch: dict[str, Any],
        forward: dict[str, Any],
        counts: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The margin or sigmoid loss (`pairwise_loss`) on the examples with both summaries.

        With a reference model, ``sigmoid`` is DPO's loss: the frozen model scores the same
        rows (`concatenated_forward` without gradients) and each log-likelihood is taken
        relative to its score.
        """
        args: ContrastiveConfig = self.args
        pos_rows, neg_rows = paired_rows(batch["has_positive"], batch["has_negative"])
        ref_pos = ref_neg = None
        if self.ref_model is not None and args.contrastive_loss == "sigmoid":
            with torch.no_grad():
                ref = self.concatenated_forward(self.ref_model, inputs, batch)
            ref_pos, ref_neg = ref["positive_logps"][pos_rows], ref["negative_logps"][neg_rows]
        loss, per_pair = pairwise_loss(
            forward["positive_logps"][pos_rows],
            forward["negative_logps"][neg_rows],
            counts[PAIRS],
            args.contrastive_loss,
            args.pairwise_weight,
            args.margin,
            args.beta,
            ref_pos,
            ref_neg,
        )
        return loss, {"pairwise": per_pair.mean().item() if len(per_pair) else 0.0}

    @staticmethod
    def batch_metrics(
        inputs: dict[str, Any], batch: dict[str, Any], forward: dict[str, Any]
    ) -> dict[str, float]:
        """The batch's logged figures besides the loss terms: its pairs, its examples without
        an entry (skipped) and the mean log-likelihood of its positives and negatives (so a
        run shows whether the loss lowers the negatives or everything)."""
        with torch.no_grad():
            metrics = {
                "pairs": float((batch["has_positive"] & batch["has_negative"]).sum()),
                "skipped": float((~inputs["has_entry"]).sum()),
            }
            for name in ("positive", "negative"):
                if len(forward[f"{name}_logps"]):
                    metrics[f"logp/{name}"] = forward[f"{name}_logps"].mean().item()
        return metrics

    def get_batch_loss_metrics(
        self, model: nn.Module, inputs: dict[str, Any], num_items_in_batch: Any = None
    ) -> tuple[torch.Tensor, Any, dict[str, float]]:
        """The loss of one micro batch, the model outputs and the metrics to log (TRL's shape).

        The contrastive term (unlikelihood or pairwise) plus ``mle_weight`` times the MLE term,
        each normalised by ``num_items_in_batch`` (`_get_num_items_in_batch`; this batch's own
        counts when not given). With several processes the loss is multiplied by their number,
        since DDP averages the gradients.
        """
        args: ContrastiveConfig = self.args
        batch = self.concatenated_inputs(model, inputs)
        forward = self.concatenated_forward(model, inputs, batch)
        logits = forward["outputs"].logits
        counts = num_items_in_batch
        if counts is None:  # no accumulated counts (e.g. called directly): this batch's
            counts = self._get_num_items_in_batch([inputs], logits.device)
        if args.contrastive_loss == "unlikelihood":
            loss, metrics = self._unlikelihood_term(forward, counts)
        else:
            loss, metrics = self._pairwise_term(inputs, batch, forward, counts)
        if args.mle_weight > 0:
            mle_logits, mle_labels = forward["blocks"]["mle"]
            mle, per_token = mle_loss(
                mle_logits,
                mle_labels,
                counts[MLE_TOKENS],
                args.mle_weight,
                args.label_smoothing_factor,
            )
            loss = loss + mle
            metrics["mle"] = _token_mean(per_token, mle_labels)
        if batch["skipped"]:
            loss = loss + 0.0 * logits.sum()
        if args.average_tokens_across_devices and args.world_size > 1:
            loss = loss * args.world_size  # DDP averages gradients over processes
        return loss, forward["outputs"], {**metrics, **self.batch_metrics(inputs, batch, forward)}

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        """The ConSeq loss of a contrastive batch (`get_batch_loss_metrics`); its metrics are
        kept for `log`. Other batches get `Seq2SeqTrainer`'s loss."""
        if "positive_labels" not in inputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        loss, outputs, metrics = self.get_batch_loss_metrics(model, inputs, num_items_in_batch)
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
