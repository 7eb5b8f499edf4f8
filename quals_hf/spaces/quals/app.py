"""The Hub Space of the quals metric: evaluate's gradio widget over `quals.py` beside it.

Set the Space variables QUALS_CHECKPOINT and QUALS_FORMAT to score with another QAGen.
"""

import os
from pathlib import Path

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load(
    str(Path(__file__).parent),
    checkpoint=os.environ.get("QUALS_CHECKPOINT", "lmqg/t5-base-squad-qag"),
    format=os.environ.get("QUALS_FORMAT", "lmqg"),
)
launch_gradio_widget(module)
