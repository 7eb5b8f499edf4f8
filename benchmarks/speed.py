"""Speed of QUALS against batched QAGS and a naive reference-style QUALS, on real news text.

Reads the article/summary pairs of the QAGS annotations vendored with the package
(`quals_hf.load_qags`), builds same-size BART models from a config (random weights; no hub is
reachable): the QAGen, QAGS' question generator (QG) and QAGS' extractive QA model. Random
weights write no parsable text, so the work is pinned to realistic amounts: QUALS scores the
10 best of its 60 hypotheses, all 20 tokens long; QAGS asks 10 questions of 12 tokens per
summary and keeps them all.

    ROWS=benchmarks/results/speed/random_bart.jsonl.gz
    python benchmarks/speed.py --size small --n 4 --rows $ROWS   # smoke check: about a minute
    python benchmarks/speed.py --size base --n 8 --rows $ROWS

Prints a markdown table: seconds per summary, peak memory, the ratios, QUALS' share of time in
the scoring passes, and each method's achieved FLOP/s against a plain matmul on the same
machine. ``--rows`` appends one row per method to a .jsonl.gz (``--qagen``: one per repeat),
from which `benchmarks/report.py` renders the tables of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tokenizers import ByteLevelBPETokenizer, processors
from torch.utils.flop_counter import FlopCounterMode
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    BartForQuestionAnswering,
    PreTrainedTokenizerFast,
)

sys.path.insert(0, str(Path(__file__).parent))
import report_speed
from machine import cpu
from naive_quals import naive_quals

from quals_hf import QAPair, QualsScorer, load_qags
from quals_hf.qagen.likelihood import target_token_logprobs
from quals_hf.qagen.search import DiverseBeamOutput
from quals_hf.qags import QagsScorer
from quals_hf.qags.answers import regex_answer_candidates

SIZES = {  # d_model, layers (encoder = decoder), heads, feed-forward width
    "small": (256, 2, 4, 1024),
    "base": (768, 6, 12, 3072),  # BART-base
    "large": (1024, 12, 16, 4096),  # BART-large, the paper's size
}
VOCAB = 50265  # BART's: the output layer costs what it costs in the real models
PAIR_TOKENS, QUESTION_TOKENS, NUM_ANSWERS = 20, 12, 10
DEFAULT = Path("the package's QAGen")  # --qagen without a folder


def load_pairs(name: str, n: int) -> list[tuple[str, str]]:
    """The first ``n`` (document, summary) pairs of a QAGS set."""
    data = load_qags(name)
    rows = data.select(range(min(n, len(data))))
    return list(zip(rows["document"], rows["summary"]))


def train_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    """A byte-level BPE like BART's, trained on the benchmark texts in a second."""
    bpe = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    bpe.train_from_iterator(texts, vocab_size=8000, special_tokens=specials)
    bpe.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=1024,
    )


def bart_config(size: str, tokenizer: PreTrainedTokenizerFast) -> BartConfig:
    d_model, layers, heads, ffn = SIZES[size]
    return BartConfig(
        vocab_size=VOCAB,
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn,
        decoder_ffn_dim=ffn,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
    )


