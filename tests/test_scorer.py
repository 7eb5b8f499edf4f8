"""QualsScorer: the formula, the mechanics, and bad input."""

import logging
import math

import pytest
import torch

from quals_hf import PRESETS, PairScore, QAPair, QualsScorer, quals_from_pair_scores
from quals_hf.toy.world import make_examples

EXAMPLES = make_examples(12, seed=11)
SOURCES = [e.document for e in EXAMPLES]
SUMMARIES = [e.summary for e in EXAMPLES]


def _manual_logprobs(model, tokenizer, text, target_ids, prefix=()):
    """log p(target token | prefix, previous target tokens, text), computed the plain way."""
    enc = tokenizer([text], return_tensors="pt")
    start = model.config.decoder_start_token_id
    decoder_in = torch.tensor([[start, *prefix, *target_ids[:-1]]])
    with torch.no_grad():
        logits = model(**enc, decoder_input_ids=decoder_in).logits[0, len(prefix) :]
    return torch.log_softmax(logits, -1).gather(-1, torch.tensor(target_ids)[:, None]).squeeze(-1)


def test_quals_is_the_mean_of_lp_x_minus_lp_y():
    pair = QAPair("q", "a", 0.0)
    scores = [PairScore(pair, -0.10, -0.05, [], []), PairScore(pair, -2.7, -0.1, [], [])]
    assert quals_from_pair_scores(scores) == pytest.approx(((-0.05) + (-2.6)) / 2)
    assert math.isnan(quals_from_pair_scores([]))


def test_pair_scores_equal_a_hand_computation(random_toy_model):
    model, tokenizer = random_toy_model
    scorer = QualsScorer(model, tokenizer, progress=False)
    pairs = [
        [
            QAPair("who opened the new school in oslo ?", "maria lopez", 0.0),
            QAPair("how many people will the new school employ ?", "120", 0.0),
        ],
        [QAPair("in which city did norvex open the new depot ?", "lyon", 0.0)],
    ]
    scored = scorer.score_pairs(SOURCES[:2], SUMMARIES[:2], pairs)
    for text_x, text_y, example in zip(SOURCES, SUMMARIES, scored):
        for ps in example:
            target = tokenizer(text_target=f"{ps.pair.question} <sep> {ps.pair.answer}").input_ids
            assert ps.pair.token_ids == target and target[-1] == tokenizer.eos_token_id
            assert ps.pair.prefix_ids == scorer.hand_made_prefix()
            lx = _manual_logprobs(model, tokenizer, text_x, target, ps.pair.prefix_ids)
            ly = _manual_logprobs(model, tokenizer, text_y, target, ps.pair.prefix_ids)
            torch.testing.assert_close(torch.tensor(ps.token_logprobs_x), lx, atol=1e-5, rtol=0)
            torch.testing.assert_close(torch.tensor(ps.token_logprobs_y), ly, atol=1e-5, rtol=0)
            assert ps.lp_x == pytest.approx(lx.mean().item(), abs=1e-5)
            assert ps.lp_y == pytest.approx(ly.mean().item(), abs=1e-5)


