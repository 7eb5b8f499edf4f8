"""The tables of docs/ that rest on measurements, regenerated from the rows stored in
benchmarks/results/ without running a model.

    python benchmarks/report.py          # rewrite every table in docs/ and README.md
    python benchmarks/report.py --check  # exit 1, naming each table that differs

A table lives in a page between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``; NAME
is a key of `TABLES`, a function of the stored rows alone. A number in prose quotes one cell of
such a table: ``<!-- cell:NAME|ROW|COLUMN -->62.1<!-- /cell -->`` (`cell`), so that it is
checked and rewritten with the table. What is stored:

- ``results/validity/RUN/``: `benchmarks/validity.py` runs, one folder per QAGen, text form and
  setting (``meta.json`` says which), per-summary QUALS rows with every kept pair, its
  per-token log-probabilities and whether the search cut it (``quals_SET.jsonl.gz``);
- ``results/qagen_squad/RUN.jsonl.gz``: `benchmarks/qagen_squad.py`, per held-out SQuAD pair
  the target loss and the greedy generation of a QAGen (the model card's numbers).
- ``results/pair_acceptance/labels.jsonl``: a reader's judgements of pairs sampled from the
  validity runs by `benchmarks/pair_acceptance.py` (`report_acceptance`).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import report_acceptance
import report_conseq
import report_speed
import report_squad
import report_toy
from markdown_table import interval, pct, table
from stored_runs import (
    G20_RUN,
    NORM_PREFER_RUN,
    NORM_RUN,
    PREFER_RUN,
    SHIPPED_RUN,
    validity_runs,
)

from quals_hf import QualsConfig, ValidityResult, measure_validity
from quals_hf.benchmark_data import QAGS_NAMES, demo_pair, load_qags
from quals_hf.core.padding import length_chunks
from quals_hf.evaluation import (
    SET_TITLES,
    bigram_share,
    correlations,
    faithful_above_unfaithful,
    halves,
    paired_difference,
    rouge2_precision_fn,
    word_share,
)
from quals_hf.evaluation import report as validity_report
from quals_hf.qagen.likelihood import CALL_COST_TOKENS
from quals_hf.scoring.pair_quality import PAIR_FLAWS, flaw_shares
from quals_hf.scoring.pairs import PairScore

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PAGES = [
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "README.md",
    ROOT / "quals_hf" / "default_qagen" / "README.md",  # the model card
]
BLOCK = re.compile(
    r"(?P<open><!-- results:(?P<name>[\w-]+) -->\n)(?P<body>.*?)"
    r"(?P<close><!-- /results:(?P=name) -->)",
    re.S,
)
# a number in prose that quotes a table's cell (`cell`)
CELL = re.compile(
    r"(?P<open><!-- cell:(?P<ref>[^>]+?) -->)(?P<body>[^<]*)(?P<close><!-- /cell -->)"
)
QAGENS = {
    "qagen-v1": "v1, 4.x search",
    "qagen-v2": "v2 candidate, 4.x search",
    "qagen-v1-search2": "v1, search that lets answers end (shipped)",
    "qagen-v1-norm": "v1, answers that end, normalize_text=True",
    "qagen-v1-prefer": "v1, answers that end, pair_filter='prefer_well_formed'",
    "qagen-v1-norm-prefer": "v1, answers that end, normalize_text=True, prefer_well_formed",
    "qagen-v1-g20": "v1, answers that end, num_groups=20",
}
PACKAGE_SCORES = ROOT / "quals_hf" / "benchmark_data" / "qags" / "quals_scores.json"
FORMS = {"text": "as written", "lower-ptb": "lower-cased, PTB-tokenized"}


# ---------------------------------------------------------------- stored rows


@cache
def human(name: str) -> dict[int, float]:
    """The QAGS label of each summary id of a set."""
    data = load_qags(name)
    return dict(zip(data["id"], data["consistency"]))


def run_label(run: str) -> str:
    """``qagen-v1_text`` -> ``v1 (shipped), as written``."""
    qagen, _, form = run.partition("_")
    return f"{QAGENS.get(qagen, qagen)}, {FORMS.get(form, form)}"


def common_ids(runs: list[str], name: str) -> list[int]:
    """The summary ids of a set that every one of ``runs`` scored, in `SHIPPED_RUN`'s order (the
    seeded order, which the bootstrap's resamples follow: the same summaries in the same order
    give the same interval as docs/validity.md, whichever runs are stored beside them)."""
    found = [validity_runs()[r]["rows"][name] for r in runs]
    if not found:
        return []
    shipped = validity_runs().get(SHIPPED_RUN, {}).get("rows", {}).get(name, {})
    order = dict.fromkeys([*shipped, *found[0]])  # the shipped run's ids, then any others
    return [i for i in order if all(i in rows for rows in found)]


def quals(run: str, name: str, ids: list[int]) -> list[float]:
    rows = validity_runs()[run]["rows"][name]
    return [math.nan if rows[i]["quals"] is None else float(rows[i]["quals"]) for i in ids]


# ---------------------------------------------------------------- tables


def each_run(
    runs: list[str] | None = None,
) -> Iterator[tuple[str, str, list[int], dict[int, dict]]]:
    """``(set, run, ids, rows)`` for every stored run (or each of ``runs``) and set, over the
    summaries ``ids`` that all of them scored (so that runs are compared on the same ones)."""
    runs = runs or list(validity_runs())
    for name in QAGS_NAMES:
        ids = common_ids(runs, name)
        for run in runs if ids else []:
            yield name, run, ids, validity_runs()[run]["rows"][name]


def stored_flaw_shares(pairs: Iterable[dict[str, Any]]) -> dict[str, float | int]:
    """`flaw_shares` of stored pair rows (``question``, ``answer``, ``cut``)."""
    return flaw_shares((p["question"], p["answer"], p.get("cut", False)) for p in pairs)


def pair_quality(runs: list[str] | None = None) -> str:
    """Share of kept pairs with each `PAIR_FLAWS` flaw, per run and set."""
    rows = []
    for name, run, ids, stored in each_run(runs):
        shares = stored_flaw_shares(p for i in ids for p in stored[i]["pairs"])
        rows.append(
            [
                SET_TITLES[name],
                run_label(run),
                str(len(ids)),
                str(shares["pairs"]),
                f"**{pct(shares['malformed'])}**",
                *(pct(shares[flaw]) for flaw in PAIR_FLAWS),
            ]
        )
    head = ["set", "QAGen, summaries", "summaries", "pairs", "malformed", *PAIR_FLAWS]
    return table(head, rows)


def text_forms() -> str:
    """Per QAGen and set: how far QUALS moves when the same summaries are lower-cased and
    PTB-tokenized (median |Δ|, Pearson between the two forms' scores)."""
    rows = []
    for qagen, label in QAGENS.items():
        pair = [f"{qagen}_text", f"{qagen}_lower-ptb"]
        if not all(run in validity_runs() for run in pair):
            continue
        for name in QAGS_NAMES:
            ids = common_ids(pair, name)
            a, b = (quals(run, name, ids) for run in pair)
            both = [(x, y) for x, y in zip(a, b) if not (math.isnan(x) or math.isnan(y))]
            if len(both) < 3:
                continue
            deltas = [abs(x - y) for x, y in both]
            r = correlations([x for x, _ in both], [y for _, y in both])
            rows.append(
                [
                    SET_TITLES[name],
                    label,
                    str(len(both)),
                    f"{statistics.median(deltas):.3f}",
                    f"{max(deltas):.3f}",
                    interval(r),
                ]
            )
    head = ["set", "QAGen", "summaries", "median abs. Δ", "largest abs. Δ", "Pearson x100 [95%]"]
    return table(head, rows)


def lexical_columns(name: str, ids: list[int]) -> dict[str, list[float]]:
    """The word-overlap baselines of `benchmarks/validity.py` on summaries ``ids``."""
    data = load_qags(name)
    docs, sums = [data["document"][i] for i in ids], [data["summary"][i] for i in ids]
    rouge2 = rouge2_precision_fn()
    return {
        "ROUGE-2 precision (summary vs source)": [rouge2(d, s) for d, s in zip(docs, sums)],
        "Summary words in source": [word_share(d, s) for d, s in zip(docs, sums)],
        "Summary bigrams in source": [bigram_share(d, s) for d, s in zip(docs, sums)],
    }


def validity_sample() -> str:
    """Pearson and ROC AUC (wholly faithful above wholly unfaithful) of every stored QUALS run
    and of the word-overlap baselines, on the summaries that every run scored."""
    runs = list(validity_runs())
    rows = []
    for name in QAGS_NAMES:
        ids = common_ids(runs, name)
        if len(ids) < 3:
            continue
        labels = [human(name)[i] for i in ids]
        columns = {f"QUALS, {run_label(run)}": quals(run, name, ids) for run in runs}
        columns.update(lexical_columns(name, ids))
        for label, values in columns.items():
            ranking = faithful_above_unfaithful(values, labels)
            rows.append(
                [
                    SET_TITLES[name],
                    label,
                    str(sum(not math.isnan(v) for v in values)),
                    interval(correlations(values, labels)),
                    pct(ranking["share"]),
                ]
            )
    head = ["set", "metric", "n", "Pearson x100 [95%]", "faithful above unfaithful"]
    return table(head, rows)


def seconds_per_summary() -> str:
    """Mean seconds per summary of each stored run (as logged by the run: on a shared machine,
    a rough comparison only)."""
    rows = []
    for name, run, ids, stored in each_run():
        seconds = [stored[i]["seconds"] for i in ids]
        machine = validity_runs()[run]["meta"]["machine"]
        threads = re.search(r"\((\d+) torch threads\)", machine)
        rows.append(
            [
                SET_TITLES[name],
                run_label(run),
                str(len(ids)),
                f"{statistics.fmean(seconds):.1f}",
                threads[1] if threads else "?",
            ]
        )
    return table(["set", "QAGen, summaries", "n", "s per summary", "threads"], rows)


def scoring_padding() -> str:
    """How much of the teacher-forced pass over pairs given their sources reads pair tokens,
    not padding, for batches of consecutive summaries of `SHIPPED_RUN` (stored pair lengths;
    the pass reads each pair but its last token): one pass per batch padded to its longest
    pair, and parts of like length (`length_chunks` with the scorer's `CALL_COST_TOKENS`).
    An estimate of the padding saved, not of time: the prompts' share of the attention is not
    counted."""
    rows = []
    for name in QAGS_NAMES:
        stored = validity_runs()[SHIPPED_RUN]["rows"][name]
        widths = [[len(p["token_logprobs_x"]) - 1 for p in stored[i]["pairs"]] for i in stored]
        for size in (1, 4, 8):
            batches = [
                [w for pairs in widths[k : k + size] for w in pairs]
                for k in range(0, len(widths), size)
            ]
            batches = [b for b in batches if b]
            real = sum(sum(b) for b in batches)
            parts = [length_chunks(b, CALL_COST_TOKENS) for b in batches]
            padded = [[max(b[r] for r in c) * len(c) for c in ps] for b, ps in zip(batches, parts)]
            rows.append(
                [
                    SET_TITLES[name],
                    str(size),
                    f"{statistics.fmean(len(b) for b in batches):.1f}",
                    pct(real / sum(max(b) * len(b) for b in batches)),
                    pct(real / sum(sum(p) for p in padded)),
                    f"{statistics.fmean(sum(map(bool, p)) for p in padded):.1f}",
                ]
            )
    head = ["set", "summaries per batch", "pairs per batch", "pair tokens: one pass"]
    head += ["pair tokens: parts", "passes per batch: parts"]
    return table(head, rows)


def _malformed(pairs: list[PairScore]) -> list[PairScore]:
    return [p for p in pairs if p.pair.flaws]


# (label, a summary's score from its stored pairs): where QUALS' agreement with people comes from
SIGNALS: list[tuple[str, Callable[[list[PairScore]], float]]] = [
    ("all pairs (the paper)", QualsConfig().summary_score),
    ("pair_filter='well_formed'", QualsConfig(pair_filter="well_formed").summary_score),
    ("malformed pairs only", lambda pairs: QualsConfig().summary_score(_malformed(pairs))),
]


def signal(runs: list[str] | None = None) -> str:
    """Pearson and ROC AUC of QUALS computed from all, well-formed or only malformed pairs of
    each summary (recomputed from the stored pairs), per run and set; by default every run
    that chose its pairs as the paper does (the others have next to no malformed pairs)."""
    rows = []
    paper_choice = [
        run
        for run, found in validity_runs().items()
        if "pair_filter" not in found["meta"]["fingerprint"].get("config", {})
    ]
    for name, run, ids, stored in each_run(runs or paper_choice):
        labels = [human(name)[i] for i in ids]
        pairs = [[PairScore.from_dict(p) for p in stored[i]["pairs"]] for i in ids]
        for label, score in SIGNALS:
            values = [score(ps) for ps in pairs]
            rows.append(
                [
                    SET_TITLES[name],
                    run_label(run),
                    label,
                    str(sum(not math.isnan(v) for v in values)),
                    interval(correlations(values, labels)),
                    pct(faithful_above_unfaithful(values, labels)["share"]),
                ]
            )
    head = ["set", "QAGen, summaries", "pairs read", "n", "Pearson x100 [95%]", "AUC"]
    return table(head, rows)


def against_shipped(run: str, label: str) -> str:
    """``run`` (called ``label``) beside `SHIPPED_RUN` on the summaries both scored, on each
    seeded half of each set and on the whole: Pearson of each, the paired difference with its
    interval, the pairs each scored per summary and the share of them that is malformed. The
    rule for `QualsConfig.recommended`: a difference interval above 0 on both halves of both
    sets."""
    runs = [SHIPPED_RUN, run]
    rows = []
    for name in QAGS_NAMES:
        ids = common_ids(runs, name)
        scores = [quals(r, name, ids) for r in runs]
        labels = [human(name)[i] for i in ids]
        for part, idx in zip(("A", "B", "all"), [*halves(ids), list(range(len(ids)))]):
            h = [labels[k] for k in idx]
            paper, other = ([values[k] for k in idx] for values in scores)
            shares = [
                stored_flaw_shares(
                    p for k in idx for p in validity_runs()[r]["rows"][name][ids[k]]["pairs"]
                )
                for r in runs
            ]
            rows.append(
                [
                    SET_TITLES[name],
                    part,
                    str(len(idx)),
                    interval(correlations(paper, h)),
                    interval(correlations(other, h)),
                    interval({"d": paired_difference(other, paper, h)}, "d"),
                    " / ".join(f"{share['pairs'] / len(idx):.2f}" for share in shares),
                    *(pct(share["malformed"]) for share in shares),
                ]
            )
    head = ["set", "half", "n", "paper: Pearson x100", f"{label}: Pearson x100"]
    head += ["difference [95%]", f"pairs per summary (paper / {label})"]
    head += ["paper: malformed", f"{label}: malformed"]
    return table(head, rows)


@cache
def shipped_validity() -> ValidityResult:
    """`SHIPPED_RUN` on every QAGS summary, beside the word-overlap baselines (stored rows)."""
    folder = RESULTS / "validity" / SHIPPED_RUN
    return measure_validity("quals", stored=True, out=folder, progress=False)


def _shipped(render: Callable[[ValidityResult], str]) -> Callable[[], str]:
    """A table of docs/validity.md: ``render`` (quals_hf.evaluation.report) of the shipped run."""
    return lambda: render(shipped_validity()).rstrip("\n") + "\n"


def validity_table(result: ValidityResult) -> str:
    """The correlation table with the sources of its published rows."""
    refs = enumerate(validity_report.REFERENCES, start=1)
    sources = "\n".join(f"{k}. {ref['source']}" for k, ref in refs)
    return f"{validity_report.table(result)}\n\nSources of the published rows:\n\n{sources}\n"


def strengths() -> str:
    """The README's summary: QUALS with the package's QAGen beside the best word-overlap
    baseline of each set, Pearson and how often a faithful summary scores above an unfaithful
    one (the comparison the demo shows once)."""
    result = shipped_validity()
    labels = dict((column, label) for label, column in result.rows)
    baselines = ("rouge2_p", "word_share", "bigram_share")
    quals_cells, base_cells, quals_share, base_share = [], [], [], []
    for name in QAGS_NAMES:
        found = result.sets[name]
        best = max(baselines, key=lambda c: found.corr[c]["pearson"]["r"])
        quals_cells.append(interval(found.corr["quals"]))
        base_cells.append(f"{interval(found.corr[best])} ({labels[best]})")
        for column, shares in (("quals", quals_share), (best, base_share)):
            shares.append(
                pct(faithful_above_unfaithful(found.columns[column], found.human)["share"])
            )
    n = " / ".join(str(len(result.sets[name].ids)) for name in QAGS_NAMES)
    head = ["", "QAGS-CNNDM Pearson x100 [95%]", "QAGS-XSum Pearson x100 [95%]"]
    head.append(f"faithful above unfaithful (CNNDM / XSum; {n} summaries)")
    rows = [
        ["QUALS, the package's QAGen", *quals_cells, " / ".join(quals_share)],
        ["best word-overlap baseline", *base_cells, " / ".join(base_share)],
    ]
    return table(head, rows)


def demo() -> str:
    """The two summaries of `quals-hf demo` (`demo_pair`) with their scores in `SHIPPED_RUN`,
    and whether the faithful one comes out above."""
    stored = validity_runs()[SHIPPED_RUN]["rows"]["cnndm"]
    picked = demo_pair()
    scores = [stored[row["id"]]["quals"] for row in picked]
    rows = [
        [label, f"#{row['id']}", row["system"], f"{score:.3f}"]
        for label, row, score in zip(("faithful", "unfaithful"), picked, scores)
    ]
    rows.append(["faithful above unfaithful", "", "", "yes" if scores[0] > scores[1] else "no"])
    return table(["summary (human label)", "QAGS-CNNDM id", "by", "stored QUALS"], rows)


def demo_time() -> str:
    """Each stored timing of the README's first command (`benchmarks/demo_time.py`)."""
    path = RESULTS / "demo" / "readme_demo.jsonl"
    found = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    rows = [
        [
            r["date"],
            r["commit"],
            r["machine"],
            f"{r['load_average_at_start']:.1f}",
            f"{r['seconds']:.0f}",
            "yes" if r["returncode"] == 0 else "no",
        ]
        for r in found
    ]
    head = ["date", "commit", "machine", "load average at start", "seconds", "succeeded"]
    return table(head, rows)


TABLES: dict[str, Callable[[], str]] = {
    "signal": signal,
    "pair-quality": pair_quality,
    "text-forms": text_forms,
    "validity-sample": validity_sample,
    "seconds-per-summary": seconds_per_summary,
    "scoring-padding": scoring_padding,
    "pair-quality-shipped": lambda: pair_quality([SHIPPED_RUN]),
    "signal-shipped": lambda: signal([SHIPPED_RUN]),
    "normalized": lambda: against_shipped(NORM_RUN, "normalized"),
    "well-formed-first": lambda: against_shipped(PREFER_RUN, "well-formed first"),
    "normalized-well-formed-first": lambda: against_shipped(
        NORM_PREFER_RUN, "normalized, well-formed first"
    ),
    "twenty-groups": lambda: against_shipped(G20_RUN, "20 groups"),
    "validity": _shipped(validity_table),
    "validity-stats": _shipped(validity_report.extra_lines),
    "validity-options": _shipped(validity_report.option_table),
    "validity-variants": _shipped(validity_report.variants_table),
    "validity-worst": _shipped(validity_report.worst_lines),
    "strengths": strengths,
    "demo": demo,
    "demo-time": demo_time,
    **report_acceptance.TABLES,
    **report_conseq.TABLES,
    **report_speed.TABLES,
    **report_squad.TABLES,
    **report_toy.TABLES,
}


# ---------------------------------------------------------------- pages


def rendered(name: str, page: str = "") -> str:
    """The table ``name`` of `TABLES`, computed once per run whichever pages show it."""
    if name not in TABLES:
        raise KeyError(f"{page}: unknown results table {name!r}; known: {', '.join(TABLES)}")
    return _computed(name)


@cache
def _computed(name: str) -> str:
    return TABLES[name]()


def cell(ref: str, page: str = "") -> str:
    """The cell ``TABLE|ROW|COLUMN`` of a results table, for a number quoted in prose: ROW is
    one or more cells of the row, joined by ``;`` (every one must be in the row, and exactly
    one row must have them all), COLUMN the column's header; bold marks are dropped. A fourth
    part ``first`` quotes the cell's first word (``62.1`` of ``62.1 [53.1, 69.6]``)."""
    name, row_key, column, *part = ref.split("|")
    lines = [line for line in rendered(name, page).splitlines() if line.startswith("|")]
    cells = [[c.replace("*", "").strip() for c in line.strip("|").split(" | ")] for line in lines]
    head, body = cells[0], cells[2:]
    wanted = row_key.split(";")
    found = [row for row in body if all(w in row for w in wanted)]
    if column not in head or len(found) != 1:
        raise KeyError(f"{page}: cell {ref!r}: {len(found)} rows match; columns: {head}")
    value = found[0][head.index(column)]
    return value.split()[0] if part == ["first"] else value


def render(text: str, page: str = "") -> str:
    """``text`` with every results block replaced by its table and every quoted cell by the
    cell's current value."""
    text = BLOCK.sub(lambda m: m["open"] + rendered(m["name"], page) + m["close"], text)
    return CELL.sub(lambda m: m["open"] + cell(m["ref"], page) + m["close"], text)


def package_scores() -> str:
    """The QUALS score of every QAGS summary in `SHIPPED_RUN`, as the JSON file that the
    package ships (`quals_hf.benchmark_data.stored_quals_scores`): the demo's closing sentence
    is computed from it, never written by hand."""
    run = validity_runs()[SHIPPED_RUN]
    scores = {
        name: {str(i): run["rows"][name][i]["quals"] for i in sorted(run["rows"][name])}
        for name in QAGS_NAMES
    }
    about = {"run": f"benchmarks/results/validity/{SHIPPED_RUN}", **run["meta"]["fingerprint"]}
    return json.dumps({"about": about, **scores}, indent=0) + "\n"


def stale_tables(pages: list[Path] = PAGES) -> list[str]:
    """``page: table`` for every table whose text differs from what the stored rows give."""
    stale = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            if render(match[0], page.name) != match[0]:
                stale.append(f"{page.name}: {match['name']}")
        for match in CELL.finditer(text):
            if render(match[0], page.name) != match[0]:
                stale.append(f"{page.name}: cell {match['ref']}")
    return stale


def _package_scores_current() -> bool:
    return PACKAGE_SCORES.is_file() and PACKAGE_SCORES.read_text(encoding="utf-8") == (
        package_scores()
    )


def stale() -> list[str]:
    """Every stale table (`stale_tables`) and the package's copy of the shipped run's scores
    when it differs from the stored rows."""
    package = [] if _package_scores_current() else [str(PACKAGE_SCORES.relative_to(ROOT))]
    return stale_tables() + package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        found = stale()
        for item in found:
            print(f"stale: {item}")
        return 1 if found else 0
    if not _package_scores_current():
        PACKAGE_SCORES.write_text(package_scores(), encoding="utf-8")
        print(f"rewrote {PACKAGE_SCORES.relative_to(ROOT)}")
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        new = render(text, page.name)
        if new != text:
            page.write_text(new, encoding="utf-8")
            print(f"rewrote {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
