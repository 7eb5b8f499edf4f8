"""``quals-hf validity``: the command line of `measure_validity`, for `quals_hf.cli` to wire
in. Building the parser imports no model or data library, so ``quals-hf --help`` stays fast."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.fields import given_fields
from .sets import FORMS, SET_TITLES


def parse_n(items: Sequence[str]) -> dict[str, int]:
    """``--n`` values (``N`` for every set, ``SET=N`` for one) as ``{set or "all": N}``."""
    limits: dict[str, int] = {}
    for item in items:
        name, _, value = item.rpartition("=")
        if name not in ("", *SET_TITLES) or not value.isdigit() or int(value) < 3:
            raise ValueError(f"--n {item}: give N or SET=N with N >= 3 (correlations need 3)")
        limits[name or "all"] = int(value)
    return limits


def per_set(limits: dict[str, int], sets: Sequence[str]) -> dict[str, int | None]:
    """`parse_n`'s limits for each of ``sets``."""
    return {name: limits.get(name, limits.get("all")) for name in sets}


def validity_options(p: argparse.ArgumentParser) -> None:
    """The options of ``quals-hf validity`` but the `QualsConfig` fields (which the shell makes
    from the dataclass, as for ``quals-hf score``)."""
    p.add_argument(
        "--qagen",
        metavar="PATH_OR_ID",
        help="the QAGen checkpoint (default: the package's QAGen, built on first use)",
    )
    p.add_argument("--format", help="the QAGen's format preset (default: from its config)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("runs/validity"),
        help="folder of the per-summary rows, meta.json and summary.json; one folder per QAGen "
        "and setting (default: runs/validity)",
    )
    p.add_argument(
        "--n",
        nargs="+",
        default=[],
        metavar="N|SET=N",
        help="a seeded random sample of N summaries per set, or per named set (xsum=40); a "
        "larger N later extends a smaller one (default: all 235 + 239)",
    )
    p.add_argument(
        "--sets", nargs="+", choices=list(SET_TITLES), default=list(SET_TITLES), help="QAGS sets"
    )
    p.add_argument(
        "--stored",
        action="store_true",
        help="run no model: only read the rows stored in --out (fails naming the set if any is "
        "missing)",
    )
    p.add_argument(
        "--write", type=Path, metavar="PAGE", help="a Markdown report to write (figures in images/)"
    )
    p.add_argument(
        "--likelihood",
        action="store_true",
        help="add the likelihood baseline (decoder-only QAGen: does the source make the summary "
        "more likely?)",
    )
    p.add_argument("--no-baselines", action="store_true", help="no word-overlap baselines")
    p.add_argument("--form", choices=list(FORMS), default="text", help="the summaries' text form")
    p.add_argument("--batch-size", type=int, default=8, help="summaries per batch (default: 8)")
    p.add_argument("--device", default=None, help="default: CUDA when available")
    p.add_argument(
        "--dtype", choices=["fp32", "bf16", "fp16"], help="weights dtype (default: checkpoint's)"
    )
    p.add_argument(
        "--explain", action="store_true", help="with --write: explain figures of the worst cases"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _scorer(args: argparse.Namespace) -> Any:
    """The `QualsScorer` of the options, with the `QualsConfig` fields given (``--num-groups
    30``; the shell makes those options from the dataclass)."""
    from ..scoring.scorer import QualsConfig, QualsScorer

    return QualsScorer.from_pretrained(
        args.qagen,
        format=args.format,
        device=args.device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        progress=False,
        **given_fields(args, QualsConfig),
    )


def validity(args: argparse.Namespace) -> int:
    """Measure how well QUALS, with a QAGen and QualsConfig options, agrees with people.

    The human labels are the QAGS sets' factual-consistency annotations; word-overlap baselines
    (and with --likelihood a likelihood baseline) are measured beside it, with bootstrap
    intervals, and every scoring option is compared on the stored pairs. Per-summary rows go to
    --out as they are computed: run it again to resume; --stored reads them without a model.
    Prints the table, writes OUT/summary.json and, with --write, a Markdown report. See
    docs/validity_guide.md.
    """
    from .measure import measure_validity

    command = getattr(args, "command_line", None) or "quals-hf " + shlex.join(sys.argv[1:])
    result = measure_validity(
        "quals" if args.stored else _scorer(args),
        sets=args.sets,
        out=args.out,
        n=per_set(parse_n(args.n), args.sets),
        form=args.form,
        batch_size=args.batch_size,
        stored=args.stored,
        baselines=not args.no_baselines,
        likelihood=args.likelihood,
        progress=not args.no_progress,
        explain_page=args.write if args.explain and not args.stored else None,
        command=command,
    )
    print(result.text())
    result.save_summary(args.out / "summary.json")
    if args.write:
        result.write_report(args.write, command)
        print(f"\nwrote {args.write}")
    return 0