def test_each_source_is_encoded_once_not_once_per_pair(random_toy_model):
    model, tokenizer = random_toy_model
    scorer = QualsScorer(model, tokenizer, progress=False)
    scorer.hand_made_prefix()  # the one-step BOS probe reads one text, once per scorer
    rows = []
    hook = model.get_encoder().register_forward_pre_hook(
        lambda module, args, kwargs: rows.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    pairs = [[QAPair(f"question {i} ?", "a new", 0.0) for i in range(5)] for _ in range(3)]
    scorer.score_pairs(SOURCES[:3], SUMMARIES[:3], pairs, batch_size=3)
    hook.remove()
    assert rows == [3, 3]  # one pass over the 3 sources, one over the 3 summaries; 15 pairs


def test_details_are_consistent_with_scores(toy_scorer):
    out = toy_scorer.score(SOURCES[:4], SUMMARIES[:4], return_details=True)
    for score, n, pairs, pair_scores in zip(out.scores, out.num_pairs, out.pairs, out.pair_scores):
        assert n == len(pairs) == len(pair_scores) > 0
        assert score == pytest.approx(sum(p.lp_x - p.lp_y for p in pair_scores) / n)
        assert [p.pair for p in pair_scores] == pairs


def test_generated_pairs_follow_the_rules(toy_scorer):
    tokenizer = toy_scorer.tokenizer
    for summary, pairs in zip(SUMMARIES, toy_scorer.generate_pairs(SUMMARIES)):
        assert 1 <= len(pairs) <= 10
        assert len({(p.question.lower(), p.answer.lower()) for p in pairs}) == len(pairs)
        for p in pairs:
            assert p.answer.lower() in summary.lower()
            assert p.token_ids[-1] == tokenizer.eos_token_id
            assert tokenizer.decode(p.token_ids, skip_special_tokens=False) == (
                f"{p.question} <sep> {p.answer} </s>"
            )


def test_scores_do_not_depend_on_batch_size_and_are_deterministic(toy_scorer):
    runs = [toy_scorer.score(SOURCES, SUMMARIES, batch_size=b) for b in (1, 5, 12, 5)]
    for run in runs[1:]:
        assert run.num_pairs == runs[0].num_pairs
        assert max(abs(a - b) for a, b in zip(run.scores, runs[0].scores)) < 1e-4
    assert runs[1].scores == runs[3].scores


def test_no_surviving_pair_gives_nan_not_an_error(random_toy_model):
    model, tokenizer = random_toy_model
    with torch.no_grad():  # a model that can never write the separator parses into no pair
        model.final_logits_bias[0, tokenizer.convert_tokens_to_ids("<sep>")] = -1e4
    out = QualsScorer(model, tokenizer, progress=False, num_groups=4, max_new_tokens=12).score(
        SOURCES[:2], SUMMARIES[:2]
    )
    assert out.num_pairs == [0, 0]
    assert all(math.isnan(s) for s in out.scores) and math.isnan(out.mean)


@pytest.mark.parametrize(
    "sources,summaries,message",
    [
        (["a doc", None], ["s1", "s2"], r"sources\[1\] must be a string, got NoneType"),
        (["a doc", "b doc"], ["s1", 7], r"summaries\[1\] must be a string, got int"),
        (["a doc", "   \n"], ["s1", "s2"], r"sources\[1\] is empty or whitespace only"),
        (["a doc", "b doc"], ["", "s2"], r"summaries\[0\] is empty"),
        (["a doc", "b doc"], ["s1"], r"differ in length: \{'sources': 2, 'summaries': 1\}"),
        ("a doc", ["s1"], r"sources must be a list of strings, got str"),
    ],
)
def test_bad_inputs_raise_errors_that_name_the_item(random_toy_model, sources, summaries, message):
    model, tokenizer = random_toy_model
    scorer = QualsScorer(model, tokenizer, progress=False, num_groups=2, max_new_tokens=4)
    with pytest.raises(ValueError, match=message):
        scorer.score(sources, summaries)
    if isinstance(summaries, list) and len(summaries) == len(sources):
        with pytest.raises(ValueError, match=message):
            scorer.score_pairs(sources, summaries, [[], []])


def test_generate_pairs_names_a_bad_summary(random_toy_model):
    scorer = QualsScorer(*random_toy_model, progress=False)
    with pytest.raises(ValueError, match=r"summaries\[2\] is empty"):
        scorer.generate_pairs(["one", "two", " "])


def test_long_inputs_are_truncated_with_one_warning(random_toy_model, caplog):
    model, tokenizer = random_toy_model
    scorer = QualsScorer(
        model, tokenizer, progress=False, num_groups=2, max_new_tokens=4, max_input_length=20
    )
    with caplog.at_level(logging.WARNING, logger="quals_hf"):
        out = scorer.score(SOURCES[:3], ["a short summary ."] * 3, batch_size=1)
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        "3 of 3 sources were longer than 20 tokens and were truncated (first: index 0)"
    ]
    assert len(out.scores) == 3


def test_progress_bar_can_be_turned_off(random_toy_model, capsys):
    scorer = QualsScorer(*random_toy_model, num_groups=2, max_new_tokens=4)
    scorer.score(SOURCES[:2], SUMMARIES[:2])
    assert "QUALS" in capsys.readouterr().err
    scorer.score(SOURCES[:2], SUMMARIES[:2], progress=False)
    assert capsys.readouterr().err == ""


