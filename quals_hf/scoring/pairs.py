"""Question-answer pairs, their scores, and the QUALS rules that pick which get scored."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..qagen.formats import answer_in_summary
from .pair_quality import PAIR_FLAWS, pair_flaws

__all__ = [
    "AGGREGATES",
    "PAIR_FILTERS",
    "PAIR_SCORES",
    "PairScore",
    "QAPair",
    "aggregate",
    "answer_in_summary",
    "quals_from_pair_scores",
    "select_pairs",
]

# How one pair is scored from its per-token log-probabilities (QualsConfig.pair_score)
PAIR_SCORES = ("pair", "answer", "weighted")
# How a summary's pair scores become one score (QualsConfig.aggregate)
AGGREGATES = ("mean", "min", "worst_k", "softmin")
# Which candidates are chosen, or which scored pairs a score reads (QualsConfig.pair_filter)
PAIR_FILTERS = ("none", "well_formed", "prefer_well_formed")


@dataclass
class QAPair:
    """One generated question-answer pair of a summary.

    Attributes:
        question: the question text.
        answer: the answer text (a substring of the summary, case-insensitively).
        search_score: the diverse search's score of the hypothesis that produced the pair.
        token_ids: the target tokens that were (or get) scored: question, separator, answer,
            EOS. For a pair from the search, the tokens the model generated.
        prefix_ids: tokens the model reads before ``token_ids`` but that are not scored (a BOS
            the model itself generates before the question).
        token_key: which scorer's tokenizer and format ``token_ids`` belong to, and for which
            question and answer: a scorer re-tokenizes a pair whose key is not its own.
        cut: the search stopped the hypothesis at ``max_new_tokens`` before the QAGen ended it
            (its answer may run on past where a reader would end it).
        summary_span: with ``QualsConfig.normalize_text``, the answer as the user's summary
            writes it (the span of the original summary that ``answer``, found in the
            normalized summary, came from); shown, never scored. None otherwise.
    """

    question: str
    answer: str
    search_score: float
    token_ids: list[int] = field(default_factory=list)
    prefix_ids: list[int] = field(default_factory=list)
    token_key: str | None = field(default=None, repr=False, compare=False)
    cut: bool = False
    summary_span: str | None = None

    @property
    def shown_answer(self) -> str:
        """The answer as the user wrote it: ``summary_span`` where there is one, else
        ``answer``."""
        return self.answer if self.summary_span is None else self.summary_span

    @property
    def flaws(self) -> set[str]:
        """What a reader would object to in this pair's form (`pair_flaws`); empty if none."""
        return pair_flaws(self.question, self.answer, self.cut)

    @property
    def flaw_note(self) -> str:
        """`flaws` for display, in `PAIR_FLAWS`' order: ``"[answer in question]"``, or ``""``
        for a well-formed pair."""
        flaws = self.flaws
        named = [f.replace("_", " ") for f in PAIR_FLAWS if f in flaws]
        return f"[{', '.join(named)}]" if named else ""


@dataclass
class PairScore:
    """How likely the QAGen model finds one pair given the source and given the summary.

    Attributes:
        pair: the scored pair (its ``token_ids`` are the scored tokens).
        lp_x: mean log-probability of the pair's tokens given the source document.
        lp_y: mean log-probability of the pair's tokens given the summary.
        token_logprobs_x: per-token log-probabilities given the source.
        token_logprobs_y: per-token log-probabilities given the summary.
        answer_start: index of the first answer token in the scored tokens (the answer, the
            format's tail and EOS follow); ``None`` when unknown.
    """

    pair: QAPair
    lp_x: float
    lp_y: float
    token_logprobs_x: list[float] = field(repr=False)
    token_logprobs_y: list[float] = field(repr=False)
    answer_start: int | None = None

    @property
    def consistency(self) -> float:
        """``lp_x - lp_y``: near 0 when the source supports the pair, very negative if not."""
        return self.lp_x - self.lp_y

    def part_consistency(self, start: int, end: int | None = None) -> float:
        """``lp_x - lp_y`` over the scored tokens ``[start:end]`` only (mean log-probs)."""
        x, y = self.token_logprobs_x[start:end], self.token_logprobs_y[start:end]
        if not x:
            raise ValueError(f"pair {self.pair.question!r}: no tokens in [{start}:{end}]")
        return sum(x) / len(x) - sum(y) / len(y)

    def score(self, mode: str = "pair", question_weight: float = 0.5) -> float:
        """The pair's consistency under a `PAIR_SCORES` mode.

        ``"pair"`` (the paper): over every token. ``"answer"``: over the answer tokens and EOS
        only, so that a question's many supported tokens cannot dilute an unsupported answer.
        ``"weighted"``: ``question_weight`` times the question part (question and separator)
        plus the rest times the answer part.
        """
        if mode == "pair":
            return self.consistency
        if mode not in PAIR_SCORES:
            raise ValueError(f"unknown pair score {mode!r}; use one of {PAIR_SCORES}")
        if self.answer_start is None:
            raise ValueError(
                f"pair {self.pair.question!r}: its answer tokens are unknown (answer_start)"
            )
        answer = self.part_consistency(self.answer_start)
        if mode == "answer" or self.answer_start == 0:
            return answer
        question = self.part_consistency(0, self.answer_start)
        return question_weight * question + (1 - question_weight) * answer

    def to_dict(self) -> dict[str, Any]:
        """The one JSON-able form of a scored pair (metric results, score files, the CLI);
        ``summary_span`` only where the scorer normalized the texts (``"answer"`` stays the
        scored answer, so that stored pairs re-score as they were scored)."""
        found = {
            "question": self.pair.question,
            "answer": self.pair.answer,
            "lp_x": self.lp_x,
            "lp_y": self.lp_y,
            "consistency": self.consistency,
            "token_logprobs_x": self.token_logprobs_x,
            "token_logprobs_y": self.token_logprobs_y,
            "answer_start": self.answer_start,
            "cut": self.pair.cut,
        }
        if self.pair.summary_span is not None:
            found["summary_span"] = self.pair.summary_span
        return found

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairScore:
        """A scored pair back from `to_dict` (e.g. stored details, rescored under other
        options by `QualsConfig.summary_score` without running the model)."""
        return cls(
            QAPair(
                data["question"],
                data["answer"],
                math.nan,
                cut=data.get("cut", False),
                summary_span=data.get("summary_span"),
            ),
            data["lp_x"],
            data["lp_y"],
            list(data["token_logprobs_x"]),
            list(data["token_logprobs_y"]),
            data.get("answer_start"),
        )


