"""`measure_validity`: how well any QAGen, any `QualsConfig`, or any metric agrees with the
human factual-consistency labels of QAGS, beside word-overlap baselines.

Rows are stored per summary as they are computed (`ResultStore`), so a run stopped at any
point resumes; ``stored=True`` reads them back without a model.
"""

from __future__ import annotations

import dataclasses
import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .baselines import LEXICAL, lexical_columns
from .fingerprint import (
    SEARCH_VERSION,
    OutDirMismatchError,
    dtype_name,
    machine,
    model_fingerprint,
    prepare_out_dir,
    read_meta,
)
from .likelihood import MAX_TOKENS
from .options import answer_stats, option_analysis, variant_correlations
from .result import SetResult, ValidityResult
from .runners import RowsFn, metric_rows_fn, quals_rows_fn, run_resumable, windows_rows_fn
from .sets import FORMS, SET_TITLES, QagsSample, load_sample
from .stats import correlations, faithful_above_unfaithful, worst_disagreements
from .store import ResultStore, Row

QUALS_ROW = ("QUALS", "quals")
LIKELIHOOD_ROW = ("Likelihood gain: source vs empty prompt", "likelihood")
RESERVED = {"quals", "likelihood", *(col for _, col in LEXICAL)}
NAME = re.compile(r"[A-Za-z0-9_.-]+")


class MissingRowsError(ValueError):
    """Stored rows were asked for (``stored=True``) but some summaries have none."""


@dataclass
class _Metric:
    """What is measured: a table label, a column (the stored files' stem), a factory of its
    batch scorer (``None``: stored rows only) and the `QualsScorer` behind it, if any."""

    label: str | None = None
    column: str | None = None
    rows_fn: Callable[[], RowsFn] | None = None
    scorer: Any = None


@dataclass
class _Run:
    """The settings shared by every set of one `measure_validity` call."""

    metric: _Metric
    out: Path | None
    limits: dict[str, int | None]
    form: str
    batch_size: int
    stored: bool
    baselines: bool
    likelihood: bool
    likelihood_fn: Callable[[], RowsFn] | None  # None: stored rows only
    progress: bool
    shard: tuple[int, int] | None
    source_window_tokens: int | None
    explain_page: Path | None


def _is_quals_scorer(metric: Any) -> bool:
    if not hasattr(metric, "config") or not hasattr(metric, "score_pairs"):
        return False  # not worth importing torch to learn it
    from ..scoring.scorer import QualsScorer

    return isinstance(metric, QualsScorer)


def _resolve(metric: Any, name: str | None, batch_size: int) -> _Metric:
    """The `_Metric` of ``measure_validity``'s ``metric`` and ``name``."""
    if metric is None:
        return _Metric()
    if isinstance(metric, str):
        return _Metric("QUALS" if metric == "quals" else metric, metric)
    if _is_quals_scorer(metric):
        if name not in (None, "quals"):
            raise ValueError("a QualsScorer's rows are always stored as 'quals'; omit name")
        return _Metric(*QUALS_ROW, lambda: quals_rows_fn(metric, batch_size), metric)
    if not (callable(metric) or hasattr(metric, "score")):
        raise TypeError(
            f"cannot measure {type(metric).__name__}: give a QualsScorer, a "
            "callable f(sources, summaries) -> scores or a scorer with .score"
        )
    name = name or getattr(metric, "__name__", None) or type(metric).__name__
    if not NAME.fullmatch(name) or name in RESERVED:
        hint = "letters, digits, '_', '.', '-'" if name not in RESERVED else "not a baseline's"
        raise ValueError(f"give the metric a name= ({hint}), got {name!r}")
    return _Metric(name, name, lambda: metric_rows_fn(metric, name))


def _nondefault_config(scorer: Any) -> dict[str, Any]:
    """The `QualsConfig` fields of ``scorer`` that differ from the paper's, but num_groups."""
    default = type(scorer.config)()
    return {
        f.name: getattr(scorer.config, f.name)
        for f in dataclasses.fields(scorer.config)
        if f.name != "num_groups" and getattr(scorer.config, f.name) != getattr(default, f.name)
    }


def _model_settings(model: Any, scorer: Any) -> dict[str, Any]:
    """The fingerprint entries of a QAGen model and, if any, the scorer around it."""
    found = {**model_fingerprint(model), "max_tokens": MAX_TOKENS, "dtype": dtype_name(model)}
    if scorer is not None:
        found["num_groups"] = scorer.config.num_groups
    return found


