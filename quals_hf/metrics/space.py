"""The web page of the Hub Spaces: a gradio app over a loaded ``quals`` or ``qags`` metric.

evaluate's own widget (`evaluate.utils.launch_gradio_widget`) builds its form with
``gr.inputs``/``gr.outputs``, which gradio removed in 4.0, so it cannot run on a current
gradio. This page asks for one source and one summary, calls ``metric.compute`` on them and
shows the score and its QA pairs (or questions) as a table, with the metric card below.
gradio is imported here only, when a Space starts; it is not a dependency of the package.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .base import SourceSummaryMetric

# the example of the metric cards: a summary the source supports
NEWS_EXAMPLE = (
    "Altaris opened a plant in Ghent on Friday. It will employ 505 people.",
    "The plant in Ghent will employ 505 people.",
)
_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.DOTALL)


def metric_card(readme: str | Path) -> str:
    """A Space README without its YAML header: the metric card shown under the form."""
    return _FRONT_MATTER.sub("", Path(readme).read_text(encoding="utf-8"), count=1)


def build_space(
    metric: SourceSummaryMetric, card: str = "", example: tuple[str, str] | None = NEWS_EXAMPLE
) -> Any:
    """A ``gradio.Blocks`` page that scores one (source, summary) with ``metric``.

    Args:
        metric: a loaded ``quals`` or ``qags`` metric (its `result_keys` name the outputs).
        card: markdown shown below the form (see `metric_card`).
        example: a (source, summary) offered as a clickable example.
    """
    import gradio as gr
    import pandas as pd

    mean_key, _, details_key = metric.result_keys

    def score(source: str, summary: str) -> tuple[float, pd.DataFrame]:
        if not source.strip() or not summary.strip():
            raise gr.Error("Enter a source document and a summary.")
        result = metric.compute(predictions=[summary], sources=[source], return_details=True)
        rows = [  # scalar columns only (no per-token lists), floats to 4 places
            {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
            for row in result[details_key][0]
        ]
        rows = [{k: v for k, v in row.items() if isinstance(v, str | int | float)} for row in rows]
        return result[mean_key], pd.DataFrame(rows)

    with gr.Blocks(title=f"Metric: {metric.name}") as page:
        gr.Markdown(f"# Metric: {metric.name}\n\n{metric.info.description}")
        with gr.Row():
            source = gr.Textbox(label="Source document", lines=8)
            summary = gr.Textbox(label="Summary", lines=8)
        button = gr.Button("Score", variant="primary")
        value = gr.Number(label=mean_key, precision=4)
        table = gr.Dataframe(label=details_key, wrap=True)
        button.click(score, [source, summary], [value, table], api_name="score")
        if example is not None:
            gr.Examples([list(example)], [source, summary])
        if card:
            gr.Markdown(card)
    return page
