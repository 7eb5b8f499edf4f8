"""ConSeq on the toy world, end to end, on CPUs in a few minutes.

1. Train an MLE summarizer with `Seq2SeqTrainer`.
2. Mine contrastive sets with QUALS (the toy QAGen): sample 6 summaries per document, keep the
   worst as the negative, select documents as the paper does.
3. Continue with `ContrastiveTrainer`, optionally re-mining every N steps (`RemineCallback`).
4. Report QUALS of the summarizer's greedy summaries of unseen stories, before and after.

    python examples/conseq_toy_world.py --output-dir runs/toy
    torchrun --nproc_per_node 2 examples/conseq_toy_world.py --output-dir runs/toy --remine-every 20
"""

from __future__ import annotations

import argparse

import torch
import torch.distributed as dist
from accelerate import PartialState
from datasets import Dataset
from transformers import (
    BartForConditionalGeneration,
    DataCollatorForSeq2Seq,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
)

from quals_hf import (
    ContrastiveConfig,
    ContrastiveTrainer,
    MiningConfig,
    QualsScorer,
    RemineCallback,
    mine_contrastive_sets,
)
from quals_hf.toy.models import load_or_train_toy_qagen, toy_bart_config, toy_tokenizer
from quals_hf.toy.world import make_examples


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--output-dir", default="runs/conseq_toy_world")
    p.add_argument("--num-docs", type=int, default=300, help="training stories")
    p.add_argument("--mle-steps", type=int, default=500)
    p.add_argument("--conseq-epochs", type=float, default=2.0, help="the paper: 2 epochs")
    p.add_argument("--remine-every", type=int, default=0, help="re-mine every N steps (0: never)")
    p.add_argument("--loss", default="margin", choices=["unlikelihood", "margin", "sigmoid"])
    p.add_argument(
        "--select-ratio",
        type=float,
        default=0.3,
        help="share of documents with the worst negatives (and the best references)",
    )
    p.add_argument(
        "--num-candidates", type=int, default=6, help="sampled summaries per document to mine"
    )
    p.add_argument("--qagen-dir", default=None, help="toy QAGen (default: trained and cached)")
    p.add_argument("--eval-docs", type=int, default=50, help="unseen stories for the report")
    return p.parse_args()


def stories(n: int, seed: int) -> Dataset:
    examples = make_examples(n, seed=seed)
    return Dataset.from_dict(
        {
            "id": [f"s{seed}-{i}" for i in range(n)],
            "document": [e.document for e in examples],
            "summary": [e.summary for e in examples],
        }
    )


def quals_of_generations(model, tokenizer, scorer: QualsScorer, data: Dataset) -> float:
    """Mean QUALS of the model's greedy summaries of ``data``'s documents."""
    documents = list(data["document"])
    enc = tokenizer(documents, padding=True, return_tensors="pt").to(model.device)
    with torch.no_grad():
        out = model.eval().generate(**enc, num_beams=1, do_sample=False, max_new_tokens=40)
    summaries = [s.strip() or "." for s in tokenizer.batch_decode(out, skip_special_tokens=True)]
    return scorer.score(documents, summaries, progress=False).mean


def main() -> None:
    args = parse_args()
    state = PartialState(cpu=not torch.cuda.is_available())
    tokenizer = toy_tokenizer()
    with state.main_process_first():  # one process trains the toy QAGen, the others load it
        qagen, _ = load_or_train_toy_qagen(args.qagen_dir)
    scorer = QualsScorer(qagen.to(state.device), tokenizer, progress=False)
    train, held_out = stories(args.num_docs, seed=500), stories(args.eval_docs, seed=501)
    tokenized = train.map(
        lambda b: tokenizer(b["document"], text_target=b["summary"]),
        batched=True,
        remove_columns=["document", "summary"],
    )

    torch.manual_seed(0)
    model = BartForConditionalGeneration(toy_bart_config(tokenizer))
    mle = Seq2SeqTrainer(
        model=model,
        processing_class=tokenizer,
        train_dataset=tokenized,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        args=Seq2SeqTrainingArguments(
            output_dir=f"{args.output_dir}/mle",
            max_steps=args.mle_steps,
            learning_rate=3e-3,
            per_device_train_batch_size=32,
            warmup_steps=min(20, args.mle_steps // 10),
            logging_steps=50,
            save_strategy="no",
            report_to=[],
            use_cpu=not torch.cuda.is_available(),
        ),
    )
    mle.train()
    before = quals_of_generations(model, tokenizer, scorer, held_out)

    mining = MiningConfig(
        num_candidates=args.num_candidates,
        batch_size=16,
        negative_ratio=args.select_ratio,
        positive_ratio=args.select_ratio,
    )
    sets = mine_contrastive_sets(
        model, tokenizer, train, scorer, mining, progress=state.is_main_process
    )
    config = ContrastiveConfig(
        output_dir=f"{args.output_dir}/conseq",
        num_train_epochs=args.conseq_epochs,
        learning_rate=1e-4,
        per_device_train_batch_size=4,
        contrastive_loss=args.loss,
        label_smoothing_factor=0.1,
        logging_steps=5,
        save_strategy="steps",
        save_steps=10,
        report_to=[],
        use_cpu=not torch.cuda.is_available(),
    )
    callbacks = (
        [RemineCallback(sets, train, scorer, every_n_steps=args.remine_every, config=mining)]
        if args.remine_every
        else []
    )
    # the paper trains on the selected documents; when re-mining selects others as training
    # goes, train on all of them: each batch trains those with an entry in the current round
    trainer = ContrastiveTrainer(
        model=model,
        args=config,
        contrastive_sets=sets,
        train_dataset=train if args.remine_every else sets.filter_dataset(train),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    trainer.train()
    after = quals_of_generations(model, tokenizer, scorer, held_out)
    if state.is_main_process:
        print(f"\nselected {len(sets)} of {len(train)} documents (round {sets.round})")
        print(
            f"QUALS of greedy summaries of {len(held_out)} unseen stories: "
            f"MLE {before:.4f} -> ConSeq {after:.4f}"
        )
    state.wait_for_everyone()
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
