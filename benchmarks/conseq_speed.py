"""Time ConSeq's two costly parts: a `ContrastiveTrainer` step and a round of mining.

Run it on two checkouts to measure a change (docs/conseq.md, "Speed"; timings not stored):

    python benchmarks/conseq_speed.py --steps 6 --documents 48

Rows:

- a training step on toy documents (about 45 tokens) with a small BART (d_model 128);
- a training step at BART-base size (6+6 layers, d_model 768, the 50,265-token vocabulary),
  batch 4, sources of about 500 tokens and summaries of about 20, every example with a positive
  and a negative: the shape of XSum training, where the encoder's share of the work is largest;
- a round of `mine_contrastive_sets` over toy documents with the toy QAGen (6 candidates and
  the reference scored per document).

Weights are random except the toy QAGen's and the toy summarizer's (trained or read from the
toy cache): timing does not depend on them, but mining's pair counts do.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import torch
from datasets import Dataset
from transformers import BartForConditionalGeneration

from quals_hf import (
    ContrastiveConfig,
    ContrastiveEntry,
    ContrastiveSets,
    ContrastiveTrainer,
    MiningConfig,
    QualsScorer,
    mine_contrastive_sets,
)
from quals_hf.toy.models import (
    load_or_train_toy_qagen,
    toy_bart_config,
    toy_tokenizer,
    train_toy_seq2seq,
)
from quals_hf.toy.world import make_examples


def training_seconds(
    model, tokenizer, documents: list[str], summaries: list[str], steps: int, batch_size: int
) -> float:
    """Seconds per `ContrastiveTrainer` step (after one warm-up step) on these texts."""
    n = len(documents)
    data = Dataset.from_dict(
        {"id": [str(i) for i in range(n)], "document": documents, "summary": summaries}
    )
    sets = ContrastiveSets(
        {
            str(i): ContrastiveEntry(
                positive=summaries[i],
                negative=summaries[(i + 1) % n],
                positive_score=0.0,
                negative_score=-1.0,
                round=1,
            )
            for i in range(n)
        },
        round=1,
    )
    with tempfile.TemporaryDirectory() as out:
        config = ContrastiveConfig(
            output_dir=out,
            per_device_train_batch_size=batch_size,
            max_steps=1,
            report_to=[],
            save_strategy="no",
            disable_tqdm=True,
            use_cpu=True,
            learning_rate=1e-5,
            max_source_length=512,
        )
        trainer = ContrastiveTrainer(
            model=model,
            args=config,
            contrastive_sets=sets,
            train_dataset=data,
            processing_class=tokenizer,
        )
        trainer.train()  # warm-up
        trainer.args.max_steps = steps
        start = time.perf_counter()
        trainer.train()
        return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--documents", type=int, default=48)
    args = parser.parse_args()
    torch.manual_seed(0)
    tokenizer = toy_tokenizer()
    examples = make_examples(max(args.documents, 64), seed=77)
    documents = [e.document for e in examples]
    summaries = [e.summary for e in examples]

    toy = BartForConditionalGeneration(toy_bart_config(tokenizer, d_model=128))
    toy_step = training_seconds(toy, tokenizer, documents, summaries, args.steps, 16)

    tokenizer.model_max_length = 512
    base_config = toy_bart_config(tokenizer, d_model=768, layers=6)
    base_config.update(
        dict(
            vocab_size=50265,
            encoder_attention_heads=12,
            decoder_attention_heads=12,
            encoder_ffn_dim=3072,
            decoder_ffn_dim=3072,
            max_position_embeddings=512,
        )
    )
    base = BartForConditionalGeneration(base_config)
    long_documents = [" ".join(documents[i : i + 11]) for i in range(16)]  # ~500 tokens each
    base_step = training_seconds(base, tokenizer, long_documents, summaries[:16], args.steps, 4)

    tokenizer.model_max_length = 128
    qagen, _ = load_or_train_toy_qagen()
    summarizer, _ = train_toy_seq2seq(
        [(e.document, e.summary) for e in make_examples(600, seed=5)], steps=300
    )
    pool = Dataset.from_dict(
        {
            "id": [str(i) for i in range(args.documents)],
            "document": documents[: args.documents],
            "summary": summaries[: args.documents],
        }
    )
    start = time.perf_counter()
    mine_contrastive_sets(
        summarizer,
        tokenizer,
        pool,
        QualsScorer(qagen, tokenizer, progress=False),
        MiningConfig(batch_size=16, seed=0),
        progress=False,
    )
    mining = time.perf_counter() - start

    print(f"{platform.platform()}, {torch.get_num_threads()} torch threads\n")
    print("| work | seconds |\n|---|---|")
    print(f"| training step, toy BART d128, batch 16 | {toy_step:.3f} |")
    print(f"| training step, BART-base size, batch 4, 500-token sources | {base_step:.2f} |")
    print(f"| mining {args.documents} toy documents (QUALS, 7 texts each) | {mining:.1f} |")


if __name__ == "__main__":
    main()
