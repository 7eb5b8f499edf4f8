"""Answer candidates for QAGS: the spans of a summary that questions get asked about.

QAGS takes the named entities and noun chunks that spaCy finds in the summary. spaCy and an
English pipeline are optional here, so a plain regular-expression extractor is offered as well;
`get_answer_extractor` makes the choice explicit and never falls back silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable

AnswerExtractor = Callable[[str], list[str]]

# runs of capitalised words (names, places, organisations), numbers with their unit word, and
# lower-case "the/a ... noun" phrases are the closest a regex gets to entities and noun chunks
_WORD = r"[A-Z](?:[\w'&-]|\.(?=\w))*"  # a "." only inside a word (U.S.), not a sentence end
_CAPITALISED = rf"{_WORD}(?:\s+(?:of\s+|de\s+)?{_WORD})*"
_NUMBER = r"[$£€]?\d[\d,.]*(?:\s*(?:%|per\s?cent|million|billion|thousand))?"
# "the/a" + up to three lower-case words, ending before a preposition or conjunction
_FUNCTION_WORD = (
    r"(?:in|on|at|of|for|to|by|with|from|and|or|but|that|who|which|the|a|an"
    r"|is|are|was|were|will|has|have|had|said|says)\b"
)
_ARTICLE_PHRASE = rf"\b(?:[Tt]he|[Aa]n?)\s+(?:(?!{_FUNCTION_WORD})[a-z][\w-]*\s*){{1,3}}"
_CANDIDATE = re.compile(rf"{_NUMBER}|{_ARTICLE_PHRASE}|{_CAPITALISED}")
_STOP = {"the", "a", "an", "it", "he", "she", "they", "we", "i", "this", "that", "but", "and"}


def regex_answer_candidates(text: str) -> list[str]:
    """Answer candidates without spaCy: capitalised-word runs, numbers, article phrases.

    Candidates keep their order of appearance and are deduplicated ignoring case; a sentence's
    first word alone (often capitalised only by position) is skipped when it is a stop word.
    """
    seen: set[str] = set()
    found = []
    for match in _CANDIDATE.finditer(text):
        candidate = match.group(0).strip(" ,.;:")
        key = candidate.lower()
        if candidate and key not in _STOP and key not in seen:
            seen.add(key)
            found.append(candidate)
    return found


def spacy_answer_extractor(pipeline: str = "en_core_web_sm") -> AnswerExtractor:
    """QAGS' extractor: spaCy named entities, then noun chunks, deduplicated in order."""
    try:
        import spacy
    except ImportError as err:
        raise ImportError(
            "answer_extractor='spacy' needs spaCy and an English pipeline: pip install spacy && "
            f"python -m spacy download {pipeline}; or pass answer_extractor='regex'"
        ) from err
    try:
        nlp = spacy.load(pipeline)
    except OSError as err:
        raise OSError(
            f"spaCy pipeline {pipeline!r} is not installed: python -m spacy download {pipeline}; "
            "or pass answer_extractor='regex'"
        ) from err

    def extract(text: str) -> list[str]:
        doc = nlp(text)
        spans = [ent.text for ent in doc.ents] + [chunk.text for chunk in doc.noun_chunks]
        return list(dict.fromkeys(s.strip() for s in spans if s.strip()))

    return extract


def get_answer_extractor(choice: str | AnswerExtractor) -> AnswerExtractor:
    """``"spacy"`` (or ``"spacy:<pipeline>"``), ``"regex"``, or a callable ``text -> list``."""
    if callable(choice):
        return choice
    if choice == "regex":
        return regex_answer_candidates
    if choice == "spacy" or choice.startswith("spacy:"):
        return spacy_answer_extractor(*choice.split(":", 1)[1:])
    raise ValueError(f"unknown answer_extractor {choice!r}; use 'spacy', 'regex' or a callable")
