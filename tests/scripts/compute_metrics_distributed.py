"""`quals_compute_metrics` on every process of a torchrun launch, as Seq2SeqTrainer calls it.

torchrun --nproc_per_node 2 tests/scripts/compute_metrics_distributed.py QAGEN OUT_PREFIX

Every process gets all the (gathered) generations, as the trainer hands them over; each writes
its metrics and how many summaries it scored itself to OUT_PREFIX.<rank>.json.
"""

import json
import sys

import evaluate
import numpy as np
import torch.distributed as dist
from accelerate import PartialState
from transformers import BartForConditionalGeneration, EvalPrediction

from quals_hf import METRIC_PATH, QualsScorer, quals_compute_metrics
from quals_hf.toy.models import toy_tokenizer
from quals_hf.toy.world import make_examples

qagen_dir, out_prefix = sys.argv[1:3]
state = PartialState(cpu=True)  # several CPU processes talk over gloo
tokenizer = toy_tokenizer()
scorer = QualsScorer(
    BartForConditionalGeneration.from_pretrained(qagen_dir), tokenizer, progress=False
)
metric = evaluate.load(METRIC_PATH, scorer=scorer)
scored_here = []
compute = metric.compute


def counting_compute(**kwargs):
    scored_here.extend(kwargs["predictions"])
    return compute(**kwargs)


metric.compute = counting_compute
examples = make_examples(10, seed=31)
summaries = [e.summary if i % 2 else e.corrupted_summary for i, e in enumerate(examples)]
summaries[3] = ""  # an empty generation: not scored, counted as unscored


def ids(texts):
    return tokenizer(texts, padding=True, return_tensors="np")["input_ids"]


prediction = EvalPrediction(
    predictions=ids(summaries), label_ids=None, inputs=ids([e.document for e in examples])
)
metrics = quals_compute_metrics(tokenizer, metric)(prediction)
result = {"metrics": metrics, "scored_here": len(scored_here), "world": state.num_processes}
with open(f"{out_prefix}.{state.process_index}.json", "w") as f:
    json.dump(result, f, default=float)
state.wait_for_everyone()
if dist.is_initialized():
    dist.destroy_process_group()
assert np.isfinite(metrics["quals"])
