"""The ``quals-hf`` command line: a thin shell over the library.

A command is a function ``name(args) -> exit code`` and a function ``_name_options(parser)``
that adds its options; `build_parser` lists the commands, one line each. The options that are
fields of a library dataclass (`QualsConfig`, `MiningConfig`) are made from the fields
(`_add_fields`: name, type, default and help in one place, as transformers' HfArgumentParser
does; train-qagen hands its options to HfArgumentParser itself).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .conseq.presets import CONSEQ_PRESETS
from .core.fields import given_fields
from .evaluation.cli import validity, validity_options
from .scoring.pairs import AGGREGATES, PAIR_FILTERS, PAIR_SCORES

if TYPE_CHECKING:
    from accelerate import PartialState

    from .qagen.formats import QAGenFormat
    from .scoring.pairs import PairScore


def _print_pairs(
    title: str, summary: str, score: float, pair_scores: list[PairScore], fmt: QAGenFormat
) -> None:
    """A summary's score and its pairs, each written as the QAGen writes it (its format) and
    followed by its form flaws, if any (`QAPair.flaw_note`; `_flaw_legend` explains them)."""
    print(f"\n{title}: {summary}")
    print(f"  QUALS = {score:.3f}   ({len(pair_scores)} QA pairs)")
    print(f"  {'lp_x':>7} {'lp_y':>7} {'x - y':>7}  {fmt.render_pair('question', 'answer')}")
    for p in pair_scores:  # answers as the summary writes them, flaws named (QAPair)
        print(
            f"  {p.lp_x:7.3f} {p.lp_y:7.3f} {p.consistency:7.3f}  "
            f"{fmt.render_pair(p.pair.question, p.pair.shown_answer)}  {p.pair.flaw_note}".rstrip()
        )


def _flaw_legend(pair_scores: list[PairScore], option: str | None) -> None:
    """A closing line when a shown pair has form flaws: what the brackets are, and ``option``
    (how this command chooses well-formed pairs first; None where it already does)."""
    if any(p.pair.flaws for p in pair_scores):
        hint = f"; {option} chooses well-formed pairs first" if option else ""
        print(f"\n[...]: a pair's form flaws (docs/text_forms.md){hint}")


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

    The two summaries are chosen by a rule fixed before any score was seen: of the summaries
    labelled wholly faithful and wholly unfaithful, the one with the shortest document each.
    CNNDM was chosen after XSum's pair came out in the wrong order, so the closing lines give,
    for both sets, how often that comparison comes out right over all such pairs of summaries,
    computed from the package's stored scores (`stored_quals_scores`)."""
    if args.toy:
        return _toy_demo(args)
    from .benchmark_data import demo_pair
    from .scoring.scorer import QualsScorer

    print("Loading the package's QAGen (built on first use, about a minute)...", flush=True)
    scorer = QualsScorer.from_pretrained(device=args.device, progress=False)
    picked = demo_pair()
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
    _flaw_legend(
        [p for pairs in out.pair_scores for p in pairs],
        'QualsScorer.from_pretrained(pair_filter="prefer_well_formed")',
    )
    order = "above" if out.scores[0] > out.scores[1] else "not above"
    print(f"\nQUALS puts the faithful summary {order} the unfaithful one. {_demo_odds()}")
    return 0


def _demo_odds() -> str:
    """How often the demo's comparison comes out right on each QAGS set, from the package's
    stored scores of every QAGS summary."""
    from .benchmark_data import QAGS_NAMES, load_qags, stored_quals_scores
    from .evaluation.stats import faithful_above_unfaithful

    parts = []
    for name in QAGS_NAMES:
        data, stored = load_qags(name), stored_quals_scores(name)
        found = faithful_above_unfaithful([stored[i] for i in data["id"]], data["consistency"])
        pairs = found["faithful"] * found["unfaithful"]
        parts.append(f"{100 * found['share']:.1f}% of {pairs} pairs on {name.upper()}")
    return (
        "Over every pair of a wholly faithful and a wholly unfaithful QAGS summary, the "
        f"package's stored scores put the faithful one above in {' and '.join(parts)} (50% is "
        "chance; docs/validity.md)."
    )


