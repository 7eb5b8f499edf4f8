"""One text form for QUALS to read: lower-cased, with Penn-Treebank tokenization undone.

Many summarizers and benchmarks write lower-cased, PTB-tokenized text (``the 37 - year - old
was arrested .``); `normalize` maps that form and the same text as written (once lower-cased)
to one string (``the 37-year-old was arrested.``), so that QUALS, with
``QualsConfig.normalize_text``, reads the same text whichever form it is given
(docs/text_forms.md). It is a pure function of the standard library, idempotent, and it keeps
an offset map (`NormalizedText`) so that a span of the normalized text can be shown as the
user wrote it.

In order, it lower-cases; collapses runs of whitespace to one space and strips the ends; turns
``-lrb-``/``-rrb-`` (and ``-lsb-``, ``-rsb-``, ``-lcb-``, ``-rcb-``) into brackets and the PTB
quotes ``` `` ```, ``''`` and ``' '`` (sacremoses' split of ``''``) into ``"``; joins each
``"`` to the text it quotes (the first, third, ... open a quote, the others close one); joins
`` - `` and `` / `` between word characters and `` & `` between single letters (``a&e``);
removes the space before ``. , ; : ! ? ) ] } %``, before ``n't``, before a clitic (``'s``,
``'re``, ``'t``, ... after a word; ``o 'neil``) and before a lone ``'`` that ends a word or a
quote (``players ' union``, ```` `no ' ````); removes the space after ``( [ { $ £ € # ` `` and
after a colon between digits (``10 : 30``). The two forms then agree on every QAGS summary
(tests/test_normalize.py). What they do not agree on: single quotes that open a quotation
(``said 'no'`` against ``said ' no '``), double quotes in a text with an odd number of them
(open and close are told apart by count), ``&`` inside a longer word (``at&t``) and bytes
decoded in the wrong encoding (``â£``). A spaced dash between two words (``arsenal - who``) is
joined like a split hyphen, in both forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NormalizedText", "normalize", "normalize_with_offsets"]

Span = tuple[int, int]

# (pattern, replacement) in order; a replacement's characters map to the whole match
_BRACKETS = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}
_RULES: list[tuple[re.Pattern[str], str | None]] = [
    (re.compile(r"\s+"), " "),
    (re.compile(r"^ | $"), ""),
    (re.compile("|".join(map(re.escape, _BRACKETS))), None),  # None: _BRACKETS[match]
    (re.compile(r"``|''|' '(?!\w)"), '"'),
    (re.compile(r"(?<=\w) ([-/]) (?=\w)|(?<=\b[a-z]) (&) (?=[a-z]\b)"), None),  # the sign
    (re.compile(r" (?=[.,;:!?)\]}%]|n't\b)"), ""),
    (re.compile(r"(?<=\w) (?='(?:s|re|ve|ll|d|m|t)\b)|(?<=\bo) (?='\w)"), ""),
    (re.compile(r"(?<=[\w.,;:!?]) (?='(?:[ .,;:!?)]|$))"), ""),
    (re.compile(r"(?<=[(\[{$£€#`]) |(?<=\d:) (?=\d)"), ""),
]


@dataclass(frozen=True)
class NormalizedText:
    """A text as `normalize` writes it, and where each of its characters came from.

    Attributes:
        original: the text as given.
        text: its normalized form.
        spans: for each character of ``text``, the ``(start, end)`` range of ``original`` it
            was made from (one character, or the whole of a ``-lrb-`` or a joined `` - ``).
    """

    original: str
    text: str
    spans: tuple[Span, ...]

    def original_span(self, start: int, end: int) -> str:
        """``text[start:end]`` as ``original`` writes it (stripped of the ends' spaces)."""
        if not 0 <= start < end <= len(self.text):
            return ""
        return self.original[self.spans[start][0] : self.spans[end - 1][1]].strip()

    def as_written(self, part: str) -> str | None:
        """The first occurrence of ``part`` in ``text`` (ignoring case), as ``original`` writes
        it; None where ``part`` is not in ``text``."""
        start = self.text.find(part.lower()) if part else -1
        return None if start < 0 else self.original_span(start, start + len(part))


def _sub(
    pattern: re.Pattern[str], repl: str | None, text: str, spans: list[Span]
) -> tuple[str, list[Span]]:
    """``pattern.sub`` that also maps each new character to the original range it replaces."""
    chars: list[str] = []
    out: list[Span] = []
    pos = 0
    for m in pattern.finditer(text):
        chars.append(text[pos : m.start()])
        out += spans[pos : m.start()]
        new = repl if repl is not None else _BRACKETS.get(m[0]) or m[1] or m[2]
        if new and m.end() > m.start():
            chars.append(new)
            out += [(spans[m.start()][0], spans[m.end() - 1][1])] * len(new)
        pos = m.end()
    chars.append(text[pos:])
    out += spans[pos:]
    return "".join(chars), out


def _join_quotes(text: str, spans: list[Span]) -> tuple[str, list[Span]]:
    """Each ``"`` joined to what it quotes: the space after an opening one (the first, third,
    ...) and before a closing one is removed."""
    drop: set[int] = set()
    for k, m in enumerate(re.finditer('"', text)):
        i = m.start() + 1 if k % 2 == 0 else m.start() - 1
        if 0 <= i < len(text) and text[i] == " ":
            drop.add(i)
    keep = [i for i in range(len(text)) if i not in drop]
    return "".join(text[i] for i in keep), [spans[i] for i in keep]


def _lower(text: str) -> tuple[str, list[Span]]:
    """``text.lower()``, each character mapped to the one it came from."""
    chars = [c.lower() for c in text]
    return "".join(chars), [(i, i + 1) for i, c in enumerate(chars) for _ in c]


def _one_pass(text: str, spans: list[Span]) -> tuple[str, list[Span]]:
    for pattern, repl in _RULES[:4]:
        text, spans = _sub(pattern, repl, text, spans)
    text, spans = _join_quotes(text, spans)
    for pattern, repl in _RULES[4:]:
        text, spans = _sub(pattern, repl, text, spans)
    return text, spans


def normalize_with_offsets(text: str) -> NormalizedText:
    """`normalize`'s text with the offset map back to ``text`` (`NormalizedText`)."""
    norm, spans = _lower(text)
    while True:  # to a fixed point, so that normalizing again changes nothing
        again, again_spans = _one_pass(norm, spans)
        if again == norm:
            return NormalizedText(text, norm, tuple(spans))
        norm, spans = again, again_spans


def normalize(text: str) -> str:
    """``text`` lower-cased with PTB tokenization undone (``the 37 - year - old was arrested .``
    -> ``the 37-year-old was arrested.``); see the module's docstring for the rules."""
    return normalize_with_offsets(text).text
