"""Token ids of what a QAGen reads and writes: its inputs, pair targets and generations.

One `QAGenCodec` per (tokenizer, format) is the single place where text becomes ids and ids
become text, so the scorer, `train_qagen`'s metrics and every caller parse generations alike.
"""

from __future__ import annotations

import hashlib
import json

from transformers import PreTrainedTokenizerBase

from ..core.inputs import encode_texts
from .formats import QAGenFormat


class QAGenCodec:
    """Encodes inputs and pair targets, and decodes generated ids, for one QAGen.

    Args:
        tokenizer: the QAGen's tokenizer.
        format: its `QAGenFormat`.
        eos_ids: the model's end-of-sequence ids (the first one ends every target).
        dropped_ids: further ids that are not text when decoding (the decoder start token).
        model_name: the model's name or path, part of `key` with the tokenizer and format.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        format: QAGenFormat,
        eos_ids: list[int],
        dropped_ids: tuple[int, ...] = (),
        model_name: str = "",
    ) -> None:
        self.tokenizer = tokenizer
        self.format = format
        self.eos_id = eos_ids[0]
        self._drop = {tokenizer.pad_token_id, tokenizer.bos_token_id, *eos_ids, *dropped_ids}
        vocab = sorted(tokenizer.get_vocab().items())
        fingerprint = json.dumps(
            [type(tokenizer).__name__, vocab, format.to_dict(), eos_ids, dropped_ids, model_name]
        )
        self.key = hashlib.sha1(fingerprint.encode()).hexdigest()[:16]

    def encode_inputs(self, texts: list[str], max_length: int, what: str) -> list[list[int]]:
        """The ids the model reads for each text (format prefix and suffix kept whole)."""
        return encode_texts(self.tokenizer, texts, max_length, what, self.format.render_input)

    def target_ids(self, question: str, answer: str) -> list[int]:
        """A hand-made pair's target: the format's template as tokens, then EOS."""
        text = self.format.render_pair(question, answer)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids if ids[-1:] == [self.eos_id] else [*ids, self.eos_id]

    def pair_key(self, question: str, answer: str) -> str:
        """The `QAPair.token_key` of tokens this codec made for this question and answer."""
        return hashlib.sha1(f"{self.key}\x1f{question}\x1f{answer}".encode()).hexdigest()[:16]

    def decode(self, ids: list[int]) -> str:
        """The text of generated ids without pad, BOS, EOS and decoder-start ids.

        Other special tokens stay: a separator may be one (``<sep>``).
        """
        kept = [t for t in ids if t not in self._drop]
        return self.tokenizer.decode(
            kept, skip_special_tokens=False, clean_up_tokenization_spaces=False
        )

    def answer_start(self, ids: list[int]) -> int | None:
        """Where a pair's answer tokens begin in its target ``ids``: right after the tokens
        that complete the format's separator (the answer, the format's tail and EOS follow).
        ``None`` when no separator is found, or the format puts the answer first."""
        if self.format.answer_first:
            return None
        for end in range(1, len(ids) + 1):
            if self.format.separator in self.decode(ids[:end]):
                return end
        return None

    def parse(self, ids: list[int]) -> list[tuple[str, str]]:
        """The ``(question, answer)`` pairs of generated ids (see `QAGenFormat.parse`)."""
        return self.format.parse(self.decode(ids))