class Stopwatch:
    """Accumulated seconds per label; synchronises CUDA so that times are real."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.seconds = device, {}

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def time(self, label: str, fn: Callable, *args, **kwargs):
        self.sync()
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        self.sync()
        self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start
        return result


class TimedQualsScorer(QualsScorer):
    """`QualsScorer` recording the time of its teacher-forced scoring passes (lp_x) in
    ``stopwatch.seconds["scoring"]``."""

    stopwatch: Stopwatch

    def _token_logprobs(self, inputs, pairs):
        return self.stopwatch.time("scoring", super()._token_logprobs, inputs, pairs)


class PinnedQualsScorer(TimedQualsScorer):
    """QUALS with the pair filter pinned: the ``max_pairs`` best hypotheses are scored as-is.

    Random weights write no ``question <sep> answer`` text, so the filter would drop everything;
    pinning keeps the amount of work of a trained model. Each pair is scored on its generated
    tokens with the search's log-probabilities as lp_y, as `QualsScorer` scores a one-pair
    hypothesis.
    """

    def _pairs_from_search(
        self, summary: str, out: DiverseBeamOutput
    ) -> list[tuple[QAPair, torch.Tensor]]:
        key = self.codec.pair_key("", "")
        return [
            (
                QAPair("", "", score, token_ids=out.generated(i), token_key=key),
                out.token_logprobs[i, : int(out.lengths[i])],
            )
            for i, score in enumerate(out.scores[: self.config.max_pairs].tolist())
        ]


def ten_answers(summary: str) -> list[str]:
    """QAGS' 10 answer candidates; like the published pipeline, repeated when there are fewer."""
    found = regex_answer_candidates(summary) or summary.split()[:1]
    return [found[i % len(found)] for i in range(NUM_ANSWERS)]


def matmul_flops_per_s(device: torch.device, dtype: torch.dtype) -> float:
    """The machine's plain-matmul rate: square matmuls repeated for about a second."""
    n = 4096 if device.type == "cuda" else 2048
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    watch, reps = Stopwatch(device), 0
    watch.time("warm", torch.mm, a, b)
    while watch.seconds.get("mm", 0.0) < 1.0:
        watch.time("mm", torch.mm, a, b)
        reps += 1
    return 2 * n**3 * reps / watch.seconds["mm"]


