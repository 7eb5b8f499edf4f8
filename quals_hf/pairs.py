"""Question-answer pairs and the QUALS rules that pick which of them get scored."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class QAPair:
    """One generated question-answer pair of a summary.

    Attributes:
        question: the question text.
        answer: the answer text (a substring of the summary, case-insensitively).
        search_score: the diverse search's score of the hypothesis that produced the pair.
        token_ids: the target tokens that get scored: question, separator, answer, EOS.
        prefix_ids: tokens the decoder reads before ``token_ids`` but that are not scored
            (a BOS token, for tokenizers that add one to targets).
    """

    question: str
    answer: str
    search_score: float
    token_ids: list[int] = field(default_factory=list)
    prefix_ids: list[int] = field(default_factory=list)


def answer_in_summary(answer: str, summary: str) -> bool:
    """The QUALS filter: the answer must appear in the summary, ignoring case."""
    return answer.lower() in summary.lower()


def select_pairs(candidates: list[QAPair], max_pairs: int = 10) -> list[QAPair]:
    """Order, deduplicate and cap the pairs that passed the filter, as QUALS does.

    Candidates are ranked by search score (best first; ties keep their order) and grouped by
    lower-cased answer in order of first appearance. Pairs are then taken round-robin, one per
    answer group per round, so that many different answers are covered; a question already
    taken for the same answer (ignoring case) is skipped. Stops at exactly ``max_pairs``.
    """
    if max_pairs < 1:
        raise ValueError(f"max_pairs must be at least 1, got {max_pairs}")
    ranked = sorted(candidates, key=lambda p: -p.search_score)
    groups: dict[str, list[QAPair]] = {}
    seen: set[tuple[str, str]] = set()
    for pair in ranked:
        key = (pair.answer.lower(), pair.question.lower())
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
