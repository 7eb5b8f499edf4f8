"""`QualsScorer`: the QUALS factual-consistency score of summaries against their sources.

For each summary: generate question-answer pairs from the summary with diverse beam search,
keep those whose answer appears in the summary, pick at most ``max_pairs`` of them, and compare
how likely the QAGen model finds each pair given the source (lp_x) and given the summary (lp_y):
``QUALS = mean(lp_x - lp_y)``. See docs/quals.md and the spec for the details.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TypeVar

import torch
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from .batching import batched_apply, nan_mean
from .diverse_search import (
    DiverseBeamOutput,
    diverse_beam_search,
    encode,
    eos_token_ids,
    special_token_id,
)
from .explain import Explanation
from .formats import QAGenFormat, decode_generation
from .inputs import check_parallel, check_texts, default_max_length, encode_texts
from .likelihood import pad_sequences, target_token_logprobs
from .pairs import QAPair, answer_in_summary, select_pairs

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class QualsConfig:
    """The parameters of QUALS; the defaults are the paper's.

    Attributes:
        num_groups: diverse beam search groups of one beam (hypotheses per summary).
        diversity_penalty: Hamming diversity strength.
        min_new_tokens: shortest generation (tokens before EOS may be chosen).
        max_new_tokens: longest generation.
        length_penalty: exponent of the length normalisation of search scores.
        max_pairs: most question-answer pairs scored per summary.
        max_input_length: longest input in tokens (longer ones are truncated); ``None`` means
            1024 or the model's or tokenizer's limit when smaller.
    """

    num_groups: int = 60
    diversity_penalty: float = 0.5
    min_new_tokens: int = 8
    max_new_tokens: int = 60
    length_penalty: float = 1.0
    max_pairs: int = 10
    max_input_length: int | None = None

    def __post_init__(self) -> None:
        for name in ("num_groups", "max_new_tokens", "max_pairs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.min_new_tokens < 0 or self.diversity_penalty < 0:
            raise ValueError("min_new_tokens and diversity_penalty must be >= 0")

    def search_kwargs(self) -> dict[str, float | int]:
        """The arguments of `diverse_beam_search` held by this config."""
        names = (
            "num_groups",
            "diversity_penalty",
            "min_new_tokens",
            "max_new_tokens",
            "length_penalty",
        )
        return {name: getattr(self, name) for name in names}


@dataclass
class PairScore:
    """How likely the QAGen model finds one pair given the source and given the summary.

    Attributes:
        pair: the scored pair.
        lp_x: mean log-probability of the pair's tokens given the source document.
        lp_y: mean log-probability of the pair's tokens given the summary.
        token_logprobs_x: per-token log-probabilities given the source.
        token_logprobs_y: per-token log-probabilities given the summary.
    """

    pair: QAPair
    lp_x: float
    lp_y: float
    token_logprobs_x: list[float] = field(repr=False)
    token_logprobs_y: list[float] = field(repr=False)

    @property
    def consistency(self) -> float:
        """``lp_x - lp_y``: near 0 when the source supports the pair, very negative if not."""
        return self.lp_x - self.lp_y


@dataclass
class QualsOutput:
    """Scores of a list of (source, summary) examples.

    Attributes:
        scores: QUALS per example; NaN where no pair survived the filter.
        num_pairs: number of scored pairs per example.
        pairs: with ``return_details``, the scored pairs of each example.
        pair_scores: with ``return_details``, their `PairScore`s.
    """

    scores: list[float]
    num_pairs: list[int]
    pairs: list[list[QAPair]] | None = None
    pair_scores: list[list[PairScore]] | None = None

    @property
    def mean(self) -> float:
        """Mean QUALS over examples with at least one pair (NaN if there are none)."""
        return nan_mean(self.scores)


def quals_from_pair_scores(pair_scores: Sequence[PairScore]) -> float:
    """QUALS of one example: the mean of ``lp_x - lp_y`` over its pairs, NaN without pairs."""
    if not pair_scores:
        return math.nan
    return sum(p.consistency for p in pair_scores) / len(pair_scores)


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    names = {
        "bf16": torch.bfloat16,
        "bfloat16": torch.bfloat16,
        "fp16": torch.float16,
        "float16": torch.float16,
        "fp32": torch.float32,
        "float32": torch.float32,
    }
    if dtype not in names:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {sorted(names)}")
    return names[dtype]


def load_seq2seq(
    name_or_path: str,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a seq2seq model (a QAGen, a summarizer) and its tokenizer; CUDA when available."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = AutoModelForSeq2SeqLM.from_pretrained(name_or_path, dtype=resolve_dtype(dtype))
    return model.to(device).eval(), AutoTokenizer.from_pretrained(name_or_path)


class QualsScorer:
    """Scores the factual consistency of summaries with one QAGen model (QUALS).

    Args:
        model: a seq2seq QAGen model (any ``AutoModelForSeq2SeqLM``).
        tokenizer: its tokenizer.
        format: how the model reads and writes pairs: a preset name (``"qagen"``, ``"t5-sep"``,
            ``"lmqg"``), a `QAGenFormat`, or ``None`` to use the one saved in the model config
            (``config.qagen_format``), else ``"qagen"``.
        config: the QUALS parameters; keyword arguments override single fields.
        batch_size: examples per batch.
        progress: show a tqdm progress bar over batches.

    Example:
        >>> scorer = QualsScorer.from_pretrained("path/to/qagen")  # doctest: +SKIP
        >>> out = scorer.score(["the source document ..."], ["its summary ..."])  # doctest: +SKIP
        >>> out.scores  # doctest: +SKIP
        [-0.12]
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        format: str | QAGenFormat | None = None,
        config: QualsConfig | None = None,
        batch_size: int = 8,
        progress: bool = True,
        **overrides: int | float | None,
    ) -> None:
        if tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token first")
        if format is None:
            format = getattr(model.config, "qagen_format", None) or "qagen"
        unknown = set(overrides) - {f.name for f in fields(QualsConfig)}
        if unknown:
            raise TypeError(f"unknown QUALS parameters: {sorted(unknown)}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.format = QAGenFormat.resolve(format)
        self.config = replace(config or QualsConfig(), **overrides)
        self.batch_size = batch_size
        self.progress = progress
        self.max_input_length = self.config.max_input_length or default_max_length(model, tokenizer)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        format: str | QAGenFormat | None = None,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        **kwargs: int | float | bool | None,
    ) -> QualsScorer:
        """Load a QAGen checkpoint (Hub id or local path) and its tokenizer.

        ``device`` defaults to CUDA when available; ``dtype`` may be ``"bf16"``/``"fp16"``.
        Other keyword arguments are `QualsConfig` fields, ``batch_size`` or ``progress``.
        """
        model, tokenizer = load_seq2seq(name_or_path, device=device, dtype=dtype)
        return cls(model, tokenizer, format=format, **kwargs)

    def _batched(
        self,
        items: list[T],
        fn: Callable[[list[T]], list[R]],
        size_of: Callable[[T], int],
        batch_size: int | None,
        progress: bool | None,
        desc: str,
    ) -> list[R]:
        show = self.progress if progress is None else progress
        return batched_apply(items, fn, size_of, batch_size or self.batch_size, show, desc)

    # -- generation -----------------------------------------------------------------------

    def _encode(self, texts: list[str], what: str) -> list[list[int]]:
        prefixed = [self.format.render_input(t) for t in texts]
        return encode_texts(self.tokenizer, prefixed, self.max_input_length, what)

    def _tokenize_pair(self, pair: QAPair) -> None:
        """Set the pair's scored tokens; a leading BOS the tokenizer adds is read, not scored."""
        ids = self.tokenizer(text_target=self.format.render_pair(pair.question, pair.answer))
        ids = ids["input_ids"]
        bos, eos = self.tokenizer.bos_token_id, self.tokenizer.eos_token_id
        n_prefix = int(bos is not None and bos != eos and ids[:1] == [bos])
        pair.prefix_ids, pair.token_ids = ids[:n_prefix], ids[n_prefix:]
        if eos is not None and pair.token_ids[-1:] != [eos]:
            pair.token_ids.append(eos)  # the target ends with EOS (the spec)

    def _decode(self, sequence: torch.Tensor, length: int) -> str:
        """The text of a hypothesis: its generated tokens without specials (any EOS id)."""
        drop = {
            self.tokenizer.pad_token_id,
            self.tokenizer.bos_token_id,
            special_token_id(self.model, "decoder_start_token_id"),
            *eos_token_ids(self.model),
        }
        return decode_generation(self.tokenizer, sequence[1 : 1 + length].tolist(), drop)

    def _search(
        self, ids: torch.Tensor, mask: torch.Tensor, states: torch.Tensor | None = None
    ) -> list[DiverseBeamOutput]:
        return diverse_beam_search(
            self.model, ids, mask, encoder_states=states, **self.config.search_kwargs()
        )

    def _pairs_from_search(self, summary: str, out: DiverseBeamOutput) -> list[QAPair]:
        """Parse the hypotheses of one summary, filter, select and tokenize its pairs."""
        candidates = [
            QAPair(question, answer, float(score))
            for sequence, length, score in zip(out.sequences, out.lengths, out.scores)
            for question, answer in self.format.parse(self._decode(sequence, int(length)))
            if answer_in_summary(answer, summary)
        ]
        chosen = select_pairs(candidates, self.config.max_pairs)
        for pair in chosen:
            self._tokenize_pair(pair)
        return chosen

    def _generate_batch(self, batch: list[tuple[str, list[int]]]) -> list[list[QAPair]]:
        outputs = self._search(
            *pad_sequences([enc for _, enc in batch], self.tokenizer.pad_token_id)
        )
        return [self._pairs_from_search(y, out) for (y, _), out in zip(batch, outputs)]

    def generate_pairs(
        self,
        summaries: Sequence[str],
        batch_size: int | None = None,
        progress: bool | None = None,
    ) -> list[list[QAPair]]:
        """The question-answer pairs QUALS scores for each summary (at most ``max_pairs``).

        Diverse beam search on the summary, parse, keep pairs whose answer is in the summary,
        order by search score and take them round-robin over distinct answers.
        """
        summaries = check_texts(summaries, "summaries")
        encoded = self._encode(summaries, "summaries")
        return self._batched(
            list(zip(summaries, encoded)),
            self._generate_batch,
            lambda item: len(item[1]),
            batch_size,
            progress,
            "QA pairs",
        )

    # -- scoring --------------------------------------------------------------------------

    def _score_batch(
        self,
        batch: list[tuple[list[int], list[int], list[QAPair]]],
        summary_states: torch.Tensor | None = None,
    ) -> list[list[PairScore]]:
        """lp_x and lp_y of each example's pairs; ``summary_states`` saves re-encoding."""
        pad = self.tokenizer.pad_token_id
        targets = [[(p.prefix_ids, p.token_ids) for p in pairs] for _, _, pairs in batch]
        given_x = target_token_logprobs(self.model, [x for x, _, _ in batch], targets, pad)
        given_y = target_token_logprobs(
            self.model, [y for _, y, _ in batch], targets, pad, encoder_states=summary_states
        )
        return [
            [
                PairScore(pair, lx.mean().item(), ly.mean().item(), lx.tolist(), ly.tolist())
                for pair, lx, ly in zip(pairs, xs, ys)
            ]
            for (_, _, pairs), xs, ys in zip(batch, given_x, given_y)
        ]

    def _generate_and_score(
        self, batch: list[tuple[str, list[int], list[int]]]
    ) -> list[list[PairScore]]:
        """QUALS of a batch: the summaries are encoded once, for the search and for lp_y."""
        enc_y = [ey for _, _, ey in batch]
        ids, mask = pad_sequences(enc_y, self.tokenizer.pad_token_id)
        states = encode(self.model, ids.to(self.model.device), mask.to(self.model.device))
        outputs = self._search(ids, mask, states)
        pairs = [self._pairs_from_search(y, out) for (y, _, _), out in zip(batch, outputs)]
        scored = [(ex, ey, p) for (_, ex, ey), p in zip(batch, pairs)]
        return self._score_batch(scored, summary_states=states)

    def score_pairs(
        self,
        sources: Sequence[str],
        summaries: Sequence[str],
        pairs: Sequence[Sequence[QAPair]],
        batch_size: int | None = None,
        progress: bool | None = None,
    ) -> list[list[PairScore]]:
        """lp_x and lp_y (and their per-token log-probabilities) of each example's pairs.

        Pairs without ``token_ids`` (built by hand) are tokenized with the format's template.
        """
        texts = check_parallel(sources=sources, summaries=summaries)
        if len(pairs) != len(texts["sources"]):
            raise ValueError(f"got {len(pairs)} pair lists for {len(texts['sources'])} examples")
        for example in pairs:
            for pair in example:
                if not pair.token_ids:
                    self._tokenize_pair(pair)
        items = list(
            zip(
                self._encode(texts["sources"], "sources"),
                self._encode(texts["summaries"], "summaries"),
                [list(p) for p in pairs],
            )
        )
        return self._batched(
            items,
            self._score_batch,
            lambda item: len(item[0]),
            batch_size,
            progress,
            "scoring pairs",
        )

    def score(
        self,
        sources: Sequence[str],
        summaries: Sequence[str],
        batch_size: int | None = None,
        return_details: bool = False,
        progress: bool | None = None,
    ) -> QualsOutput:
        """QUALS of each summary against its source document.

        Returns a `QualsOutput`: one score per example (NaN where no pair survived), the number
        of pairs, and with ``return_details`` the pairs and their `PairScore`s.
        """
        texts = check_parallel(sources=sources, summaries=summaries)
        enc_x = self._encode(texts["sources"], "sources")
        enc_y = self._encode(texts["summaries"], "summaries")

        items = list(zip(texts["summaries"], enc_x, enc_y))
        scored = self._batched(
            items,
            self._generate_and_score,
            lambda item: len(item[1]),
            batch_size,
            progress,
            "QUALS",
        )
        return QualsOutput(
            scores=[quals_from_pair_scores(s) for s in scored],
            num_pairs=[len(s) for s in scored],
            pairs=[[p.pair for p in s] for s in scored] if return_details else None,
            pair_scores=scored if return_details else None,
        )

    def explain(self, source: str, summary: str) -> Explanation:
        """One summary's score and its QA pairs, least consistent first, token by token."""
        out = self.score([source], [summary], return_details=True, progress=False)
        return Explanation.from_pair_scores(
            source, summary, out.scores[0], out.pair_scores[0], self.tokenizer
        )
