"""Mine toy-world contrastive sets (round 3) on every process of a torchrun launch; rank 0
saves them.

torchrun --nproc_per_node 2 tests/scripts/mine_distributed.py SUMMARIZER QAGEN OUT.jsonl
"""

import sys

import torch.distributed as dist
from accelerate import PartialState
from transformers import BartForConditionalGeneration

from quals_hf import MiningConfig, QualsScorer, mine_contrastive_sets
from quals_hf.toy.models import toy_tokenizer
from quals_hf.toy.world import make_examples

summarizer_dir, qagen_dir, out = sys.argv[1:4]
state = PartialState(cpu=True)  # several CPU processes talk over gloo
tokenizer = toy_tokenizer()
summarizer = BartForConditionalGeneration.from_pretrained(summarizer_dir)
scorer = QualsScorer(
    BartForConditionalGeneration.from_pretrained(qagen_dir), tokenizer, progress=False
)
examples = make_examples(24, seed=55)
data = {
    "id": [f"d{i}" for i in range(24)],
    "document": [e.document for e in examples],
    "summary": [e.summary for e in examples],
}
sets = mine_contrastive_sets(
    summarizer, tokenizer, data, scorer, MiningConfig(batch_size=4), round=3, progress=False
)
if state.is_main_process:
    sets.save(out)
print(f"rank {state.process_index} of {state.num_processes}: {len(sets)} selected", flush=True)
state.wait_for_everyone()
if dist.is_initialized():
    dist.destroy_process_group()
