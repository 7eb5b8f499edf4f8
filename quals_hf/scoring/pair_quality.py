"""Would a reader accept a generated question-answer pair? Five checks of its form.

A QAGen that does not know where its answer ends copies the summary on past the answer's
sentence (``In what show was she appearing? -> The Jeremy Kyle show . She accused ...``) until
the search cuts it at ``max_new_tokens``. Such a pair still passes QUALS' filter (its answer is
in the summary) but is no question-answer pair. `pair_flaws` names what is wrong with a pair;
`flaw_shares` counts them over many pairs (benchmarks/pair_quality.py, docs/validity.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A sentence end inside an answer: . ! or ? (closing quotes or brackets may follow), then white
# space and more text. A point after a one-letter word ("u.s. on", "j. smith") is no end.
_SENTENCE_END = re.compile(r"(?<!\b\w)[.!?][\"')\]]*\s+\S")
_WORD = re.compile(r"\w+")

LONG_ANSWER_WORDS = 8

# name: what the check finds, in the order of the docs' tables
PAIR_FLAWS = {
    "cut": "the search cut it at max_new_tokens (no end of its own)",
    "crosses_sentence": "its answer runs across a sentence end",
    "long_answer": f"its answer has over {LONG_ANSWER_WORDS} words",
    "no_question_mark": "its question has no question mark",
    "answer_in_question": "its question contains its answer",
}


def pair_flaws(question: str, answer: str, cut: bool = False) -> set[str]:
    """The `PAIR_FLAWS` of one pair; empty for a well-formed pair (which may still be wrong:
    docs/text_forms.md has a reader's judgements). ``cut``: the search stopped its hypothesis at
    ``max_new_tokens`` (`QAPair.cut`)."""
    flaws = set()
    if cut:
        flaws.add("cut")
    if _SENTENCE_END.search(answer):
        flaws.add("crosses_sentence")
    if len(_WORD.findall(answer)) > LONG_ANSWER_WORDS:
        flaws.add("long_answer")
    if "?" not in question:
        flaws.add("no_question_mark")
    if answer.strip() and answer.strip().lower() in question.lower():
        flaws.add("answer_in_question")
    return flaws


def flaw_shares(pairs: Iterable[tuple[str, str, bool]]) -> dict[str, float | int]:
    """Over ``(question, answer, cut)`` triples: the share of pairs with each flaw, the share
    with any (``"malformed"``) and the number of pairs (``"pairs"``); NaN shares without pairs."""
    counts = dict.fromkeys([*PAIR_FLAWS, "malformed"], 0)
    n = 0
    for question, answer, cut in pairs:
        n += 1
        flaws = pair_flaws(question, answer, cut)
        for flaw in flaws:
            counts[flaw] += 1
        counts["malformed"] += bool(flaws)
    return {**{k: v / n if n else float("nan") for k, v in counts.items()}, "pairs": n}