def explain(args: argparse.Namespace) -> int:
    """Show why a summary got its score: its QA pairs, least consistent first, token by token."""
    from .core.tables import read_text
    from .scoring.explain import figure_class
    from .scoring.scorer import QualsConfig, QualsScorer

    def text(inline: str | None, path: str | None) -> str:
        return (inline if path is None else read_text(path)).strip()

    if args.png:
        figure_class()  # fail before loading the model when matplotlib is missing
    source, summary = text(args.source, args.source_file), text(args.summary, args.summary_file)
    scorer = QualsScorer.from_pretrained(
        args.qagen,
        format=args.format,
        device=args.device,
        progress=False,
        **given_fields(args, QualsConfig),
    )
    explanation = scorer.explain(source, summary)
    _print_pairs(
        "summary", explanation.summary, explanation.score, explanation.pair_scores, scorer.format
    )
    chooses = scorer.config.pair_filter == "prefer_well_formed"
    _flaw_legend(explanation.pair_scores, None if chooses else "--pair-filter prefer_well_formed")
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
    # options given on the command line win over the preset's (its options default to None)
    config = MiningConfig.preset(args.preset, **given_fields(args, MiningConfig))
    model, tokenizer = load_seq2seq(args.model, device=device)
    scorer = args.scorer
    if scorer == "quals":
        scorer = QualsScorer.from_pretrained(
            args.qagen,
            format=args.format,
            device=device,
            batch_size=config.batch_size,
            progress=False,
            pair_score=config.quals_pair_score,
            aggregate=config.quals_aggregate,
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
    """Score every (source, summary) row of a file with QUALS into a JSON Lines or CSV file.

    Writes as it goes; run it again to resume: ids already in the output are skipped. Under
    torchrun or accelerate launch every process scores its share of the batches and one output
    file results. See docs/score.md."""
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
    scorer = QualsScorer.from_pretrained(
        args.qagen,
        format=args.format,
        device=device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        progress=False,
        **given_fields(args, QualsConfig),
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
        formatter_class=_HelpFormatter,
    )
    qagen_args, training_args = parser.parse_args_into_dataclasses(args.options)
    _, metrics = run(qagen_args, training_args)
    print(f"QAGen saved to {training_args.output_dir}")
    for key in ("eval_parse_rate", "eval_answer_span_rate", "eval_question_rouge_l"):
        print(f"  {key}: {metrics[key]:.3f}")
    return 0


# -- the parser ----------------------------------------------------------------------------

# the values an option takes where its field takes only a few (the dataclass checks them too)
_CHOICES: dict[str, Sequence[str]] = {
    "pair_score": PAIR_SCORES,
    "aggregate": AGGREGATES,
    "pair_filter": PAIR_FILTERS,
    "quals_pair_score": PAIR_SCORES,
    "quals_aggregate": AGGREGATES,
}
_DEVICE_HELP = "default: CUDA when available"


class _HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default once: appended from the default itself, unless its help
    already tells it or there is none to show (a None default: the help says what it means)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return text
        return text if "default:" in text.lower() else f"{text} (default: %(default)s)"


class _CommandParser(argparse.ArgumentParser):
    """A command's parser that adds its options on first use, so that `quals-hf --help` and the
    other commands do not import what they are made from (score's and mine's import torch)."""

    def __init__(
        self,
        *args: Any,
        options: Callable[[argparse.ArgumentParser], None] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)
        self._add_options_later = options

    def _with_options(self) -> None:
        options, self._add_options_later = self._add_options_later, None
        if options is not None:
            options(self)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._with_options()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._with_options()
        return super().format_usage()

    def format_help(self) -> str:
        self._with_options()
        return super().format_help()


def _add_fields(
    parser: argparse._ActionsContainer, cls: type, unset: Mapping[str, str] | None = None
) -> None:
    """An option per field of the dataclass ``cls``, as transformers' HfArgumentParser makes
    them: ``--field-name``, the field's type (``X | None`` reads an X), its default and its
    ``metadata["help"]``, choices from `_CHOICES`; a bool field that defaults to False is a
    flag (``--field-name`` sets it). A field in
    ``unset`` defaults to None (the command fills it in, e.g. from a preset) and its help says
    what stands in: ``unset[name]``."""
    unset = unset or {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = next(
            t for t in (typing.get_args(hints[f.name]) or [hints[f.name]]) if t is not type(None)
        )
        if kind is bool and f.default is False and f.name not in unset:
            parser.add_argument(
                "--" + f.name.replace("_", "-"),
                dest=f.name,
                action="store_true",
                help=f"{f.metadata.get('help')} (default: False)",
            )
            continue
        if kind not in (int, float, str) or f.default is dataclasses.MISSING:
            raise TypeError(
                f"{cls.__name__}.{f.name}: only int, float and str fields with a default, and "
                "bool ones that default to False, are made into options"
            )
        default, text = f.default, f.metadata.get("help")
        if f.name in unset:
            default, text = None, f"{text} (default: {unset[f.name]})"
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=kind,
            choices=_CHOICES.get(f.name),
            default=default,
            help=text,
        )


def _add_command(
    commands: argparse._SubParsersAction,
    run: Callable[[argparse.Namespace], int],
    options: Callable[[argparse.ArgumentParser], None] | None,
) -> None:
    """The command ``run``, named after it (``install_metric``: install-metric), with the first
    paragraph of its docstring as its help and the whole as its description; ``options(parser)``
    adds its options, or None: ``run`` reads them itself from ``args.options``, --help too."""
    doc = inspect.cleandoc(run.__doc__ or "")
    parser = commands.add_parser(
        run.__name__.replace("_", "-"),
        help=doc.split("\n\n")[0],
        description=doc,
        add_help=options is not None,
        options=options,
    )
    parser.set_defaults(func=run, forwards_options=options is None)


def _qagen_options(parser: argparse.ArgumentParser) -> None:
    """--qagen, --format and --device: which QAGen a command loads, and where."""
    parser.add_argument(
        "--qagen",
        metavar="PATH_OR_ID",
        help="the QAGen checkpoint, a path or Hub id (default: the package's QAGen, built on "
        "first use)",
    )
    parser.add_argument("--format", help="the QAGen's format preset (default: from its config)")
    parser.add_argument("--device", help=_DEVICE_HELP)


def _demo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--toy", action="store_true", help="the toy world with the toy QAGen")
    parser.add_argument("--device", help=_DEVICE_HELP)
    parser.add_argument("--seed", type=int, default=3, help="--toy: which toy-world story to score")
    parser.add_argument(
        "--cache-dir", help="--toy: where the toy QAGen is kept (default: ~/.cache/quals_hf/...)"
    )


def _explain_options(parser: argparse.ArgumentParser) -> None:
    _qagen_options(parser)
    texts = parser.add_mutually_exclusive_group(required=True)
    texts.add_argument("--source", metavar="TEXT", help="the source document")
    texts.add_argument("--source-file", metavar="PATH", help="the source document, from a file")
    texts = parser.add_mutually_exclusive_group(required=True)
    texts.add_argument("--summary", metavar="TEXT", help="the summary")
    texts.add_argument("--summary-file", metavar="PATH", help="the summary, from a file")
    parser.add_argument("--html", metavar="PATH", help="write a self-contained HTML report here")
    parser.add_argument(
        "--png", metavar="PATH", help="write the figure here (needs quals_hf[explain])"
    )
    _quals_options(parser)


def _install_metric_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--name",
        default="quals",
        choices=["quals", "qags"],
        help="the metric to register: quals, or the QAGS baseline qags",
    )
    parser.add_argument(
        "--modules-cache",
        help="evaluate's modules cache (default: $HF_MODULES_CACHE or $HF_HOME/modules)",
    )


