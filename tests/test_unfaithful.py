"""The toy world with unfaithful references (XSum-like) and its ground-truth hallucination check."""

import random

import pytest

from quals_hf.toy.unfaithful import (
    hallucination_rate,
    make_unfaithful_examples,
    unsupported_facts,
)
from quals_hf.toy.world import render_document, sample_story


def test_shares_of_unfaithful_references_and_documents_without_a_number():
    examples = make_unfaithful_examples(3000, seed=5, unfaithful_ratio=0.3, omit_ratio=0.4)
    unfaithful = [e for e in examples if not e.faithful]
    assert abs(len(unfaithful) / 3000 - 0.3) < 0.03
    assert abs(sum(e.omits_number for e in examples) / 3000 - 0.4) < 0.03
    for e in examples:
        assert unsupported_facts(e.document, e.faithful_summary) == []
        assert (e.story.number in e.document) != e.omits_number
    # an unfaithful reference states exactly one fact its document lacks: the number of jobs
    assert all(unsupported_facts(e.document, e.reference) == [e.story.number] for e in unfaithful)
    assert all(e.omits_number for e in unfaithful)
    faithful = make_unfaithful_examples(3000, seed=5, unfaithful_ratio=0.0, omit_ratio=0.4)
    assert all(e.faithful for e in faithful)
    assert [e.document for e in faithful] == [e.document for e in examples]


def test_a_document_without_the_number_is_the_full_document_less_one_sentence():
    story = sample_story(random.Random(3))
    full = render_document(story, random.Random(7))
    short = render_document(story, random.Random(7), omit_number=True)
    assert story.number in full and story.number not in short
    removed = [s for s in full.split(" . ") if s not in short.split(" . ")]
    assert len(removed) == 1 and story.number in removed[0]


def test_unsupported_facts_names_swapped_and_added_facts():
    document = "anna weber of granit opened a new factory in lyon . it will employ 400 people ."
    assert unsupported_facts(document, "anna weber of granit opened a new factory in lyon .") == []
    assert unsupported_facts(
        document, "anna weber of granit opened a new depot in porto with 715 people ."
    ) == ["porto", "715", "depot"]
    assert hallucination_rate(
        [document] * 4,
        [
            "anna weber opened a factory .",
            "anna weber opened a depot .",
            "granit opened a factory in porto .",
            "granit will employ 400 people .",
        ],
    ) == pytest.approx(0.5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unfaithful_ratio <= omit_ratio"):
        make_unfaithful_examples(10, unfaithful_ratio=0.5, omit_ratio=0.4)
    with pytest.raises(ValueError, match="2 and 1"):
        hallucination_rate(["a", "b"], ["a"])
