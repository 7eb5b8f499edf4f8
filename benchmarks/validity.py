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
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import itertools
import json
import math
import os
import platform
import random
import re
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats
from scoring_options import OPTIONS, auc
from tqdm.auto import tqdm

from quals_hf import QualsConfig
from quals_hf.benchmark_data import QAGS_NAMES, load_qags
from quals_hf.scoring.pairs import PairScore

SAMPLE_SEED = 0  # the order summaries are scored in (and --n samples from)
MAX_TOKENS = 2048  # longest prompt + summary the likelihood baseline reads
BOOTSTRAP, SEED = 1000, 0
SET_TITLES = {"cnndm": "QAGS-CNNDM", "xsum": "QAGS-XSum"}
WORD = re.compile(r"\w+")


def _lower_ptb(text: str) -> str:
    from quals_hf.qagen.augment import lower_ptb

    return lower_ptb(text)


# the text forms summaries are scored in (--form)
FORMS: dict[str, Callable[[str], str]] = {"text": lambda text: text, "lower-ptb": _lower_ptb}

# (label, column) of every measured metric, in table order; all are "higher = more consistent"
METRICS = [
    ("QUALS", "quals"),
    ("ROUGE-2 precision (summary vs source)", "rouge2_p"),
    ("Summary words in source", "word_share"),
    ("Summary bigrams in source", "bigram_share"),
    ("Likelihood gain: source vs empty prompt", "likelihood"),
]

# Published correlations (x100, as printed) with the QAGS labels. Each row keeps its own source:
# only numbers read in that source are filled in; None is shown as n/a.
REFERENCES: list[dict[str, Any]] = [
    {
        "metric": "QAGS",
        "pearson": {"cnndm": "54.53", "xsum": "17.49"},
        "spearman": None,
        "source": "Wang et al., ACL 2020, Table 1 (Pearson). The two values are the brief's; a "
        "secondary index (wizwand.com, page of the QAGS paper) lists QAGS at Pearson 0.545 "
        "(QAGS CNN) and 0.175 (QAGS XSUM), which agrees; the paper's table itself was not read.",
    },
    {
        "metric": "AlignScore-large",
        "pearson": None,
        "spearman": {"cnndm": "73.9", "xsum": "57.2"},
        "source": "Zha et al., ACL 2023; the authors' repository yuh-zha/AlignScore, README at "
        "commit 3ee16f48, 'Leaderboard — compare with LLM-based metrics' (Spearman). The paper's "
        "table number was not verified.",
    },
    {
        "metric": "QAFactEval",
        "pearson": None,
        "spearman": {"cnndm": "63.1", "xsum": "44.1"},
        "source": "Secondary only: wizwand.com page of Fabbri et al., NAACL 2022 ('related "
        "benchmarks', Spearman). Probably the re-evaluation in the AlignScore paper; neither the "
        "paper nor its table number was verified.",
    },
    {
        "metric": "SummaC (variant?)",
        "pearson": None,
        "spearman": {"cnndm": "58.4", "xsum": "45.0"},
        "source": "Secondary only: wizwand.com page of Laban et al., TACL 2022 ('related "
        "benchmarks', Spearman; the page does not say SummaC-ZS or -Conv). Not verified.",
    },
    {
        "metric": "QuestEval",
        "pearson": None,
        "spearman": {"cnndm": "30.8", "xsum": "11.9"},
        "source": "Secondary only: wizwand.com page of Scialom et al., EMNLP 2021 ('related "
        "benchmarks', Spearman). Not verified.",
    },
]


# ---------------------------------------------------------------- data and cheap baselines


def words(text: str) -> list[str]:
    """Lower-cased ``\\w+`` tokens."""
    return WORD.findall(text.lower())


def word_share(source: str, summary: str) -> float:
    """Share of the summary's word tokens that occur in the source (NaN without words)."""
    vocab = set(words(source))
    tokens = words(summary)
    return sum(t in vocab for t in tokens) / len(tokens) if tokens else math.nan


def bigram_share(source: str, summary: str) -> float:
    """Share of the summary's word bigrams that occur in the source (NaN under two words)."""
    src = words(source)
    vocab = set(itertools.pairwise(src))
    tokens = words(summary)
    grams = list(itertools.pairwise(tokens))
    return sum(g in vocab for g in grams) / len(grams) if grams else math.nan


def rouge2_precision_fn() -> Callable[[str, str], float]:
    """ROUGE-2 precision of a summary (prediction) against its source (target)."""
    try:
        from rouge_score import rouge_scorer
    except ImportError as err:
        raise SystemExit("the ROUGE baseline needs rouge_score: pip install rouge_score") from err
    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=False)
    return lambda source, summary: scorer.score(source, summary)["rouge2"].precision


# ---------------------------------------------------------------- resumable per-summary results


