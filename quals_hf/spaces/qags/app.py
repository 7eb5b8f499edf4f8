"""The Hub Space of the qags metric: evaluate's gradio widget over `qags.py` beside it.

Set the Space variables QAGS_QG_CHECKPOINT, QAGS_QG_TEMPLATE and QAGS_QA_CHECKPOINT to use
other models; the regex answer extractor is used unless QAGS_ANSWER_EXTRACTOR says "spacy".
"""

import os
from pathlib import Path

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load(
    str(Path(__file__).parent),
    qg_checkpoint=os.environ.get("QAGS_QG_CHECKPOINT", "lmqg/t5-base-squad-qg"),
    qg_template=os.environ.get("QAGS_QG_TEMPLATE", "generate question: {highlighted}"),
    qa_checkpoint=os.environ.get("QAGS_QA_CHECKPOINT", "deepset/roberta-base-squad2"),
    answer_extractor=os.environ.get("QAGS_ANSWER_EXTRACTOR", "regex"),
)
launch_gradio_widget(module)