def _fingerprint(run: _Run, likelihood: Any, extra: Mapping[str, Any] | None) -> dict:
    """What this run's rows depend on (compared with an output folder's ``meta.json``)."""
    metric, found = run.metric, {}
    model = metric.scorer.model if metric.scorer is not None else None
    if model is None and likelihood is not None and not isinstance(likelihood, bool):
        model = likelihood.model
    if model is not None:
        found.update(_model_settings(model, metric.scorer))
    if metric.column not in (None, "quals"):
        found["metric"] = metric.column
    found["form"] = run.form
    if model is not None:
        found["search"] = SEARCH_VERSION
        if metric.scorer is not None and _nondefault_config(metric.scorer):
            found["config"] = _nondefault_config(metric.scorer)
    return {**found, **(extra or {})}


def _rows(run: _Run, sample: QagsSample, stem: str, what: str, fn: Callable[[], RowsFn] | None):
    """The rows of ``stem`` for every summary of ``sample``: read from the output folder,
    and the missing ones scored with ``fn()`` (built only when some are missing)."""
    store = ResultStore(run.out / f"{stem}_{sample.name}.jsonl" if run.out else None)
    missing = store.missing(sample.ids)
    if missing and (run.stored or fn is None):
        where = store.path if store.path is not None else "memory (no output folder)"
        raise MissingRowsError(
            f"{len(missing)} of the {len(sample.ids)} summaries of {SET_TITLES[sample.name]} "
            f"(set {sample.name!r}) have no stored {what} row in {where}: score them first "
            "(a run without stored rows only), or measure fewer (n)"
        )
    if missing:
        desc = f"{what} {sample.name}"
        run_resumable(store, sample, fn(), run.batch_size, desc, run.progress)
    return [store.rows[i] for i in sample.ids]


def _time(rows: list[Row]) -> dict[str, float]:
    return {
        "seconds_per_summary": statistics.fmean(r["seconds"] for r in rows),
        "total_seconds": sum(r["seconds"] for r in rows),
    }


def _likelihood(run: _Run, sample: QagsSample, columns: dict, extra: dict) -> None:
    rows = _rows(run, sample, "likelihood", "likelihood", run.likelihood_fn)
    columns["likelihood"] = [r["likelihood"] for r in rows]
    extra["likelihood"] = {
        **_time(rows),
        "sources_truncated": sum(r["source_truncated"] for r in rows),
    }


def _windowed(run: _Run, sample: QagsSample, rows: list[Row]) -> tuple[int, list[Row]] | None:
    """Rows of the stored QUALS pairs re-scored in source windows, when asked for."""
    size = run.source_window_tokens
    if size is None:
        return None
    scorer = run.metric.scorer
    stored = {(d, s): r["pairs"] for d, s, r in zip(sample.documents, sample.summaries, rows)}
    fn = None if scorer is None else lambda: windows_rows_fn(scorer, size, stored, run.batch_size)
    return size, _rows(run, sample, f"quals_windows{size}", f"QUALS windows {size}", fn)


def _quals_stats(run: _Run, sample: QagsSample, rows: list[Row], scores: list[float]) -> dict:
    """Pairs, time, answers, variants, options and ranking of QUALS rows with their pairs."""
    human = sample.human
    return {
        "mean_pairs": statistics.fmean(r["num_pairs"] for r in rows),
        "nan_share": sum(math.isnan(s) for s in scores) / len(rows),
        **_time(rows),
        **answer_stats(rows, dict(zip(sample.ids, sample.summaries))),
        "variants": variant_correlations(rows, sample.summaries, human),
        "options": option_analysis(rows, human, sample.ids, _windowed(run, sample, rows)),
        "ranking": faithful_above_unfaithful(scores, human),
    }


def _explain_png(run: _Run, sample: QagsSample, k: int, position: int) -> str | None:
    """The explain figure of one summary beside the report page, when asked for."""
    page, scorer = run.explain_page, run.metric.scorer
    if page is None or scorer is None:
        return None
    path = page.parent / "images" / f"{page.stem}_worst_{sample.name}_{k + 1}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc, summary = sample.documents[position], sample.summaries[position]
    scorer.explain(doc, summary).save_png(path)
    return path.relative_to(page.parent).as_posix()


def _worst(run: _Run, sample: QagsSample, rows: list[Row], scores: list[float]) -> list[dict]:
    column, worst = run.metric.column, []
    for k, i in enumerate(worst_disagreements(scores, sample.human)):
        entry = {"id": sample.ids[i], "summary": sample.summaries[i], "human": sample.human[i]}
        entry[column] = rows[i][column]
        if "pairs" in rows[i]:
            entry["pairs"] = sorted(rows[i]["pairs"], key=lambda p: p["lp_x"] - p["lp_y"])[:3]
        worst.append({**entry, "png": _explain_png(run, sample, k, i)})
    return worst