class ResultStore:
    """Per-summary rows of one metric on one set, appended batch by batch to a gzipped JSONL
    file (``NAME.jsonl.gz``: one gzip member per batch, so a run killed mid-write loses at most
    its last batch). Rows of an older plain ``NAME.jsonl`` beside it are read too."""

    def __init__(self, path: Path) -> None:
        self.path = path if path.name.endswith(".gz") else path.with_name(path.name + ".gz")
        self.rows: dict[int, dict[str, Any]] = {}
        plain = self.path.with_name(self.path.name.removesuffix(".gz"))
        for row in [*read_jsonl(plain), *read_jsonl(self.path)]:
            self.rows[int(row["id"])] = row

    def append(self, rows: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(row) + "\n" for row in rows)
        with self.path.open("ab") as f:
            f.write(gzip.compress(text.encode("utf-8"), mtime=0))
            f.flush()
            os.fsync(f.fileno())
        for row in rows:
            self.rows[int(row["id"])] = row


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file, plain or gzipped; a line or gzip member cut by an interrupted
    write ends the reading (everything before it is kept)."""
    if not path.exists():
        return []
    rows = []
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by an interrupted write
                    break
    except (EOFError, gzip.BadGzipFile):  # a gzip member cut by an interrupted write
        pass
    return rows


def qagen_fingerprint(qagen: Path) -> dict[str, str]:
    """What identifies a QAGen folder wherever it lies: its config's and weights' SHA-256."""
    weights = sorted(qagen.glob("*.safetensors")) or sorted(qagen.glob("*.bin"))
    digest = hashlib.sha256()
    for path in weights:
        with path.open("rb") as f:
            while chunk := f.read(1 << 24):
                digest.update(chunk)
    return {
        "config_sha256": hashlib.sha256((qagen / "config.json").read_bytes()).hexdigest(),
        "weights_sha256": digest.hexdigest(),
    }


def check_out_dir(out: Path, args: argparse.Namespace) -> None:
    """Refuse to mix results of different QAGen models, weight dtypes, search widths or text
    forms in one ``--out``; a new folder records them, with the command and machine, in
    ``meta.json``."""
    fingerprint = {
        **qagen_fingerprint(args.qagen),
        "max_tokens": MAX_TOKENS,
        "dtype": args.dtype,
        "num_groups": args.num_groups,
        "form": args.form,
        # 2: a finished search group no longer lowers EOS for later groups when the QAGen pads
        # with EOS (quals_hf.qagen.search.NO_TOKEN); folders without the key hold search 1
        "search": 2,
    }
    meta = out / "meta.json"
    if meta.exists():
        old = json.loads(meta.read_text())
        differ = [k for k, v in fingerprint.items() if old.get("fingerprint", {}).get(k) != v]
        if differ:
            raise SystemExit(
                f"{out} holds results of another model or setting ({', '.join(differ)} "
                "differ); pass another --out or delete that folder"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    about = {
        "qagen": str(args.qagen),
        "command": args.command,
        "machine": machine(args),
        "date": str(datetime.date.today()),
    }
    meta.write_text(json.dumps({"fingerprint": fingerprint, **about}, indent=1) + "\n")


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------- likelihood baseline


class LikelihoodBaseline:
    """Mean log-probability of summary + EOS after prompt(source) minus after prompt("")."""

    def __init__(
        self, qagen: Path, device: str, max_tokens: int = MAX_TOKENS, dtype: str = "fp32"
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(qagen)
        weights = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
        self.model = AutoModelForCausalLM.from_pretrained(qagen, dtype=weights)
        self.model.to(device).eval()
        fmt = getattr(self.model.config, "qagen_format", None)
        if not isinstance(fmt, dict) or "input_suffix" not in fmt:
            raise SystemExit(f"{qagen}: config.json has no decoder-only qagen_format")
        self.prefix = fmt.get("input_prefix") or ""
        self.suffix = fmt["input_suffix"] or ""
        eos = self.model.generation_config.eos_token_id or self.model.config.eos_token_id
        if eos is None:
            raise SystemExit(f"{qagen}: the model defines no eos_token_id")
        self.eos = eos if isinstance(eos, int) else next(iter(eos))
        pad = self.tokenizer.pad_token_id
        self.pad = self.eos if pad is None else pad
        self.max_tokens = max_tokens

    def prompt_ids(self, source: str, budget: int) -> tuple[list[int], bool]:
        """Ids of prompt(source) in at most ``budget`` tokens, cutting only the source's end."""
        ids = self.tokenizer(self.prefix + source + self.suffix)["input_ids"]
        if len(ids) <= budget:
            return ids, False
        enc = self.tokenizer(source, add_special_tokens=False, return_offsets_mapping=True)
        keep = budget - (len(ids) - len(enc["input_ids"]))
        while keep > 0:
            end = enc["offset_mapping"][keep - 1][1]
            ids = self.tokenizer(self.prefix + source[:end] + self.suffix)["input_ids"]
            if len(ids) <= budget:
                return ids, True
            keep -= len(ids) - budget
        raise ValueError(f"the prompt has no room for a source within {budget} tokens")

    @torch.inference_mode()
    def mean_logprobs(self, jobs: list[tuple[list[int], list[int]]]) -> list[float]:
        """Mean log p of each target (scored ids) after its prompt, in one right-padded batch.

        The head is applied to the target positions only (the model's own forward would make
        (batch, 2048, 49152) logits).
        """
        seqs = [p + t for p, t in jobs]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1
        device = self.model.device
        hidden = self.model.base_model(
            input_ids=ids.to(device), attention_mask=mask.to(device)
        ).last_hidden_state
        head = self.model.get_output_embeddings()
        means = []
        for row, (prompt, target) in enumerate(jobs):
            positions = torch.arange(len(prompt) - 1, len(prompt) + len(target) - 1, device=device)
            logits = head(hidden[row, positions]).float()
            tokens = torch.tensor(target, device=device)
            lp = logits.gather(-1, tokens[:, None]).squeeze(-1) - logits.logsumexp(-1)
            means.append(lp.mean().item())
        return means

    def score(self, sources: list[str], summaries: list[str], batch_size: int) -> list[dict]:
        """Per summary: lp_source, lp_empty, their difference, and whether the source was cut."""
        jobs, cut = [], []
        for source, summary in zip(sources, summaries):
            target = self.tokenizer(summary, add_special_tokens=False)["input_ids"] + [self.eos]
            prompt, truncated = self.prompt_ids(source, self.max_tokens - len(target))
            empty, _ = self.prompt_ids("", self.max_tokens - len(target))
            jobs += [(prompt, target), (empty, target)]
            cut.append(truncated)
        order = sorted(range(len(jobs)), key=lambda j: len(jobs[j][0]) + len(jobs[j][1]))
        means = [0.0] * len(jobs)
        for batch in chunks(order, batch_size):
            for j, m in zip(batch, self.mean_logprobs([jobs[j] for j in batch])):
                means[j] = m
        return [
            {
                "lp_source": means[2 * i],
                "lp_empty": means[2 * i + 1],
                "likelihood": means[2 * i] - means[2 * i + 1],
                "source_truncated": cut[i],
                "summary_tokens": len(jobs[2 * i][1]),
            }
            for i in range(len(summaries))
        ]


