"""What any consistency scorer offers, so mining and `quals-hf score` take QUALS, QAGS or yours."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


class ScoredOutput(Protocol):
    """A scorer's result: one float per example (NaN where it could not score)."""

    scores: list[float]

    @property
    def counts(self) -> list[int]:
        """How many items (QA pairs, questions) each score averages."""
        ...

    def details(self, k: int) -> list[dict[str, Any]]:
        """The JSON-able items behind example ``k``'s score (needs ``return_details``)."""
        ...


@runtime_checkable
class ConsistencyScorer(Protocol):
    """A factual-consistency scorer: `QualsScorer`, `QagsScorer`, or any object like them."""

    def score(
        self,
        sources: Sequence[str],
        summaries: Sequence[str],
        batch_size: int | None = None,
        return_details: bool = False,
        progress: bool | None = None,
    ) -> ScoredOutput: ...
