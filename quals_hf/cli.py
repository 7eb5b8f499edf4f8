"""The ``quals-hf`` command line: a thin shell over the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .conseq.presets import CONSEQ_PRESETS
from .scoring.pairs import AGGREGATES, PAIR_FILTERS, PAIR_SCORES

if TYPE_CHECKING:
    from accelerate import PartialState

    from .qagen.formats import QAGenFormat
    from .scoring.pairs import PairScore


def _print_pairs(
    title: str, summary: str, score: float, pair_scores: list[PairScore], fmt: QAGenFormat
) -> None:
    """A summary's score and its pairs, each written as the QAGen writes it (its format)."""
    print(f"\n{title}: {summary}")
    print(f"  QUALS = {score:.3f}   ({len(pair_scores)} QA pairs)")
    print(f"  {'lp_x':>7} {'lp_y':>7} {'x - y':>7}  {fmt.render_pair('question', 'answer')}")
    for p in pair_scores:
        d = p.to_dict()
        print(
            f"  {d['lp_x']:7.3f} {d['lp_y']:7.3f} {d['consistency']:7.3f}  "
            f"{fmt.render_pair(d['question'], d['answer'])}"
        )


def _toy_demo(args: argparse.Namespace) -> int:
    """Score a faithful and a corrupted toy-world summary with the toy QAGen."""
    from .scoring.scorer import QualsScorer
    from .toy.models import load_or_train_toy_qagen
    from .toy.world import make_examples

    print("Loading the toy QAGen (trained on first use, about 50 s on 2 CPU cores)...")
    model, tokenizer = load_or_train_toy_qagen(args.cache_dir, verbose=True)
    example = make_examples(args.seed + 1, seed=args.seed)[-1]
    scorer = QualsScorer(model, tokenizer, progress=False)
    out = scorer.score(
        [example.document] * 2, [example.summary, example.corrupted_summary], return_details=True
    )
    print(f"\nsource: {example.document}")
    _print_pairs(
        "faithful summary", example.summary, out.scores[0], out.pair_scores[0], scorer.format
    )
    _print_pairs(
        f"corrupted summary ({example.corruption})",
        example.corrupted_summary,
        out.scores[1],
        out.pair_scores[1],
        scorer.format,
    )
    return 0


def demo(args: argparse.Namespace) -> int:
    """Score a faithful and an unfaithful real news summary (QAGS-CNNDM, labelled by people)
    with the package's QAGen, and show the QA pairs behind each score (--toy: the toy world).

    QAGS-CNNDM, because there the package's QAGen agrees with people (docs/validity.md); the
    two summaries are the ones with the shortest documents, whatever their scores."""
    if args.toy:
        return _toy_demo(args)
    from .benchmark_data import load_qags
    from .scoring.scorer import QualsScorer

    print("Loading the package's QAGen (built on first use, about a minute)...", flush=True)
    scorer = QualsScorer.from_pretrained(device=args.device, progress=False)
    rows = sorted(load_qags("cnndm"), key=lambda row: len(row["document"]))  # the shortest
    picked = [next(r for r in rows if r["consistency"] == label) for label in (1.0, 0.0)]
    print("Scoring two QAGS-CNNDM summaries (about 20 s on 2 CPU cores)...", flush=True)
    out = scorer.score(
        [r["document"] for r in picked], [r["summary"] for r in picked], return_details=True
    )
    for row, score, pairs in zip(picked, out.scores, out.pair_scores):
        label = "faithful" if row["consistency"] else "unfaithful"
        print(f"\nsource (QAGS-CNNDM #{row['id']}): {row['document']}")
        _print_pairs(
            f"{label} summary (human label), by {row['system']}",
            row["summary"],
            score,
            pairs,
            scorer.format,
        )
    order = "above" if out.scores[0] > out.scores[1] else "not above"
    print(
        f"\nQUALS puts the faithful summary {order} the unfaithful one. Over all of QAGS, with "
        "this QAGen, a faithful summary scores above an unfaithful one in 95% of pairs on "
        "CNNDM and in 58% on XSum (docs/validity.md)."
    )
    return 0