# ---------------------------------------------------------------- running the model metrics


def run_resumable(
    name: str,
    store: ResultStore,
    data: dict[str, list],
    batch_size: int,
    score: Callable[[list[str], list[str]], list[dict]],
) -> None:
    """Score the summaries not yet in ``store``, a batch at a time, appending each batch."""
    todo = [i for i in data["order"] if i not in store.rows]
    if not todo:
        return
    with tqdm(total=len(data["order"]), initial=len(data["order"]) - len(todo), desc=name) as bar:
        for batch in chunks(todo, batch_size):
            start = time.perf_counter()
            rows = score([data["document"][i] for i in batch], [data["summary"][i] for i in batch])
            seconds = (time.perf_counter() - start) / len(batch)
            store.append([{"id": i, **row, "seconds": seconds} for i, row in zip(batch, rows)])
            bar.update(len(batch))


def quals_scorer(args: argparse.Namespace):
    """The run's `QualsScorer` on ``--qagen``, loaded once."""
    if args._scorer is None:
        try:
            from quals_hf import QualsScorer
        except ImportError as err:
            raise SystemExit(f"cannot import QualsScorer from quals_hf ({err})") from err
        args._scorer = QualsScorer.from_pretrained(
            str(args.qagen),
            device=args.device,
            dtype=args.dtype,
            num_groups=args.num_groups,
            batch_size=args.batch_size,
            progress=False,
        )
    return args._scorer


def pair_rows(out_pairs: list[list[Any]]) -> list[list[dict]]:
    return [[p.to_dict() for p in pairs] for pairs in out_pairs]  # with per-token log-probs


def windows_score_fn(
    args: argparse.Namespace, stored: dict[tuple[str, str], list[dict]]
) -> Callable[[list[str], list[str]], list[dict]]:
    """A batch scorer that re-scores the stored QUALS pairs of each (source, summary) with the
    source read in windows (``--source-window-tokens``), no new search; and, as the control,
    re-scores them on the whole source the same way (tokenized from their text, lp_y
    teacher-forced), so that what differs between the two is the windows alone."""
    from quals_hf import QualsScorer

    base = quals_scorer(args)
    windowed, whole = (
        QualsScorer(
            base.model,
            base.tokenizer,
            format=base.format,
            config=replace(base.config, source_window_tokens=size),
            batch_size=args.batch_size,
            progress=False,
        )
        for size in (args.source_window_tokens, None)
    )

    def score(sources: list[str], summaries: list[str]) -> list[dict]:
        pairs = [[PairScore.from_dict(p).pair for p in stored[k]] for k in zip(sources, summaries)]
        in_windows = pair_rows(windowed.score_pairs(sources, summaries, pairs))
        control = pair_rows(whole.score_pairs(sources, summaries, pairs))
        return [{"pairs": w, "pairs_whole": c} for w, c in zip(in_windows, control)]

    return score


def quals_score_fn(args: argparse.Namespace) -> Callable[[list[str], list[str]], list[dict]]:
    """A batch scorer around `QualsScorer` keeping each summary's pairs."""
    scorer = quals_scorer(args)

    def score(sources: list[str], summaries: list[str]) -> list[dict]:
        out = scorer.score(sources, summaries, return_details=True)
        return [
            {
                "quals": float(s),
                "num_pairs": int(n),
                "pairs": pairs,
            }
            for s, n, pairs in zip(out.scores, out.num_pairs, pair_rows(out.pair_scores))
        ]

    return score


# ---------------------------------------------------------------- statistics


