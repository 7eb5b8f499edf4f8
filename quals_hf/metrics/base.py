"""What the quals and qags evaluate metrics share: inputs, option checks, loading errors."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import datasets
import evaluate

from ..core.batching import nan_mean
from ..core.inputs import check_parallel
from ..core.protocols import ScoredOutput

T = TypeVar("T")

# the keyword arguments evaluate's own Metric takes (experiment_id, cache_dir, ...)
EVALUATE_INIT_ARGS = frozenset(
    name
    for name, p in inspect.signature(evaluate.Metric.__init__).parameters.items()
    if name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD
)


def load_checkpoint(
    load: Callable[..., T], checkpoint: str, *args: Any, option: str, **kwargs: Any
) -> T:
    """``load(checkpoint, *args, **kwargs)``, or an OSError that names the checkpoint and the
    option that passes another one (``option``, e.g. ``"qagen="``; the default checkpoints
    need the Hub)."""
    try:
        return load(checkpoint, *args, **kwargs)
    except OSError as err:
        raise OSError(
            f"could not load the checkpoint {checkpoint!r} ({type(err).__name__}: {err}). "
            f"Offline, or to use another model, pass a local path or Hub id as {option} "
            "(a load-time or compute() option)"
        ) from err


class SourceSummaryMetric(evaluate.Metric):
    """An evaluate metric over (``predictions`` = summaries, ``sources``) with early checks.

    Keyword arguments that evaluate's own ``Metric`` takes (``experiment_id``, ``cache_dir``...)
    go to it; the others become the defaults of `_compute`. Bad items raise as they are added,
    naming their index. An option in `renamed_options` is still accepted under its old name,
    at load time and in ``compute()``, with a FutureWarning that names the new one.
    """

    options: ClassVar[frozenset[str]] = frozenset()  # the metric's own option names
    # old option name -> its new name: accepted, with a FutureWarning, for one release
    renamed_options: ClassVar[dict[str, str]] = {}
    # the result's keys of the mean score, the per-example counts and the details
    result_keys: ClassVar[tuple[str, str, str]]

    def __init__(self, **kwargs: Any) -> None:
        evaluate_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in EVALUATE_INIT_ARGS}
        self._rename_options(kwargs)
        self._check_options(kwargs, "load-time")
        super().__init__(**evaluate_kwargs)
        self.defaults: dict[str, Any] = kwargs

    def _rename_options(self, given: dict[str, Any]) -> None:
        """Move options given under an old name (`renamed_options`) to their new name, in place,
        with a FutureWarning; a TypeError when both names are given."""
        metric = type(self).__name__.lower()
        for old, new in self.renamed_options.items():
            if old not in given:
                continue
            value = given.pop(old)
            if given.get(new) is not None:
                raise TypeError(f"the {metric} metric got both {old}= and {new}=; pass only {new}=")
            warnings.warn(
                f"the {metric} metric's option {old}= is deprecated and will be removed in a "
                f"future release; pass {new}= instead",
                FutureWarning,
                stacklevel=4,
            )
            given[new] = value

    def _check_options(self, given: dict[str, Any], when: str) -> None:
        """A ValueError naming the first unknown option and listing the valid ones."""
        unknown = sorted(set(given) - self.options)
        if unknown:
            valid = sorted(self.options | (EVALUATE_INIT_ARGS if when == "load-time" else set()))
            raise ValueError(
                f"unknown {when} option {unknown[0]!r} for the {type(self).__name__.lower()} "
                f"metric; valid options: {', '.join(valid)}"
            )

    @staticmethod
    def _check_scorer_options(device: Any, dtype: Any) -> None:
        """A ready scorer's model is already placed: device and dtype cannot apply to it."""
        if device or dtype:
            raise ValueError(
                "device and dtype apply to checkpoints the metric loads, not to a ready scorer"
            )

    def _source_summary_info(
        self, description: str, citation: str, inputs_description: str, **kwargs: Any
    ) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=description,
            citation=citation,
            inputs_description=inputs_description,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "sources": datasets.Value("string")}
            ),
            **kwargs,
        )

    def _call_options(
        self, options: dict[str, Any], return_details: bool | None
    ) -> tuple[dict[str, Any], bool]:
        """This call's options over the load-time defaults, and whether to return details."""
        merged = {**self.defaults, **options}
        details = merged.pop("return_details", False)
        return merged, details if return_details is None else return_details

    def _scorer_for(self, options: dict[str, Any]) -> Any:
        """The scorer for one compute call; ``options`` are the call's merged options."""
        raise NotImplementedError

    def _result(self, out: ScoredOutput, details: bool) -> dict[str, Any]:
        """The result dict of a scorer's output, under this metric's `result_keys`."""
        mean_key, count_key, details_key = self.result_keys
        result = {mean_key: nan_mean(out.scores), "scores": out.scores, count_key: out.counts}
        if details:
            result[details_key] = [out.details(k) for k in range(len(out.scores))]
        return result

    def _compute(
        self,
        predictions: Sequence[str],
        sources: Sequence[str],
        return_details: bool | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        self._rename_options(options)
        self._check_options(options, "compute()")
        merged, return_details = self._call_options(options, return_details)
        scorer = self._scorer_for(merged)
        out = scorer.score(sources, predictions, return_details=return_details)
        return self._result(out, return_details)

    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add summaries (``predictions``) and their ``sources``; bad items raise at once."""
        sources = kwargs.get("sources")
        if predictions is not None or sources is not None:
            check_parallel(predictions=predictions, sources=sources)
        return super().add_batch(predictions=predictions, references=references, **kwargs)

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one summary and its ``source``."""
        if prediction is not None or kwargs.get("sources") is not None:
            check_parallel(predictions=[prediction], sources=[kwargs.get("sources")])
        return super().add(prediction=prediction, reference=reference, **kwargs)
