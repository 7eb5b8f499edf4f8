"""Batched extractive question answering over long contexts (sliding windows), for QAGS.

Every (question, context) pair is split into overlapping windows of at most ``max_length``
tokens; all windows of all pairs run through an ``AutoModelForQuestionAnswering`` in batches,
and each pair's answer is its best span over its windows, or the empty string when the model's
no-answer score (start and end on the first token, where BERT- and RoBERTa-style tokenizers put
their CLS token, as SQuAD 2.0 models are trained) beats it.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..core.padding import pad_sequences


def best_spans(
    start_logits: torch.Tensor, end_logits: torch.Tensor, allowed: torch.Tensor, max_tokens: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Best span of each row: ``(score, start, end)`` with ``start <= end < start + max_tokens``.

    ``allowed`` masks the tokens a span may start and end on (the context's).
    """
    neg = torch.finfo(start_logits.dtype).min / 4
    starts = start_logits.masked_fill(~allowed, neg)
    ends = end_logits.masked_fill(~allowed, neg)
    width = starts.shape[1]
    # scores[:, i, d] = start i + end i + d (end beyond the window: masked)
    shifted = torch.full((starts.shape[0], width, max_tokens), neg, device=starts.device)
    for d in range(min(max_tokens, width)):
        shifted[:, : width - d, d] = ends[:, d:]
    scores = starts.unsqueeze(-1) + shifted
    flat = scores.flatten(1).max(dim=1)
    start = flat.indices // max_tokens
    return flat.values, start, start + flat.indices % max_tokens


@torch.inference_mode()
def answer_questions(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    questions: list[str],
    contexts: list[str],
    max_length: int = 384,
    stride: int = 128,
    max_answer_tokens: int = 30,
    batch_size: int = 64,
) -> list[str]:
    """The answer span of each question in its context ("" when the model finds none).

    Args:
        model: an extractive QA model (``start_logits``/``end_logits``).
        tokenizer: its fast tokenizer (offsets are needed to cut answers out of the text).
        questions: one question per pair.
        contexts: the text each question is asked on.
        max_length: tokens per window (question included).
        stride: tokens shared by consecutive windows of a long context.
        max_answer_tokens: longest answer in tokens.
        batch_size: windows per forward pass.
    """
    if not questions:
        return []
    enc = tokenizer(
        questions,
        contexts,
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    owner = enc["overflow_to_sample_mapping"]
    windows = len(owner)
    span_score = torch.full((windows,), float("-inf"))
    null_score = torch.full((windows,), float("-inf"))
    spans = torch.zeros((windows, 2), dtype=torch.long)
    order = sorted(range(windows), key=lambda w: -len(enc["input_ids"][w]))
    pad = tokenizer.pad_token_id
    for begin in range(0, windows, batch_size):
        rows = order[begin : begin + batch_size]
        ids, mask = pad_sequences([enc["input_ids"][w] for w in rows], pad)
        inputs = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in enc:  # BERT-style models: question segment 0, context 1
            types, _ = pad_sequences([enc["token_type_ids"][w] for w in rows], 0)
            inputs["token_type_ids"] = types
        out = model(**{k: v.to(model.device) for k, v in inputs.items()})
        start_logits, end_logits = out.start_logits.float().cpu(), out.end_logits.float().cpu()
        allowed = torch.zeros_like(mask, dtype=torch.bool)
        for r, w in enumerate(rows):
            seq_ids = enc.sequence_ids(w)
            allowed[r, : len(seq_ids)] = torch.tensor([s == 1 for s in seq_ids])
        score, start, end = best_spans(start_logits, end_logits, allowed, max_answer_tokens)
        index = torch.tensor(rows)
        span_score[index] = score
        spans[index] = torch.stack([start, end], dim=1)
        null_score[index] = start_logits[:, 0] + end_logits[:, 0]

    windows_of: list[list[int]] = [[] for _ in contexts]
    for w, i in enumerate(owner):
        windows_of[i].append(w)
    answers = []
    for context, mine in zip(contexts, windows_of):
        best = max(mine, key=lambda w: span_score[w].item())
        if min(null_score[w].item() for w in mine) > span_score[best].item():
            answers.append("")
            continue
        start, end = spans[best].tolist()
        offsets = enc["offset_mapping"][best]
        answers.append(context[offsets[start][0] : offsets[end][1]])
    return answers
