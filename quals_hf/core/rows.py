"""Checking the rows of a table before any model work: texts present, ids unique."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any


def dataset_row(name: str, ids: Sequence[Any]) -> Callable[[int], str]:
    """How `check_rows` names row ``i`` of an in-memory dataset: its index and id."""
    return lambda i: f"{name} row {i} (id {ids[i]!r})"


def check_rows(
    ids: Sequence[Any],
    texts: Mapping[str, Sequence[Any]],
    where: Callable[[int], str],
    id_name: str = "id",
) -> None:
    """Raise a ValueError naming the first row whose text is empty, whitespace only or not a
    string, or whose id is missing or repeats an earlier row's (ids compared as strings).

    ``texts`` maps column names to their values, row by row; ``where(i)`` names row ``i`` in
    the user's terms (a file's line, `dataset_row`).
    """
    for column, values in texts.items():
        for i, text in enumerate(values):
            if not isinstance(text, str) or not text.strip():
                problem = "empty" if isinstance(text, str) else f"not a text ({text!r})"
                raise ValueError(f"{where(i)}: {column!r} is {problem}")
    first: dict[str, int] = {}
    for i, example_id in enumerate(ids):
        if example_id is None:
            raise ValueError(f"{where(i)}: {id_name!r} is missing")
        if str(example_id) in first:
            raise ValueError(
                f"{where(i)}: id {example_id!r} repeats {where(first[str(example_id)])}"
            )
        first[str(example_id)] = i