def _preset_defaults() -> dict[str, str]:
    """The `MiningConfig` fields that ``--preset`` sets, each with the values the presets give."""
    options = {name: preset.mining_options() for name, preset in sorted(CONSEQ_PRESETS.items())}
    return {
        field: "the --preset's: " + ", ".join(f"{name} {o[field]}" for name, o in options.items())
        for field in next(iter(options.values()))
    }


def _mine_options(parser: argparse.ArgumentParser) -> None:
    from .conseq.mining import MiningConfig

    parser.add_argument("--model", required=True, help="the summarizer (path or Hub id)")
    parser.add_argument(
        "--data",
        required=True,
        help="documents: a .jsonl/.json/.csv/.parquet file or a datasets name",
    )
    parser.add_argument("--output", required=True, help="where the sets go (.jsonl, or a folder)")
    parser.add_argument("--split", default="train", help="split of a datasets name")
    parser.add_argument("--id-column", default="id", help="added from row numbers when missing")
    parser.add_argument("--source-column", default="document", help="the source documents")
    parser.add_argument("--target-column", default="summary", help="the ground-truth summaries")
    parser.add_argument(
        "--scorer",
        choices=["quals", "rouge"],
        default="quals",
        help="what ranks the candidates: QUALS with --qagen, or ROUGE against the ground truth",
    )
    _qagen_options(parser)
    parser.add_argument(
        "--preset",
        choices=sorted(CONSEQ_PRESETS),
        default="paper",
        help="the ConSeq recipe that sets the selection and the mining score (docs/conseq.md)",
    )
    mining = parser.add_argument_group("mining options (MiningConfig, docs/mining.md)")
    _add_fields(mining, MiningConfig, unset=_preset_defaults())


