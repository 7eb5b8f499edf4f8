"""Loading the tables the command line reads: local files, or a `datasets` name when online."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def load_table(source: str, split: str = "train", id_column: str | None = None) -> Any:
    """A `datasets.Dataset` from a JSON Lines, CSV or Parquet file, or a Hub dataset name.

    If ``id_column`` is given but missing, it is added with the row numbers.
    """
    from datasets import load_dataset

    path = Path(source)
    if path.suffix in FORMATS:
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {source}")
        dataset = load_dataset(FORMATS[path.suffix], data_files=str(path), split="train")
    elif path.exists():
        raise ValueError(f"{source}: unsupported file type; use .jsonl, .json, .csv or .parquet")
    else:
        dataset = load_dataset(source, split=split)
    if id_column and id_column not in dataset.column_names:
        dataset = dataset.add_column(id_column, list(range(len(dataset))))
    return dataset
