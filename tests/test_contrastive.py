"""ContrastiveSets, the ConSeq loss and ContrastiveTrainer."""

import copy
import json

import pytest
import torch
from datasets import Dataset
from transformers import BartForConditionalGeneration

from quals_hf import (
    ContrastiveConfig,
    ContrastiveEntry,
    ContrastiveSets,
    ContrastiveTrainer,
)
from quals_hf.conseq.loss import pairwise_losses, sequence_logps
from quals_hf.toy.models import toy_bart_config, toy_tokenizer
from quals_hf.toy.world import make_examples

EXAMPLES = make_examples(8, seed=41)


def _dataset(n=8):
    ex = EXAMPLES[:n]
    return Dataset.from_dict(
        {
            "id": [f"doc{i}" for i in range(n)],
            "document": [e.document for e in ex],
            "summary": [e.summary for e in ex],
        }
    )


def _sets(n=8, with_negative=lambda i: True):
    return ContrastiveSets(
        {
            f"doc{i}": ContrastiveEntry(
                positive=e.summary,
                negative=e.corrupted_summary if with_negative(i) else None,
                positive_score=-0.1,
                negative_score=-1.0 if with_negative(i) else None,
                round=1,
            )
            for i, e in enumerate(EXAMPLES[:n])
        },
        round=1,
    )


def _config(tmp_path, **kwargs):
    defaults = dict(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        max_steps=2,
        learning_rate=1e-3,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
        logging_steps=1,
        dataloader_num_workers=0,
    )
    return ContrastiveConfig(**{**defaults, **kwargs})


def _trainer(model, tokenizer, tmp_path, sets=None, data=None, **kwargs):
    return ContrastiveTrainer(
        model=model,
        args=_config(tmp_path, **kwargs),
        contrastive_sets=sets if sets is not None else _sets(),
        train_dataset=data if data is not None else _dataset(),
        processing_class=tokenizer,
    )


# -- ContrastiveSets --------------------------------------------------------------------------


def test_sets_reject_bad_entries_and_name_the_id():
    sets = ContrastiveSets()
    with pytest.raises(ValueError, match=r"'doc3'.*identical to the positive"):
        sets["doc3"] = ContrastiveEntry(positive="a summary .", negative=" a summary . ")
    with pytest.raises(ValueError, match=r"7.*needs a positive or a negative"):
        sets[7] = ContrastiveEntry()
    with pytest.raises(ValueError, match="negative must be a non-empty string"):
        sets[7] = ContrastiveEntry(positive="x", negative="  ")
    sets[7] = ContrastiveEntry(negative="a negative only")
    assert "7" in sets and 7 in sets and sets["7"].positive is None


def test_sets_save_and_load_as_json_lines_and_datasets(tmp_path):
    sets = _sets(3, with_negative=lambda i: i != 1)
    path = sets.save(tmp_path / "sets.jsonl")
    assert len(path.read_text().splitlines()) == 3
    assert json.loads(path.read_text().splitlines()[1])["negative"] is None
    assert ContrastiveSets.load(path) == sets
    assert ContrastiveSets.load(sets.save(tmp_path / "folder")) == sets  # folder/FILE_NAME
    sets.to_dataset().save_to_disk(str(tmp_path / "ds"))
    assert ContrastiveSets.load(tmp_path / "ds") == sets
    assert sets.stats()["negatives"] == 2


def test_sets_validate_ids_and_filter(tmp_path):
    data = _dataset(4)
    with pytest.raises(ValueError, match=r"2 contrastive-set ids are not in the training.*doc4"):
        _sets(6).validate_ids(data["id"])
    with pytest.raises(ValueError, match="empty"):
        ContrastiveSets().validate_ids(data["id"])
    sets = ContrastiveSets({"doc1": ContrastiveEntry(positive="p", negative="n")})
    assert sets.filter_dataset(data)["id"] == ["doc1"]


# -- the loss ---------------------------------------------------------------------------------


