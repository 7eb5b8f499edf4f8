"""Loading the tables the command line reads: local files, or a `datasets` name when online."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def load_table(source: str, split: str = "train", id_column: str | None = None) -> Any:
    """A `datasets.Dataset` from a JSON Lines, CSV or Parquet file, or a Hub dataset name.

    If ``id_column`` is given but missing, it is added with the row numbers. A missing, empty
    or malformed file raises an OSError or ValueError that says what is wrong (and for JSON
    Lines and CSV, on which line), since the loaders' own errors rarely do.
    """
    from datasets import load_dataset

    path = Path(source)
    if path.suffix in FORMATS:
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {source}")
        if path.suffix != ".parquet":
            check_utf8(path)
            if _is_blank(path):
                raise ValueError(f"{source} is empty")
        try:
            dataset = load_dataset(FORMATS[path.suffix], data_files=str(path), split="train")
        except Exception as err:  # whatever the loader raised: say where the file breaks
            raise ValueError(_diagnose(path) or f"{source} cannot be read: {err}") from err
    elif path.exists():
        raise ValueError(f"{source}: unsupported file type; use .jsonl, .json, .csv or .parquet")
    else:
        dataset = load_dataset(source, split=split)
    if len(dataset) == 0:
        raise ValueError(f"{source} has no rows")
    if id_column and id_column not in dataset.column_names:
        dataset = dataset.add_column(id_column, list(range(len(dataset))))
    return dataset


def check_utf8(path: Path) -> None:
    """Raise a ValueError naming the line and column of the first byte of ``path`` that is not
    UTF-8 (the loaders would fail later without saying where)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ValueError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x} at column {column}); "
            "save the file as UTF-8"
        ) from None


def read_text(path: str | Path) -> str:
    """A UTF-8 text file's content; a byte that is not UTF-8 raises a ValueError with its line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    check_utf8(path)
    return path.read_text("utf-8")


def _is_blank(path: Path) -> bool:
    with path.open("rb") as f:
        return not any(line.strip() for line in f)


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, record)`` of each non-blank row of a JSON Lines or CSV file, as read."""
    with path.open(encoding="utf-8", newline="") as f:
        if path.suffix == ".csv":
            reader = csv.reader(f)
            for row in reader:
                if row:
                    yield reader.line_num, row
        else:
            for number, line in enumerate(f, 1):
                if line.strip():
                    yield number, line


def _diagnose(path: Path) -> str | None:
    """What is wrong with a JSON Lines or CSV file (the first malformed row, with its line)."""
    records = _records(path)
    if path.suffix == ".csv":
        _, header = next(records)
        empty = True
        for number, row in records:
            empty = False
            if len(row) != len(header):
                return (
                    f"{path}:{number}: malformed row: {len(row)} fields, "
                    f"the header has {len(header)}"
                )
        return f"{path} has no rows" if empty else None
    if path.suffix == ".jsonl":
        for number, line in records:
            try:
                row = json.loads(line.strip())
            except json.JSONDecodeError as err:
                return f"{path}:{number}: malformed row: {err.msg} (column {err.colno})"
            if not isinstance(row, dict):
                return f"{path}:{number}: malformed row: not a JSON object"
    return None


def row_location(source: str, index: int) -> str:
    """Where row ``index`` of a table is, for messages: ``file:line`` for JSON Lines and CSV."""
    path = Path(source)
    if path.suffix in (".jsonl", ".csv") and path.is_file():
        skip = index + (path.suffix == ".csv")  # the CSV header is a record too
        for k, (number, _) in enumerate(_records(path)):
            if k == skip:
                return f"{source}:{number}"
    return f"{source} row {index}"
