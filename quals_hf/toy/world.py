"""A synthetic "toy world" of templated news stories, for tests, demos and examples.

Each story has a source document, a faithful summary, and a corrupted summary in which one
fact was changed: the right phrase about the wrong person (the mayor named as the one who
opened the site), another person, another city, another company or another number. Every text
is lower-case with space-separated tokens, so a word-level tokenizer covers the whole world.

The world also yields question-answer training data for a tiny QAGen (`qa_examples`), written
in the ``"qagen"`` format: ``question <sep> answer``, the answer a span of the text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIRST_NAMES = [
    "maria",
    "james",
    "anna",
    "peter",
    "sofia",
    "david",
    "laura",
    "thomas",
    "elena",
    "martin",
    "nina",
    "oscar",
    "julia",
    "victor",
    "clara",
    "hugo",
    "irene",
    "felix",
    "rosa",
    "adam",
]
LAST_NAMES = [
    "lopez",
    "brown",
    "novak",
    "keller",
    "rossi",
    "silva",
    "meyer",
    "jensen",
    "costa",
    "walsh",
    "fischer",
    "moreau",
    "kowalski",
    "berg",
    "duarte",
    "larsen",
    "petrov",
    "santos",
    "weber",
    "hale",
]
COMPANIES = [
    "norvex",
    "altaris",
    "bellcore",
    "cyntra",
    "dunmore",
    "evergate",
    "fjordan",
    "granit",
    "helix",
    "ironleaf",
    "jadeport",
    "kestrel",
    "lumora",
    "mirafin",
    "nordstar",
]
CITIES = [
    "lisbon",
    "madrid",
    "oslo",
    "vienna",
    "dublin",
    "prague",
    "warsaw",
    "geneva",
    "porto",
    "lyon",
    "turin",
    "bergen",
    "leeds",
    "ghent",
    "malmo",
]
FACILITIES = [
    "factory",
    "hospital",
    "school",
    "warehouse",
    "laboratory",
    "stadium",
    "library",
    "depot",
]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
NUMBERS = [str(n) for n in range(120, 1000, 35)]

CORRUPTIONS = ("swap_person", "other_person", "city", "company", "number")
SEP = "<sep>"


@dataclass(frozen=True)
class Story:
    """The facts of one toy-world story."""

    leader: str
    mayor: str
    company: str
    city: str
    facility: str
    number: str
    day: str

    def replace(self, **changes: str) -> Story:
        return Story(**{**self.__dict__, **changes})


@dataclass
class ToyExample:
    """One story rendered as text: the document, a faithful and a corrupted summary."""

    story: Story
    document: str
    summary: str
    corrupted_summary: str
    corruption: str
    corrupted_story: Story = field(repr=False)


def _person(rng: random.Random, exclude: set[str]) -> str:
    while True:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if name not in exclude:
            return name


def _other(rng: random.Random, pool: list[str] | tuple[str, ...], current: str) -> str:
    return rng.choice([item for item in pool if item != current])


def sample_story(rng: random.Random) -> Story:
    """Draw the facts of one story."""
    leader = _person(rng, set())
    return Story(
        leader=leader,
        mayor=_person(rng, {leader}),
        company=rng.choice(COMPANIES),
        city=rng.choice(CITIES),
        facility=rng.choice(FACILITIES),
        number=rng.choice(NUMBERS),
        day=rng.choice(DAYS),
    )


def render_document(s: Story, rng: random.Random, omit_number: bool = False) -> str:
    """A news-like document stating every fact of the story, in varied order and phrasing.

    ``omit_number`` leaves out the sentence with the number of jobs (the random draws are the
    same either way, so the rest of the document does not change).
    """
    opening = rng.choice(
        [
            f"{s.leader} , the chief executive of {s.company} , opened a new {s.facility} "
            f"in {s.city} on {s.day} .",
            f"on {s.day} , {s.leader} , the chief executive of {s.company} , opened a new "
            f"{s.facility} in {s.city} .",
        ]
    )
    jobs = rng.choice(
        [
            f"the {s.facility} will employ {s.number} people , the company said .",
            f"{s.company} said the {s.facility} will employ {s.number} people .",
        ]
    )
    mayor = rng.choice(
        [
            f"{s.mayor} , the mayor of {s.city} , welcomed the project .",
            f"the project was welcomed by {s.mayor} , the mayor of {s.city} .",
        ]
    )
    filler = rng.choice(
        [
            "work on the site began last year .",
            "local residents had waited for the project for years .",
            "the building was finished ahead of schedule .",
        ]
    )
    middle = [jobs, mayor]
    rng.shuffle(middle)  # before leaving the jobs out: the same draws either way
    if omit_number:
        middle.remove(jobs)
    return " ".join([opening, *middle, filler])


def render_summary(s: Story, rng: random.Random, with_number: bool = True) -> str:
    """A one-sentence summary of the story's main facts (not the mayor, not the day).

    ``with_number=False``: the same sentence without the number of jobs.
    """
    if with_number:
        templates = [
            f"{s.leader} of {s.company} opened a new {s.facility} in {s.city} that will "
            f"employ {s.number} people .",
            f"a new {s.company} {s.facility} in {s.city} , opened by {s.leader} , will "
            f"employ {s.number} people .",
        ]
    else:
        templates = [
            f"{s.leader} of {s.company} opened a new {s.facility} in {s.city} .",
            f"a new {s.company} {s.facility} in {s.city} was opened by {s.leader} .",
        ]
    return rng.choice(templates)


def corrupt(s: Story, kind: str, rng: random.Random) -> Story:
    """Change one summarised fact of the story; ``kind`` is one of `CORRUPTIONS`."""
    if kind == "swap_person":
        return s.replace(leader=s.mayor)
    if kind == "other_person":
        return s.replace(leader=_person(rng, {s.leader, s.mayor}))
    if kind == "city":
        return s.replace(city=_other(rng, CITIES, s.city))
    if kind == "company":
        return s.replace(company=_other(rng, COMPANIES, s.company))
    if kind == "number":
        return s.replace(number=_other(rng, NUMBERS, s.number))
    raise ValueError(f"unknown corruption {kind!r}; expected one of {CORRUPTIONS}")


def make_examples(n: int, seed: int = 0) -> list[ToyExample]:
    """``n`` stories, reproducible from ``seed``; corruptions cycle through all kinds."""
    rng = random.Random(seed)
    examples = []
    for i in range(n):
        story = sample_story(rng)
        kind = CORRUPTIONS[i % len(CORRUPTIONS)]
        bad = corrupt(story, kind, rng)
        summary_rng_state = rng.getstate()
        summary = render_summary(story, rng)
        rng.setstate(summary_rng_state)  # same phrasing for both summaries
        corrupted = render_summary(bad, rng)
        examples.append(
            ToyExample(story, render_document(story, rng), summary, corrupted, kind, bad)
        )
    return examples


def summary_questions(s: Story) -> list[tuple[str, str]]:
    """Question-answer pairs about the facts a summary states."""
    return [
        (f"who opened the new {s.facility} in {s.city} ?", s.leader),
        (f"which company opened the new {s.facility} in {s.city} ?", s.company),
        (f"in which city did {s.company} open the new {s.facility} ?", s.city),
        (f"how many people will the new {s.facility} in {s.city} employ ?", s.number),
        (f"what did {s.leader} open in {s.city} ?", f"a new {s.facility}"),
    ]


def document_questions(s: Story) -> list[tuple[str, str]]:
    """Question-answer pairs about every fact a document states."""
    return [
        *summary_questions(s),
        (f"who is the mayor of {s.city} ?", s.mayor),
        (f"on which day did {s.company} open the new {s.facility} ?", s.day),
    ]


def qa_examples(examples: list[ToyExample]) -> list[tuple[str, str]]:
    """(text, ``question <sep> answer``) training pairs from documents and both summaries.

    Corrupted summaries are inputs too: a QAGen answers from the text it reads, true or not.
    """
    pairs = []
    for ex in examples:
        for text, questions in (
            (ex.document, document_questions(ex.story)),
            (ex.summary, summary_questions(ex.story)),
            (ex.corrupted_summary, summary_questions(ex.corrupted_story)),
        ):
            pairs.extend((text, f"{q} {SEP} {a}") for q, a in questions)
    return pairs


def toy_answer_candidates(text: str) -> list[str]:
    """The toy world's entities in ``text`` (people, companies, cities, numbers, days), in order.

    The answer extractor for QAGS on toy-world texts, which are lower case: spaCy and the
    regex extractor look for capitals.
    """
    words = text.split()
    found: list[str] = []
    for i, word in enumerate(words):
        if word in FIRST_NAMES and i + 1 < len(words) and words[i + 1] in LAST_NAMES:
            found.append(f"{word} {words[i + 1]}")
        elif word in COMPANIES or word in CITIES or word in NUMBERS or word in DAYS:
            found.append(word)
    return list(dict.fromkeys(found))


def vocabulary() -> list[str]:
    """Every token the toy world can write, specials first."""
    words: set[str] = set(FIRST_NAMES + LAST_NAMES + COMPANIES + CITIES + FACILITIES + DAYS)
    words.update(NUMBERS)
    for ex in make_examples(200, seed=0):
        words.update(ex.document.split())
        words.update(ex.summary.split())
        for q, a in document_questions(ex.story):
            words.update(q.split())
            words.update(a.split())
    return ["<pad>", "<s>", "</s>", "<unk>", SEP, *sorted(words)]