def _hand_token_terms(model, source_ids, target_ids, eps, unlikelihood):
    """Sum over target tokens of LS(-log q(y_t)), written out from the paper's loss."""
    decoder_in = [model.config.decoder_start_token_id, *target_ids[:-1]]
    with torch.no_grad():
        logits = model(
            input_ids=torch.tensor([source_ids]), decoder_input_ids=torch.tensor([decoder_in])
        ).logits[0]
    total = 0.0
    for t, y in enumerate(target_ids):
        p = torch.softmax(logits[t].double(), -1)
        q = torch.clamp(1 - p, min=1e-20) if unlikelihood else p
        nll = -torch.log(q[y])
        smooth = -torch.log(q).sum() / len(q)
        total += float((1 - eps) * nll + eps * smooth)
    return total, len(target_ids)


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_unlikelihood_loss_equals_a_hand_computation(random_toy_model, tmp_path, eps):
    model, tokenizer = random_toy_model
    sets = _sets(2, with_negative=lambda i: i == 0)  # doc1 has a positive only
    trainer = _trainer(
        model, tokenizer, tmp_path, sets=sets, data=_dataset(2), label_smoothing_factor=eps
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    loss = trainer.compute_loss(model.eval(), batch)
    total, count = 0.0, 0
    for i, ex in enumerate(EXAMPLES[:2]):
        source = tokenizer(ex.document).input_ids
        s, n = _hand_token_terms(
            model, source, tokenizer(text_target=ex.summary).input_ids, eps, unlikelihood=False
        )
        total, count = total + s, count + n
        if i == 0:
            s, n = _hand_token_terms(
                model,
                source,
                tokenizer(text_target=ex.corrupted_summary).input_ids,
                eps,
                unlikelihood=True,
            )
            total, count = total + s, count + n
    assert loss.item() == pytest.approx(total / count, rel=1e-5)


def test_pairwise_losses_on_given_numbers():
    pos, neg = torch.tensor([-0.1, -0.5]), torch.tensor([-2.0, -0.6])
    assert pairwise_losses(pos, neg, "margin", margin=1.0).tolist() == pytest.approx([0.0, 0.9])
    want = -torch.nn.functional.logsigmoid(torch.tensor([0.5 * 1.9, 0.5 * 0.1]))
    assert pairwise_losses(pos, neg, "sigmoid", beta=0.5).tolist() == pytest.approx(want.tolist())
    ref = pairwise_losses(pos, neg, "sigmoid", beta=0.5, ref_positive=pos, ref_negative=neg)
    assert ref.tolist() == pytest.approx([0.6931472] * 2)


def test_one_decoder_pass_holds_positives_negatives_then_references(random_toy_model, tmp_path):
    model, tokenizer = random_toy_model
    sets = ContrastiveSets(
        {
            "doc0": ContrastiveEntry(
                positive=EXAMPLES[0].summary, negative=EXAMPLES[0].corrupted_summary
            ),
            "doc1": ContrastiveEntry(positive=EXAMPLES[1].summary),  # doc2: no entry
        }
    )
    trainer = _trainer(model, tokenizer, tmp_path, sets=sets, data=_dataset(3), mle_weight=0.5)
    inputs = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    batch = trainer.concatenated_inputs(model, inputs)
    assert batch["sizes"] == [2, 1, 3] and not batch["skipped"]
    assert batch["owner"].tolist() == [0, 1, 0, 0, 1, 2]  # S+ of 0, 1; S- of 0; S of all
    assert torch.equal(
        batch["labels"][2, : inputs["negative_labels"].shape[1]], inputs["negative_labels"][0]
    )
    forward = trainer.concatenated_forward(model, inputs, batch)
    assert forward["outputs"].logits.shape[0] == 6
    assert [len(forward["positive_logps"]), len(forward["negative_logps"])] == [2, 1]
    _, _, metrics = trainer.get_batch_loss_metrics(model.eval(), inputs)
    assert list(metrics) == [
        "likelihood",
        "unlikelihood",
        "mle",
        "pairs",
        "skipped",
        "logp/positive",
        "logp/negative",
    ]
    assert (metrics["pairs"], metrics["skipped"]) == (1.0, 1.0)
    assert metrics["logp/negative"] == pytest.approx(forward["negative_logps"].item())


@pytest.mark.parametrize("loss,mle_weight", [("unlikelihood", 0.5), ("margin", 0.3)])
def test_one_batch_of_4_equals_4_accumulated_batches_of_1(
    random_toy_model, tmp_path, loss, mle_weight
):
    model, tokenizer = random_toy_model
    sets = _sets(4, with_negative=lambda i: i != 2)
    results = []
    for batch_size, accumulation in ((4, 1), (1, 4)):
        trained = copy.deepcopy(model).train()
        trainer = _trainer(
            trained,
            tokenizer,
            tmp_path / f"bs{batch_size}",
            sets=sets,
            data=_dataset(4),
            per_device_train_batch_size=batch_size,
            gradient_accumulation_steps=accumulation,
            max_steps=1,
            optim="sgd",
            learning_rate=0.5,
            max_grad_norm=0.0,
            contrastive_loss=loss,
            mle_weight=mle_weight,
            label_smoothing_factor=0.1,
        )
        trainer.train()
        results.append(torch.cat([p.detach().flatten() for p in trained.parameters()]))
    before = torch.cat([p.detach().flatten() for p in model.parameters()])
    change = (results[0] - before).abs().max().item()
    assert change > 1e-3  # the step did something
    assert (results[0] - results[1]).abs().max().item() < 1e-5 * max(1.0, change)


def test_training_changes_parameters_and_logs_the_components(random_toy_model, tmp_path):
    model, tokenizer = random_toy_model
    before = [p.detach().clone() for p in model.parameters()]
    trainer = _trainer(model, tokenizer, tmp_path, mle_weight=0.5)
    trainer.train()
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))
    logged = trainer.state.log_history[0]
    for key in (
        "contrastive/likelihood",
        "contrastive/unlikelihood",
        "contrastive/mle",
        "contrastive/pairs",
        "contrastive/logp/positive",
        "contrastive/logp/negative",
    ):
        assert key in logged, key
    assert logged["contrastive/pairs"] == 4.0  # 4 examples, each with both summaries


