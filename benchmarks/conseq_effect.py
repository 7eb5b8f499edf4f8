"""Does ConSeq make a summarizer hallucinate less? The toy world with unfaithful references.

An MLE summarizer is trained on toy documents whose references are partly unfaithful, like
XSum's (`quals_hf.toy.unfaithful`: 30% of the references state a number of jobs their document
leaves out). It learns to state numbers it cannot know. From that checkpoint, four arms
continue for the same number of optimizer steps:

1. ``mle``: MLE on the references (the control);
2. ``conseq-quals``: ConSeq: one round of mining with QUALS (the toy QAGen), trained on the
   selected documents with the setting's loss (the paper's: token-level unlikelihood);
3. ``conseq-rouge``: the same, mined with ROUGE (the paper's baseline);
4. ``conseq-remine``: mined with QUALS and re-mined every ``--remine-every`` steps
   (`RemineCallback`; the paper mined once), trained on the whole mining pool.

Each is measured on unseen stories: the hallucination rate of its greedy summaries (ground
truth: a summary states a fact its document lacks), mean QUALS, and ROUGE-1/2/L against the
faithful summaries; with the documents selected per mining round and the wall time.

    python benchmarks/conseq_effect.py --setting recommended --arms mle conseq-quals \
        --seeds 0 1 2 3 4 5 6 7 8 9 --threads 1  # -> results/conseq/recommended_t1.jsonl
    python benchmarks/conseq_effect.py --setting paper --arms mle conseq-quals conseq-rouge \
        --seeds 0 1 2 3 4 5 6 7 8 9 --threads 1  # -> results/conseq/paper_t1.jsonl
    python benchmarks/conseq_effect.py --seeds 0 --quick --threads 1 --out /tmp/quick.jsonl
    python benchmarks/conseq_effect.py --setting recommended --seeds 0 --arms conseq-quals \
        --threads 1  # tests/test_conseq_effect.py runs this smaller (docs/conseq.md)

The MLE checkpoints are shared by the settings (and kept in ``--work``), so each further
setting costs only its arms. After the rows, a table pairs every arm with the MLE control of
the same run (seed, thread count and machine) over all runs of the setting in ``--out``: the mean
difference in hallucination rate with a 95% bootstrap interval, and how many runs improved.

Results are appended per (seed, arm) to ``--out`` (JSON lines; by default
``results/conseq/SETTING_tTHREADS.jsonl``, the rows that `benchmarks/report.py` renders into
docs/conseq.md with `table` and `paired_table`) and reused when the command is run again, so
an interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import re
import statistics
import time
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from machine import describe
from transformers import (
    BartForConditionalGeneration,
    DataCollatorForSeq2Seq,
    PreTrainedTokenizerFast,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
)

from quals_hf import (
    CONSEQ_PRESETS,
    ContrastiveConfig,
    ContrastiveTrainer,
    MiningConfig,
    QualsScorer,
    RemineCallback,
    mine_contrastive_sets,
)
from quals_hf.conseq.loss import IGNORE, sequence_logps
from quals_hf.core.padding import pad_sequences
from quals_hf.toy.models import load_or_train_toy_qagen, toy_tokenizer, train_toy_seq2seq
from quals_hf.toy.unfaithful import (
    SummarizationExample,
    hallucination_rate,
    make_unfaithful_examples,
)

# where a row was measured: trained weights, and so the effect, depend on the CPU's float kernels
MACHINE = describe()
RESULTS = Path(__file__).resolve().parent / "results" / "conseq"  # rows benchmarks/report.py reads
ARMS = ("mle", "conseq-quals", "conseq-rouge", "conseq-remine")
TEST_SEED = 90_000  # the unseen stories: the same for every seed and arm
# the settings that make the MLE summarizer: its checkpoint is kept and reused by these
MLE_KEYS = (
    "train_docs",
    "mle_steps",
    "mle_learning_rate",
    "mle_d_model",
    "unfaithful_ratio",
    "omit_ratio",
)


@dataclass(frozen=True)
class Setting:
    """The experiment's sizes and hyperparameters (the paper's where they fit this scale)."""

    train_docs: int = 1500  # the MLE summarizer's training documents
    pool_docs: int = 200  # the first of them: what ConSeq mines (and the control continues on)
    test_docs: int = 200
    mle_steps: int = 1000
    mle_learning_rate: float = 2e-3
    mle_d_model: int = 128  # 64 is too small to copy names reliably
    extra_steps: int = 30  # every arm: optimizer steps after the MLE checkpoint
    batch_size: int = 16
    learning_rate: float = 2e-4  # a tenth of the MLE's, as the paper's 3e-6 of BART's 3e-5
    label_smoothing: float = 0.1  # the paper's, for MLE and ConSeq alike
    loss: str = "unlikelihood"  # the paper's
    mle_weight: float = 0.0  # the paper's: no MLE term
    remine_every: int = 10
    positive_ratio: float = 0.3  # the paper's selection: top 30% references ...
    negative_ratio: float = 0.3  # ... and bottom 30% negatives
    num_groups: int = 20  # QUALS' diverse groups (the paper: 60; toy summaries are 15 words)
    mining_pair_score: str = "pair"  # QualsConfig.pair_score of the mining scorer (paper)
    mining_aggregate: str = "mean"  # QualsConfig.aggregate of the mining scorer (paper)
    num_candidates: int = 6  # candidates sampled per document (the paper's)
    unfaithful_ratio: float = 0.3
    omit_ratio: float = 0.4


def preset_setting(name: str) -> Setting:
    """The benchmark's setting of a named ConSeq recipe (`quals_hf.CONSEQ_PRESETS`: the
    paper's, and the recommended one of docs/conseq.md); the sizes stay the Setting's."""
    preset = CONSEQ_PRESETS[name]
    return Setting(
        loss=preset.contrastive_loss,
        mle_weight=preset.mle_weight,
        positive_ratio=preset.positive_ratio,
        negative_ratio=preset.negative_ratio,
        num_candidates=preset.num_candidates,
        mining_pair_score=preset.pair_score,
        mining_aggregate=preset.aggregate,
    )


SETTINGS = {name: preset_setting(name) for name in CONSEQ_PRESETS}


# What --quick shrinks (one seed: about a minute of MLE training on 2 cores), for smoke runs;
# the recipe (loss, selection, mining scores) stays the named setting's
QUICK = dict(
    train_docs=800,
    pool_docs=100,
    test_docs=100,
    mle_steps=400,
    mle_learning_rate=4e-3,
    extra_steps=20,
    num_groups=10,
)


# What tests/test_conseq_effect.py shrinks: 600 MLE steps at 3e-3 instead of 1000 at 2e-3, and
# 100 documents mined and tested instead of 200 (its assertions hold with 1 and 2 threads)
TEST_SIZES = dict(mle_steps=600, mle_learning_rate=3e-3, pool_docs=100, test_docs=100)


def as_dataset(examples: list[SummarizationExample], prefix: str) -> Dataset:
    return Dataset.from_dict(
        {
            "id": [f"{prefix}{i}" for i in range(len(examples))],
            "document": [e.document for e in examples],
            "summary": [e.reference for e in examples],
        }
    )


def train_mle(train: list[SummarizationExample], seed: int, setting: Setting, work: Path):
    """The MLE summarizer on the (partly unfaithful) references, from scratch, and its training
    seconds; kept in ``work`` for reruns of the same seed, MLE settings and thread count (the
    weights depend on it)."""
    mle = {k: v for k, v in asdict(setting).items() if k in MLE_KEYS}
    mle["threads"] = torch.get_num_threads()
    path = (
        work
        / "mle"
        / f"seed{seed}-{hashlib.sha1(json.dumps(mle, sort_keys=True).encode()).hexdigest()[:8]}"
    )
    timing = path / "train_seconds.json"
    if (path / "config.json").exists():
        seconds = json.loads(timing.read_text()) if timing.exists() else math.nan
        return BartForConditionalGeneration.from_pretrained(path), toy_tokenizer(), seconds
    start = time.perf_counter()
    model, tokenizer = train_toy_seq2seq(
        [(e.document, e.reference) for e in train],
        output_dir=path,
        steps=setting.mle_steps,
        learning_rate=setting.mle_learning_rate,
        d_model=setting.mle_d_model,
        seed=seed,
    )
    seconds = time.perf_counter() - start
    timing.write_text(json.dumps(seconds))
    return model, tokenizer, seconds


@torch.no_grad()
def greedy_summaries(model, tokenizer: PreTrainedTokenizerFast, documents: list[str]) -> list[str]:
    model.eval()
    out = []
    for start in range(0, len(documents), 64):
        enc = tokenizer(documents[start : start + 64], padding=True, return_tensors="pt")
        ids = model.generate(**enc, num_beams=1, do_sample=False, max_new_tokens=40)
        out += [s.strip() for s in tokenizer.batch_decode(ids, skip_special_tokens=True)]
    return out


def evaluate_model(model, tokenizer, test: list[SummarizationExample], scorer: QualsScorer):
    """Hallucination rate (ground truth), mean QUALS and ROUGE of greedy summaries of ``test``."""
    from rouge_score import rouge_scorer

    documents = [e.document for e in test]
    summaries = greedy_summaries(model, tokenizer, documents)
    rouge = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    scores = [rouge.score(e.faithful_summary, s) for e, s in zip(test, summaries)]
    quals = scorer.score(documents, [s or "." for s in summaries], progress=False)

    def rate(omits: bool) -> float:
        part = [(e.document, s) for e, s in zip(test, summaries) if e.omits_number == omits]
        return hallucination_rate([d for d, _ in part], [s for _, s in part])

    return {
        "hallucination": hallucination_rate(documents, summaries),
        "hallucination_without_number": rate(True),
        "hallucination_with_number": rate(False),
        "quals": quals.mean,
        **{
            k: statistics.mean(s[k].fmeasure for s in scores)
            for k in ("rouge1", "rouge2", "rougeL")
        },
        "example": summaries[0],
    }


@torch.no_grad()
def triple_margin(model, tokenizer, sets: Any, pool: Dataset) -> float:
    """Mean over the mined triples of the positive's minus the negative's length-normalised
    log-likelihood under ``model``: what the contrastive loss is there to raise."""
    model.eval()
    rows = sets.filter_dataset(pool).filter(
        lambda i: sets[i].positive and sets[i].negative, input_columns="id"
    )
    gaps: list[float] = []
    for start in range(0, len(rows), 32):
        chunk = rows[start : start + 32]
        enc = tokenizer(chunk["document"], padding=True, return_tensors="pt")
        logps = []
        for side in ("positive", "negative"):
            targets = [
                tokenizer(text_target=getattr(sets[i], side))["input_ids"] for i in chunk["id"]
            ]
            labels = pad_sequences(targets, IGNORE)[0]
            logps.append(sequence_logps(model(**enc, labels=labels).logits, labels))
        gaps += (logps[0] - logps[1]).tolist()
    return statistics.mean(gaps) if gaps else math.nan


def _common_args(setting: Setting, seed: int, output_dir: str) -> dict[str, Any]:
    return dict(
        output_dir=output_dir,
        max_steps=setting.extra_steps,
        per_device_train_batch_size=setting.batch_size,
        learning_rate=setting.learning_rate,
        lr_scheduler_type="polynomial",  # the paper's; warmup 0
        weight_decay=0.01,
        max_grad_norm=0.1,
        label_smoothing_factor=setting.label_smoothing,
        seed=seed,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        logging_steps=10,
        use_cpu=True,
    )


def run_arm(
    arm: str,
    mle_model,
    tokenizer,
    pool: Dataset,
    miner: QualsScorer,
    seed: int,
    setting: Setting,
    work: Path,
) -> tuple[Any, dict[str, Any]]:
    """Continue a copy of the MLE model as ``arm``, mining with ``miner`` (QUALS arms); the
    model and what the arm did."""
    model = copy.deepcopy(mle_model).train()
    start = time.perf_counter()
    common = _common_args(setting, seed, str(work / arm))
    selected: list[int] = []
    margins: dict[str, float] = {}
    if arm == "mle":
        tokenized = pool.map(
            lambda b: tokenizer(b["document"], text_target=b["summary"]),
            batched=True,
            remove_columns=pool.column_names,
        )
        Seq2SeqTrainer(
            model=model,
            args=Seq2SeqTrainingArguments(**common),
            train_dataset=tokenized,
            processing_class=tokenizer,
            data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        ).train()
    else:
        mining = MiningConfig(
            batch_size=16,
            num_candidates=setting.num_candidates,
            seed=seed,
            positive_ratio=setting.positive_ratio,
            negative_ratio=setting.negative_ratio,
        )
        scorer = "rouge" if arm == "conseq-rouge" else miner
        sets = mine_contrastive_sets(model, tokenizer, pool, scorer, mining, progress=False)
        selected.append(len(sets))
        remine = arm == "conseq-remine"
        callbacks = (
            [RemineCallback(sets, pool, miner, every_n_steps=setting.remine_every, config=mining)]
            if remine
            else []
        )
        trainer = ContrastiveTrainer(
            model=model,
            args=ContrastiveConfig(
                contrastive_loss=setting.loss, mle_weight=setting.mle_weight, **common
            ),
            contrastive_sets=sets,
            # the paper trains on the selected documents; re-mining selects others as it
            # goes, so that arm trains on the pool (a row without an entry is skipped)
            train_dataset=pool if remine else sets.filter_dataset(pool),
            processing_class=tokenizer,
            callbacks=callbacks,
        )
        before = None if remine else triple_margin(model, tokenizer, sets, pool)
        trainer.train()
        if not remine:  # re-mining replaces the triples: before and after would differ
            margins = {
                "triple_margin_before": before,
                "triple_margin_after": triple_margin(model, tokenizer, sets, pool),
            }
        selected += [
            int(log["remine/examples"])
            for log in trainer.state.log_history
            if "remine/examples" in log
        ]
    seconds = time.perf_counter() - start
    return model, {"selected": selected, "seconds": seconds, **margins}


def row_setting(row: dict[str, Any]) -> dict[str, Any]:
    """The setting a stored row ran with: rows written before a field existed ran with its
    default (rows without a thread count match no run's key)."""
    return {**asdict(Setting()), **row["setting"]}


def run(
    seeds: list[int],
    arms: list[str],
    setting: Setting,
    out: Path,
    work: Path,
    qagen_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Every (seed, arm) not yet in ``out``; returns all rows of ``out`` for this setting and
    this torch thread count (the weights depend on it).

    ``qagen_dir``: the toy QAGen's folder (default: the toy cache; trained there if missing).
    Rows are matched without it: give another ``out`` for another QAGen.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    key = {**asdict(setting), "threads": torch.get_num_threads()}
    done = [r for r in read_rows(out) if row_setting(r) == key]
    have = {(r["seed"], r["arm"]) for r in done}
    qagen, tokenizer = load_or_train_toy_qagen(qagen_dir)
    scorer = QualsScorer(qagen, tokenizer, progress=False, num_groups=setting.num_groups)
    miner = QualsScorer(  # mining may score otherwise; the evaluation stays the paper's QUALS
        qagen,
        tokenizer,
        progress=False,
        num_groups=setting.num_groups,
        pair_score=setting.mining_pair_score,
        aggregate=setting.mining_aggregate,
    )
    test = make_unfaithful_examples(
        setting.test_docs, TEST_SEED, setting.unfaithful_ratio, setting.omit_ratio
    )
    for seed in seeds:
        wanted = ["mle-start", *arms]  # the start: the premise, and the arms' baseline
        todo = [a for a in wanted if (seed, a) not in have]
        if not todo:
            continue
        train = make_unfaithful_examples(
            setting.train_docs, 1000 + seed, setting.unfaithful_ratio, setting.omit_ratio
        )
        mle_model, tokenizer, mle_seconds = train_mle(train, seed, setting, work)
        pool = as_dataset(train[: setting.pool_docs], f"s{seed}-")
        for arm in todo:
            if arm == "mle-start":
                model, info = mle_model, {"selected": [], "seconds": mle_seconds}
            else:
                model, info = run_arm(arm, mle_model, tokenizer, pool, miner, seed, setting, work)
            row = {
                "setting": key,
                "seed": seed,
                "arm": arm,
                "machine": MACHINE,
                "date": date.today().isoformat(),
                **info,
                **evaluate_model(model, tokenizer, test, scorer),
            }
            print(json.dumps({k: v for k, v in row.items() if k != "setting"}), flush=True)
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            done.append(row)
    return [r for r in done if r["seed"] in seeds and r["arm"] in ("mle-start", *arms)]


NO_ROWS = "no stored runs\n"
ARM_NAMES = {
    "mle-start": "MLE checkpoint (start)",
    "mle": "MLE, more steps (control)",
    "conseq-quals": "ConSeq, QUALS, one round",
    "conseq-rouge": "ConSeq, ROUGE, one round",
    "conseq-remine": "ConSeq, QUALS, re-mined while training",
}


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file; a last line still being written (no newline) is left out."""
    if not path.exists():
        return []
    *lines, _unfinished = path.read_text().split("\n")
    return [json.loads(line) for line in lines if line.strip()]


def stored_rows(folder: Path = RESULTS) -> list[dict[str, Any]]:
    """Every row of the ``*.jsonl`` files of ``folder``, file by file in name order."""
    return [row for path in sorted(folder.glob("*.jsonl")) for row in read_rows(path)]


SAFE = re.compile(r"\W")  # what a table name (benchmarks/report.py) cannot hold


def setting_name(row: dict[str, Any]) -> str:
    """The named setting a row ran with (``recommended``, ``paper``; ``-quick`` for --quick);
    a setting of its own is named after the closest one and the fields it changed, e.g.
    ``recommended-mle_weight-1_0``. The thread count is no part of the name."""
    got = {k: v for k, v in row_setting(row).items() if k != "threads"}
    candidates = []
    for name in sorted(SETTINGS):
        for suffix, setting in (("", SETTINGS[name]), ("-quick", replace(SETTINGS[name], **QUICK))):
            known = asdict(setting)
            changed = {k: v for k, v in got.items() if k not in known or known[k] != v}
            candidates.append((len(changed), name + suffix, changed))
    _, name, changed = min(candidates, key=lambda c: c[0])
    return name + "".join(f"-{k}-{SAFE.sub('_', str(v))}" for k, v in sorted(changed.items()))


def same_setting(row: dict[str, Any], setting: Setting) -> bool:
    """Whether ``row`` ran with ``setting``, at any thread count."""
    return {**row_setting(row), "threads": None} == {**asdict(setting), "threads": None}


RunKey = tuple[int, int, str]  # seed, torch threads, machine: one MLE checkpoint and its arms


def by_run(rows: list[dict[str, Any]]) -> dict[RunKey, dict[str, dict[str, Any]]]:
    """The rows of each run (seed, thread count and machine: trained weights depend on all
    three) by arm, in sorted run order; the first of repeated rows is kept."""
    runs: dict[RunKey, dict[str, dict[str, Any]]] = {}
    for r in rows:
        key = (r["seed"], row_setting(r).get("threads", 0), r.get("machine", "?"))
        runs.setdefault(key, {}).setdefault(r["arm"], r)
    return dict(sorted(runs.items()))


def run_labels(runs: list[RunKey]) -> dict[RunKey, str]:
    """``seed/threads`` per run, with ``/mN`` (the Nth machine in sorted order) when the runs
    come from more than one machine."""
    machines = sorted({m for _, _, m in runs})
    several = len(machines) > 1
    return {
        (seed, threads, m): f"{seed}/{threads}" + (f"/m{machines.index(m) + 1}" if several else "")
        for seed, threads, m in runs
    }


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: mean ± standard deviation over runs (seeds and thread counts), one line per
    arm; rows of one setting."""
    runs = by_run(rows)
    if not runs:
        return NO_ROWS

    def cell(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
        values = [v * scale for v in values if v is not None and not math.isnan(v)]
        if not values:
            return "—"
        if len(values) == 1:
            return f"{values[0]:.{digits}f}"
        return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"

    lines = [
        "| arm | runs | hallucination rate % | on documents without / with a number % "
        "| mean QUALS | ROUGE-1 | ROUGE-2 | ROUGE-L | documents selected per round | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm, name in ARM_NAMES.items():
        got = [arms[arm] for arms in runs.values() if arm in arms]
        if not got:
            continue
        rounds = ["/".join(map(str, r["selected"])) for r in got]
        lines.append(
            f"| {name} | {len(got)} | {cell([r['hallucination'] for r in got], 100)} "
            f"| {cell([r['hallucination_without_number'] for r in got], 100)} / "
            f"{cell([r['hallucination_with_number'] for r in got], 100)} "
            f"| {cell([r['quals'] for r in got], 1, 3)} "
            + " ".join(
                f"| {cell([r[k] for r in got], 100)}" for k in ("rouge1", "rouge2", "rougeL")
            )
            + f" | {', '.join(rounds) if any(rounds) else '—'} "
            f"| {cell([r['seconds'] for r in got], 1, 0)} |"
        )
    seeds = sorted({seed for seed, _, _ in runs})
    threads = sorted({t for _, t, _ in runs})
    return (
        "\n".join(lines) + f"\n\n(mean ± standard deviation over runs: seeds {seeds}, "
        f"torch threads {threads})\n"
    )


def bootstrap_interval(values: list[float], draws: int = 10_000, seed: int = 0) -> tuple:
    """95% percentile bootstrap interval of the mean of ``values`` (resampled with replacement,
    from a seeded generator: the same values give the same interval)."""
    import random

    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(draws))
    return means[int(0.025 * draws)], means[int(0.975 * draws) - 1]


def paired_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: each arm minus the MLE control of the same run (seed, thread count and
    machine), over ``rows`` of one setting: mean difference, 95% bootstrap interval, runs
    improved, ROUGE-2 difference and every run's difference."""
    runs = by_run(rows)
    labels = run_labels(list(runs))
    lines = [
        "| arm | runs | hallucination − control, points | 95% interval | runs improved "
        "| ROUGE-2 − control, points | per run (seed/threads: points) |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm in ARMS[1:]:
        paired = [k for k, arms in runs.items() if arm in arms and "mle" in arms]
        if not paired:
            continue
        diff = [
            100 * (runs[k][arm]["hallucination"] - runs[k]["mle"]["hallucination"]) for k in paired
        ]
        rouge = [100 * (runs[k][arm]["rouge2"] - runs[k]["mle"]["rouge2"]) for k in paired]
        interval = "—"  # one run has none
        if len(diff) > 1:
            low, high = bootstrap_interval(diff)
            interval = f"[{low:+.1f}, {high:+.1f}]"
        per_run = ", ".join(f"{labels[k]}: {d:+.1f}" for k, d in zip(paired, diff))
        lines.append(
            f"| {arm} | {len(paired)} | {statistics.mean(diff):+.1f} "
            f"| {interval} | {sum(d < 0 for d in diff)} of {len(paired)} "
            f"| {statistics.mean(rouge):+.1f} | {per_run} |"
        )
    return "\n".join(lines) + "\n" if len(lines) > 2 else NO_ROWS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument(
        "--setting",
        choices=sorted(SETTINGS),
        default="paper",
        help="the paper's ConSeq, or the recipe under measurement (docs/conseq.md)",
    )
    parser.add_argument("--quick", action="store_true", help="a fast setting for smoke runs")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="rows (JSON lines); default: results/conseq/SETTING_tTHREADS.jsonl, the stored "
        "rows of benchmarks/report.py (runs/conseq_effect_quick.jsonl with --quick)",
    )
    parser.add_argument("--work", type=Path, default=Path("runs/conseq_effect"))
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (the results depend on it; docs/conseq.md); default: torch's",
    )
    parser.add_argument(
        "--qagen-dir", type=Path, default=None, help="toy QAGen (default: the toy cache's)"
    )
    for name, value in asdict(Setting()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    setting = SETTINGS[args.setting]
    if args.quick:
        setting = replace(setting, **QUICK)
    setting = replace(
        setting, **{k: v for k in asdict(setting) if (v := getattr(args, k)) is not None}
    )
    threads = torch.get_num_threads()
    out = args.out or (
        Path("runs/conseq_effect_quick.jsonl")
        if args.quick
        else RESULTS / f"{args.setting}_t{threads}.jsonl"
    )
    rows = run(args.seeds, args.arms, setting, out, args.work, args.qagen_dir)
    print(
        f"\n- command: `python benchmarks/conseq_effect.py {' '.join(__import__('sys').argv[1:])}`"
    )
    print(f"- machine: {MACHINE}, {threads} torch threads; rows: {out}")
    print(f"- date: {date.today()}; setting: {asdict(setting)}\n")
    print(table(rows))
    print("\nPaired with the MLE control of the same run, every thread count in --out:\n")
    print(paired_table([r for r in read_rows(out) if same_setting(r, setting)]))


if __name__ == "__main__":
    main()
