"""A likelihood baseline with a decoder-only QAGen's own model: does reading the source make
the summary more likely? If QUALS' questions and answers add nothing, this cheaper score would
agree with people as well.

Per summary: mean log p(summary tokens + EOS | prompt(source)) minus mean log p(summary tokens
+ EOS | prompt("")), where prompt(t) = input_prefix + t + input_suffix and prompt and summary
ids are joined as ids; the source is cut (never the prefix or the suffix) so that prompt +
summary fit in `MAX_TOKENS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .store import chunks

MAX_TOKENS = 2048  # longest prompt + summary the likelihood baseline reads


class LikelihoodBaseline:
    """Mean log-probability of summary + EOS after prompt(source) minus after prompt("").

    Args:
        model: a causal LM (a decoder-only QAGen).
        tokenizer: its tokenizer.
        prefix: the QAGen format's ``input_prefix`` (text before the source).
        suffix: the QAGen format's ``input_suffix`` (text after the source).
        max_tokens: the longest prompt + summary read.
    """

    def __init__(
        self, model: Any, tokenizer: Any, prefix: str, suffix: str, max_tokens: int = MAX_TOKENS
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.prefix, self.suffix = prefix or "", suffix or ""
        eos = model.generation_config.eos_token_id or model.config.eos_token_id
        if eos is None:
            raise ValueError(f"{model.config.name_or_path}: the model defines no eos_token_id")
        self.eos = eos if isinstance(eos, int) else next(iter(eos))
        self.pad = self.eos if tokenizer.pad_token_id is None else tokenizer.pad_token_id
        self.max_tokens = max_tokens

    @classmethod
    def from_pretrained(
        cls, qagen: str | Path, device: str = "cpu", dtype: str = "fp32"
    ) -> LikelihoodBaseline:
        """Load a decoder-only QAGen folder (its config must hold a ``qagen_format``)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        weights = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
        model = AutoModelForCausalLM.from_pretrained(qagen, dtype=weights).to(device)
        fmt = getattr(model.config, "qagen_format", None)
        if not isinstance(fmt, dict) or "input_suffix" not in fmt:
            raise ValueError(f"{qagen}: config.json has no decoder-only qagen_format")
        tokenizer = AutoTokenizer.from_pretrained(qagen)
        return cls(model, tokenizer, fmt.get("input_prefix") or "", fmt["input_suffix"])

    @classmethod
    def from_scorer(cls, scorer: Any) -> LikelihoodBaseline:
        """The baseline on a decoder-only `QualsScorer`'s own model, tokenizer and format."""
        if scorer.model.config.is_encoder_decoder:
            raise ValueError("the likelihood baseline needs a decoder-only QAGen")
        fmt = scorer.format
        return cls(scorer.model, scorer.tokenizer, fmt.input_prefix, fmt.input_suffix)

    def prompt_ids(self, source: str, budget: int) -> tuple[list[int], bool]:
        """Ids of prompt(source) in at most ``budget`` tokens, cutting only the source's end;
        and whether it was cut."""
        ids = self.tokenizer(self.prefix + source + self.suffix)["input_ids"]
        if len(ids) <= budget:
            return ids, False
        enc = self.tokenizer(source, add_special_tokens=False, return_offsets_mapping=True)
        keep = budget - (len(ids) - len(enc["input_ids"]))
        while keep > 0:
            end = enc["offset_mapping"][keep - 1][1]
            ids = self.tokenizer(self.prefix + source[:end] + self.suffix)["input_ids"]
            if len(ids) <= budget:
                return ids, True
            keep -= len(ids) - budget
        raise ValueError(f"the prompt has no room for a source within {budget} tokens")

    @torch.inference_mode()
    def mean_logprobs(self, jobs: list[tuple[list[int], list[int]]]) -> list[float]:
        """Mean log p of each target (scored ids) after its prompt, in one right-padded batch.

        The head is applied to the target positions only (the model's own forward would make
        (batch, 2048, vocabulary) logits)."""
        seqs = [p + t for p, t in jobs]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1
        device = self.model.device
        hidden = self.model.base_model(
            input_ids=ids.to(device), attention_mask=mask.to(device)
        ).last_hidden_state
        head = self.model.get_output_embeddings()
        means = []
        for row, (prompt, target) in enumerate(jobs):
            positions = torch.arange(len(prompt) - 1, len(prompt) + len(target) - 1, device=device)
            logits = head(hidden[row, positions]).float()
            tokens = torch.tensor(target, device=device)
            lp = logits.gather(-1, tokens[:, None]).squeeze(-1) - logits.logsumexp(-1)
            means.append(lp.mean().item())
        return means

    def score(
        self, sources: list[str], summaries: list[str], batch_size: int = 8
    ) -> list[dict[str, Any]]:
        """Per summary: lp_source, lp_empty, their difference (``likelihood``), whether the
        source was cut, and the summary's scored tokens."""
        jobs, cut = [], []
        for source, summary in zip(sources, summaries):
            target = self.tokenizer(summary, add_special_tokens=False)["input_ids"] + [self.eos]
            prompt, truncated = self.prompt_ids(source, self.max_tokens - len(target))
            empty, _ = self.prompt_ids("", self.max_tokens - len(target))
            jobs += [(prompt, target), (empty, target)]
            cut.append(truncated)
        order = sorted(range(len(jobs)), key=lambda j: len(jobs[j][0]) + len(jobs[j][1]))
        means = [0.0] * len(jobs)
        for batch in chunks(order, batch_size):
            for j, m in zip(batch, self.mean_logprobs([jobs[j] for j in batch])):
                means[j] = m
        return [
            {
                "lp_source": means[2 * i],
                "lp_empty": means[2 * i + 1],
                "likelihood": means[2 * i] - means[2 * i + 1],
                "source_truncated": cut[i],
                "summary_tokens": len(jobs[2 * i][1]),
            }
            for i in range(len(summaries))
        ]