def explain(args: argparse.Namespace) -> int:
    """Show why a summary got its score: its QA pairs, least consistent first, token by token."""
    from .core.tables import read_text
    from .scoring.explain import figure_class
    from .scoring.scorer import QualsScorer

    def text(inline: str | None, path: str | None) -> str:
        return (inline if path is None else read_text(path)).strip()

    if args.png:
        figure_class()  # fail before loading the model when matplotlib is missing
    source, summary = text(args.source, args.source_file), text(args.summary, args.summary_file)
    scorer = QualsScorer.from_pretrained(
        args.qagen, format=args.format, device=args.device, progress=False
    )
    explanation = scorer.explain(source, summary)
    _print_pairs(
        "summary", explanation.summary, explanation.score, explanation.pair_scores, scorer.format
    )
    if args.html:
        print(f"HTML report -> {explanation.save_html(args.html)}")
    if args.png:
        print(f"figure -> {explanation.save_png(args.png)}")
    return 0


def install_metric(args: argparse.Namespace) -> int:
    """Register the quals (or qags) metric with evaluate, so that evaluate.load finds it."""
    from .metrics.install import install_metric as install

    path = install(args.name, args.modules_cache)
    print(f"installed {args.name!r} at {path}")
    print(f'evaluate.load("{args.name}") now works, also offline (HF_EVALUATE_OFFLINE=1)')
    return 0


def _process_device(requested: str | None) -> tuple[PartialState, str]:
    """This process's accelerate state and device. Under torchrun / accelerate launch each
    process takes its own device (gloo between CPU processes); else ``requested`` or CUDA."""
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=requested == "cpu" or not torch.cuda.is_available())
    return state, str(state.device if state.num_processes > 1 or not requested else requested)


def mine(args: argparse.Namespace) -> int:
    """Mine ConSeq contrastive sets: sample summaries, score them, select (source, S+, S-)."""
    import logging

    from .conseq.mining import MiningConfig, mine_contrastive_sets
    from .conseq.presets import conseq_preset
    from .core.loading import load_seq2seq
    from .core.tables import load_table
    from .scoring.files import load_examples
    from .scoring.scorer import QualsScorer

    state, device = _process_device(args.device)
    logging.basicConfig(
        level=logging.INFO if state.is_main_process else logging.WARNING, format="%(message)s"
    )
    # every row checked (texts, ids) and named by file and line before any model loads
    given_ids = args.id_column in load_table(args.data, args.split).column_names
    id_column = args.id_column if given_ids else None  # else the ids are the row numbers
    columns = (args.source_column, args.target_column)
    examples = load_examples(args.data, args.split, *columns, id_column)
    data = {
        args.id_column: examples.ids,
        args.source_column: examples.sources,
        args.target_column: examples.summaries,
    }
    model, tokenizer = load_seq2seq(args.model, device=device)
    preset = conseq_preset(args.preset)
    scorer = args.scorer
    if scorer == "quals":
        scorer = QualsScorer.from_pretrained(
            args.qagen,
            format=args.format,
            device=device,
            batch_size=args.batch_size,
            progress=False,
            **preset.scorer_options(),
        )
    given = {  # options given on the command line win over the preset's
        name: getattr(args, name)
        for name in ("num_candidates", "negative_ratio", "positive_ratio")
        if getattr(args, name) is not None
    }
    config = MiningConfig.preset(
        args.preset, top_k=args.top_k, batch_size=args.batch_size, seed=args.seed, **given
    )
    sets = mine_contrastive_sets(
        model,
        tokenizer,
        data,
        scorer,
        config,
        args.id_column,
        args.source_column,
        args.target_column,
    )
    if state.is_main_process:  # every process holds the same sets
        path = sets.save(args.output)
        stats = sets.stats()
        print(f"selected {stats['examples']} of {len(examples.ids)} documents -> {path}")
        print(
            f"mean positive score {stats['mean_positive_score']:.4f}, "
            f"mean negative score {stats['mean_negative_score']:.4f}"
        )
    state.wait_for_everyone()
    return 0


def score(args: argparse.Namespace) -> int:
    """Score every (source, summary) row of a file with QUALS into a JSON Lines or CSV file."""
    import dataclasses
    import logging

    import datasets
    import torch.distributed as dist

    from .scoring.files import OutputFile, load_examples, score_file
    from .scoring.scorer import QualsConfig, QualsScorer

    datasets.disable_progress_bars()  # reading a local file into datasets' cache is quick
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)  # a bad file: one line below
    output = OutputFile(args.output, details=args.details)
    examples = load_examples(
        args.data, args.split, args.source_column, args.summary_column, args.id_column
    )
    state, device = _process_device(args.device)
    logging.basicConfig(
        level=logging.INFO if state.is_main_process else logging.WARNING, format="%(message)s"
    )
    overrides = {  # the QualsConfig fields given as options
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(QualsConfig)
        if getattr(args, f.name, None) is not None
    }
    scorer = QualsScorer.from_pretrained(
        args.qagen,
        format=args.format,
        device=device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        progress=False,
        **overrides,
    )
    report = score_file(
        scorer, examples, output, progress=not args.no_progress, restart=args.restart
    )
    if report is not None:
        print(report)
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


