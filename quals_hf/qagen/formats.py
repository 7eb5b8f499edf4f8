"""How a QAGen checkpoint reads text and writes question-answer pairs.

A `QAGenFormat` names what surrounds the text the model reads (a prefix, and for decoder-only
models a suffix that closes the prompt), the template of one pair (which fixes the separator and
the order of question and answer), and the delimiter between pairs for checkpoints that write
several pairs in one sequence. It renders the target text of a pair (what gets scored) and
parses a generation back into pairs.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass, field

FORMAT_FILE = "qagen_format.json"  # beside a LoRA adapter, whose folder holds no model config


@dataclass(frozen=True)
class QAGenFormat:
    """Text layout of a QAGen checkpoint.

    Args:
        name: a label, saved with the format.
        input_prefix: prepended to every text the model reads (e.g. a T5 task prefix).
        input_suffix: appended to every text the model reads (a decoder-only prompt's closing
            instruction, after which the model writes the pair).
        template: one pair's text, with ``{question}`` and ``{answer}`` exactly once each; the
            literal text between them is the separator.
        pair_delimiter: for checkpoints that write several pairs in one sequence, the text
            between pairs (``" | "``); ``None`` for one pair per sequence.
    """

    name: str = "qagen"
    input_prefix: str = ""
    input_suffix: str = ""
    template: str = "{question} <sep> {answer}"
    pair_delimiter: str | None = None
    _parts: tuple[str, str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = [f for _, f, _, _ in string.Formatter().parse(self.template) if f is not None]
        if sorted(fields) != ["answer", "question"]:
            raise ValueError(
                f"template {self.template!r} must contain {{question}} and {{answer}} once each"
            )
        first = "question" if fields[0] == "question" else "answer"
        head, rest = self.template.split("{" + first + "}")
        second = "answer" if first == "question" else "question"
        middle, tail = rest.split("{" + second + "}")
        if not middle.strip():
            raise ValueError(f"template {self.template!r} has no separator between its fields")
        object.__setattr__(self, "_parts", (head.strip(), middle.strip(), tail.strip()))

    @property
    def separator(self) -> str:
        """The text between question and answer, without surrounding spaces."""
        return self._parts[1]

    @property
    def answer_first(self) -> bool:
        """Whether the answer comes before the question."""
        return self.template.index("{answer}") < self.template.index("{question}")

    def render_input(self, text: str) -> str:
        """The text the model reads for ``text``."""
        return self.input_prefix + text + self.input_suffix

    def render_pair(self, question: str, answer: str) -> str:
        """The target text of one pair: what the model is scored on."""
        return self.template.format(question=question, answer=answer)

    def parse(self, generation: str) -> list[tuple[str, str]]:
        """Split a generation into ``(question, answer)`` pairs, dropping malformed ones.

        A pair is kept only if its text, stripped of the template's fixed head and tail, splits
        on the separator into exactly two parts, both non-empty after stripping.
        """
        chunks = (
            [generation]
            if self.pair_delimiter is None
            else generation.split(self.pair_delimiter.strip() or self.pair_delimiter)
        )
        pairs = []
        head, sep, tail = self._parts
        for chunk in chunks:
            text = chunk.strip()
            if head:
                if not text.startswith(head):
                    continue
                text = text[len(head) :]
            if tail:
                if not text.endswith(tail):
                    continue
                text = text[: -len(tail)]
            parts = [p.strip() for p in text.split(sep)]
            if len(parts) != 2 or not all(parts):
                continue
            question, answer = parts[::-1] if self.answer_first else parts
            pairs.append((question, answer))
        return pairs

    def to_dict(self) -> dict[str, str | None]:
        """A JSON-able dict, e.g. to store in a model config as ``qagen_format``."""
        data = asdict(self)
        data.pop("_parts", None)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> QAGenFormat:
        return cls(**{k: v for k, v in data.items() if k != "_parts"})

    @classmethod
    def resolve(cls, spec: str | dict | QAGenFormat) -> QAGenFormat:
        """A format from a preset name, a dict from `to_dict`, or a format itself."""
        if isinstance(spec, QAGenFormat):
            return spec
        if isinstance(spec, dict):
            return cls.from_dict(spec)
        if spec not in PRESETS:
            raise ValueError(f"unknown QAGen format {spec!r}; presets: {sorted(PRESETS)}")
        return PRESETS[spec]


def answer_in_summary(answer: str, summary: str) -> bool:
    """The QUALS filter: the answer must appear in the summary, ignoring case."""
    return answer.lower() in summary.lower()


PRESETS: dict[str, QAGenFormat] = {
    # The paper's QAGen: raw text in, one `question <sep> answer` out (a dedicated SEP token).
    "qagen": QAGenFormat("qagen"),
    # Public T5 QA-generation checkpoints writing `question <sep> answer` as plain text.
    "t5-sep": QAGenFormat("t5-sep"),
    # Decoder-only QAGens from `train_qagen` (and the package's SmolLM2 QAGen): a prompt
    # around the text, `<sep>` as plain text.
    "causal-qagen": QAGenFormat(
        "causal-qagen", input_prefix="Context: ", input_suffix="\nQuestion and answer:\n"
    ),
    # lmqg end-to-end QAG models: `question: Q, answer: A | question: ...`.
    "lmqg": QAGenFormat(
        "lmqg",
        input_prefix="generate question and answer: ",
        template="question: {question}, answer: {answer}",
        pair_delimiter=" | ",
    ),
}
