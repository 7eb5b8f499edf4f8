"""Checking and encoding the texts users pass in: clear errors, one truncation warning."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger("quals_hf")

MAX_INPUT_TOKENS = 1024  # QUALS reads at most 1024 tokens (the paper's BART QAGen)


def check_texts(texts: Sequence[str], name: str) -> list[str]:
    """Return ``texts`` as a list, or raise a ValueError naming the first bad item."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise ValueError(f"{name} must be a list of strings, got {type(texts).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"{name}[{i}] must be a string, got {type(text).__name__}")
        if not text.strip():
            raise ValueError(f"{name}[{i}] is empty or whitespace only")
        check_unicode(text, f"{name}[{i}]")
    return list(texts)


def check_unicode(text: str, name: str) -> None:
    """Raise a ValueError naming ``name`` when ``text`` holds a lone surrogate: what Python
    makes of bytes that were not UTF-8 (command-line arguments, ``errors="surrogateescape"``),
    which no tokenizer takes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"{name} is not valid Unicode: a lone surrogate {text[err.start]!r} at character "
            f"{err.start} (bytes that were not UTF-8, decoded with errors='surrogateescape')"
        ) from None


def check_parallel(**named: Sequence[str]) -> dict[str, list[str]]:
    """Check several text lists and that they have the same length."""
    checked = {name: check_texts(texts, name) for name, texts in named.items()}
    lengths = {name: len(texts) for name, texts in checked.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs differ in length: {lengths}")
    return checked


def default_max_length(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, limit: int = MAX_INPUT_TOKENS
) -> int:
    """The longest input the model takes: ``limit`` (1024 for QUALS, as the paper's QAGen; a
    summarizer's ``max_source_length``) or less if model or tokenizer say so."""
    limits = [limit]
    if tokenizer.model_max_length and tokenizer.model_max_length < 10**6:
        limits.append(tokenizer.model_max_length)
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions:
        limits.append(positions)
    return min(limits)


def encode_texts(
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    max_length: int,
    what: str,
    render: Callable[[str], str] = str,
) -> list[list[int]]:
    """Token ids of ``render(text)`` for each text, at most ``max_length``.

    An over-long text is cut inside the text, never in what ``render`` adds around it (a task
    prefix, a prompt's closing instruction); one warning says how many were cut.
    """
    if not texts:
        return []
    encoded = tokenizer([render(t) for t in texts], add_special_tokens=True, verbose=False)
    encoded = encoded["input_ids"]
    too_long = [i for i, ids in enumerate(encoded) if len(ids) > max_length]
    for i in too_long:
        encoded[i] = _cut_inside(tokenizer, texts[i], render, max_length, len(encoded[i]))
    if too_long:
        logger.warning(
            "%d of %d %s were longer than %d tokens and were truncated (first: index %d)",
            len(too_long),
            len(texts),
            what,
            max_length,
            too_long[0],
        )
    return encoded


def _cut_inside(
    tokenizer: PreTrainedTokenizerBase,
    text: str,
    render: Callable[[str], str],
    max_length: int,
    full_length: int,
) -> list[int]:
    """The ids of ``render(text[:k])`` for the longest token-aligned cut ``k`` that fits."""
    pieces = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ends = [end for _, end in pieces["offset_mapping"]]
    keep = len(ends) - (full_length - max_length)
    while keep > 0:
        ids = tokenizer(render(text[: ends[keep - 1]]), add_special_tokens=True)["input_ids"]
        if len(ids) <= max_length:
            return ids
        keep -= len(ids) - max_length
    raise ValueError(f"no part of the text fits in {max_length} tokens with its prompt")
