"""Per-summary rows of a validity run on disk: resumable and safe against a crash mid-write.

The format is that of ``benchmarks/results/validity/RUN/``: ``NAME.jsonl.gz`` holds one JSON
object per line, each with the summary's ``id``, written one gzip member per batch, so a run
killed while writing loses at most that batch; rows of an older plain ``NAME.jsonl`` beside it
are read too.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
Row = dict[str, Any]


def read_jsonl(path: Path) -> list[Row]:
    """The rows of a JSONL file, plain or gzipped; a line or gzip member cut by an interrupted
    write ends the reading (everything before it is kept). A missing file has no rows."""
    if not path.exists():
        return []
    rows = []
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by an interrupted write
                    break
    except (EOFError, gzip.BadGzipFile):  # a gzip member cut by an interrupted write
        pass
    return rows


class ResultStore:
    """The rows of one metric on one set by summary id, appended batch by batch.

    ``path`` names ``NAME.jsonl`` or ``NAME.jsonl.gz`` (both mean the gzipped file, with an
    older plain file beside it read first); ``None`` keeps the rows in memory only (a run that
    cannot resume)."""

    def __init__(self, path: Path | None) -> None:
        self.rows: dict[int, Row] = {}
        self.path = path
        if path is None:
            return
        if not path.name.endswith(".gz"):
            self.path = path.with_name(path.name + ".gz")
        plain = self.path.with_name(self.path.name.removesuffix(".gz"))
        for row in [*read_jsonl(plain), *read_jsonl(self.path)]:
            self.rows[int(row["id"])] = row

    def append(self, rows: list[Row]) -> None:
        """Add rows (each with an ``id``) as one gzip member, flushed to disk before return."""
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            text = "".join(json.dumps(row) + "\n" for row in rows)
            with self.path.open("ab") as f:
                f.write(gzip.compress(text.encode("utf-8"), mtime=0))
                f.flush()
                os.fsync(f.fileno())
        for row in rows:
            self.rows[int(row["id"])] = row

    def missing(self, ids: Sequence[int]) -> list[int]:
        """The ids of ``ids`` that have no row yet, in order."""
        return [i for i in ids if i not in self.rows]


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