def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x * y).sum(-1) / np.sqrt((x * x).sum(-1) * (y * y).sum(-1))


def correlations(metric: Sequence[float], human: Sequence[float]) -> dict[str, Any]:
    """Pearson and Spearman over the non-NaN pairs, with percentile bootstrap 95% intervals."""
    x = np.asarray(metric, dtype=float)
    y = np.asarray(human, dtype=float)
    keep = ~np.isnan(x)
    x, y = x[keep], y[keep]
    result: dict[str, Any] = {"n": len(x)}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {**result, "pearson": None, "spearman": None}
    idx = np.random.default_rng(SEED).integers(0, len(x), size=(BOOTSTRAP, len(x)))
    xs, ys = x[idx], y[idx]
    boot = {
        "pearson": _rowwise_pearson(xs, ys),
        "spearman": _rowwise_pearson(
            stats.rankdata(xs, axis=1), stats.rankdata(ys, axis=1)
        ),  # resamples with a constant column give NaN and are left out
    }
    point = {
        "pearson": float(stats.pearsonr(x, y)[0]),
        "spearman": float(stats.spearmanr(x, y)[0]),
    }
    for kind in ("pearson", "spearman"):
        low, high = np.nanpercentile(boot[kind], [2.5, 97.5])
        result[kind] = {"r": point[kind], "low": float(low), "high": float(high)}
    return result


def answer_stats(rows: list[dict], summaries: dict[int, str]) -> dict[str, float]:
    """Length of kept answers (words) and how often an answer is (nearly) the whole summary."""
    lengths, ratios, whole = [], [], 0
    for row in rows:
        summary_words = words(summaries[row["id"]])
        for pair in row["pairs"]:
            answer_words = words(pair["answer"])
            lengths.append(len(answer_words))
            ratios.append(len(answer_words) / max(1, len(summary_words)))
            whole += answer_words == summary_words
    if not lengths:
        return {"answers": 0}
    return {
        "answers": len(lengths),
        "median_words": float(statistics.median(lengths)),
        "mean_words": float(statistics.fmean(lengths)),
        "share_ge_0.8_summary": sum(r >= 0.8 for r in ratios) / len(ratios),
        "share_whole_summary": whole / len(lengths),
    }


