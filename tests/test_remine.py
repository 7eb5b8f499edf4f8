"""RemineCallback: re-mining during ContrastiveTrainer training, logged and checkpointed."""

import pytest
from datasets import Dataset
from transformers import BartForConditionalGeneration

from quals_hf import (
    ContrastiveConfig,
    ContrastiveEntry,
    ContrastiveSets,
    ContrastiveTrainer,
    MiningConfig,
    RemineCallback,
)
from quals_hf.toy.models import toy_tokenizer
from quals_hf.toy.world import make_examples

EXAMPLES = make_examples(16, seed=61)
DATA = Dataset.from_dict(
    {
        "id": [f"d{i}" for i in range(16)],
        "document": [e.document for e in EXAMPLES],
        "summary": [e.summary for e in EXAMPLES],
    }
)


def _initial_sets():
    return ContrastiveSets(
        {
            f"d{i}": ContrastiveEntry(positive=e.summary, negative=e.corrupted_summary)
            for i, e in enumerate(EXAMPLES)
        }
    )


def _trainer(toy_summarizer_dir, output_dir, sets, callback, **kwargs):
    options = dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=4,
        learning_rate=1e-4,
        contrastive_loss="margin",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        logging_steps=1,
        save_strategy="steps",
        save_steps=3,
    )
    args = ContrastiveConfig(**{**options, **kwargs})
    model = BartForConditionalGeneration.from_pretrained(toy_summarizer_dir)
    return ContrastiveTrainer(
        model=model,
        args=args,
        contrastive_sets=sets,
        train_dataset=DATA,
        processing_class=toy_tokenizer(),
        callbacks=[callback],
    )


def test_remines_every_n_steps_logs_and_checkpoints_the_latest_sets(toy_summarizer_dir, tmp_path):
    sets = _initial_sets()
    config = MiningConfig(batch_size=8, negative_ratio=0.5, positive_ratio=1.0)
    callback = RemineCallback(sets, DATA, "rouge", every_n_steps=2, config=config)
    trainer = _trainer(toy_summarizer_dir, tmp_path, sets, callback, max_steps=6)
    trainer.train()
    assert callback.rounds == 2 and sets.round == 2  # after steps 2 and 4; not after the last
    logged = [h for h in trainer.state.log_history if "remine/round" in h]
    assert [h["remine/round"] for h in logged] == [1.0, 2.0]
    assert [h["step"] for h in logged] == [2, 4]
    assert all(h["remine/examples"] == len(sets) > 0 for h in logged[-1:])
    assert all(e.round == 2 for e in sets.values())
    # the checkpoint at step 6 carries round 2, the one at step 3 round 1
    assert ContrastiveSets.load(tmp_path / "checkpoint-6") == sets
    assert ContrastiveSets.load(tmp_path / "checkpoint-3").round == 1
    # resuming from step 3 restores round 1 into the new trainer's store
    fresh = _initial_sets()
    resumed = _trainer(
        toy_summarizer_dir,
        tmp_path,
        fresh,
        RemineCallback(fresh, DATA, "rouge", every_n_steps=100, config=config),
        max_steps=4,
    )
    resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-3"))
    assert fresh == ContrastiveSets.load(tmp_path / "checkpoint-3")


def test_remines_every_epoch(toy_summarizer_dir, tmp_path):
    sets = _initial_sets()
    callback = RemineCallback(
        sets,
        DATA,
        "rouge",
        every_epoch=True,
        config=MiningConfig(batch_size=8, negative_ratio=1.0, positive_ratio=1.0),
    )
    _trainer(
        toy_summarizer_dir, tmp_path, sets, callback, num_train_epochs=3, save_strategy="no"
    ).train()
    assert callback.rounds == 2  # after epochs 1 and 2, not after the last


def test_refuses_dataloader_workers(toy_summarizer_dir, tmp_path):
    sets = _initial_sets()
    callback = RemineCallback(sets, DATA, "rouge", every_n_steps=1)
    trainer = _trainer(
        toy_summarizer_dir, tmp_path, sets, callback, max_steps=1, dataloader_num_workers=1
    )
    with pytest.raises(ValueError, match="dataloader_num_workers=0"):
        trainer.train()


def test_needs_a_schedule():
    with pytest.raises(ValueError, match="every_n_steps or every_epoch"):
        RemineCallback(ContrastiveSets(), DATA, "rouge")
