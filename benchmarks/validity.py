"""Validity of QUALS: agreement with human factual-consistency labels on QAGS, beside baselines.

Scores all 235 QAGS-CNNDM and 239 QAGS-XSum summaries (the data vendored in
`quals_hf.benchmark_data`) with QUALS and four baselines, and correlates each score with the
human ``consistency`` label (Pearson and Spearman, bootstrap 95% intervals):

1. QUALS, from `QualsScorer` with a decoder-only QAGen folder (``--qagen``);
2. ROUGE-2 precision of the summary against the source (``rouge_score``, no stemmer: a word
   counts only as written, so "arrested" does not match "arrest");
3. the share of summary words found in the source (``\\w+``, lower-cased; source words as a set);
4. the share of summary bigrams found in the source (same tokens; source bigrams as a set);
5. a likelihood baseline with the same QAGen model: mean log p(summary tokens + EOS |
   prompt(source)) minus mean log p(summary tokens + EOS | prompt("")), where prompt(t) =
   input_prefix + t + input_suffix, prompt and summary ids joined as ids; the source is cut (never
   the prefix or the suffix) so that prompt + summary fit in 2048 tokens.

    python benchmarks/validity.py --skip-quals --n 20  # smoke
    python benchmarks/validity.py --write docs/validity.md  # the package's QAGen
    python benchmarks/validity.py --qagen DIR --out runs/validity-other  # another QAGen

QUALS takes about an hour for all 474 summaries on 2 CPU cores: per-summary results of QUALS and
of the likelihood baseline are appended to ``--out`` (JSONL, one batch at a time) as they are
computed, and a rerun skips the summaries already there, so an interrupted run resumes. The table
is always printed; ``--write`` also writes a markdown page with the plots beside it (images/).

The measurement itself is `quals_hf.evaluation.measure_validity` (``quals-hf validity`` for
users); this script keeps the benchmark's options: sharding, source windows, the likelihood
baseline on by default.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from quals_hf.evaluation import LikelihoodBaseline, measure_validity
from quals_hf.evaluation.cli import parse_n, per_set
from quals_hf.evaluation.sets import FORMS, SET_TITLES
from quals_hf.evaluation.store import ResultStore, chunks

__all__ = ["ResultStore", "chunks", "main"]  # benchmarks/qagen_squad.py imports the store here


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--qagen",
        type=Path,
        help="decoder-only QAGen folder (QUALS, likelihood); default: the package's QAGen",
    )
    parser.add_argument(
        "--n",
        nargs="+",
        default=[],
        metavar="N|SET=N",
        help="a seeded random sample of N summaries per set, or per named set (xsum=120): "
        "smoke checks and partial runs",
    )
    parser.add_argument("--sets", nargs="+", choices=list(SET_TITLES), default=list(SET_TITLES))
    parser.add_argument("--batch-size", type=int, default=8, help="summaries per batch")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--dtype",
        choices=["fp32", "bf16"],
        default="fp32",
        help="the QAGen's weights (bf16: the approximate fast mode, docs/benchmarks.md)",
    )
    parser.add_argument(
        "--num-groups",
        type=int,
        default=60,
        help="QUALS' diverse search groups (the paper's 60; fewer is faster: the validity and "
        "time curve of docs/benchmarks.md)",
    )
    parser.add_argument("--write", type=Path, help="markdown page to write (plots in images/)")
    parser.add_argument("--out", type=Path, default=Path("runs/validity"), help="JSONL results")
    parser.add_argument(
        "--form",
        choices=list(FORMS),
        default="text",
        help="the summaries as QAGS wrote them ('text'), or lower-cased and PTB-tokenized "
        "('lower-ptb', as many summarizers write; needs sacremoses); sources stay as they are",
    )
    parser.add_argument(
        "--stored",
        action="store_true",
        help="only read the rows stored in --out (no model: fails if any is missing)",
    )
    parser.add_argument("--skip-quals", action="store_true", help="baselines only")
    parser.add_argument("--skip-likelihood", action="store_true", help="no likelihood baseline")
    parser.add_argument(
        "--explain", action="store_true", help="explain reports (PNG) of the worst disagreements"
    )
    parser.add_argument(
        "--shard",
        metavar="K/N",
        help="score only every N-th summary of the order from the K-th (0-based), so that N "
        "processes share a set; give each its own --out, then append their JSONL files to one "
        "folder's and run once more without --shard for the whole analysis",
    )
    parser.add_argument(
        "--source-window-tokens",
        type=int,
        help="also re-score the stored pairs with the source read in windows of about this "
        "many tokens (QualsConfig.source_window_tokens) and compare every option on them",
    )
    parser.add_argument(
        "--normalize-text",
        action="store_true",
        help="QUALS reads every source and summary lower-cased with PTB tokenization undone "
        "(QualsConfig.normalize_text; recorded in --out's meta.json)",
    )
    parser.add_argument(
        "--pair-filter",
        choices=("none", "prefer_well_formed"),
        default="none",
        help="how QUALS chooses its pairs from the search's candidates (QualsConfig.pair_filter; "
        "recorded in --out's meta.json); well_formed is not offered: it reads the same pairs, "
        "and benchmarks/report.py's signal tables recompute it from any run's stored pairs",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options, checked; ``--qagen`` defaults to the package's QAGen when a model runs."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.n = per_set(parse_n(args.n), args.sets)
    except ValueError as err:
        parser.error(str(err))
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.shard is not None:
        k, _, n = args.shard.partition("/")
        if not (k.isdigit() and n.isdigit() and int(k) < int(n)):
            parser.error(f"--shard {args.shard}: give K/N with 0 <= K < N")
        args.shard = (int(k), int(n))
    if args.source_window_tokens is not None and args.source_window_tokens < 1:
        parser.error("--source-window-tokens must be at least 1")
    args.needs_model = not ((args.skip_quals and args.skip_likelihood) or args.stored)
    if args.needs_model:
        if args.qagen is None:
            from quals_hf.qagen.default import default_qagen_dir

            args.qagen = default_qagen_dir()  # the package's QAGen, built on first use
        if not (args.qagen / "config.json").is_file():
            parser.error(
                f"--qagen {args.qagen}: no config.json there (a QAGen checkpoint folder; "
                "omit --qagen for the package's QAGen)"
            )
    return args


def metrics(args: argparse.Namespace) -> tuple[Any, Any]:
    """What `measure_validity` measures: QUALS (a scorer, or ``"quals"`` for its stored rows;
    None with --skip-quals) and the likelihood baseline (True: on QUALS' model or stored)."""
    if args.stored:
        return (None if args.skip_quals else "quals"), not args.skip_likelihood
    scorer = None
    if not args.skip_quals:
        from quals_hf import QualsScorer

        scorer = QualsScorer.from_pretrained(
            str(args.qagen),
            device=args.device,
            dtype=args.dtype,
            num_groups=args.num_groups,
            normalize_text=args.normalize_text,
            pair_filter=args.pair_filter,
            batch_size=args.batch_size,
            progress=False,
        )
    if args.skip_likelihood:
        return scorer, False
    if scorer is not None:
        return scorer, True
    return None, LikelihoodBaseline.from_pretrained(args.qagen, args.device, args.dtype)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    command = "python benchmarks/validity.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    metric, likelihood = metrics(args)
    try:
        result = measure_validity(
            metric,
            sets=args.sets,
            out=args.out,
            n=args.n,
            form=args.form,
            batch_size=args.batch_size,
            stored=args.stored,
            likelihood=likelihood,
            shard=args.shard,
            source_window_tokens=args.source_window_tokens,
            explain_page=args.write if args.explain else None,
            fingerprint={"num_groups": args.num_groups} if args.skip_quals else None,
            command=command,
        )
    except ValueError as err:  # rows of another model in --out, or missing with --stored
        raise SystemExit(str(err)) from err
    print(result.text())
    result.save_summary(args.out / "summary.json")
    if args.write:
        result.write_report(args.write, command)
        print(f"\nwrote {args.write}")


if __name__ == "__main__":
    main()