def test_examples_without_entry_are_skipped_unless_mle_weight(random_toy_model, tmp_path):
    model, tokenizer = random_toy_model
    sets = ContrastiveSets(
        {
            "doc0": ContrastiveEntry(
                positive=EXAMPLES[0].summary, negative=EXAMPLES[0].corrupted_summary
            )
        }
    )
    trainer = _trainer(model, tokenizer, tmp_path, sets=sets, data=_dataset(2))
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    assert batch["has_entry"].tolist() == [True, False]
    assert (batch["positive_labels"][1] == -100).all()
    assert (batch["negative_labels"][1] == -100).all()
    # a batch of examples without entries: zero loss, zero gradients, no crash
    empty = trainer.data_collator([trainer.train_dataset[1]])
    loss = trainer.compute_loss(model.train(), empty)
    loss.backward()
    assert loss.item() == 0.0
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    model.zero_grad()
    # with mle_weight the MLE term trains on it
    mle = _trainer(model, tokenizer, tmp_path, sets=sets, data=_dataset(2), mle_weight=1.0)
    assert mle.compute_loss(model, empty).item() > 0


def test_resume_restores_the_sets_of_the_checkpoint(random_toy_model, tmp_path):
    model, tokenizer = random_toy_model
    saved = _sets()
    trainer = _trainer(
        model, tokenizer, tmp_path, sets=saved, save_strategy="steps", save_steps=2, max_steps=2
    )
    trainer.train()
    checkpoint = tmp_path / "checkpoint-2"
    assert ContrastiveSets.load(checkpoint) == saved
    other = _sets(8, with_negative=lambda i: i < 2)
    other.round = 0
    resumed = _trainer(copy.deepcopy(model), tokenizer, tmp_path, sets=other, max_steps=3)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert resumed.contrastive_sets is other  # the same store, refilled in place
    assert other == saved


def test_text_datasets_are_tokenized_and_eval_with_generate_works(random_toy_model, tmp_path):
    model, tokenizer = random_toy_model
    trainer = _trainer(
        model,
        tokenizer,
        tmp_path,
        predict_with_generate=True,
        generation_max_length=8,
        per_device_eval_batch_size=4,
    )
    assert {"input_ids", "labels", "id"} <= set(trainer.train_dataset.column_names)
    metrics = trainer.evaluate(eval_dataset=trainer.train_dataset)
    assert metrics["eval_loss"] > 0
    predictions = trainer.predict(trainer.train_dataset).predictions
    assert predictions.shape[0] == 8


