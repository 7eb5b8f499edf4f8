"""Running a function over length-sorted batches with a progress bar: shared by the scorers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
R = TypeVar("R")


def batched_apply(
    items: list[T],
    fn: Callable[[list[T]], list[R]],
    size_of: Callable[[T], int],
    batch_size: int,
    progress: bool,
    desc: str,
) -> list[R]:
    """Apply ``fn`` to batches of similar-size items (longest first); results in input order.

    Sorting by size keeps padding small, and longest-first makes an out-of-memory error show
    up in the first batch rather than the last.
    """
    order = sorted(range(len(items)), key=lambda i: -size_of(items[i]))
    results: list[R | None] = [None] * len(items)
    with tqdm(total=len(items), desc=desc, disable=not progress or not items, unit="ex") as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            for i, result in zip(idx, fn([items[i] for i in idx])):
                results[i] = result
            bar.update(len(idx))
    return results  # type: ignore[return-value]


def nan_mean(values: Sequence[float]) -> float:
    """The mean of the values that are not NaN (NaN when there are none)."""
    valid = [v for v in values if not math.isnan(v)]
    return sum(valid) / len(valid) if valid else math.nan
