"""Training a QAGen: the QA loaders, truncation, and a short training run on toy-world QA."""

import json

import pytest
import torch
from transformers import BartForConditionalGeneration, LlamaForCausalLM, Seq2SeqTrainingArguments

from quals_hf import PRESETS, QAGenBackend, QualsScorer
from quals_hf.cli import main
from quals_hf.qagen.codec import QAGenCodec
from quals_hf.qagen.data import from_columns, load_newsqa, load_squad, mix
from quals_hf.qagen.train import (
    QAGenArguments,
    _rouge_l,
    prepare_examples,
    train_only_top_layers,
    train_qagen,
)
from quals_hf.toy.models import toy_bart_config, toy_llama_config, toy_tokenizer
from quals_hf.toy.world import document_questions, make_examples, summary_questions

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "t",
            "paragraphs": [
                {
                    "context": "maria lopez opened a new school in oslo on monday .",
                    "qas": [
                        {
                            "id": "1",
                            "question": "who opened the school ?",
                            "answers": [
                                {"text": "maria lopez", "answer_start": 0},
                                {"text": "maria lopez", "answer_start": 0},
                                {"text": "lopez", "answer_start": 6},
                            ],
                        },
                        {
                            "id": "2",
                            "question": "where ?",
                            "answers": [{"text": "oslo", "answer_start": 35}],
                        },
                    ],
                }
            ],
        }
    ],
}
NEWSQA = {
    "data": [
        {
            "storyId": "s0",
            "type": "dev",
            "text": "a dev story .",
            "questions": [{"q": "what ?", "consensus": {"s": 2, "e": 5}}],
        },
        {
            "storyId": "s1",
            "type": "train",
            "text": "the mayor of lyon , anna brown , spoke .",
            "questions": [
                {"q": "who is the mayor ?", "consensus": {"s": 20, "e": 30}},
                {"q": "bad one", "consensus": {"badQuestion": True}},
                {"q": "none", "consensus": {"noAnswer": True}},
            ],
        },
    ]
}


def test_squad_rows_one_per_distinct_answer(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD))
    rows = load_squad(path)
    assert list(zip(rows["question"], rows["answer"], rows["answer_start"])) == [
        ("who opened the school ?", "maria lopez", 0),
        ("who opened the school ?", "lopez", 6),
        ("where ?", "oslo", 35),
    ]


def test_newsqa_consensus_spans_and_skipped_questions(tmp_path):
    path = tmp_path / "newsqa.json"
    path.write_text(json.dumps(NEWSQA))
    rows = load_newsqa(path)
    assert rows["answer"] == ["anna brown"] and rows["answer_start"] == [20]
    assert rows["question"] == ["who is the mayor ?"]  # train stories only by default
    assert load_newsqa(path, split="dev")["answer"] == ["dev"]
    spaced = {
        "data": [
            {"text": "x  anna brown", "questions": [{"q": "who ?", "consensus": {"s": 1, "e": 13}}]}
        ]
    }  # span starts on the spaces
    path.write_text(json.dumps(spaced))
    assert load_newsqa(path)["answer_start"] == [3]  # moved past the stripped spaces


def test_split_by_context_keeps_each_context_on_one_side():
    from datasets import Dataset

    from quals_hf.qagen.data import split_by_context

    qa = Dataset.from_dict(
        {
            "context": [f"c{i % 10}" for i in range(40)],
            "question": [f"q{i}" for i in range(40)],
            "answer": ["a"] * 40,
            "answer_start": [-1] * 40,
        }
    )
    train, held = split_by_context(qa, eval_size=7, seed=3)
    assert len(train) + len(held) == 40 and len(held) == 8  # two whole contexts of 4 rows
    assert not set(train["context"]) & set(held["context"])


def test_any_dataset_with_qa_columns_and_mixing(tmp_path):
    from datasets import Dataset

    other = from_columns(
        Dataset.from_dict({"context": ["a b c"], "question": ["q ?"], "answer": [["b", "b", "c"]]})
    )
    assert other["answer"] == ["b", "c"] and other["answer_start"] == [-1, -1]
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD))
    assert len(mix(load_squad(path), other, seed=1)) == 5


def test_answers_cut_off_by_truncation_are_dropped(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD))
    tokenizer = toy_tokenizer()
    backend = QAGenBackend.for_model(BartForConditionalGeneration(toy_bart_config(tokenizer)))
    codec = QAGenCodec(tokenizer, PRESETS["qagen"], backend.eos_ids)
    # 8 tokens keep "maria lopez opened a new school in" (+ </s>): "oslo" is cut off
    examples = prepare_examples(load_squad(path), codec, backend, max_source_length=8)
    assert examples["answer"] == ["maria lopez", "lopez"]
    label = tokenizer.decode(examples["labels"][0])
    assert label == "who opened the school ? <sep> maria lopez </s>"


def test_rouge_l():
    assert _rouge_l("who opened the school", "who opened the school") == 1.0
    assert _rouge_l("who opened it", "who closed it") == pytest.approx(2 / 3)
    assert _rouge_l("", "x") == 0.0


def _toy_qa_file(path, n, seed):
    with path.open("w") as f:
        for ex in make_examples(n, seed=seed):
            for text, questions in (
                (ex.document, document_questions(ex.story)),
                (ex.summary, summary_questions(ex.story)),
            ):
                for q, a in questions:
                    f.write(json.dumps({"context": text, "question": q, "answer": a}) + "\n")
    return path


def _training_args(output, max_steps=600):
    return Seq2SeqTrainingArguments(
        output_dir=str(output),
        max_steps=max_steps,
        learning_rate=5e-3,
        per_device_train_batch_size=48,
        per_device_eval_batch_size=50,
        warmup_steps=60,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )


@pytest.mark.slow
def test_a_short_training_run_gives_a_usable_qagen(tmp_path):
    start = tmp_path / "start"
    tokenizer = toy_tokenizer()
    torch.manual_seed(0)
    BartForConditionalGeneration(toy_bart_config(tokenizer)).save_pretrained(start)
    tokenizer.save_pretrained(start)
    data = _toy_qa_file(tmp_path / "qa.jsonl", 300, seed=81)
    output = tmp_path / "qagen"
    _, metrics = train_qagen(
        QAGenArguments(
            model_name_or_path=str(start), dataset=str(data), eval_size=100, max_source_length=128
        ),
        _training_args(output),
    )
    assert metrics["eval_parse_rate"] >= 0.9, metrics
    assert metrics["eval_answer_span_rate"] >= 0.9, metrics
    assert metrics["eval_question_rouge_l"] > 0.5, metrics
    scorer = QualsScorer.from_pretrained(str(output), device="cpu", progress=False)
    assert scorer.format == PRESETS["qagen"]  # read from the saved config
    card = (output / "README.md").read_text()
    assert "qagen" in card and str(tmp_path / "start") in card
    ex = make_examples(1, seed=82)[0]
    assert scorer.score([ex.document], [ex.summary]).num_pairs[0] > 0


def test_cli_help_and_missing_data(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train-qagen", "--help"])
    assert "--model_name_or_path" in capsys.readouterr().out
    code = main(
        [
            "train-qagen",
            "--model_name_or_path",
            str(tmp_path),
            "--output_dir",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "quals-hf train-qagen: error: no QA data: give --squad, --newsqa and/or --dataset"
    )


@pytest.mark.slow
def test_a_decoder_only_qagen_learns_the_format(tmp_path):
    """A tiny Llama from scratch: prompt, then target tokens with the loss on them only."""
    start = tmp_path / "start"
    tokenizer = toy_tokenizer(append_eos=False)
    torch.manual_seed(0)
    LlamaForCausalLM(toy_llama_config(tokenizer)).save_pretrained(start)
    tokenizer.save_pretrained(start)
    data = _toy_qa_file(tmp_path / "qa.jsonl", 300, seed=83)
    output = tmp_path / "qagen"
    _, metrics = train_qagen(
        QAGenArguments(
            model_name_or_path=str(start), dataset=str(data), eval_size=100, max_source_length=128
        ),
        _training_args(output),
    )
    assert metrics["eval_parse_rate"] == 1.0, metrics
    # copying answers takes longer: 0.65 after these 600 steps (the toy causal QAGen of the
    # QUALS tests trains 2500 steps and prefers faithful summaries in 99 of 100 pairs)
    assert metrics["eval_answer_span_rate"] >= 0.5, metrics
    trained = LlamaForCausalLM.from_pretrained(output)
    assert trained.config.qagen_format == PRESETS["causal-qagen"].to_dict()
    scorer = QualsScorer.from_pretrained(str(output), device="cpu", progress=False)
    ex = make_examples(1, seed=84)[0]
    assert scorer.score([ex.document], [ex.summary]).num_pairs[0] > 0


def test_train_top_layers_freezes_all_but_the_top_blocks_and_the_final_norm():
    model = LlamaForCausalLM(toy_llama_config(toy_tokenizer(), layers=3))
    trainable = train_only_top_layers(model, 2)
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert names == {n for n, _ in model.named_parameters() if ".layers.0." not in n} - {
        n for n, _ in model.named_parameters() if "embed_tokens" in n or "lm_head" in n
    }
    assert trainable == sum(p.numel() for n, p in model.named_parameters() if n in names)
    assert "model.norm.weight" in names
    with pytest.raises(ValueError, match=r"1\.\.3"):
        train_only_top_layers(model, 4)


def test_squad_reads_gzipped_json(tmp_path):
    import gzip

    path = tmp_path / "squad.json.gz"
    with gzip.open(path, "wt") as f:
        json.dump(SQUAD, f)
    assert load_squad(path)["answer"] == ["maria lopez", "lopez", "oslo"]


def test_training_continues_a_given_lora_adapter(tmp_path):
    """--adapter_init: the adapter's own weights are where training starts (lr 0 keeps them
    exactly), and they train (lr > 0 moves them); the folder gets its format file."""
    from safetensors.torch import load_file

    start = tmp_path / "start"
    tokenizer = toy_tokenizer(append_eos=False)
    torch.manual_seed(0)
    LlamaForCausalLM(toy_llama_config(tokenizer)).save_pretrained(start)
    tokenizer.save_pretrained(start)
    data = _toy_qa_file(tmp_path / "qa.jsonl", 20, seed=85)

    def run(output, rate, **qagen):
        args = _training_args(output, max_steps=2)
        args.learning_rate, args.warmup_steps, args.per_device_train_batch_size = rate, 0, 4
        args.eval_strategy = "no"
        arguments = QAGenArguments(
            model_name_or_path=str(start), dataset=str(data), eval_size=4, **qagen
        )
        train_qagen(arguments, args)
        return load_file(output / "adapter_model.safetensors")

    first = run(tmp_path / "first", 1e-2, lora_r=4)
    kept = run(tmp_path / "kept", 0.0, adapter_init=str(tmp_path / "first"))
    moved = run(tmp_path / "moved", 1e-2, adapter_init=str(tmp_path / "first"))
    assert first.keys() == kept.keys() == moved.keys()
    assert all(torch.equal(first[k], kept[k]) for k in first)
    assert any((first[k] - moved[k]).abs().max() > 1e-4 for k in first)
    assert (tmp_path / "moved" / "qagen_format.json").is_file()
    with pytest.raises(ValueError, match="not both"):
        run(tmp_path / "both", 0.0, lora_r=4, adapter_init=str(tmp_path / "first"))