def test_bad_setups_give_clear_errors(random_toy_model, tmp_path):
    model, tokenizer = random_toy_model
    with pytest.raises(ValueError, match="not in the training data"):
        _trainer(model, tokenizer, tmp_path, sets=_sets(8), data=_dataset(4))
    with pytest.raises(ValueError, match="empty"):
        _trainer(model, tokenizer, tmp_path, sets=ContrastiveSets())
    with pytest.raises(ValueError, match="no id column 'id'"):
        _trainer(model, tokenizer, tmp_path, data=_dataset().remove_columns("id"))
    with pytest.raises(ValueError, match="contrastive_loss must be one of"):
        _config(tmp_path, contrastive_loss="hinge")
    no_pad = copy.deepcopy(tokenizer)
    no_pad.pad_token = None
    with pytest.raises(ValueError, match="pad token"):
        _trainer(model, no_pad, tmp_path)


def _mean_logp(model, tokenizer, examples, texts):
    enc = tokenizer(
        [e.document for e in examples], text_target=texts, padding=True, return_tensors="pt"
    )
    enc["labels"][enc["labels"] == tokenizer.pad_token_id] = -100
    with torch.no_grad():
        logits = model.eval()(**enc).logits
    return sequence_logps(logits, enc["labels"]).mean().item()


@pytest.mark.parametrize(
    "loss,lr,neg_drop,pos_bound,separation",
    [
        # the paper's token-level loss: with negatives one fact away from their positives it also
        # pulls the shared tokens of the positives down (measured: both drop by about 0.4-0.5)
        ("unlikelihood", 3e-5, 0.3, 0.7, -0.1),
        # the sequence-level margin drops the negatives more than the positives (measured on
        # 2 cores with torch 2.13: negatives -0.30, positives -0.19; an earlier machine: -0.02)
        ("margin", 1e-4, 0.08, 0.3, 0.05),
    ],
)
def test_conseq_on_the_toy_world_lowers_the_negatives(
    toy_summarizer_dir, tmp_path, loss, lr, neg_drop, pos_bound, separation
):
    model = BartForConditionalGeneration.from_pretrained(toy_summarizer_dir)
    tokenizer = toy_tokenizer()
    examples = make_examples(64, seed=99)
    data = Dataset.from_dict(
        {
            "id": list(range(64)),
            "document": [e.document for e in examples],
            "summary": [e.summary for e in examples],
        }
    )
    sets = ContrastiveSets(
        {
            i: ContrastiveEntry(positive=e.summary, negative=e.corrupted_summary)
            for i, e in enumerate(examples)
        }
    )
    positives = [e.summary for e in examples]
    negatives = [e.corrupted_summary for e in examples]
    pos_before = _mean_logp(model, tokenizer, examples, positives)
    neg_before = _mean_logp(model, tokenizer, examples, negatives)
    trainer = _trainer(
        model,
        tokenizer,
        tmp_path,
        sets=sets,
        data=data,
        max_steps=200,
        per_device_train_batch_size=8,
        learning_rate=lr,
        contrastive_loss=loss,
        label_smoothing_factor=0.1,
        logging_steps=50,
    )
    trainer.train()
    pos_after = _mean_logp(model, tokenizer, examples, positives)
    neg_after = _mean_logp(model, tokenizer, examples, negatives)
    assert neg_after < neg_before - neg_drop, (neg_before, neg_after)
    assert pos_after > pos_before - pos_bound, (pos_before, pos_after)
    drops = (neg_before - neg_after, pos_before - pos_after)
    assert drops[0] - drops[1] > separation, drops
    assert pos_after - neg_after > 0.5  # positives stay far more likely than negatives