def train_qagen(args: argparse.Namespace) -> int:
    """Fine-tune a seq2seq or decoder-only model into a QAGen (Seq2SeqTrainer options apply)."""
    from transformers import HfArgumentParser, Seq2SeqTrainingArguments

    from .qagen.train import QAGenArguments
    from .qagen.train import train_qagen as run

    parser = HfArgumentParser(
        (QAGenArguments, Seq2SeqTrainingArguments),
        prog="quals-hf train-qagen",
        description=train_qagen.__doc__,
    )
    qagen_args, training_args = parser.parse_args_into_dataclasses(args.options)
    _, metrics = run(qagen_args, training_args)
    print(f"QAGen saved to {training_args.output_dir}")
    for key in ("eval_parse_rate", "eval_answer_span_rate", "eval_question_rouge_l"):
        print(f"  {key}: {metrics[key]:.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quals-hf", description="QUALS factual-consistency scoring for summaries."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = commands.add_parser("demo", help=demo.__doc__, description=demo.__doc__)
    p.add_argument("--toy", action="store_true", help="the toy world with the toy QAGen")
    p.add_argument("--device", default=None, help="default: CUDA when available")
    p.add_argument("--seed", type=int, default=3, help="--toy: which toy-world story to score")
    p.add_argument(
        "--cache-dir",
        default=None,
        help="--toy: where the toy QAGen is kept (default: ~/.cache/quals_hf/...)",
    )
    p.set_defaults(func=demo)
    p = commands.add_parser("explain", help=explain.__doc__, description=explain.__doc__)
    p.add_argument(
        "--qagen",
        metavar="PATH_OR_ID",
        help="the QAGen checkpoint (default: the package's QAGen, built on first use)",
    )
    p.add_argument("--format", default=None, help="QAGen format preset (default: from config)")
    p.add_argument("--device", default=None, help="default: CUDA when available")
    texts = p.add_mutually_exclusive_group(required=True)
    texts.add_argument("--source", metavar="TEXT", help="the source document")
    texts.add_argument("--source-file", metavar="PATH", help="the source document, from a file")
    texts = p.add_mutually_exclusive_group(required=True)
    texts.add_argument("--summary", metavar="TEXT", help="the summary")
    texts.add_argument("--summary-file", metavar="PATH", help="the summary, from a file")
    p.add_argument("--html", metavar="PATH", help="write a self-contained HTML report here")
    p.add_argument("--png", metavar="PATH", help="write the figure here (needs quals_hf[explain])")
    p.set_defaults(func=explain)
    p = commands.add_parser(
        "install-metric", help=install_metric.__doc__, description=install_metric.__doc__
    )
    p.add_argument(
        "--name",
        default="quals",
        choices=["quals", "qags"],
        help="the metric to register: quals, or the QAGS baseline qags (default: quals)",
    )
    p.add_argument(
        "--modules-cache",
        default=None,
        help="evaluate's modules cache (default: $HF_MODULES_CACHE or $HF_HOME/modules)",
    )
    p.set_defaults(func=install_metric)
    p = commands.add_parser("mine", help=mine.__doc__, description=mine.__doc__)
    p.add_argument("--model", required=True, help="the summarizer (path or Hub id)")
    p.add_argument(
        "--data",
        required=True,
        help="documents: a .jsonl/.json/.csv/.parquet file or a datasets name",
    )
    p.add_argument("--output", required=True, help="where the sets go (.jsonl, or a folder)")
    p.add_argument("--split", default="train", help="split of a datasets name (default: train)")
    p.add_argument("--scorer", choices=["quals", "rouge"], default="quals")
    p.add_argument(
        "--qagen", help="QAGen checkpoint for --scorer quals (default: the package's QAGen)"
    )
    p.add_argument("--format", default=None, help="QAGen format preset (default: from config)")
    p.add_argument("--id-column", default="id", help="added from row numbers when missing")
    p.add_argument("--source-column", default="document")
    p.add_argument("--target-column", default="summary")
    p.add_argument(
        "--preset",
        choices=sorted(CONSEQ_PRESETS),
        default="paper",
        help="the ConSeq recipe's selection and mining score (docs/conseq.md; default: paper)",
    )
    p.add_argument("--num-candidates", type=int, help="default: the preset's (paper: 6)")
    p.add_argument("--top-k", type=int, default=50)
    p.add_argument("--negative-ratio", type=float, help="default: the preset's (paper: 0.3)")
    p.add_argument("--positive-ratio", type=float, help="default: the preset's (paper: 0.3)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="default: CUDA when available")
    p.set_defaults(func=mine)
    p = commands.add_parser(
        "score",
        help=score.__doc__,
        description=score.__doc__ + " Writes as it goes; run it again to resume: ids already "
        "in the output are skipped. Under torchrun or accelerate launch every process scores "
        "its share of the batches and one output file results. See docs/score.md.",
    )
    p.add_argument(
        "--data",
        required=True,
        help="the examples: a .jsonl/.json/.csv/.parquet file, or a datasets name (with --split)",
    )
    p.add_argument(
        "--output",
        required=True,
        help="the scores: a .jsonl or .csv file, one row per example (id, score, num_pairs)",
    )
    p.add_argument(
        "--qagen",
        help="the QAGen checkpoint, path or Hub id (default: the package's QAGen, built on "
        "first use)",
    )
    p.add_argument("--format", default=None, help="QAGen format preset (default: from config)")
    p.add_argument("--split", default="train", help="split of a datasets name (default: train)")
    p.add_argument(
        "--source-column", default="document", help="the source documents (default: document)"
    )
    p.add_argument("--summary-column", default="summary", help="the summaries (default: summary)")
    p.add_argument(
        "--id-column", default=None, help="ids to write and resume by (default: the row number)"
    )
    p.add_argument(
        "--details",
        action="store_true",
        help="add each example's QA pairs with lp_x, lp_y and consistency",
    )
    p.add_argument(
        "--restart",
        action="store_true",
        help="remove the output and score everything again (a resume must use the same "
        "QAGen, settings and input: OUTPUT.meta.json records them)",
    )
    p.add_argument(
        "--batch-size", type=int, default=8, help="examples per batch, written at once (default: 8)"
    )
    p.add_argument("--device", default=None, help="default: CUDA when available")
    p.add_argument(
        "--dtype", choices=["fp32", "bf16", "fp16"], help="weights dtype (default: checkpoint's)"
    )
    p.add_argument(
        "--num-groups",
        type=int,
        help="diverse beam search groups: QA hypotheses per summary (default: 60; fewer is "
        "faster and noisier)",
    )
    p.add_argument("--max-pairs", type=int, help="most QA pairs scored per summary (default: 10)")
    p.add_argument(
        "--max-input-length", type=int, help="longest input in tokens (default: up to 1024)"
    )
    p.add_argument(
        "--pair-score",
        choices=PAIR_SCORES,
        help="score each pair on all its tokens (default, the paper's), its answer tokens, or "
        "a weighted mix (--question-weight)",
    )
    p.add_argument("--question-weight", type=float, help="--pair-score weighted (default: 0.5)")
    p.add_argument(
        "--aggregate",
        choices=AGGREGATES,
        help="a summary's score from its pairs: mean (default, the paper's), min, worst_k, softmin",
    )
    p.add_argument("--worst-k", type=int, help="--aggregate worst_k: pairs averaged (default: 3)")
    p.add_argument("--softmin-temperature", type=float, help="--aggregate softmin (default: 0.5)")
    p.add_argument(
        "--source-window-tokens",
        type=int,
        help="read each source as overlapping sentence windows of about this many tokens and "
        "score each pair in its best one (default: the whole source, the paper's)",
    )
    p.add_argument(
        "--pair-filter",
        choices=PAIR_FILTERS,
        help="none (default, the paper's): score every kept pair; well_formed: only pairs "
        "without a form flaw when a summary has any (docs/text_forms.md)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=score)
    # its options (QAGenArguments, Seq2SeqTrainingArguments) go to HfArgumentParser, --help too
    p = commands.add_parser("train-qagen", help=train_qagen.__doc__, add_help=False)
    p.set_defaults(func=train_qagen, forwards_options=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "forwards_options", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.options = extra
    try:
        return args.func(args)
    except (ValueError, OSError, ImportError) as err:  # bad input or setup: one line, exit 2
        print(f"quals-hf {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