def peak_memory_reset(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:  # Linux: resets VmHWM, the process' peak resident memory
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory_gib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 2**20


def run(args: argparse.Namespace) -> str:
    device = torch.device(args.device)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    pairs = load_pairs(args.data, args.n)
    sources, summaries = [d for d, _ in pairs], [s for _, s in pairs]
    tokenizer = train_tokenizer(sources + summaries)
    config = bart_config(args.size, tokenizer)

    def build(cls, seed):
        torch.manual_seed(seed)
        return cls(config).to(device=device, dtype=dtype).eval()

    qagen, qg, qa = (
        build(BartForConditionalGeneration, 0),
        build(BartForConditionalGeneration, 1),
        build(BartForQuestionAnswering, 2),
    )
    watch = Stopwatch(device)
    quals = PinnedQualsScorer(
        qagen,
        tokenizer,
        batch_size=args.batch_size,
        progress=False,
        min_new_tokens=PAIR_TOKENS,
        max_new_tokens=PAIR_TOKENS,
    )
    quals.stopwatch = watch
    qags = QagsScorer(
        qg,
        tokenizer,
        qa,
        tokenizer,
        answer_extractor=ten_answers,
        batch_size=args.batch_size,
        progress=False,
        min_question_tokens=QUESTION_TOKENS,
        max_question_tokens=QUESTION_TOKENS,
        answer_match_f1=0.0,  # keep every question: random weights answer at random
    )
    methods = {  # each scores the first k summaries
        "QUALS (quals_hf)": lambda k: quals.score(sources[:k], summaries[:k]).scores,
        "QAGS, batched (quals_hf.qags)": lambda k: qags.score(sources[:k], summaries[:k]).scores,
        "QUALS, naive reference-style": lambda k: naive_quals(quals, sources[:k], summaries[:k]),
    }
    if args.skip_naive:
        del methods["QUALS, naive reference-style"]

    warm = min(2, args.n)  # first calls pay for allocations and kernel selection
    methods["QUALS (quals_hf)"](warm)
    methods["QAGS, batched (quals_hf.qags)"](warm)
    timed, results = {}, {}
    for name, fn in methods.items():
        watch.seconds.clear()
        peak_memory_reset(device)
        results[name] = watch.time("total", fn, args.n)
        timed[name] = (dict(watch.seconds), peak_memory_gib(device))
        print(f"{name}: {watch.seconds['total']:.1f} s", file=sys.stderr)

    if "QUALS, naive reference-style" in results:
        gap = max(
            abs(a - b)
            for a, b in zip(results["QUALS (quals_hf)"], results["QUALS, naive reference-style"])
        )
        print(f"naive vs batched QUALS, largest score difference: {gap:.2e}", file=sys.stderr)
        tolerance = 1e-4 if dtype == torch.float32 else 5e-2
        if not gap <= tolerance:  # the two must do the same work, or the ratio means nothing
            raise SystemExit(f"naive and batched QUALS disagree by {gap:.2e} > {tolerance}")

    counted = min(args.batch_size, args.n)
    flops = {}
    for name, fn in methods.items():  # each method's work on the first `counted` summaries
        with FlopCounterMode(display=False) as counter:
            fn(counted)
        flops[name] = counter.get_total_flops()
    matmul = matmul_flops_per_s(device, dtype)
    rows = method_rows(args, device, timed, flops, counted, matmul)
    for row in rows:
        store_row(args.rows, row)
    return report(rows)


class PhaseTimer:
    """Seconds per phase of `QualsScorer.score` with a real QAGen: the backend's reads and
    steps in the search (summary read, search steps) and in scoring (source read, scoring
    targets), the output layer's share of them, and the Python work around them."""

    def __init__(self, scorer: QualsScorer, watch: Stopwatch) -> None:
        self.watch, self.phase = watch, "other"
        backend = type(scorer.backend)  # the search makes its own backend of the model
        for name in ("read", "step"):
            setattr(backend, name, self._timed(getattr(backend, name), name))
        scorer._search = self._in_phase("search", scorer._search)
        scorer._token_logprobs = self._in_phase("scoring", scorer._token_logprobs)
        head = scorer.model.get_output_embeddings()
        head.register_forward_pre_hook(lambda *_: self._head(start=True))
        head.register_forward_hook(lambda *_: self._head(start=False))

    def _timed(self, method: Callable, label: str) -> Callable:
        def timed(backend, *args, **kwargs):
            return self.watch.time(f"{self.phase} {label}", method, backend, *args, **kwargs)

        return timed

    def _in_phase(self, phase: str, fn: Callable) -> Callable:
        def run(*args, **kwargs):
            self.phase = phase
            try:
                return fn(*args, **kwargs)
            finally:
                self.phase = "other"

        return run

    def _head(self, start: bool) -> None:
        self.watch.sync()
        if start:
            self._head_start = time.perf_counter()
        else:
            seconds = time.perf_counter() - self._head_start
            self.watch.seconds["output layer"] = (
                self.watch.seconds.get("output layer", 0.0) + seconds
            )


def stamped(args: argparse.Namespace, device: torch.device, **fields: Any) -> dict[str, Any]:
    """A row of measurements ``fields`` after the label, commit, date, machine and the settings
    both modes share, so that `benchmarks/report.py` can recompute the tables of
    docs/benchmarks.md from it."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    ).stdout.strip()
    return {
        "label": args.label,
        "commit": commit,
        "date": datetime.date.today().isoformat(),
        "machine": machine(device),
        "torch": torch.__version__,
        "data": args.data,
        "n": args.n,
        "dtype": args.dtype,
        "batch_size": args.batch_size,
        **fields,
    }


def store_row(path: Path | None, row: dict[str, Any]) -> None:
    """Append ``row`` to ``path`` (gzipped JSON lines; nothing when ``path`` is None)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "at") as f:  # one gzip member per row: a crash loses at most one
        f.write(json.dumps(row) + "\n")


def floor_read_seconds(scorer: QualsScorer, sources: list[str], summaries: list[str]) -> float:
    """Seconds of one teacher-forced read of each source prompt followed by its summary (the
    logits of the summary part only), in batches of the scorer's size: every QUALS must read
    the source once, so this is the floor its cost is measured against."""
    prompts = scorer.codec.encode_inputs(sources, scorer.max_input_length, "sources")
    targets = [
        [([], scorer.tokenizer(y, add_special_tokens=False)["input_ids"])] for y in summaries
    ]
    start = time.perf_counter()
    for i in range(0, len(prompts), scorer.batch_size):
        end = i + scorer.batch_size
        target_token_logprobs(scorer.backend, prompts[i:end], targets[i:end])
    return time.perf_counter() - start