def test_sigmoid_against_an_identical_reference_model_starts_at_log_2(random_toy_model, tmp_path):
    model, tokenizer = random_toy_model
    trainer = ContrastiveTrainer(
        model=model,
        args=_config(tmp_path, contrastive_loss="sigmoid", beta=0.5),
        contrastive_sets=_sets(4),
        train_dataset=_dataset(4),
        processing_class=tokenizer,
        ref_model=copy.deepcopy(model),
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    loss = trainer.compute_loss(model.eval(), batch)
    assert loss.item() == pytest.approx(0.6931472, abs=1e-5)  # -log sigmoid(0)
    no_ref = _trainer(
        model,
        tokenizer,
        tmp_path,
        sets=_sets(4),
        data=_dataset(4),
        contrastive_loss="sigmoid",
        beta=0.5,
    )
    gaps = []
    for e in EXAMPLES[:4]:  # logp(positive) - logp(negative), one example at a time
        logps = []
        for text in (e.summary, e.corrupted_summary):
            enc = tokenizer([e.document], text_target=[text], return_tensors="pt")
            with torch.no_grad():
                logps.append(sequence_logps(model(**enc).logits, enc["labels"]).item())
        gaps.append(logps[0] - logps[1])
    want = -torch.nn.functional.logsigmoid(0.5 * torch.tensor(gaps)).mean().item()
    assert no_ref.compute_loss(model, batch).item() == pytest.approx(want, abs=1e-5)


def test_two_processes_of_batch_2_equal_one_process_of_batch_4(tmp_path, torchrun):
    """DDP averages gradients; the loss is normalised over both processes' tokens."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parent / "scripts" / "contrastive_ddp_step.py"
    sys.path.insert(0, str(script.parent))
    try:
        from contrastive_ddp_step import run
    finally:
        sys.path.pop(0)
    single = run(str(tmp_path / "one"), 4)
    (tmp_path / "two").mkdir()
    result = subprocess.run(
        [*torchrun, "--nproc_per_node", "2", str(script), str(tmp_path / "two"), "2"],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    double = torch.load(tmp_path / "two" / "params.pt")
    torch.manual_seed(0)  # the initial parameters, as the script builds them
    start = BartForConditionalGeneration(toy_bart_config(toy_tokenizer(), d_model=32, layers=1))
    initial = torch.cat([p.detach().flatten() for p in start.parameters()])
    assert (single - initial).abs().max().item() > 1e-3  # the step did something
    assert (single - double).abs().max().item() < 1e-5


def _repeated_sources(self, model, inputs, owner, decoder_input_ids):
    """The forward before sources were encoded once: each source repeated per target."""
    return model(
        input_ids=inputs["input_ids"][owner],
        attention_mask=inputs["attention_mask"][owner],
        decoder_input_ids=decoder_input_ids,
        use_cache=False,
    )


@pytest.mark.parametrize("loss,mle_weight", [("unlikelihood", 0.5), ("sigmoid", 0.0)])
def test_encoding_each_source_once_changes_neither_loss_nor_step(
    random_toy_model, tmp_path, monkeypatch, loss, mle_weight
):
    model, tokenizer = random_toy_model
    ref_model = copy.deepcopy(model)
    with torch.no_grad():  # a reference model that differs from the policy
        for p in ref_model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    results = []
    for forward in (None, _repeated_sources):
        if forward is not None:
            monkeypatch.setattr(ContrastiveTrainer, "_forward_targets", forward)
        trained = copy.deepcopy(model).train()
        trainer = ContrastiveTrainer(
            model=trained,
            args=_config(
                tmp_path / str(forward is None),
                max_steps=1,
                optim="sgd",
                learning_rate=0.5,
                max_grad_norm=0.0,
                contrastive_loss=loss,
                mle_weight=mle_weight,
                label_smoothing_factor=0.1,
            ),
            contrastive_sets=_sets(4, with_negative=lambda i: i != 2),
            train_dataset=_dataset(4),
            processing_class=tokenizer,
            ref_model=ref_model,
        )
        batch = next(iter(trainer.get_train_dataloader()))
        loss_value = trainer.compute_loss(trained, batch).item()
        trainer.train()
        params = torch.cat([p.detach().flatten() for p in trained.parameters()])
        results.append((loss_value, params))
    (loss_once, after_once), (loss_repeated, after_repeated) = results
    assert loss_once > 0.1 and abs(loss_once - loss_repeated) < 1e-6
    before = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert (after_once - before).abs().max().item() > 1e-3  # the step did something
    assert (after_once - after_repeated).abs().max().item() < 1e-6
