"""One ContrastiveTrainer SGD step over 4 toy examples; rank 0 saves the parameters.

    torchrun --nproc_per_node 2 tests/scripts/contrastive_ddp_step.py OUT_DIR BATCH_SIZE

With 2 processes and batch 2 each, the step must equal one process with batch 4.
"""

import sys

import torch
import torch.distributed as dist
from datasets import Dataset
from transformers import BartForConditionalGeneration

from quals_hf import ContrastiveConfig, ContrastiveEntry, ContrastiveSets, ContrastiveTrainer
from quals_hf.toy.models import toy_bart_config, toy_tokenizer
from quals_hf.toy.world import make_examples


def run(out_dir: str, batch_size: int) -> torch.Tensor:
    tokenizer = toy_tokenizer()
    torch.manual_seed(0)
    model = BartForConditionalGeneration(toy_bart_config(tokenizer, d_model=32, layers=1))
    examples = make_examples(4, seed=91)
    data = Dataset.from_dict(
        {
            "id": list(range(4)),
            "document": [e.document for e in examples],
            "summary": [e.summary for e in examples],
        }
    )
    sets = ContrastiveSets(
        {
            i: ContrastiveEntry(
                positive=e.summary, negative=e.corrupted_summary if i != 1 else None
            )
            for i, e in enumerate(examples)
        }
    )
    args = ContrastiveConfig(
        output_dir=out_dir,
        per_device_train_batch_size=batch_size,
        max_steps=1,
        optim="sgd",
        learning_rate=0.5,
        max_grad_norm=0.0,
        mle_weight=0.5,
        label_smoothing_factor=0.1,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
    )
    ContrastiveTrainer(
        model=model,
        args=args,
        contrastive_sets=sets,
        train_dataset=data,
        processing_class=tokenizer,
    ).train()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


if __name__ == "__main__":
    params = run(sys.argv[1], int(sys.argv[2]))
    if not dist.is_initialized() or dist.get_rank() == 0:
        torch.save(params, f"{sys.argv[1]}/params.pt")
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