def _metric(run: _Run, sample: QagsSample, columns: dict, extra: dict) -> None:
    metric = run.metric
    rows = _rows(run, sample, metric.column, metric.label, metric.rows_fn)
    scores = [math.nan if r[metric.column] is None else r[metric.column] for r in rows]
    columns[metric.column] = scores
    if all("pairs" in r and "num_pairs" in r for r in rows):
        extra[metric.column] = _quals_stats(run, sample, rows, scores)
    else:
        extra[metric.column] = {
            "nan_share": sum(math.isnan(s) for s in scores) / len(rows),
            **_time(rows),
            "ranking": faithful_above_unfaithful(scores, sample.human),
        }
    extra["worst"] = _worst(run, sample, rows, scores)


def _evaluate_set(run: _Run, name: str) -> SetResult:
    """Every metric of ``run`` on the sample of one set, and their correlations."""
    sample = load_sample(name, run.limits.get(name), run.form, run.shard)
    columns = lexical_columns(sample.documents, sample.summaries) if run.baselines else {}
    extra: dict[str, Any] = {"n": len(sample.ids)}
    if run.likelihood:
        _likelihood(run, sample, columns, extra)
    if run.metric.column is not None:
        _metric(run, sample, columns, extra)
    corr = {col: correlations(values, sample.human) for col, values in columns.items()}
    return SetResult(name, sample.ids, sample.human, columns, corr, extra)


def _likelihood_fn(likelihood: Any, metric: _Metric, batch_size: int):
    """A factory of the likelihood baseline's batch scorer: ``likelihood`` itself (a
    `LikelihoodBaseline`), or one on the QUALS scorer's model; ``None``: stored rows only."""
    if not likelihood:
        return None
    if likelihood is True:
        if metric.scorer is None:
            return None
        from .likelihood import LikelihoodBaseline

        scorer = metric.scorer
        return lambda: _score_with(LikelihoodBaseline.from_scorer(scorer), batch_size)
    return lambda: _score_with(likelihood, batch_size)


def _score_with(baseline: Any, batch_size: int) -> RowsFn:
    return lambda sources, summaries: baseline.score(sources, summaries, batch_size)


def _limits(n: int | Mapping[str, int] | None, sets: Sequence[str]) -> dict[str, int | None]:
    per_set = n if isinstance(n, Mapping) else dict.fromkeys(sets, n)
    for name, value in per_set.items():
        if value is not None and value < 3:
            raise ValueError(f"n for {name}: give at least 3 summaries (correlations need 3)")
    return {name: per_set.get(name) for name in sets}


