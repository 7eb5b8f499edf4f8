"""The Markdown page of a validity run (`ValidityResult.write_report`), section by section."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from .likelihood import MAX_TOKENS
from .report import REFERENCES, analysis, extra_lines, option_table, table
from .sets import SET_TITLES
from .stats import BOOTSTRAP, HALF_SEED, SEED

if TYPE_CHECKING:
    from .result import ValidityResult

TODO = (
    "**TODO (to be written by a person after reading the numbers): what the table does and "
    "does not\nshow, compared with the baselines and the published metrics.**"
)


def _what(result: ValidityResult) -> str:
    """The line saying what was measured: the QAGen and its settings, or the metric."""
    s = result.settings
    if "qagen" in s:
        line = f"- QAGen: `{s['qagen']}`, weights {s.get('dtype')}, {s.get('num_groups')} search "
        line += "groups"
        options = ", ".join(f"{k}={v!r}" for k, v in (s.get("config") or {}).items())
        return line + (f"; QualsConfig options: {options}" if options else "")
    return f"- metric: `{s.get('metric', result.label)}`"


def _header(result: ValidityResult, command: str | None, date: datetime.date) -> str:
    label = result.label or "QUALS"
    sets = " and ".join(f"{r.extra['n']} {SET_TITLES[s]}" for s, r in result.sets.items())
    return f"""# Validity: {label} against human labels

How well do {label} scores agree with human judgments of factual consistency? The data are the
QAGS annotations (Wang et al., ACL 2020) vendored in `quals_hf.benchmark_data` ({sets}
summaries): CNNDM summaries carry the share of their sentences judged consistent, XSum summaries
a 0/1 label (there Pearson is the point-biserial correlation).

- command: `{command or "measure_validity"}`
- machine: {result.settings.get("machine", "unknown")}
- date: {date}
{_what(result)}"""


def _measured(result: ValidityResult) -> str:
    """What each measured row is."""
    if result.column == "quals" or result.label is None:
        config = result.settings.get("config")
        how = "default settings" if not config else "options above"
        first = f"QUALS (`QualsScorer`, {how})"
    else:
        first = f"{result.label} (`{result.settings.get('metric', result.label)}`)"
    text = f"""Measured metrics: {first}; ROUGE-2 precision of the summary
against the source (`rouge_score`, no stemmer); share of summary words (`\\w+`, lower-cased) and
of summary word bigrams found in the source"""
    if "likelihood" not in [c for _, c in result.rows]:
        return text + "."
    return (
        text
        + """; a likelihood baseline with the same QAGen model:
mean log p(summary + EOS | prompt(source)) - mean log p(summary + EOS | prompt("")), the source
"""
        + f"cut at its end to fit {MAX_TOKENS} tokens."
    )


def _correlations(result: ValidityResult) -> str:
    nan = (
        "QUALS is NaN where no pair survived"
        if result.column in ("quals", None)
        else f"{result.label} is NaN where it gave no score"
    )
    refs = "\n".join(f"{k}. {ref['source']}" for k, ref in enumerate(REFERENCES, start=1))
    return f"""## Correlations with the human labels

Correlations x100 with percentile-bootstrap 95% intervals ({BOOTSTRAP} resamples, seed {SEED}),
over the summaries where the metric is defined (n; {nan}). Every
metric is "higher = more consistent". Rows in italics are published numbers of other metrics on
the same data, not measured here; n/a means not found in a source that could be read.

{table(result)}

{_measured(result)}

Sources of the published rows:

{refs}

## More statistics

{extra_lines(result)}"""


def _quals_sections(result: ValidityResult) -> str:
    """The scoring options and the variants, recomputed from the stored QUALS pairs."""
    return f"""## Scoring options, on two halves

Every `QualsConfig` scoring option (docs/quals.md), recomputed from the same stored pairs. Each
set is split at random (seed {HALF_SEED}) into halves A and B: choose on A, confirm on B. "−
paper": Pearson of the option minus that of the paper's QUALS, with a paired bootstrap interval
({BOOTSTRAP} resamples of the same summaries for both); "wins on all": that interval lies above
0 on both halves of every set.

{option_table(result)}

## Deviations from the paper's settings, and the worst disagreements

Each variant is recomputed from the same stored pairs as QUALS (no new search); they are
reported beside QUALS as specified, not instead of it.

{analysis(result)}"""


def page_text(result: ValidityResult, command: str | None, plots: str, date: datetime.date) -> str:
    """The whole page; ``plots`` is the Markdown of its figures."""
    if result.column in ("quals", None):
        middle = _quals_sections(result)
    else:
        middle = f"## The worst disagreements\n\n{analysis(result)}"
    return f"""{_header(result, command, date)}

{_correlations(result)}

{middle}

## Plots

{plots or "(no model-based metric was run)"}

## What this shows

{TODO}
"""
