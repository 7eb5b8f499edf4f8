"""A validity run as Markdown: the correlation table beside published numbers, the statistics
per set, the scoring options on two halves, the variants and the worst disagreements, and the
page that gathers them with the figures."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .likelihood import MAX_TOKENS
from .options import VARIANTS
from .sets import SET_TITLES

if TYPE_CHECKING:
    from .result import ValidityResult

# Published correlations (x100, as printed) with the QAGS labels. Each row keeps its own source:
# only numbers read in that source are filled in; None is shown as n/a.
REFERENCES: list[dict[str, Any]] = [
    {
        "metric": "QAGS",
        "pearson": {"cnndm": "54.53", "xsum": "17.49"},
        "spearman": None,
        "source": "Wang et al., ACL 2020, Table 1 (Pearson); not verified against the paper: "
        "a secondary index (wizwand.com, page of the QAGS paper) lists QAGS at Pearson 0.545 "
        "(QAGS CNN) and 0.175 (QAGS XSUM).",
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


def cell(c: dict[str, Any] | None, kind: str) -> str:
    """A correlation (or difference) of kind ``kind`` and its interval, x100; n/a when none."""
    if c is None or c.get(kind) is None:
        return "n/a"
    v = c[kind]
    return f"{100 * v['r']:.1f} [{100 * v['low']:.1f}, {100 * v['high']:.1f}]"


def _ref_cell(ref: dict[str, Any], kind: str, name: str) -> str:
    values = ref[kind]
    return "n/a" if values is None or values.get(name) is None else values[name]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table(result: ValidityResult) -> str:
    """The Markdown table: measured rows, then the published reference rows."""
    sets = list(result.sets)
    head = ["Metric"]
    for name in sets:
        head += [f"{SET_TITLES[name]} Pearson", f"{SET_TITLES[name]} Spearman"]
    head.append("n (" + " / ".join(SET_TITLES[s] for s in sets) + ")")
    lines = [_row(head), "|" + "---|" * len(head)]
    for label, col in result.rows:
        skipped = col in result.not_run
        row = [label]
        for name in sets:
            c = None if skipped else result.sets[name].corr.get(col)
            row += ["not run"] * 2 if skipped else [cell(c, "pearson"), cell(c, "spearman")]
        counts = "—" if skipped else " / ".join(str(result.sets[s].corr[col]["n"]) for s in sets)
        lines.append(_row([*row, counts]))
    for k, ref in enumerate(REFERENCES, start=1):
        row = [f"*{ref['metric']}*, published [{k}]"]
        for name in sets:
            row += [_ref_cell(ref, "pearson", name), _ref_cell(ref, "spearman", name)]
        lines.append(_row([*row, "—"]))
    return "\n".join(lines)


def _metric_line(label: str, q: dict[str, Any]) -> list[str]:
    """The statistics of one model metric on one set, as phrases."""
    pairs = f"{q['mean_pairs']:.2f} pairs per summary, " if "mean_pairs" in q else ""
    parts = [
        f"{label}: {pairs}NaN share {q['nan_share']:.1%}, {q['seconds_per_summary']:.2f} s per "
        f"summary ({q['total_seconds']:.0f} s in all)"
    ]
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
    return parts


def extra_lines(result: ValidityResult) -> str:
    """A Markdown list: per set, the measured metric's and the likelihood baseline's
    statistics (pairs, NaN share, time, ranking, answer lengths)."""
    lines = []
    for name, res in result.sets.items():
        ex = res.extra
        parts = [f"**{SET_TITLES[name]}** ({ex['n']} summaries)"]
        if result.column in ex:
            parts += _metric_line(result.label or result.column, ex[result.column])
        if "likelihood" in ex:
            lk = ex["likelihood"]
            parts.append(
                f"likelihood baseline: {lk['seconds_per_summary']:.2f} s per summary "
                f"({lk['total_seconds']:.0f} s in all), {lk['sources_truncated']} sources cut "
                f"to fit {MAX_TOKENS} tokens"
            )
        lines.append("- " + "; ".join(parts))
    return "\n".join(lines)


def _with(result: ValidityResult, key: str) -> list[str]:
    """The sets where the measured metric's statistics hold ``key``."""
    col = result.column
    return [n for n, r in result.sets.items() if key in r.extra.get(col or "", {})]