def _quals_options(parser: argparse.ArgumentParser) -> None:
    """The `QualsConfig` fields, as options: for score and any command that builds a scorer
    with ``**given_fields(args, QualsConfig)``."""
    from .scoring.scorer import QualsConfig

    quals = parser.add_argument_group("QUALS options (QualsConfig, docs/quals.md)")
    _add_fields(quals, QualsConfig)


def _score_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        required=True,
        help="the examples: a .jsonl/.json/.csv/.parquet file, or a datasets name (with --split)",
    )
    parser.add_argument(
        "--output",
        required=True,
        help="the scores: a .jsonl or .csv file, one row per example (id, score, num_pairs)",
    )
    _qagen_options(parser)
    parser.add_argument("--split", default="train", help="split of a datasets name")
    parser.add_argument("--source-column", default="document", help="the source documents")
    parser.add_argument("--summary-column", default="summary", help="the summaries")
    parser.add_argument("--id-column", help="ids to write and resume by (default: the row number)")
    parser.add_argument(
        "--details",
        action="store_true",
        help="add each example's QA pairs with lp_x, lp_y and consistency",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="remove the output and score everything again (a resume must use the same "
        "QAGen, settings and input: OUTPUT.meta.json records them)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=8, help="examples per batch, written at once"
    )
    parser.add_argument(
        "--dtype",
        choices=["fp32", "bf16", "fp16"],
        help="weights dtype (default: the checkpoint's)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    _quals_options(parser)


def _validity_options(parser: argparse.ArgumentParser) -> None:
    validity_options(parser)
    _quals_options(parser)


def build_parser() -> argparse.ArgumentParser:
    """The quals-hf parser: a command is its function and the function that adds its options."""
    parser = argparse.ArgumentParser(
        prog="quals-hf",
        description="QUALS factual-consistency scoring for summaries.",
        formatter_class=_HelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser
    )
    _add_command(commands, demo, _demo_options)
    _add_command(commands, explain, _explain_options)
    _add_command(commands, install_metric, _install_metric_options)
    _add_command(commands, mine, _mine_options)
    _add_command(commands, score, _score_options)
    _add_command(commands, train_qagen, None)  # its options go to HfArgumentParser, --help too
    _add_command(commands, validity, _validity_options)
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