def test_from_pretrained_reads_the_format_from_the_config(random_toy_model, tmp_path):
    model, tokenizer = random_toy_model
    model.config.qagen_format = PRESETS["lmqg"].to_dict()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    scorer = QualsScorer.from_pretrained(
        str(tmp_path), device="cpu", dtype="bf16", num_groups=3, batch_size=2
    )
    assert scorer.format == PRESETS["lmqg"]
    assert scorer.model.dtype == torch.bfloat16
    assert scorer.config.num_groups == 3 and scorer.batch_size == 2
    assert QualsScorer.from_pretrained(str(tmp_path), format="qagen").format == PRESETS["qagen"]


def test_from_pretrained_still_takes_name_or_path_with_a_future_warning(random_toy_model, tmp_path):
    random_toy_model[0].save_pretrained(tmp_path)
    random_toy_model[1].save_pretrained(tmp_path)
    options = dict(device="cpu", num_groups=2, max_new_tokens=6, progress=False)
    new = QualsScorer.from_pretrained(qagen=str(tmp_path), **options)
    with pytest.warns(FutureWarning, match=r"name_or_path=.*deprecated.*pass qagen="):
        old = QualsScorer.from_pretrained(name_or_path=str(tmp_path), **options)
    assert old.model.config.name_or_path == new.model.config.name_or_path == str(tmp_path)
    assert (old.format, old.config) == (new.format, new.config)
    a, b = (s.score(SOURCES[:2], SUMMARIES[:2], return_details=True) for s in (old, new))
    assert a.num_pairs == b.num_pairs
    assert a.scores == pytest.approx(b.scores, nan_ok=True)
    with pytest.raises(TypeError, match="both qagen and name_or_path"):
        QualsScorer.from_pretrained(str(tmp_path), name_or_path=str(tmp_path))


def test_unknown_parameters_and_missing_pad_token_are_rejected(random_toy_model):
    model, tokenizer = random_toy_model
    with pytest.raises(TypeError, match="num_beams"):
        QualsScorer(model, tokenizer, num_beams=4)
    tokenizer.pad_token = None
    with pytest.raises(ValueError, match="pad token"):
        QualsScorer(model, tokenizer)


def test_hypotheses_ending_in_any_eos_id_parse(random_toy_model):
    model, tokenizer = random_toy_model
    unk = tokenizer.unk_token_id
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, unk]
    scorer = QualsScorer(model, tokenizer, progress=False)
    ids = tokenizer("who opened the school ? <sep> vienna", add_special_tokens=False).input_ids
    generated = [*ids, unk]
    assert scorer.codec.decode(generated) == "who opened the school ? <sep> vienna"
    assert scorer.codec.parse(generated) == [("who opened the school ?", "vienna")]


def test_targets_end_with_eos_even_if_the_tokenizer_adds_none(random_toy_model):
    model, tokenizer = random_toy_model
    tokenizer._tokenizer.post_processor = None  # no </s> appended any more
    scorer = QualsScorer(model, tokenizer, progress=False)
    pairs = [[QAPair("who won ?", "maria", 0.0)]]
    scored = scorer.score_pairs(SOURCES[:1], SUMMARIES[:1], pairs)
    assert scored[0][0].pair.token_ids[-1] == tokenizer.eos_token_id
    assert len(scored[0][0].pair.token_ids) == 6  # who, won, ?, <sep>, maria, then EOS
    assert pairs[0][0].token_ids == []  # the caller's pair is left as it was


def test_empty_input_lists_give_empty_outputs_and_bad_settings_are_refused(random_toy_model):
    scorer = QualsScorer(*random_toy_model, progress=False)
    out = scorer.score([], [])
    assert out.scores == [] and out.num_pairs == [] and math.isnan(out.mean)
    for bad in ({"max_pairs": 0}, {"num_groups": 0}, {"diversity_penalty": -1.0}):
        with pytest.raises(ValueError):
            QualsScorer(*random_toy_model, **bad)