def _mean_or_nan(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _long_answer(pair: dict, summary: str) -> bool:
    return len(words(pair["answer"])) >= 0.8 * max(1, len(words(summary)))


# Deviations from the paper's settings, recomputed from each summary's stored pairs: reported
# beside QUALS as specified, never instead of it. (label, score of one summary's pairs)
VARIANTS: list[tuple[str, Callable[[list[dict], str], float]]] = [
    (
        "QUALS as specified: mean of lp_x - lp_y",
        lambda ps, y: _mean_or_nan([p["lp_x"] - p["lp_y"] for p in ps]),
    ),
    (
        "pairs whose answer is >= 0.8 of the summary dropped",
        lambda ps, y: _mean_or_nan([p["lp_x"] - p["lp_y"] for p in ps if not _long_answer(p, y)]),
    ),
    (
        "min of lp_x - lp_y instead of the mean",
        lambda ps, y: min((p["lp_x"] - p["lp_y"] for p in ps), default=math.nan),
    ),
    ("mean lp_x only (no lp_y)", lambda ps, y: _mean_or_nan([p["lp_x"] for p in ps])),
]


def variant_correlations(
    rows: list[dict], summaries: list[str], human: list[float]
) -> dict[str, dict[str, Any]]:
    """Correlations with ``human`` of every `VARIANTS` score over the stored pairs."""
    return {
        label: correlations([fn(r["pairs"], y) for r, y in zip(rows, summaries)], human)
        for label, fn in VARIANTS
    }


HALF_SEED = 24  # the seeded split of each set: options are chosen on half A, confirmed on B


def halves(ids: Sequence[int], seed: int = HALF_SEED) -> tuple[list[int], list[int]]:
    """Positions of ``ids`` in half A and in half B: each summary's half follows from a hash
    of its id alone, so a summary stays in its half whatever sample (``--n``) is scored."""
    half = [int(hashlib.sha256(f"{seed}:{i}".encode()).hexdigest(), 16) % 2 for i in ids]
    return [k for k, h in enumerate(half) if h == 0], [k for k, h in enumerate(half) if h == 1]


def option_scores(
    rows: list[dict], windowed: tuple[int, list[dict]] | None = None
) -> dict[str, list[float]]:
    """Every `OPTIONS` score of each summary, recomputed from its stored pairs (no model run);
    NaN where the stored pairs lack per-token log-probabilities (rows of older runs). With
    ``windowed`` (window tokens, rows of the same pairs scored in source windows), every option
    again on those rows."""
    runs = [("", OPTIONS, [r["pairs"] for r in rows])]
    if windowed is not None:
        size, scored = windowed
        runs.append((f", windows {size}", OPTIONS, [r["pairs"] for r in scored]))
        control = [r["pairs_whole"] for r in scored]  # the same pairs re-scored, no windows
        runs.append((", whole source re-scored (control)", OPTIONS[:1], control))
    out = {}
    for suffix, options, pair_lists in runs:
        for label, fields in options:
            config = QualsConfig(**fields)
            out[label + suffix] = [
                config.summary_score([PairScore.from_dict(p) for p in pairs])
                if all("token_logprobs_x" in p for p in pairs)
                else math.nan
                for pairs in pair_lists
            ]
    return out


def paired_difference(
    option: Sequence[float], paper: Sequence[float], human: Sequence[float]
) -> dict[str, float] | None:
    """Pearson of ``option`` minus Pearson of ``paper`` with the human labels, over the
    summaries both define, and its 95% paired bootstrap interval (same resamples for both)."""
    x, p, y = (np.asarray(v, dtype=float) for v in (option, paper, human))
    keep = ~(np.isnan(x) | np.isnan(p))
    x, p, y = x[keep], p[keep], y[keep]
    if len(x) < 3:
        return None
    idx = np.random.default_rng(SEED).integers(0, len(x), size=(BOOTSTRAP, len(x)))
    boot = _rowwise_pearson(x[idx], y[idx]) - _rowwise_pearson(p[idx], y[idx])
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    point = float(_rowwise_pearson(x, y) - _rowwise_pearson(p, y))
    return {"r": point, "low": float(low), "high": float(high)}


def option_analysis(
    rows: list[dict],
    human: list[float],
    ids: Sequence[int],
    windowed: tuple[int, list[dict]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per option and half (A, B) of the summaries ``ids``: Pearson and Spearman with the
    human labels, and the paired Pearson difference to the paper's QUALS."""
    scores = option_scores(rows, windowed)
    paper = scores[OPTIONS[0][0]]
    result: dict[str, dict[str, Any]] = {label: {} for label in scores}
    for half, idx in zip("AB", halves(ids)):
        h, p = [human[i] for i in idx], [paper[i] for i in idx]
        for label, values in scores.items():
            v = [values[i] for i in idx]
            result[label][half] = {**correlations(v, h), "diff": paired_difference(v, p, h)}
    return result


def faithful_above_unfaithful(metric: Sequence[float], human: Sequence[float]) -> dict[str, Any]:
    """How often a summary that people labelled wholly consistent (1) scores above one they
    labelled wholly inconsistent (0), over every such pair of summaries, ties counting half
    (the ROC AUC of the metric for the 0/1 labels): what one comparison, as in `quals-hf demo`,
    can be expected to show. NaN scores are left out; NaN without summaries of either label."""
    good = [m for m, h in zip(metric, human) if h == 1 and not math.isnan(m)]
    bad = [m for m, h in zip(metric, human) if h == 0 and not math.isnan(m)]
    share = auc(good, bad) if good and bad else math.nan
    return {"share": share, "faithful": len(good), "unfaithful": len(bad)}


def worst_disagreements(metric: list[float], human: list[float], k: int = 3) -> list[int]:
    """Positions of the ``k`` summaries whose metric rank is farthest from their human rank
    (ranks scaled to [0, 1]; NaN scores are left out)."""
    keep = [i for i, v in enumerate(metric) if not math.isnan(v)]
    m = stats.rankdata([metric[i] for i in keep]) / len(keep)
    h = stats.rankdata([human[i] for i in keep]) / len(keep)
    order = np.argsort(-np.abs(m - h), kind="stable")[:k]
    return [keep[j] for j in order]


# ---------------------------------------------------------------- one set


def explain_png(
    args: argparse.Namespace, name: str, k: int, source: str, summary: str
) -> str | None:
    """The explain report of one summary as a PNG beside the ``--write`` page (``--explain``)."""
    if not (args.explain and args.write):
        return None
    path = args.write.parent / "images" / f"{args.write.stem}_worst_{name}_{k + 1}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    quals_scorer(args).explain(source, summary).save_png(path)
    return path.relative_to(args.write.parent).as_posix()


def evaluate_set(name: str, args: argparse.Namespace) -> dict[str, Any]:
    data = load_qags(name).to_dict()
    # a seeded random order: --n N scores an unbiased sample, and a larger N (or a resumed
    # run) extends a smaller one instead of starting over
    order = list(range(len(data["id"])))
    random.Random(SAMPLE_SEED).shuffle(order)
    limit = args.n.get(name, args.n.get("all"))
    if limit is not None:
        order = order[:limit]
    if args.shard is not None:  # every n-th summary from the k-th: one of n parallel processes
        k, n = args.shard
        order = order[k::n]
    data["order"] = order
    data["summary"] = [FORMS[args.form](s) for s in data["summary"]]
    assert data["id"] == list(range(len(data["id"])))
    ids = order  # every metric is measured on the same summaries
    documents = [data["document"][i] for i in ids]
    summaries = [data["summary"][i] for i in ids]
    human = [data["consistency"][i] for i in ids]
    columns: dict[str, list[float]] = {}

    rouge2 = rouge2_precision_fn()
    columns["rouge2_p"] = [rouge2(d, s) for d, s in zip(documents, summaries)]
    columns["word_share"] = [word_share(d, s) for d, s in zip(documents, summaries)]
    columns["bigram_share"] = [bigram_share(d, s) for d, s in zip(documents, summaries)]
    extra: dict[str, Any] = {"n": len(ids)}

    def complete(store: ResultStore) -> bool:
        """Whether ``store`` holds every summary; with --stored a missing one is an error."""
        missing = sum(i not in store.rows for i in ids)
        if missing and args.stored:
            raise SystemExit(f"--stored: {missing} summaries of {name} are not in {store.path}")
        return not missing

    if not args.skip_likelihood:
        store = ResultStore(args.out / f"likelihood_{name}.jsonl")
        if not complete(store):
            if args._likelihood is None:
                args._likelihood = LikelihoodBaseline(args.qagen, args.device, dtype=args.dtype)
            run_resumable(
                f"likelihood {name}",
                store,
                data,
                args.batch_size,
                lambda src, summ: args._likelihood.score(src, summ, args.batch_size),
            )
        rows = [store.rows[i] for i in ids]
        columns["likelihood"] = [r["likelihood"] for r in rows]
        extra["likelihood"] = {
            "seconds_per_summary": statistics.fmean(r["seconds"] for r in rows),
            "total_seconds": sum(r["seconds"] for r in rows),
            "sources_truncated": sum(r["source_truncated"] for r in rows),
        }

    if not args.skip_quals:
        store = ResultStore(args.out / f"quals_{name}.jsonl")
        if not complete(store):
            if args._quals is None:
                args._quals = quals_score_fn(args)
            run_resumable(f"QUALS {name}", store, data, args.batch_size, args._quals)
        rows = [store.rows[i] for i in ids]
        windowed = None
        if args.source_window_tokens is not None:
            size = args.source_window_tokens
            wstore = ResultStore(args.out / f"quals_windows{size}_{name}.jsonl")
            if not complete(wstore):
                stored = {
                    (data["document"][i], data["summary"][i]): store.rows[i]["pairs"] for i in ids
                }
                run_resumable(
                    f"QUALS {name}, windows {size}",
                    wstore,
                    data,
                    args.batch_size,
                    windows_score_fn(args, stored),
                )
            windowed = (size, [wstore.rows[i] for i in ids])
        columns["quals"] = [r["quals"] for r in rows]
        extra["quals"] = {
            "mean_pairs": statistics.fmean(r["num_pairs"] for r in rows),
            "nan_share": sum(math.isnan(r["quals"]) for r in rows) / len(rows),
            "seconds_per_summary": statistics.fmean(r["seconds"] for r in rows),
            "total_seconds": sum(r["seconds"] for r in rows),
            **answer_stats(rows, dict(zip(ids, summaries))),
            "variants": variant_correlations(rows, summaries, human),
            "options": option_analysis(rows, human, ids, windowed),
            "ranking": faithful_above_unfaithful(columns["quals"], human),
        }
        extra["worst"] = [
            {
                "id": ids[i],
                "summary": summaries[i],
                "human": human[i],
                "quals": rows[i]["quals"],
                "pairs": sorted(rows[i]["pairs"], key=lambda p: p["lp_x"] - p["lp_y"])[:3],
                "png": explain_png(args, name, k, documents[i], summaries[i]),
            }
            for k, i in enumerate(worst_disagreements(columns["quals"], human))
        ]

    corr = {col: correlations(values, human) for col, values in columns.items()}
    return {"corr": corr, "extra": extra, "columns": columns, "human": human}


# ---------------------------------------------------------------- output


def cell(c: dict[str, Any] | None, kind: str) -> str:
    if c is None or c.get(kind) is None:
        return "n/a"
    v = c[kind]
    return f"{100 * v['r']:.1f} [{100 * v['low']:.1f}, {100 * v['high']:.1f}]"


def ref_cell(ref: dict[str, Any], kind: str, name: str) -> str:
    values = ref[kind]
    return "n/a" if values is None or values.get(name) is None else values[name]


def table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    """The markdown table: measured rows, then published reference rows."""
    sets = list(results)
    head = ["Metric"]
    for name in sets:
        head += [f"{SET_TITLES[name]} Pearson", f"{SET_TITLES[name]} Spearman"]
    head.append("n (" + " / ".join(SET_TITLES[s] for s in sets) + ")")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, col in METRICS:
        skipped = (col == "quals" and args.skip_quals) or (
            col == "likelihood" and args.skip_likelihood
        )
        row = [label]
        for name in sets:
            c = None if skipped else results[name]["corr"].get(col)
            row += ["not run"] * 2 if skipped else [cell(c, "pearson"), cell(c, "spearman")]
        row.append("—" if skipped else " / ".join(str(results[s]["corr"][col]["n"]) for s in sets))
        lines.append("| " + " | ".join(row) + " |")
    for k, ref in enumerate(REFERENCES, start=1):
        row = [f"*{ref['metric']}*, published [{k}]"]
        for name in sets:
            row += [ref_cell(ref, "pearson", name), ref_cell(ref, "spearman", name)]
        row.append("—")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def extra_lines(results: dict[str, dict[str, Any]]) -> str:
    lines = []
    for name, res in results.items():
        ex = res["extra"]
        parts = [f"**{SET_TITLES[name]}** ({ex['n']} summaries)"]
        if "quals" in ex:
            q = ex["quals"]
            parts.append(
                f"QUALS: {q['mean_pairs']:.2f} pairs per summary, NaN share {q['nan_share']:.1%}, "
                f"{q['seconds_per_summary']:.2f} s per summary ({q['total_seconds']:.0f} s in all)"
            )
            if "ranking" in q:
                rk = q["ranking"]
                parts.append(
                    f"a summary labelled wholly consistent scores above one labelled wholly "
                    f"inconsistent in {rk['share']:.1%} of their pairs ({rk['faithful']} × "
                    f"{rk['unfaithful']} summaries)"
                )
            if q.get("answers"):
                parts.append(
                    f"kept answers: {q['answers']}, median {q['median_words']:g} words, mean "
                    f"{q['mean_words']:.1f}; {q['share_ge_0.8_summary']:.1%} are at least 0.8 of "
                    f"the summary's length; {q['share_whole_summary']:.1%} are the whole summary"
                )
        if "likelihood" in ex:
            lk = ex["likelihood"]
            parts.append(
                f"likelihood baseline: {lk['seconds_per_summary']:.2f} s per summary "
                f"({lk['total_seconds']:.0f} s in all), {lk['sources_truncated']} sources cut "
                f"to fit {MAX_TOKENS} tokens"
            )
        lines.append("- " + "; ".join(parts))
    return "\n".join(lines)


def analysis(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: the `VARIANTS` table and the worst disagreements, where QUALS was run."""
    sets = [n for n, r in results.items() if "quals" in r["extra"]]
    if not sets:
        return "(QUALS was not run)"
    head = ["Variant"] + [f"{SET_TITLES[n]} {k}" for n in sets for k in ("Pearson", "Spearman")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, _ in VARIANTS:
        cells = [
            cell(results[n]["extra"]["quals"]["variants"][label], kind)
            for n in sets
            for kind in ("pearson", "spearman")
        ]
        lines.append("| " + " | ".join([label, *cells]) + " |")
    lines.append(
        "\nThe worst disagreements: the summaries whose QUALS rank is farthest from their human "
        "rank, with their three least consistent pairs (question → answer: lp_x, lp_y)."
    )
    for name in sets:
        lines.append(f"\n**{SET_TITLES[name]}**\n")
        for w in results[name]["extra"]["worst"]:
            pairs = "; ".join(
                f"{p['question']} → {p['answer']}: {p['lp_x']:.2f}, {p['lp_y']:.2f}"
                for p in w["pairs"]
            )
            lines.append(
                f"- #{w['id']}, human {w['human']:.2f}, QUALS {w['quals']:.3f}: "
                f'"{w["summary"].strip()}" Pairs: {pairs}'
            )
            if w["png"]:
                lines.append(f"\n  ![explain {name} #{w['id']}]({w['png']})")
    return "\n".join(lines)


def option_table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: every scoring option's Pearson on each half of each set, its paired difference
    to the paper's QUALS, and whether it wins on every half (difference interval above 0)."""
    sets = [n for n, r in results.items() if "options" in r["extra"].get("quals", {})]
    if not sets:
        return "(QUALS was not run)"
    head = ["option"]
    for n in sets:
        for h in "AB":
            head += [f"{SET_TITLES[n]} {h}: Pearson", f"{SET_TITLES[n]} {h}: − paper"]
    lines = ["| " + " | ".join([*head, "wins on all"]) + " |", "|" + "---|" * (len(head) + 1)]
    for label in results[sets[0]]["extra"]["quals"]["options"]:
        cells, wins = [], []
        for n in sets:
            for h in "AB":
                got = results[n]["extra"]["quals"]["options"][label][h]
                diff = got["diff"]
                cells += [cell(got, "pearson"), cell({"diff": diff}, "diff")]
                wins.append(bool(diff) and diff["low"] > 0)
        lines.append("| " + " | ".join([label, *cells, "yes" if all(wins) else "no"]) + " |")
    return "\n".join(lines)


def scatter_plots(results: dict[str, dict[str, Any]], folder: Path, prefix: str) -> list[Path]:
    """One figure per set: each model score (QUALS, likelihood) against the human label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(SEED)
    for name, res in results.items():
        panels = [(lbl, col) for lbl, col in METRICS if col in ("quals", "likelihood")]
        panels = [(lbl, col) for lbl, col in panels if col in res["columns"]]
        if not panels:
            continue
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
        human = np.asarray(res["human"], dtype=float)
        jitter = rng.uniform(-0.04, 0.04, size=len(human))
        for ax, (label, col) in zip(axes[0], panels):
            x = np.asarray(res["columns"][col], dtype=float)
            keep = ~np.isnan(x)
            ax.scatter(x[keep], human[keep] + jitter[keep], s=12, alpha=0.6)
            c = res["corr"][col]
            r = "n/a" if c["pearson"] is None else f"{c['pearson']['r']:.2f}"
            rho = "n/a" if c["spearman"] is None else f"{c['spearman']['r']:.2f}"
            ax.set_title(f"{label.split(':')[0]}: Pearson {r}, Spearman {rho} (n={c['n']})")
            ax.set_xlabel(label)
            ax.set_ylabel("human consistency (jittered ±0.04)")
        fig.suptitle(SET_TITLES[name])
        fig.tight_layout()
        path = folder / f"{prefix}_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def machine(args: argparse.Namespace) -> str:
    cpu = platform.processor() or platform.machine()
    text = f"{platform.platform()}, {cpu}, {os.cpu_count()} CPUs ({torch.get_num_threads()} "
    text += f"torch threads), torch {torch.__version__}, device {args.device}"
    if args.device.startswith("cuda") and torch.cuda.is_available():
        text += f" ({torch.cuda.get_device_name()})"
    return text


def write_page(
    path: Path, results: dict[str, dict[str, Any]], args: argparse.Namespace, command: str
) -> None:
    images = scatter_plots(results, path.parent / "images", path.stem)
    refs = "\n".join(f"{k}. {ref['source']}" for k, ref in enumerate(REFERENCES, start=1))
    plots = "\n\n".join(f"![{p.stem}]({p.relative_to(path.parent).as_posix()})" for p in images)
    sets = " and ".join(f"{results[s]['extra']['n']} {SET_TITLES[s]}" for s in results)
    page = f"""# Validity: QUALS against human labels

How well do QUALS scores agree with human judgments of factual consistency? The data are the
QAGS annotations (Wang et al., ACL 2020) vendored in `quals_hf.benchmark_data` ({sets}
summaries): CNNDM summaries carry the share of their sentences judged consistent, XSum summaries
a 0/1 label (there Pearson is the point-biserial correlation).

- command: `{command}`
- machine: {machine(args)}
- date: {datetime.date.today()}
- QAGen: `{args.qagen}`, weights {args.dtype}, {args.num_groups} search groups

## Correlations with the human labels

Correlations x100 with percentile-bootstrap 95% intervals ({BOOTSTRAP} resamples, seed {SEED}),
over the summaries where the metric is defined (n; QUALS is NaN where no pair survived). Every
metric is "higher = more consistent". Rows in italics are published numbers of other metrics on
the same data, not measured here; n/a means not found in a source that could be read.

{table(results, args)}

Measured metrics: QUALS (`QualsScorer`, default settings); ROUGE-2 precision of the summary
against the source (`rouge_score`, no stemmer); share of summary words (`\\w+`, lower-cased) and
of summary word bigrams found in the source; a likelihood baseline with the same QAGen model:
mean log p(summary + EOS | prompt(source)) - mean log p(summary + EOS | prompt("")), the source
cut at its end to fit {MAX_TOKENS} tokens.

Sources of the published rows:

{refs}

## More statistics

{extra_lines(results)}

## Scoring options, on two halves

Every `QualsConfig` scoring option (docs/quals.md), recomputed from the same stored pairs. Each
set is split at random (seed {HALF_SEED}) into halves A and B: choose on A, confirm on B. "−
paper": Pearson of the option minus that of the paper's QUALS, with a paired bootstrap interval
({BOOTSTRAP} resamples of the same summaries for both); "wins on all": that interval lies above
0 on both halves of every set.

{option_table(results)}

## Deviations from the paper's settings, and the worst disagreements

Each variant is recomputed from the same stored pairs as QUALS (no new search); they are
reported beside QUALS as specified, not instead of it.

{analysis(results)}

## Plots

{plots or "(no model-based metric was run)"}

## What this shows

**TODO (to be written by a person after reading the numbers): what the table does and does not
show, compared with the baselines and the published metrics.**
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
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
    parser.add_argument("--sets", nargs="+", choices=QAGS_NAMES, default=list(QAGS_NAMES))
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
    args = parser.parse_args(argv)
    limits: dict[str, int] = {}
    for item in args.n:
        name, _, value = item.rpartition("=")
        if name not in ("", *QAGS_NAMES) or not value.isdigit() or int(value) < 3:
            parser.error(f"--n {item}: give N or SET=N with N >= 3 (correlations need 3 points)")
        limits[name or "all"] = int(value)
    args.n = limits
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.shard is not None:
        k, _, n = args.shard.partition("/")
        if not (k.isdigit() and n.isdigit() and int(k) < int(n)):
            parser.error(f"--shard {args.shard}: give K/N with 0 <= K < N")
        args.shard = (int(k), int(n))
    if args.source_window_tokens is not None and args.source_window_tokens < 1:
        parser.error("--source-window-tokens must be at least 1")
    needs_model = not ((args.skip_quals and args.skip_likelihood) or args.stored)
    if needs_model:
        if args.qagen is None:
            from quals_hf.qagen.default import default_qagen_dir

            args.qagen = default_qagen_dir()  # the package's QAGen, built on first use
        if not (args.qagen / "config.json").is_file():
            parser.error(
                f"--qagen {args.qagen}: no config.json there (a QAGen checkpoint folder; "
                "omit --qagen for the package's QAGen)"
            )
    args.command = "python benchmarks/validity.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    if needs_model:
        check_out_dir(args.out, args)
    args._likelihood = args._quals = args._scorer = None

    results = {name: evaluate_set(name, args) for name in args.sets}
    command = args.command
    print(table(results, args))
    print()
    print(extra_lines(results))
    print()
    print(analysis(results))
    summary = {name: {"corr": res["corr"], "extra": res["extra"]} for name, res in results.items()}
    (args.out / "summary.json").parent.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    if args.write:
        write_page(args.write, results, args, command)
        print(f"\nwrote {args.write}")


if __name__ == "__main__":
    main()
