"""`QualsScorer`: the QUALS factual-consistency score of summaries against their sources.

For each summary: generate question-answer pairs from the summary with diverse beam search,
keep those whose answer appears in the summary, pick at most ``max_pairs`` of them, and compare
how likely the QAGen model finds each pair given the source (lp_x) and given the summary (lp_y):
``QUALS = mean(lp_x - lp_y)``. See docs/quals.md and the spec for the details.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..core.batching import batched_apply, nan_mean
from ..core.inputs import check_parallel, check_texts, default_max_length
from ..qagen.backend import QAGenBackend
from ..qagen.codec import QAGenCodec
from ..qagen.formats import QAGenFormat
from ..qagen.likelihood import target_token_logprobs
from ..qagen.loading import load_qagen
from ..qagen.search import DiverseBeamOutput, diverse_beam_search
from .explain import Explanation
from .normalize import NormalizedText, normalize, normalize_with_offsets
from .pairs import (
    AGGREGATES,
    PAIR_FILTERS,
    PAIR_SCORES,
    PairScore,
    QAPair,
    aggregate,
    answer_in_summary,
    select_pairs,
)
from .windows import best_window, sentence_windows

T = TypeVar("T")
R = TypeVar("R")


# What `QualsConfig.recommended` sets beyond the paper's defaults, as docs/validity.md's
# "Scoring options, on two halves" decides it. Empty: with the package's QAGen on all 474 QAGS
# summaries no option beat the paper's QUALS on both halves of both sets (answer tokens: XSum
# up, CNNDM down).
RECOMMENDED_OPTIONS: dict[str, Any] = {}


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
        pair_score: how a pair is scored (`PAIR_SCORES`): ``"pair"`` (the paper: every
            token), ``"answer"`` (answer tokens and EOS only) or ``"weighted"``.
        question_weight: ``"weighted"``: the question part's weight (the answer's is 1 minus
            it).
        aggregate: how a summary's pair scores become its score (`AGGREGATES`): ``"mean"``
            (the paper), ``"min"``, ``"worst_k"`` or ``"softmin"``.
        worst_k: ``"worst_k"``: how many of the lowest pair scores are averaged.
        softmin_temperature: ``"softmin"``: the temperature (small: near the minimum).
        source_window_tokens: ``None`` (the paper) reads the whole source for lp_x; a number
            reads it as overlapping sentence-aligned windows of about that many tokens and
            scores each pair in the window where its tokens' log-probabilities sum highest,
            whatever ``pair_score`` (`sentence_windows`; costs a read of each window and a
            pass per window).
        pair_filter: ``"none"`` (the paper) reads every kept pair; ``"well_formed"`` scores
            the same pairs but a summary's score reads only those without a `pair_flaws` flaw
            (cut by the search, an answer across a sentence end or over 8 words, ...) when it
            has any, else all its pairs (so it adds no NaN); ``"prefer_well_formed"`` picks the
            ``max_pairs`` pairs among the well-formed candidates of the search first and fills
            up with flawed ones only when too few are well-formed (`select_pairs`), so the
            score reads as many pairs as the paper's. docs/text_forms.md measures what each
            kind of pair carries.
        normalize_text: ``False`` (the paper) reads the texts as given; ``True`` reads
            `normalize`'s form of each source and summary (lower-cased, PTB tokenization
            undone), so that a summary written as-is and lower-cased and PTB-tokenized is
            scored the same. Pairs are then generated from and scored on the normalized texts;
            each pair's ``summary_span`` shows its answer as the user's summary writes it.

    The paper's values are the defaults; docs/quals.md shows what each option does to a pair.
    """

    # metadata "help": the command line's help (`quals-hf score --help` adds the default)
    num_groups: int = field(
        default=60,
        metadata={
            "help": "diverse beam search groups of one beam: QA hypotheses per summary; fewer "
            "is faster and noisier"
        },
    )
    diversity_penalty: float = field(
        default=0.5, metadata={"help": "Hamming diversity strength of the search"}
    )
    min_new_tokens: int = field(
        default=8, metadata={"help": "shortest generation: EOS is forbidden before it, in tokens"}
    )
    max_new_tokens: int = field(default=60, metadata={"help": "longest generation, in tokens"})
    length_penalty: float = field(
        default=1.0, metadata={"help": "search scores are divided by length ** length_penalty"}
    )
    max_pairs: int = field(default=10, metadata={"help": "most QA pairs scored per summary"})
    max_input_length: int | None = field(
        default=None,
        metadata={
            "help": "longest input in tokens, longer ones cut (default: 1024, or the model's or "
            "tokenizer's limit when smaller)"
        },
    )
    pair_score: str = field(
        default="pair",
        metadata={
            "help": "how a pair is scored: on all its tokens (pair, the paper's), on its answer "
            "tokens and EOS (answer), or on a mix of the two (weighted): see question_weight"
        },
    )
    question_weight: float = field(
        default=0.5,
        metadata={
            "help": "pair_score weighted: the question part's weight; the answer's is 1 minus it"
        },
    )
    aggregate: str = field(
        default="mean",
        metadata={
            "help": "a summary's score from its pair scores: their mean (the paper's), min, "
            "worst_k or softmin"
        },
    )
    worst_k: int = field(
        default=3,
        metadata={"help": "aggregate worst_k: how many of the lowest pair scores are averaged"},
    )
    softmin_temperature: float = field(
        default=0.5,
        metadata={"help": "aggregate softmin: its temperature; a small one is near the minimum"},
    )
    source_window_tokens: int | None = field(
        default=None,
        metadata={
            "help": "read each source as overlapping sentence windows of about this many tokens "
            "and score each pair in its best one (default: the whole source, the paper's)"
        },
    )
    pair_filter: str = field(
        default="none",
        metadata={
            "help": "none (the paper's) scores every kept pair; well_formed only the pairs "
            "without a form flaw when a summary has any; prefer_well_formed picks well-formed "
            "candidates first and fills up with flawed ones; see docs/text_forms.md"
        },
    )
    normalize_text: bool = field(
        default=False,
        metadata={
            "help": "score the texts lower-cased with PTB tokenization undone, so that a summary "
            "scores the same as written and as lower-cased PTB-tokenized text (the paper reads "
            "them as given); answers are shown as the summary writes them"
        },
    )

    def __post_init__(self) -> None:
        for name in ("num_groups", "max_new_tokens", "max_pairs", "worst_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.min_new_tokens < 0 or self.diversity_penalty < 0:
            raise ValueError("min_new_tokens and diversity_penalty must be >= 0")
        if self.pair_score not in PAIR_SCORES:
            raise ValueError(f"pair_score must be one of {PAIR_SCORES}, got {self.pair_score!r}")
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {self.aggregate!r}")
        if not 0.0 <= self.question_weight <= 1.0:
            raise ValueError(f"question_weight must be in [0, 1], got {self.question_weight}")
        if not self.softmin_temperature > 0:  # NaN too
            raise ValueError(f"softmin_temperature must be > 0, got {self.softmin_temperature}")
        if self.pair_filter not in PAIR_FILTERS:
            raise ValueError(f"pair_filter must be one of {PAIR_FILTERS}, got {self.pair_filter!r}")
        if self.source_window_tokens is not None and self.source_window_tokens < 1:
            raise ValueError(
                f"source_window_tokens must be at least 1 or None, got {self.source_window_tokens}"
            )

    @classmethod
    def recommended(cls, **overrides: Any) -> QualsConfig:
        """The scoring options the validity measurement supports (docs/validity.md), with
        ``overrides``: `RECOMMENDED_OPTIONS` over the paper's defaults.

        Options were compared with human labels on the QAGS sets with the package's QAGen,
        chosen on one seeded half of each set and confirmed on the other; an option is
        recommended only where it beat the paper's QUALS on both halves of both sets."""
        return cls(**{**RECOMMENDED_OPTIONS, **overrides})

    def summary_score(self, pair_scores: Sequence[PairScore]) -> float:
        """One summary's score from its scored pairs under this config; NaN without pairs.

        ``pair_filter="prefer_well_formed"`` acts on the search's candidates, before scoring,
        so here it reads the pairs as given: rescoring a paper run's stored pairs with it gives
        the paper's score."""
        if self.pair_filter == "well_formed":
            formed = [p for p in pair_scores if not p.pair.flaws]
            pair_scores = formed or pair_scores
        return aggregate(
            [p.score(self.pair_score, self.question_weight) for p in pair_scores],
            self.aggregate,
            self.worst_k,
            self.softmin_temperature,
        )

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

    @property
    def counts(self) -> list[int]:
        """The number of scored pairs per example (`ConsistencyScorer` outputs have counts)."""
        return self.num_pairs

    def details(self, k: int) -> list[dict[str, Any]]:
        """Example ``k``'s scored pairs as dicts (`PairScore.to_dict`); needs return_details."""
        if self.pair_scores is None:
            raise ValueError("no details: score with return_details=True")
        return [p.to_dict() for p in self.pair_scores[k]]


def _pair_as_written(pair: QAPair, summary: NormalizedText) -> QAPair:
    """``pair`` with its answer as the original summary writes it (``summary_span``; the
    answer itself where it is not in the summary, as a hand-made pair's may not be).

    Display only: the pair keeps its question, answer and tokens, which are what is scored
    (and what stored pairs are re-scored from), so lp_x and lp_y do not depend on it."""
    return replace(pair, summary_span=summary.as_written(pair.answer) or pair.answer)


def _as_written(pair_score: PairScore, summary: NormalizedText) -> PairScore:
    """`_pair_as_written` of a scored pair."""
    return replace(pair_score, pair=_pair_as_written(pair_score.pair, summary))


class QualsScorer:
    """Scores the factual consistency of summaries with one QAGen model (QUALS).

    Args:
        model: a QAGen model: encoder-decoder (any ``AutoModelForSeq2SeqLM``) or decoder-only
            (any ``AutoModelForCausalLM``), told apart by ``config.is_encoder_decoder``.
        tokenizer: its tokenizer.
        format: how the model reads and writes pairs: a preset name (``"qagen"``, ``"t5-sep"``,
            ``"lmqg"``), a `QAGenFormat`, or ``None`` to use the one saved in the model config
            (``config.qagen_format``), else ``"qagen"``.
        config: the QUALS parameters; keyword arguments override single fields.
        batch_size: examples per batch.
        progress: show a tqdm progress bar over batches.

    Pairs from the search are scored on the tokens the model generated (a BOS it generated
    first is read, not scored), and their lp_y is the search's own log-probabilities. Pairs
    built by hand are tokenized with the format's template; see docs/quals.md.

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
        self.backend = QAGenBackend.for_model(model)
        self.codec = QAGenCodec(
            tokenizer,
            self.format,
            self.backend.eos_ids,
            tuple(self.backend.prefix_tokens),
            model.config.name_or_path,
        )
        self.max_input_length = self._input_limit()
        self._hand_made_prefix: list[int] | None = None

    def _input_limit(self) -> int:
        """The longest input; a decoder-only model's window must also hold the generation."""
        limit = self.config.max_input_length or default_max_length(self.model, self.tokenizer)
        positions = self.backend.max_positions
        if self.backend.prompt_limit_includes_generation and positions:
            room = positions - self.config.max_new_tokens
            if self.config.max_input_length and self.config.max_input_length > room:
                raise ValueError(
                    f"max_input_length={self.config.max_input_length} plus max_new_tokens="
                    f"{self.config.max_new_tokens} exceeds the model's {positions} positions"
                )
            if room < 1:
                raise ValueError(f"max_new_tokens must be below the model's {positions} positions")
            limit = min(limit, room)
        return limit

    @classmethod
    def from_pretrained(
        cls,
        qagen: str | None = None,
        format: str | QAGenFormat | None = None,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        **kwargs: int | float | bool | str | None,
    ) -> QualsScorer:
        """Load a QAGen (Hub id or local path; seq2seq or causal LM) and its tokenizer;
        ``qagen=None``: the package's own SmolLM2 QAGen (built into the cache on first use).

        ``device`` defaults to CUDA when available; ``dtype`` may be ``"bf16"``/``"fp16"``.
        Other keyword arguments are `QualsConfig` fields, ``batch_size`` or ``progress``.
        ``name_or_path=``, the old keyword for ``qagen``, still works for a release, with a
        FutureWarning.
        """
        if "name_or_path" in kwargs:
            if qagen is not None:
                raise TypeError("from_pretrained() got both qagen and name_or_path; pass qagen")
            warnings.warn(
                "QualsScorer.from_pretrained(name_or_path=...) is deprecated and will be removed "
                "in a future release; pass qagen=... (or the QAGen as the first argument)",
                FutureWarning,
                stacklevel=2,
            )
            qagen = kwargs.pop("name_or_path")
        model, tokenizer = load_qagen(qagen, device=device, dtype=dtype)
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

    def _read(
        self, sources: list[str], summaries: list[str]
    ) -> tuple[list[str], list[str], list[NormalizedText] | None]:
        """The sources and summaries as this scorer reads them, and with ``normalize_text``
        the summaries' `NormalizedText` (to show answers as written); else None."""
        if not self.config.normalize_text:
            return sources, summaries, None
        written = [normalize_with_offsets(text) for text in summaries]
        return [normalize(text) for text in sources], [w.text for w in written], written

    def _encode(self, texts: list[str], what: str) -> list[list[int]]:
        return self.codec.encode_inputs(texts, self.max_input_length, what)

    def _encode_sources(self, sources: list[str]) -> list[list[list[int]]]:
        """What lp_x reads of each source: the whole source, or its windows
        (``source_window_tokens``)."""
        size = self.config.source_window_tokens
        if size is None:
            return [[ids] for ids in self._encode(sources, "sources")]

        def count(sentences: list[str]) -> list[int]:
            ids = self.tokenizer(sentences, add_special_tokens=False, verbose=False)["input_ids"]
            return [len(i) for i in ids]

        windows = [sentence_windows(text, count, size) for text in sources]
        flat = self._encode([w for ws in windows for w in ws], "source windows")
        it = iter(flat)
        return [[next(it) for _ in ws] for ws in windows]

    # -- pairs ----------------------------------------------------------------------------

    def _search(self, inputs: list[list[int]]) -> list[DiverseBeamOutput]:
        """Diverse beam search on each input, read once by the backend."""
        state = self.backend.read_lists(inputs)
        return diverse_beam_search(self.backend, state=state, **self.config.search_kwargs())

    def _pairs_from_search(
        self, summary: str, out: DiverseBeamOutput
    ) -> list[tuple[QAPair, torch.Tensor | None]]:
        """Parse, filter and select one summary's pairs, each with its lp_y token log-probs.

        A finished hypothesis of a one-pair-per-sequence format is scored on its own generated
        tokens (a BOS it generated first is read, not scored) with the search's
        log-probabilities as lp_y. Other pairs (cut at ``max_new_tokens`` before EOS, or from
        formats with a ``pair_delimiter``, whose hypotheses cannot be cut into per-pair tokens)
        are tokenized from their text like hand-made pairs and get ``None``: their lp_y is
        computed teacher-forced.
        """
        bos = self.tokenizer.bos_token_id
        eos = set(self.backend.eos_ids)
        one_pair = self.format.pair_delimiter is None
        candidates: list[tuple[QAPair, torch.Tensor | None]] = []
        for i, score in enumerate(out.scores.tolist()):
            generated = out.generated(i)
            finished = bool(generated) and generated[-1] in eos
            parsed = self.codec.parse(generated)
            kept = [(q, a) for q, a in parsed if answer_in_summary(a, summary)]
            for question, answer in kept:
                pair = QAPair(question, answer, score, cut=not finished)
                if one_pair and finished:
                    skip = int(bos is not None and generated[:1] == [bos] and len(generated) > 1)
                    pair.prefix_ids, pair.token_ids = generated[:skip], generated[skip:]
                    pair.token_key = self.codec.pair_key(question, answer)
                    lps = out.token_logprobs[i, skip : len(generated)]
                    candidates.append((pair, lps))
                else:
                    candidates.append((self._tokenized(pair), None))
        lps_of = {id(p): lps for p, lps in candidates}
        chosen = select_pairs(
            [p for p, _ in candidates],
            self.config.max_pairs,
            prefer_well_formed=self.config.pair_filter == "prefer_well_formed",
        )
        return [(p, lps_of[id(p)]) for p in chosen]

    def _tokenized(self, pair: QAPair) -> QAPair:
        """``pair`` itself if its tokens are this scorer's for its text, else a tokenized copy.

        Hand-made tokens follow the model, not the tokenizer: a BOS is read before them only
        when the model generates one first (see `hand_made_prefix`).
        """
        key = self.codec.pair_key(pair.question, pair.answer)
        if pair.token_ids and pair.token_key == key:
            return pair
        return replace(
            pair,
            token_ids=self.codec.target_ids(pair.question, pair.answer),
            prefix_ids=list(self.hand_made_prefix()),
            token_key=key,
        )

    def hand_made_prefix(self) -> list[int]:
        """What the model reads before a hand-made pair: a BOS where it generates one first.

        The generation config's ``forced_bos_token_id`` decides if set; otherwise a one-step
        probe: whether the model's most likely first token, given a short text, is the BOS.
        """
        if self._hand_made_prefix is None:
            forced = getattr(self.model.generation_config, "forced_bos_token_id", None)
            bos, eos = self.tokenizer.bos_token_id, self.codec.eos_id
            if forced is not None:
                self._hand_made_prefix = [int(forced)]
            elif bos is None or bos == eos:
                self._hand_made_prefix = []
            else:
                probe = self._encode(["The meeting is on Monday."], "probe texts")
                first = self.backend.read_lists(probe).logits.argmax(-1)
                self._hand_made_prefix = [bos] if int(first[0]) == bos else []
        return self._hand_made_prefix

    def _generate_batch(self, batch: list[tuple[str, list[int]]]) -> list[list[QAPair]]:
        outputs = self._search([enc for _, enc in batch])
        return [
            [p for p, _ in self._pairs_from_search(y, out)] for (y, _), out in zip(batch, outputs)
        ]

    def generate_pairs(
        self,
        summaries: Sequence[str],
        batch_size: int | None = None,
        progress: bool | None = None,
    ) -> list[list[QAPair]]:
        """The question-answer pairs QUALS scores for each summary (at most ``max_pairs``).

        Diverse beam search on the summary, parse, keep pairs whose answer is in the summary,
        order by search score and take them round-robin over distinct answers (well-formed
        ones first with ``pair_filter="prefer_well_formed"``: `select_pairs`).
        """
        summaries = check_texts(summaries, "summaries")
        _, summaries, written = self._read([], summaries)
        encoded = self._encode(summaries, "summaries")
        found = self._batched(
            list(zip(summaries, encoded)),
            self._generate_batch,
            lambda item: len(item[1]),
            batch_size,
            progress,
            "QA pairs",
        )
        if written is not None:
            found = [[_pair_as_written(p, w) for p in ps] for ps, w in zip(found, written)]
        return found

    # -- scoring --------------------------------------------------------------------------

    def _token_logprobs(
        self, inputs: list[list[int]], pairs: list[list[QAPair]]
    ) -> list[list[torch.Tensor]]:
        targets = [[(p.prefix_ids, p.token_ids) for p in example] for example in pairs]
        return target_token_logprobs(self.backend, inputs, targets)

    def _source_logprobs(
        self, windows: list[list[list[int]]], pairs: list[list[QAPair]]
    ) -> list[list[torch.Tensor]]:
        """lp_x tokens of each example's pairs: in its source's best window (or its only one).

        Windows are read ``len(windows)`` at a time, so a batch of windowed sources takes the
        memory of a batch of whole ones."""
        owner = [k for k, ws in enumerate(windows) for _ in ws]
        inputs = [w for ws in windows for w in ws]
        flat: list[list[torch.Tensor]] = []
        for i in range(0, len(inputs), len(windows)):
            chunk = range(i, min(i + len(windows), len(inputs)))
            chunk_pairs = [pairs[owner[j]] for j in chunk]
            flat += self._token_logprobs([inputs[j] for j in chunk], chunk_pairs)
        per_example: list[list[list[torch.Tensor]]] = [[] for _ in windows]
        for k, lps in zip(owner, flat):
            per_example[k].append(lps)
        return [best_window(ws) for ws in per_example]

    def _pair_scores(
        self, pairs: list[QAPair], given_x: list[torch.Tensor], given_y: list[torch.Tensor]
    ) -> list[PairScore]:
        return [
            PairScore(
                pair,
                lx.mean().item(),
                ly.mean().item(),
                lx.tolist(),
                ly.tolist(),
                self.codec.answer_start(pair.token_ids),
            )
            for pair, lx, ly in zip(pairs, given_x, given_y)
        ]

    def _score_batch(
        self, batch: list[tuple[list[list[int]], list[int], list[QAPair]]]
    ) -> list[list[PairScore]]:
        """lp_x and lp_y of each example's pairs, both teacher-forced."""
        pairs = [p for _, _, p in batch]
        given_x = self._source_logprobs([x for x, _, _ in batch], pairs)
        given_y = self._token_logprobs([y for _, y, _ in batch], pairs)
        return [self._pair_scores(*args) for args in zip(pairs, given_x, given_y)]

    def _generate_and_score(
        self, batch: list[tuple[str, list[list[int]], list[int]]]
    ) -> list[list[PairScore]]:
        """QUALS of a batch: lp_y from the search itself, lp_x from one read of each source."""
        outputs = self._search([ey for _, _, ey in batch])
        found = [self._pairs_from_search(y, out) for (y, _, _), out in zip(batch, outputs)]
        pairs = [[p for p, _ in example] for example in found]
        given_x = self._source_logprobs([ex for _, ex, _ in batch], pairs)
        missing = [[p for p, lps in example if lps is None] for example in found]
        teacher = iter(())  # pairs of multi-pair hypotheses: lp_y teacher-forced
        if any(missing):
            teacher = iter(
                t for ts in self._token_logprobs([ey for _, _, ey in batch], missing) for t in ts
            )
        given_y = [[next(teacher) if lps is None else lps for _, lps in ex] for ex in found]
        return [self._pair_scores(*args) for args in zip(pairs, given_x, given_y)]

    def score_pairs(
        self,
        sources: Sequence[str],
        summaries: Sequence[str],
        pairs: Sequence[Sequence[QAPair]],
        batch_size: int | None = None,
        progress: bool | None = None,
    ) -> list[list[PairScore]]:
        """lp_x and lp_y (and their per-token log-probabilities) of each example's pairs.

        Both are teacher-forced. A pair is scored on its ``token_ids`` when this scorer made
        them for its current question and answer; any other pair (built by hand, edited, or
        from another scorer) is scored on a tokenized copy. The arguments are not changed.
        With ``normalize_text`` the texts are read normalized and the pairs scored as given.
        """
        texts = check_parallel(sources=sources, summaries=summaries)
        if len(pairs) != len(texts["sources"]):
            raise ValueError(f"got {len(pairs)} pair lists for {len(texts['sources'])} examples")
        sources, summaries, written = self._read(texts["sources"], texts["summaries"])
        items = list(
            zip(
                self._encode_sources(sources),
                self._encode(summaries, "summaries"),
                [[self._tokenized(p) for p in example] for example in pairs],
            )
        )
        scored = self._batched(
            items,
            self._score_batch,
            lambda item: sum(map(len, item[0])),
            batch_size,
            progress,
            "scoring pairs",
        )
        if written is not None:
            scored = [[_as_written(p, w) for p in s] for s, w in zip(scored, written)]
        return scored

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
        sources, summaries, written = self._read(texts["sources"], texts["summaries"])
        enc_x = self._encode_sources(sources)
        enc_y = self._encode(summaries, "summaries")

        items = list(zip(summaries, enc_x, enc_y))
        scored = self._batched(
            items,
            self._generate_and_score,
            lambda item: sum(map(len, item[1])),
            batch_size,
            progress,
            "QUALS",
        )
        if written is not None:
            scored = [[_as_written(p, w) for p in s] for s, w in zip(scored, written)]
        return QualsOutput(
            scores=[self.config.summary_score(s) for s in scored],
            num_pairs=[len(s) for s in scored],
            pairs=[[p.pair for p in s] for s in scored] if return_details else None,
            pair_scores=scored if return_details else None,
        )

    def explain(self, source: str, summary: str) -> Explanation:
        """One summary's score and its QA pairs, least consistent first, token by token."""
        out = self.score([source], [summary], return_details=True, progress=False)
        config = self.config
        return Explanation.from_pair_scores(
            source,
            summary,
            out.scores[0],
            out.pair_scores[0],
            self.tokenizer,
            rank=lambda p: p.score(config.pair_score, config.question_weight),
        )