def variants_table(result: ValidityResult) -> str:
    """Markdown: the `VARIANTS` table, where QUALS pairs were stored; "" otherwise."""
    sets = _with(result, "variants")
    if not sets:
        return ""
    head = ["Variant"] + [f"{SET_TITLES[n]} {k}" for n in sets for k in ("Pearson", "Spearman")]
    lines = [_row(head), "|" + "---|" * len(head)]
    for label, _ in VARIANTS:
        cells = [
            cell(result.sets[n].extra[result.column]["variants"][label], kind)
            for n in sets
            for kind in ("pearson", "spearman")
        ]
        lines.append(_row([label, *cells]))
    return "\n".join(lines)


def _worst_line(w: dict[str, Any], label: str, column: str) -> str:
    line = f"- #{w['id']}, human {w['human']:.2f}, {label} {w[column]:.3f}: "
    line += f'"{w["summary"].strip()}"'
    if "pairs" in w:
        pairs = "; ".join(
            f"{p['question']} → {p['answer']}: {p['lp_x']:.2f}, {p['lp_y']:.2f}" for p in w["pairs"]
        )
        line += f" Pairs: {pairs}"
    return line


def worst_lines(result: ValidityResult) -> str:
    """Markdown: per set, the summaries whose metric rank is farthest from their human rank
    (with QUALS, their three least consistent pairs and their explain figures)."""
    sets = [n for n, r in result.sets.items() if "worst" in r.extra]
    if not sets:
        return ""
    label, column = result.label or "", result.column or ""
    with_pairs = any("pairs" in w for n in sets for w in result.sets[n].extra["worst"])
    lines = [
        f"The worst disagreements: the summaries whose {label} rank is farthest from their "
        "human rank"
        + (
            ", with their three least consistent pairs (question → answer: lp_x, lp_y)."
            if with_pairs
            else "."
        )
    ]
    for name in sets:
        lines.append(f"\n**{SET_TITLES[name]}**\n")
        for w in result.sets[name].extra["worst"]:
            lines.append(_worst_line(w, label, column))
            if w.get("png"):
                lines.append(f"\n  ![explain {name} #{w['id']}]({w['png']})")
    return "\n".join(lines)


def analysis(result: ValidityResult) -> str:
    """Markdown: the variants table and the worst disagreements, where the metric was run."""
    parts = [p for p in (variants_table(result), worst_lines(result)) if p]
    return "\n\n".join(parts) if parts else f"({result.label or 'QUALS'} was not run)"


def option_table(result: ValidityResult) -> str:
    """Markdown: every scoring option's Pearson on each half of each set, its paired difference
    to the paper's QUALS, and whether it wins on every half (difference interval above 0)."""
    sets = _with(result, "options")
    if not sets:
        return "(QUALS was not run)"
    head = ["option"]
    for n in sets:
        for h in "AB":
            head += [f"{SET_TITLES[n]} {h}: Pearson", f"{SET_TITLES[n]} {h}: − paper"]
    lines = [_row([*head, "wins on all"]), "|" + "---|" * (len(head) + 1)]
    options = {n: result.sets[n].extra[result.column]["options"] for n in sets}
    for label in options[sets[0]]:
        cells, wins = [], []
        for n in sets:
            for h in "AB":
                got = options[n][label][h]
                diff = got["diff"]
                cells += [cell(got, "pearson"), cell({"diff": diff}, "diff")]
                wins.append(bool(diff) and diff["low"] > 0)
        lines.append(_row([label, *cells, "yes" if all(wins) else "no"]))
    return "\n".join(lines)


def write_page(path: Path, result: ValidityResult, command: str | None = None) -> Path:
    """Write the Markdown page of ``result`` to ``path``, its figures in ``images/`` beside."""
    from .page import page_text

    images = result.save_figures(path.parent / "images", path.stem)
    plots = "\n\n".join(f"![{p.stem}]({p.relative_to(path.parent).as_posix()})" for p in images)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page_text(result, command, plots, datetime.date.today()), encoding="utf-8")
    return path