def profile_real_qagen(args: argparse.Namespace) -> str:
    """QUALS alone with a trained QAGen from ``--qagen``: time per summary beside the floor
    (one read of each source prompt and summary), the phase profile and FLOP/s (no QAGS or
    naive rows: there are no trained QAGS models here)."""
    device = torch.device(args.device)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    pairs = load_pairs(args.data, args.n)
    sources, summaries = [d for d, _ in pairs], [s for _, s in pairs]
    quals = QualsScorer.from_pretrained(
        None if args.qagen == DEFAULT else str(args.qagen),
        device=args.device,
        dtype=dtype,
        batch_size=args.batch_size,
        num_groups=args.num_groups,
        progress=False,
    )
    watch = Stopwatch(device)
    quals.score(sources[:1], summaries[:1])  # warm-up
    PhaseTimer(quals, watch)
    floors, totals = [], []
    for _ in range(args.repeat):  # interleaved, so that a slow spell of the machine hits both
        phases = dict(watch.seconds)
        floors.append(floor_read_seconds(quals, sources, summaries) / args.n)
        watch.seconds = phases  # the floor's reads are not QUALS' phases
        before = watch.seconds.get("total", 0.0)
        out = watch.time("total", quals.score, sources, summaries)
        totals.append(watch.seconds["total"] - before)
        row = stamped(
            args,
            device,
            qagen=str(args.qagen),
            num_groups=args.num_groups,
            floor_s=floors[-1],
            quals_s=totals[-1] / args.n,
            pairs_per_summary=sum(out.num_pairs) / args.n,
        )
        store_row(args.rows, row)
    floor, per_summary = statistics.median(floors), statistics.median(totals) / args.n
    seconds = dict(watch.seconds)  # before the FLOP count runs the (still timed) model again
    counted = min(2, args.n)
    with FlopCounterMode(display=False) as counter:
        quals.score(sources[:counted], summaries[:counted])
    flops = counter.get_total_flops() / counted
    peak = matmul_flops_per_s(device, dtype)
    total = seconds.pop("total")  # of all repeats: the phase shares are over all of them
    achieved = flops / per_summary
    head = seconds.pop("output layer", 0.0)
    phases = {**seconds, "Python and the rest": total - sum(seconds.values())}
    profile = " ".join(f"| {100 * v / total:.0f}%" for v in phases.values())
    return "\n".join(
        [
            "| QAGen | s per summary | floor: one read, s | QUALS ÷ floor | pairs per summary "
            "| GFLOP per summary | achieved GFLOP/s | of matmul FLOP/s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            f"| `{args.qagen}` | {per_summary:.2f} | {floor:.2f} | {per_summary / floor:.1f} "
            f"| {sum(out.num_pairs) / args.n:.1f} | {flops / 1e9:.1f} | {achieved / 1e9:.1f} "
            f"| {achieved / peak:.0%} |",
            "",
            "Where QUALS' time goes (share of its wall time; the output layer's share is inside "
            f"the reads and steps: {100 * head / total:.0f}%):",
            "",
            "| " + " | ".join(phases) + " |",
            "|" + "---:|" * len(phases),
            profile + " |",
            "",
            f"Plain {args.dtype} matmul on this machine: {peak / 1e9:.1f} GFLOP/s. GFLOP "
            f"counted with `FlopCounterMode` on the first {counted} summaries.",
        ]
    )


