"""The Hub Space of the quals metric: a gradio page (`quals_hf.metrics.space`) over `quals.py`.

It scores with the package's own QAGen; set the Space variables QUALS_CHECKPOINT (the metric's
``qagen`` option) and QUALS_FORMAT to score with another one.
"""

import os
from pathlib import Path

import evaluate

from quals_hf.metrics.space import build_space, metric_card

module = evaluate.load(
    str(Path(__file__).parent),
    qagen=os.environ.get("QUALS_CHECKPOINT"),
    format=os.environ.get("QUALS_FORMAT"),
)
build_space(module, card=metric_card(Path(__file__).with_name("README.md"))).launch()