def _check(sets: Sequence[str], form: str, batch_size: int, stored: bool, out: Any) -> None:
    unknown = [s for s in sets if s not in SET_TITLES]
    if unknown or not sets:
        raise ValueError(f"unknown QAGS sets {unknown}; valid names: {', '.join(SET_TITLES)}")
    if form not in FORMS:
        raise ValueError(f"unknown text form {form!r}; valid forms: {', '.join(FORMS)}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if stored and out is None:
        raise ValueError("stored rows are read from an output folder: give out")


def _settings(run: _Run, likelihood: Any) -> dict[str, Any]:
    """What the report says was measured, from the scorer or the output folder's meta."""
    scorer = run.metric.scorer
    model = scorer.model if scorer is not None else getattr(likelihood, "model", None)
    if model is not None:
        found = {"qagen": model.config.name_or_path or "(in memory)", "dtype": dtype_name(model)}
        if scorer is not None:
            found["num_groups"] = scorer.config.num_groups
            found["config"] = _nondefault_config(scorer)
        return {**found, "machine": machine(str(model.device))}
    meta = read_meta(run.out)
    if run.metric.column == "quals" or (run.metric.column is None and meta):
        fp = meta.get("fingerprint", {})
        found = {"qagen": meta.get("qagen"), "dtype": fp.get("dtype", "fp32")}
        found |= {"num_groups": fp.get("num_groups", 60), "config": fp.get("config", {})}
        return {**found, "machine": meta.get("machine") or machine("cpu")}  # where it ran
    return {"metric": run.metric.label, "machine": machine("cpu")}


def _start_out_dir(
    run: _Run, likelihood: Any, fingerprint: Mapping[str, Any] | None, command: str | None
) -> dict[str, Any]:
    """Check that the output folder holds rows of this run's model and settings (or start it,
    when a model runs); return what the report says was measured."""
    stored_form = read_meta(run.out).get("fingerprint", {}).get("form", run.form)
    if run.stored and stored_form != run.form:
        raise OutDirMismatchError(f"{run.out} holds rows of form {stored_form!r}, not {run.form!r}")
    settings = _settings(run, likelihood)
    runs_model = run.metric.rows_fn is not None or run.likelihood_fn is not None
    if run.out is not None and runs_model:
        about = {"qagen": settings.get("qagen", settings.get("metric")), "command": command}
        about["machine"] = settings["machine"]
        prepare_out_dir(run.out, _fingerprint(run, likelihood, fingerprint), about)
    return settings


def _table_rows(spec: _Metric, likelihood: Any) -> list[tuple[str, str]]:
    """The table's rows: the metric (QUALS when none), the baselines and, beside QUALS or when
    asked for, the likelihood baseline."""
    main = QUALS_ROW if spec.label is None else (spec.label, spec.column)
    rows = [main, *LEXICAL]
    if likelihood or spec.column in (None, "quals"):
        rows.append(LIKELIHOOD_ROW)
    return rows


def measure_validity(
    metric: Any = None,
    *,
    sets: Sequence[str] = tuple(SET_TITLES),
    out: str | Path | None = None,
    n: int | Mapping[str, int] | None = None,
    name: str | None = None,
    form: str = "text",
    batch_size: int = 8,
    stored: bool = False,
    baselines: bool = True,
    likelihood: Any = False,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
    source_window_tokens: int | None = None,
    explain_page: str | Path | None = None,
    fingerprint: Mapping[str, Any] | None = None,
    command: str | None = None,
) -> ValidityResult:
    """Measure how well ``metric`` agrees with the QAGS human consistency labels.

    Args:
        metric: a `QualsScorer` (any QAGen, any `QualsConfig`: its pairs are kept, so every
            scoring option is compared on them too); a callable ``f(sources, summaries) ->
            scores`` or an object whose ``score(sources, summaries)`` output has ``.scores``
            (higher = more consistent, NaN or None where it cannot score); a name (``"quals"``)
            to read that metric's stored rows only; or ``None`` for the baselines alone.
        sets: QAGS sets (``"cnndm"``, ``"xsum"``).
        out: a folder for the per-summary rows (``NAME_SET.jsonl.gz``, one gzip member per
            batch) and ``meta.json``; a rerun scores only what is missing. ``None``: nothing is
            kept.
        n: a seeded random sample of N summaries per set, or ``{set: N}``; ``None``: all.
        name: a callable's name: its table row and file stem (default: its ``__name__``).
        form: ``"text"`` (as written) or ``"lower-ptb"`` (lower-cased, PTB-tokenized).
        batch_size: summaries scored, and stored, at a time.
        stored: run no model: read every model metric's rows from ``out``; a missing row
            raises `MissingRowsError` naming the set.
        baselines: add the word-overlap baselines (needs ``rouge_score``: quals_hf[rouge]).
        likelihood: add the likelihood baseline: ``True`` on a decoder-only `QualsScorer`'s
            model (or its stored rows), or a `LikelihoodBaseline`.
        progress: a tqdm progress bar per set and metric.
        shard: ``(k, n)``: score only every n-th summary of the order from the k-th, so that
            n processes share a set (each with its own ``out``).
        source_window_tokens: also re-score the stored QUALS pairs with the source read in
            windows of about this many tokens, and compare every option on them.
        explain_page: a Markdown page the explain figures of the worst disagreements are
            written beside (``images/``; needs matplotlib), for `ValidityResult.write_report`.
        fingerprint: more entries for ``meta.json``'s fingerprint (what the rows depend on).
        command: what ran this, for ``meta.json`` and the report.

    Returns:
        A `ValidityResult`: print it, ``save_summary``, ``write_report``, ``save_figures``.

    Raises:
        OutDirMismatchError: ``out`` holds rows of another model or setting.
        MissingRowsError: with ``stored``, a summary has no stored row.
    """
    _check(sets, form, batch_size, stored, out)
    spec = _resolve(metric, name, batch_size)
    run = _Run(
        metric=dataclasses.replace(spec, rows_fn=None) if stored else spec,
        out=None if out is None else Path(out),
        limits=_limits(n, sets),
        form=form,
        batch_size=batch_size,
        stored=stored,
        baselines=baselines,
        likelihood=bool(likelihood),
        likelihood_fn=None if stored else _likelihood_fn(likelihood, spec, batch_size),
        progress=progress,
        shard=shard,
        source_window_tokens=source_window_tokens,
        explain_page=None if explain_page is None else Path(explain_page),
    )
    settings = _start_out_dir(run, likelihood, fingerprint, command)
    results = {set_name: _evaluate_set(run, set_name) for set_name in sets}
    rows = _table_rows(spec, likelihood)
    measured = set().union(*(r.columns for r in results.values()))
    not_run = [col for _, col in rows if col not in measured]
    return ValidityResult(results, spec.label, spec.column, rows, not_run, settings)
