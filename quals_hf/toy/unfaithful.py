"""A toy summarization set like XSum: some reference summaries state a fact the document lacks.

XSum's references were written with knowledge beyond their article, so an MLE summarizer
learns to state facts its input does not support. Here, a share of the documents
(``omit_ratio``) leave out the number of jobs; the faithful summary of such a document says
nothing about jobs, but most of their references (``unfaithful_ratio`` of all references)
still state the story's number, which the document does not contain. A summarizer trained on
these references learns to write a number whatever its input says: a hallucination that the
world's own ground truth (`unsupported_facts`) detects without any metric.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .world import FACILITIES, Story, render_document, render_summary, sample_story
from .world import toy_answer_candidates as world_entities


@dataclass(frozen=True)
class SummarizationExample:
    """One document with its training reference and the faithful summary of the document.

    Attributes:
        story: the facts.
        document: the source text (without the number of jobs when ``omits_number``).
        reference: the training target: the faithful summary, or (unfaithful references) the
            full summary of the story, whose number the document does not state.
        faithful_summary: what a faithful summary of the document says.
        omits_number: whether the document leaves out the number of jobs.
    """

    story: Story
    document: str
    reference: str
    faithful_summary: str
    omits_number: bool

    @property
    def faithful(self) -> bool:
        """Whether the reference states only facts of the document."""
        return self.reference == self.faithful_summary


def make_unfaithful_examples(
    n: int, seed: int = 0, unfaithful_ratio: float = 0.3, omit_ratio: float = 0.4
) -> list[SummarizationExample]:
    """``n`` documents, reproducible from ``seed``, with unfaithful references.

    Each document leaves out the number of jobs with probability ``omit_ratio``; the reference
    of such a document states the number anyway with probability
    ``unfaithful_ratio / omit_ratio``, so about ``unfaithful_ratio`` of all references are
    unfaithful. With the defaults three in four documents without a number have a reference
    with one: the MLE summarizer's most likely output states a number it cannot know.
    ``unfaithful_ratio=0`` gives a faithful set of the same documents.
    """
    if not 0 <= unfaithful_ratio <= omit_ratio <= 1:
        raise ValueError(
            f"need 0 <= unfaithful_ratio <= omit_ratio <= 1, got {unfaithful_ratio} and "
            f"{omit_ratio} (only documents without a number can get an unfaithful reference)"
        )
    rng = random.Random(seed)
    adds_number = unfaithful_ratio / omit_ratio if omit_ratio else 0.0
    examples = []
    for _ in range(n):
        story = sample_story(rng)
        omits, adds = rng.random() < omit_ratio, rng.random() < adds_number  # drawn always
        unfaithful = omits and adds
        document = render_document(story, rng, omit_number=omits)
        state = rng.getstate()
        faithful = render_summary(story, rng, with_number=not omits)
        rng.setstate(state)  # the same phrasing for both summaries
        full = render_summary(story, rng, with_number=True)
        reference = full if unfaithful else faithful
        examples.append(SummarizationExample(story, document, reference, faithful, omits))
    return examples


def unsupported_facts(document: str, summary: str) -> list[str]:
    """The facts of ``summary`` that ``document`` does not state: the world's ground truth.

    A fact is a person, company, city, number, day or facility of the toy world; one that
    the summary names and the document does not is a hallucination.
    """

    def facts(text: str) -> list[str]:
        return world_entities(text) + [w for w in text.split() if w in FACILITIES]

    stated = set(facts(document))
    return [fact for fact in dict.fromkeys(facts(summary)) if fact not in stated]


def hallucination_rate(documents: list[str], summaries: list[str]) -> float:
    """Share of summaries that state at least one fact their document does not."""
    if len(documents) != len(summaries) or not documents:
        raise ValueError(
            f"need as many documents as summaries, got {len(documents)} and {len(summaries)}"
        )
    return sum(bool(unsupported_facts(d, s)) for d, s in zip(documents, summaries)) / len(documents)