def method_rows(
    args: argparse.Namespace,
    device: torch.device,
    timed: dict[str, tuple[dict[str, float], float]],
    flops: dict[str, float],
    counted: int,
    matmul: float,
) -> list[dict[str, Any]]:
    """One row per method (`stamped`): seconds, peak memory, how many times QUALS' time it
    took, the share of its time in QUALS' scoring passes (QUALS only), its FLOPs per summary
    (counted on the first ``counted`` summaries) and achieved FLOP/s beside the plain-matmul
    rate ``matmul``."""
    quals_s = timed["QUALS (quals_hf)"][0]["total"]
    rows = []
    for name, (seconds, memory) in timed.items():
        total, per_summary = seconds["total"], flops[name] / counted
        rows.append(
            stamped(
                args,
                device,
                size=args.size,
                method=name,
                seconds=total,
                s_per_summary=total / args.n,
                peak_memory_gib=memory,
                quals_faster=total / quals_s,
                scoring_share=seconds["scoring"] / total if "scoring" in seconds else None,
                gflop_per_summary=per_summary / 1e9,
                achieved_gflop_s=per_summary * args.n / total / 1e9,
                matmul_gflop_s=matmul / 1e9,
            )
        )
    return rows


def report(rows: list[dict[str, Any]]) -> str:
    """The rows as docs/benchmarks.md shows them, then the targets they meet or miss."""
    by_method = {row["method"]: row for row in rows}
    quals = by_method["QUALS (quals_hf)"]
    qags_ratio = by_method["QAGS, batched (quals_hf.qags)"]["quals_faster"]
    of_matmul = quals["achieved_gflop_s"] / quals["matmul_gflop_s"]
    scoring = quals["scoring_share"]
    targets = [
        ("QUALS ≥ 2× batched QAGS", qags_ratio >= 2, f"{qags_ratio:.1f}×"),
        ("scoring ≤ 25% of QUALS time", scoring <= 0.25, f"{scoring:.0%}"),
        ("QUALS ≥ 30% of matmul FLOP/s", of_matmul >= 0.3, f"{of_matmul:.0%}"),
    ]
    naive = by_method.get("QUALS, naive reference-style")
    if naive:
        ratio = naive["quals_faster"]
        targets.insert(1, ("QUALS ≥ 5× naive QUALS", ratio >= 5, f"{ratio:.1f}×"))
    return "\n".join(
        [
            report_speed.random_bart_table(rows),
            "| target | measured | met |",
            "|---|---:|:---:|",
            *(f"| {t} | {m} | {'yes' if ok else 'no'} |" for t, ok, m in targets),
        ]
    )


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu()}, {torch.get_num_threads()} torch threads"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--n", type=int, default=4, help="summaries scored by each method")
    parser.add_argument("--data", choices=["cnndm", "xsum"], default="cnndm")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=["fp32", "bf16", "fp16"], default="fp32")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive QUALS")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="with --qagen: time QUALS and the floor this many times, interleaved; report medians",
    )
    parser.add_argument(
        "--num-groups",
        type=int,
        default=60,
        help="with --qagen: QUALS' diverse search groups (the paper's 60; fewer is faster)",
    )
    parser.add_argument(
        "--qagen",
        type=Path,
        nargs="?",
        const=DEFAULT,
        help="profile QUALS with a trained QAGen (QUALS only): a folder, or no value for the "
        "package's QAGen",
    )
    parser.add_argument(
        "--rows",
        type=Path,
        help="append the measurements to this .jsonl.gz (with the machine): one row per method, "
        "with --qagen one per repeat",
    )
    parser.add_argument("--label", default="", help="with --rows: a name for these rows")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    start = time.perf_counter()
    table = profile_real_qagen(args) if args.qagen else run(args)
    command = "python benchmarks/speed.py " + " ".join(sys.argv[1:])
    device = torch.device(args.device)
    body = (
        f"`{command}` — {datetime.date.today()}, {machine(device)}, torch {torch.__version__}; "
        f"{args.n} QAGS-{args.data} summaries, batch size {args.batch_size}, {args.dtype}"
        f"{'' if args.num_groups == 60 else f', {args.num_groups} search groups'}"
        f"{f', medians of {args.repeat} interleaved runs' if args.repeat > 1 else ''}; "
        f"benchmark took {time.perf_counter() - start:.0f} s.\n\n{table}"
    )
    print(body)


if __name__ == "__main__":
    main()
