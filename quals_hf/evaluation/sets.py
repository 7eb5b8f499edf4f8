"""The summaries a validity run scores: the QAGS sets, in a seeded order, in a text form.

The order is a seeded shuffle, so that a sample of N (``n``) is unbiased and a larger N, or a
resumed run, extends a smaller one instead of starting over.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SAMPLE_SEED = 0  # the order summaries are scored in (and a sample is drawn from)
# the QAGS sets (`quals_hf.benchmark_data.QAGS_NAMES`) and their titles, here so that building
# the command line imports no data library
SET_TITLES = {"cnndm": "QAGS-CNNDM", "xsum": "QAGS-XSum"}


def _lower_ptb(text: str) -> str:
    from ..qagen.augment import lower_ptb

    return lower_ptb(text)


# the text forms summaries are scored in: as QAGS wrote them, or lower-cased and PTB-tokenized
# as many summarizers write (needs sacremoses: quals_hf[augment]); sources stay as they are
FORMS: dict[str, Callable[[str], str]] = {"text": lambda text: text, "lower-ptb": _lower_ptb}


@dataclass
class QagsSample:
    """The summaries of one QAGS set a run measures, in scoring order.

    Attributes:
        name: the set (``"cnndm"`` or ``"xsum"``).
        ids: the summaries' ids (row numbers of `load_qags`), in the seeded order.
        documents, summaries: their texts (summaries in the run's text form).
        human: their human consistency labels.
    """

    name: str
    ids: list[int]
    documents: list[str]
    summaries: list[str]
    human: list[float]


def seeded_order(size: int, limit: int | None = None, shard: tuple[int, int] | None = None):
    """Positions 0..size-1 in the seeded order, the first ``limit`` of them; with ``shard``
    (k, n), every n-th from the k-th (one of n processes sharing a set)."""
    order = list(range(size))
    random.Random(SAMPLE_SEED).shuffle(order)
    if limit is not None:
        order = order[:limit]
    if shard is not None:
        k, n = shard
        order = order[k::n]
    return order


def load_sample(
    name: str,
    limit: int | None = None,
    form: str = "text",
    shard: tuple[int, int] | None = None,
) -> QagsSample:
    """The summaries of QAGS set ``name`` a run measures (`seeded_order`), in text ``form``."""
    from ..benchmark_data import load_qags

    if form not in FORMS:
        raise ValueError(f"unknown text form {form!r}; valid forms: {', '.join(FORMS)}")
    data: dict[str, Any] = load_qags(name).to_dict()
    assert data["id"] == list(range(len(data["id"])))
    ids = seeded_order(len(data["id"]), limit, shard)
    to_form = FORMS[form]
    return QagsSample(
        name=name,
        ids=ids,
        documents=[data["document"][i] for i in ids],
        summaries=[to_form(data["summary"][i]) for i in ids],
        human=[data["consistency"][i] for i in ids],
    )