def aggregate(
    values: Sequence[float], mode: str = "mean", worst_k: int = 3, temperature: float = 0.5
) -> float:
    """One summary's score from its pair scores under an `AGGREGATES` mode; NaN without any.

    ``"mean"`` (the paper); ``"min"``: the worst pair; ``"worst_k"``: the mean of the
    ``worst_k`` lowest; ``"softmin"``: ``-T log mean exp(-v / T)``, between the minimum
    (``T`` -> 0) and the mean (``T`` -> infinity), so one unsupported pair pulls it down.
    """
    if mode not in AGGREGATES:
        raise ValueError(f"unknown aggregate {mode!r}; use one of {AGGREGATES}")
    if worst_k < 1 or not temperature > 0:
        raise ValueError(f"worst_k must be >= 1 and temperature > 0, got {worst_k}, {temperature}")
    if not values:
        return math.nan
    if mode == "mean":
        return sum(values) / len(values)
    if mode == "min":
        return min(values)
    if mode == "worst_k":
        worst = sorted(values)[:worst_k]
        return sum(worst) / len(worst)
    low = min(values)  # shifted for stability: every exponent is <= 0
    mean_exp = sum(math.exp(-(v - low) / temperature) for v in values) / len(values)
    return low - temperature * math.log(mean_exp)


def quals_from_pair_scores(pair_scores: Sequence[PairScore]) -> float:
    """QUALS of one example: the mean of ``lp_x - lp_y`` over its pairs, NaN without pairs."""
    return aggregate([p.consistency for p in pair_scores])


def select_pairs(
    candidates: list[QAPair], max_pairs: int = 10, prefer_well_formed: bool = False
) -> list[QAPair]:
    """Order, deduplicate and cap the pairs that passed the filter, as QUALS does.

    Candidates are ranked by search score (best first; ties keep their order) and grouped by
    lower-cased answer in order of first appearance. Pairs are then taken round-robin, one per
    answer group per round, so that many different answers are covered; a question already
    taken for the same answer (ignoring case) is skipped. Stops at exactly ``max_pairs``.

    ``prefer_well_formed`` (not the paper's) takes the candidates without a `pair_flaws` flaw
    this way first; the flawed ones, by the same rule among themselves, only fill up to
    ``max_pairs`` (a question already taken for the same answer is skipped there too).
    """
    if max_pairs < 1:
        raise ValueError(f"max_pairs must be at least 1, got {max_pairs}")
    if not prefer_well_formed:
        return _round_robin(candidates, max_pairs)
    flawed = [bool(p.flaws) for p in candidates]
    taken = _round_robin([p for p, f in zip(candidates, flawed) if not f], max_pairs)
    if len(taken) < max_pairs:
        fill = [p for p, f in zip(candidates, flawed) if f]
        taken += _round_robin(fill, max_pairs - len(taken), skip={_key(p) for p in taken})
    return taken


def _key(pair: QAPair) -> tuple[str, str]:
    """What makes two pairs the same for `select_pairs`: answer and question, ignoring case."""
    return pair.answer.lower(), pair.question.lower()


def _round_robin(
    candidates: list[QAPair], max_pairs: int, skip: set[tuple[str, str]] | None = None
) -> list[QAPair]:
    """`select_pairs`' rule: best first, one pair per answer per round, ``max_pairs`` at most;
    pairs with a `_key` in ``skip`` (already taken) are left out."""
    ranked = sorted(candidates, key=lambda p: -p.search_score)
    groups: dict[str, list[QAPair]] = {}
    seen = set(skip or ())
    for pair in ranked:
        key = _key(pair)
        if key not in seen:
            seen.add(key)
            groups.setdefault(key[0], []).append(pair)
    queues = list(groups.values())
    taken: list[QAPair] = []
    for round_ in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if round_ < len(queue):
                taken.append(queue[round_])
                if len(taken) == max_pairs:
                    return taken
    return taken
