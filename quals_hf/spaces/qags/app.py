"""The Hub Space of the qags metric: a gradio page (`quals_hf.metrics.space`) over `qags.py`.

Set the Space variables QAGS_QG_CHECKPOINT, QAGS_QG_TEMPLATE and QAGS_QA_CHECKPOINT to use
other models; the regex answer extractor is used unless QAGS_ANSWER_EXTRACTOR says "spacy"
(with the pipeline QAGS_SPACY_MODEL, default en_core_web_sm; add it to requirements.txt).
"""

import os
from pathlib import Path

import evaluate

from quals_hf.metrics.space import build_space, metric_card

module = evaluate.load(
    str(Path(__file__).parent),
    qg_checkpoint=os.environ.get("QAGS_QG_CHECKPOINT", "lmqg/t5-base-squad-qg"),
    qg_template=os.environ.get("QAGS_QG_TEMPLATE", "generate question: {highlighted}"),
    qa_checkpoint=os.environ.get("QAGS_QA_CHECKPOINT", "deepset/roberta-base-squad2"),
    answer_extractor=os.environ.get("QAGS_ANSWER_EXTRACTOR", "regex"),
    spacy_model=os.environ.get("QAGS_SPACY_MODEL", "en_core_web_sm"),
)
build_space(module, card=metric_card(Path(__file__).with_name("README.md"))).launch()
