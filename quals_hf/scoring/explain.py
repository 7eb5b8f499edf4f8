"""Why a summary got its QUALS score: its QA pairs, least consistent first, token by token.

`QualsScorer.explain` builds an `Explanation`. It draws, for each pair, the per-token
log-probabilities given the source and given the summary side by side, as in the figure that
introduced QUALS: the answer tokens of a hallucinated pair drop sharply given the source.
``to_html()`` needs nothing beyond the standard library; ``figure()``/``save_png()`` need
matplotlib (``pip install 'quals_hf[explain]'``).
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from transformers import PreTrainedTokenizerBase

    from .pairs import PairScore

SOURCE_COLOR = "#0072b2"  # colour-blind safe blue and orange
SUMMARY_COLOR = "#e69f00"
BAR_HEIGHT_PX = 120  # the HTML bars' height for the lowest log-probability shown

_CSS = f"""
.quals-explain {{ font-family: system-ui, sans-serif; font-size: 14px; }}
.quals-explain table {{ border-collapse: collapse; margin: 0.5em 0; }}
.quals-explain td, .quals-explain th {{ border-bottom: 1px solid #ddd; padding: 2px 8px;
  text-align: left; }}
.quals-explain .num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.quals-explain .text {{ max-width: 60em; white-space: pre-wrap; }}
.quals-explain .pair {{ margin: 1em 0; }}
.quals-explain .tokens {{ display: flex; align-items: flex-start; gap: 6px;
  border-top: 1px solid #888; overflow-x: auto; padding-bottom: 4px; }}
.quals-explain .token {{ display: flex; flex-direction: column; align-items: center; }}
.quals-explain .bars {{ display: flex; gap: 1px; height: {BAR_HEIGHT_PX}px;
  align-items: flex-start; }}
.quals-explain .bar {{ width: 9px; }}
.quals-explain .x {{ background: {SOURCE_COLOR}; }}
.quals-explain .y {{ background: {SUMMARY_COLOR}; }}
.quals-explain .label {{ font-size: 11px; white-space: nowrap; }}
.quals-explain .key {{ display: inline-block; width: 10px; height: 10px; }}
"""


def token_strings(tokenizer: PreTrainedTokenizerBase, token_ids: list[int]) -> list[str]:
    """Each scored token as readable text (the raw token where it decodes to nothing)."""
    return [tokenizer.decode([i]).strip() or tokenizer.convert_ids_to_tokens(i) for i in token_ids]


def figure_class() -> type[Figure]:
    """matplotlib's Figure, or an ImportError that names the extra to install."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            "drawing an explanation needs matplotlib: pip install 'quals_hf[explain]'"
        ) from err
    return Figure


@dataclass
class Explanation:
    """The QUALS score of one summary and the QA pairs behind it.

    Attributes:
        source: the source document.
        summary: the summary.
        score: its QUALS score (NaN when no pair survived the filter).
        pair_scores: the scored pairs, least consistent (lowest ``lp_x - lp_y``) first; each
            holds its per-token log-probabilities given the source (``token_logprobs_x``) and
            given the summary (``token_logprobs_y``). Answers are shown as the summary writes
            them (`QAPair.shown_answer`: with ``normalize_text`` the scored tokens are the
            normalized text's).
        tokens: for each pair, its scored tokens as text, aligned with those log-probabilities.
    """

    source: str
    summary: str
    score: float
    pair_scores: list[PairScore]
    tokens: list[list[str]]

    @classmethod
    def from_pair_scores(
        cls,
        source: str,
        summary: str,
        score: float,
        pair_scores: list[PairScore],
        tokenizer: PreTrainedTokenizerBase,
        rank: Callable[[PairScore], float] | None = None,
    ) -> Explanation:
        """Order the pairs least consistent first (by ``rank``, default ``lp_x - lp_y``: the
        scorer passes its own pair score) and decode their tokens."""
        ordered = sorted(pair_scores, key=rank or (lambda p: p.consistency))
        tokens = [token_strings(tokenizer, p.pair.token_ids) for p in ordered]
        return cls(source, summary, score, ordered, tokens)

    def _lowest_logprob(self) -> float:
        """The lowest per-token log-probability of any pair (below 0): one scale for all."""
        logprobs = [lp for p in self.pair_scores for lp in p.token_logprobs_x + p.token_logprobs_y]
        return min([-1e-3, *logprobs])

    # -- HTML -----------------------------------------------------------------------------

    def _html_bars(self, pair_score: PairScore, tokens: list[str], low: float) -> str:
        cells = []
        for token, lx, ly in zip(tokens, pair_score.token_logprobs_x, pair_score.token_logprobs_y):
            hx, hy = (max(1.0, BAR_HEIGHT_PX * lp / low) for lp in (lx, ly))
            tip = html.escape(f"{token}: {lx:.2f} given the source, {ly:.2f} given the summary")
            cells.append(
                f'<div class="token" title="{tip}"><div class="bars">'
                f'<div class="bar x" style="height:{hx:.0f}px"></div>'
                f'<div class="bar y" style="height:{hy:.0f}px"></div></div>'
                f'<div class="label">{html.escape(token)}</div></div>'
            )
        return f'<div class="tokens">{"".join(cells)}</div>'

    def _html_fragment(self) -> str:
        """The report as one ``<div>`` with its own ``<style>``: for a page or a notebook."""
        esc = html.escape
        parts = [
            f'<div class="quals-explain"><style>{_CSS}</style>',
            f"<h2>QUALS = {self.score:.3f}</h2>",
            f'<p><b>Summary</b></p><p class="text">{esc(self.summary)}</p>',
            f'<details><summary><b>Source</b></summary><p class="text">{esc(self.source)}</p>'
            "</details>",
        ]
        if not self.pair_scores:
            parts.append(
                "<p>No QA pair survived the filter, so the summary has no score (NaN).</p>"
            )
            return "".join([*parts, "</div>"])
        rows = "".join(
            f'<tr><td class="num">{rank}</td><td class="num">{p.consistency:.3f}</td>'
            f'<td class="num">{p.lp_x:.3f}</td><td class="num">{p.lp_y:.3f}</td>'
            f'<td class="question">{esc(p.pair.question)}</td>'
            f'<td class="answer">{esc(p.pair.shown_answer)}</td>'
            f'<td class="flaws">{esc(p.pair.flaw_note)}</td></tr>'
            for rank, p in enumerate(self.pair_scores, 1)
        )
        low = self._lowest_logprob()
        parts.append(
            "<table><tr><th>#</th><th>lp_x − lp_y</th><th>lp_x</th><th>lp_y</th>"
            f"<th>question</th><th>answer</th><th>form flaws</th></tr>{rows}</table>"
            f"<p>Per-token log-probability (bars hang from 0, lowest {low:.2f}):"
            f' <span class="key x"></span> given the source '
            f'<span class="key y"></span> given the summary</p>'
        )
        for rank, (p, tokens) in enumerate(zip(self.pair_scores, self.tokens), 1):
            pair = f"{esc(p.pair.question)} → {esc(p.pair.shown_answer)}"
            parts.append(
                f'<div class="pair"><b>{rank}. {pair}</b>'
                f" (lp_x − lp_y = {p.consistency:.3f}){self._html_bars(p, tokens, low)}</div>"
            )
        return "".join([*parts, "</div>"])

    def to_html(self) -> str:
        """A self-contained HTML page (inline CSS, no scripts, no external files)."""
        return (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f"<title>QUALS {self.score:.3f}</title></head>"
            f"<body>{self._html_fragment()}</body></html>\n"
        )

    def save_html(self, path: str | Path) -> Path:
        """Write `to_html` to ``path``."""
        path = Path(path)
        path.write_text(self.to_html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        """Inline display in Jupyter."""
        return self._html_fragment()

    # -- matplotlib -----------------------------------------------------------------------

    def figure(self) -> Figure:
        """One bar chart per pair (least consistent on top); needs matplotlib."""
        longest = max((len(t) for t in self.tokens), default=0)
        rows = max(1, len(self.pair_scores))
        width = max(7.0, 1.5 + 0.45 * longest)
        fig = figure_class()(figsize=(width, 1.4 + 2.2 * rows), layout="constrained")
        axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
        summary = textwrap.fill(self.summary, width=int(13 * width))
        fig.suptitle(f"QUALS = {self.score:.3f}\n{summary}", fontsize=10)
        if not self.pair_scores:
            axes[0].text(
                0.5, 0.5, "no QA pair survived the filter: no score (NaN)", ha="center", va="center"
            )
            axes[0].set_axis_off()
            return fig
        low = self._lowest_logprob() * 1.08
        for rank, (ax, p, tokens) in enumerate(zip(axes, self.pair_scores, self.tokens), 1):
            positions = range(len(tokens))
            ax.bar(
                [i - 0.2 for i in positions],
                p.token_logprobs_x,
                0.4,
                color=SOURCE_COLOR,
                label="given the source",
            )
            ax.bar(
                [i + 0.2 for i in positions],
                p.token_logprobs_y,
                0.4,
                color=SUMMARY_COLOR,
                label="given the summary",
            )
            ax.set_xticks(list(positions), tokens, rotation=40, ha="right", fontsize=8)
            ax.set_xlim(-0.6, max(len(tokens), 8) - 0.4)
            ax.set_ylim(low, 0)
            ax.set_ylabel("log p", fontsize=8)
            ax.tick_params(axis="y", labelsize=8)
            ax.grid(axis="y", linewidth=0.4, alpha=0.5)
            ax.set_title(
                f"{rank}. {p.pair.question} → {p.pair.shown_answer}    lp_x − lp_y = "
                f"{p.consistency:.2f}  {p.pair.flaw_note}".rstrip(),
                loc="left",
                fontsize=9,
            )
        fig.legend(
            *axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8
        )
        return fig

    def save_png(self, path: str | Path, dpi: int = 110) -> Path:
        """Write `figure` to ``path`` as a PNG; needs matplotlib."""
        path = Path(path)
        self.figure().savefig(path, format="png", dpi=dpi)
        return path
