"""`ContrastiveSets`: the positive and negative summaries of training examples, by example id.

Mining (`quals_hf.mining`) produces them; `ContrastiveTrainer` trains on them. The sets are a
mutable store keyed by example id: re-mining replaces its contents in place, so a running
dataloader sees the new summaries without the dataset being replaced. Ids are kept as
strings (an integer id ``3`` and ``"3"`` are the same example).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..core.inputs import check_unicode

FILE_NAME = "contrastive_sets.jsonl"


@dataclass(frozen=True)
class ContrastiveEntry:
    """One training example's contrastive summaries.

    Attributes:
        positive: a faithful summary to make more likely (the paper: the ground truth).
        negative: a hallucinated summary to make less likely (the paper: the worst sample).
        positive_score, negative_score: their scores (QUALS, ROUGE, ...), if known.
        round: the mining round that produced the entry.
    """

    positive: str | None = None
    negative: str | None = None
    positive_score: float | None = None
    negative_score: float | None = None
    round: int = 0


def _key(example_id: Any) -> str:
    return str(example_id)


def _read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a sets file saved by `ContrastiveSets.save`. A ValueError names the file
    and line of a byte that is not UTF-8, of a malformed line (cut short, not an entry) and of
    an id that repeats an earlier line's (with that line)."""
    from ..core.tables import check_utf8

    check_utf8(path)
    names = {"id", *(f.name for f in fields(ContrastiveEntry))}
    first: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                message = f"{err.msg} (column {err.colno})"
                raise ValueError(f"{path}:{number}: malformed row: {message}") from None
            if not isinstance(record, dict) or "id" not in record or set(record) - names:
                raise ValueError(
                    f"{path}:{number}: malformed row: not an entry (a JSON object with an id "
                    f"and only the fields {sorted(names - {'id'})})"
                )
            key = _key(record["id"])
            if key in first:
                raise ValueError(
                    f"{path}:{number}: id {record['id']!r} repeats {path}:{first[key]}"
                )
            first[key] = number
            yield record


class ContrastiveSets(MutableMapping[str, ContrastiveEntry]):
    """Per training example id, an optional positive and an optional negative summary."""

    def __init__(self, entries: Mapping[Any, ContrastiveEntry] | None = None, round: int = 0):
        self._entries: dict[str, ContrastiveEntry] = {}
        self.round = round
        for example_id, entry in (entries or {}).items():
            self[example_id] = entry

    # -- mapping ---------------------------------------------------------------------------

    def __getitem__(self, example_id: Any) -> ContrastiveEntry:
        return self._entries[_key(example_id)]

    def __setitem__(self, example_id: Any, entry: ContrastiveEntry) -> None:
        if entry.positive is None and entry.negative is None:
            raise ValueError(f"example {example_id!r}: an entry needs a positive or a negative")
        for name in ("positive", "negative"):
            text = getattr(entry, name)
            if text is not None and (not isinstance(text, str) or not text.strip()):
                raise ValueError(f"example {example_id!r}: the {name} must be a non-empty string")
            if text is not None:
                check_unicode(text, f"example {example_id!r}: the {name}")
        if entry.positive is not None and entry.positive.strip() == (entry.negative or "").strip():
            raise ValueError(f"example {example_id!r}: the negative is identical to the positive")
        self._entries[_key(example_id)] = entry

    def __delitem__(self, example_id: Any) -> None:
        del self._entries[_key(example_id)]

    def __contains__(self, example_id: object) -> bool:
        return _key(example_id) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContrastiveSets):
            return NotImplemented
        return self.round == other.round and self._entries == other._entries

    def __repr__(self) -> str:
        s = self.stats()
        return (
            f"ContrastiveSets(round={self.round}, examples={s['examples']}, "
            f"positives={s['positives']}, negatives={s['negatives']})"
        )

    def replace_with(self, other: ContrastiveSets) -> None:
        """Take ``other``'s entries and round, in place (what re-mining does)."""
        self._entries = dict(other._entries)
        self.round = other.round

    # -- checks and summaries --------------------------------------------------------------

    def validate_ids(self, dataset_ids: Iterable[Any]) -> None:
        """Raise a ValueError if an id of the sets is not among ``dataset_ids``, or if empty."""
        if not self._entries:
            raise ValueError(
                "the contrastive sets are empty: mine them first (mine_contrastive_sets)"
            )
        known = {_key(i) for i in dataset_ids}
        unknown = [i for i in self._entries if i not in known]
        if unknown:
            raise ValueError(
                f"{len(unknown)} contrastive-set ids are not in the training data, e.g. "
                f"{unknown[:5]}; mine the sets from the same dataset (ids are compared as strings)"
            )

    def stats(self) -> dict[str, float]:
        """Counts and mean scores, for logs."""

        def mean(values: list[float]) -> float:
            return sum(values) / len(values) if values else math.nan

        entries = self._entries.values()
        return {
            "examples": len(self._entries),
            "positives": sum(e.positive is not None for e in entries),
            "negatives": sum(e.negative is not None for e in entries),
            "mean_positive_score": mean(
                [e.positive_score for e in entries if e.positive_score is not None]
            ),
            "mean_negative_score": mean(
                [e.negative_score for e in entries if e.negative_score is not None]
            ),
        }

    def filter_dataset(self, dataset: Any, id_column: str = "id") -> Any:
        """The rows of a `datasets.Dataset` that have an entry (the paper trains on those only)."""
        return dataset.filter(
            lambda ids: [i in self for i in ids], input_columns=id_column, batched=True
        )

    # -- saving ----------------------------------------------------------------------------

    def to_records(self) -> list[dict[str, Any]]:
        return [{"id": i, **asdict(e)} for i, e in self._entries.items()]

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> ContrastiveSets:
        sets = cls()
        for record in records:
            fields = dict(record)
            example_id = fields.pop("id")
            sets[example_id] = ContrastiveEntry(**fields)
        sets.round = max((e.round for e in sets.values()), default=0)
        return sets

    def save(self, path: str | Path) -> Path:
        """Write JSON Lines to ``path`` (a ``.jsonl`` file, or a folder that gets `FILE_NAME`).

        Written to a temporary file first, then renamed: an interrupted save loses nothing.
        """
        path = Path(path)
        if path.suffix != ".jsonl":
            path = path / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".jsonl.tmp")
        with tmp.open("w") as f:
            for record in self.to_records():
                f.write(json.dumps(record) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ContrastiveSets:
        """Read sets saved by `save` (JSON Lines), or a `datasets.Dataset` saved to disk.

        A line of the JSON Lines file that is not UTF-8, malformed or cut short, or that repeats
        an earlier line's id, is a ValueError naming the file and line (`_read_records`).
        """
        path = Path(path)
        if path.is_dir() and (path / FILE_NAME).exists():
            path = path / FILE_NAME
        if path.is_dir():
            from datasets import load_from_disk

            return cls.from_records(load_from_disk(str(path)))
        return cls.from_records(_read_records(path))

    def to_dataset(self) -> Any:
        """The sets as a `datasets.Dataset` (``save_to_disk`` it, or push it to the Hub)."""
        from datasets import Dataset

        return Dataset.from_list(self.to_records())
