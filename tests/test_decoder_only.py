"""Decoder-only QAGens: the backend, prompts, caching, and QUALS working with a trained one."""

import logging
import math
import os

import pytest
import torch
from transformers import LlamaForCausalLM

from quals_hf import DecoderOnlyBackend, QAPair, QualsScorer, load_qags
from quals_hf.qagen.shared_prefix import shares_prefix
from quals_hf.toy.models import toy_llama_config, toy_tokenizer
from quals_hf.toy.world import CORRUPTIONS, make_examples


@pytest.fixture()
def random_causal():
    torch.manual_seed(0)
    tokenizer = toy_tokenizer(append_eos=False)
    model = LlamaForCausalLM(toy_llama_config(tokenizer, hidden_size=32, layers=1)).eval()
    model.config.qagen_format = {"input_suffix": " <s>", "template": "{question} <sep> {answer}"}
    return model, tokenizer


@pytest.mark.slow
def test_the_scorer_picks_the_decoder_only_backend_from_the_config(toy_causal_qagen_dir):
    scorer = QualsScorer.from_pretrained(str(toy_causal_qagen_dir), device="cpu", progress=False)
    assert isinstance(scorer.backend, DecoderOnlyBackend)
    assert scorer.format.input_suffix == " <s>"  # read from config.qagen_format


def test_cached_prompts_give_what_reading_prompt_and_target_at_once_gives(random_causal):
    """Each prompt is read once and its cache copied to its pairs (left-padded batch)."""
    model, tokenizer = random_causal
    scorer = QualsScorer(model, tokenizer, progress=False)
    examples = make_examples(3, seed=5)
    sources, summaries = [e.document for e in examples], [e.summary for e in examples]
    pairs = [[QAPair(f"who opened it {i} ?", "oslo", 0.0) for i in range(k + 1)] for k in range(3)]
    scored = scorer.score_pairs(sources, summaries, pairs)
    for source, summary, example in zip(sources, summaries, scored):
        for ps in example:
            for text, got in ((source, ps.token_logprobs_x), (summary, ps.token_logprobs_y)):
                prompt = tokenizer(text + " <s>")["input_ids"]
                ids = torch.tensor([prompt + ps.pair.prefix_ids + ps.pair.token_ids])
                with torch.no_grad():
                    logits = model(input_ids=ids).logits[0].float()
                start = len(prompt) + len(ps.pair.prefix_ids)
                lp = torch.log_softmax(logits[start - 1 : -1], -1)
                want = lp.gather(-1, ids[0, start:, None]).squeeze(-1)
                torch.testing.assert_close(torch.tensor(got), want, atol=1e-5, rtol=0)


def test_long_inputs_are_cut_inside_the_text_never_in_the_prompt(random_causal, caplog):
    model, tokenizer = random_causal
    model.config.qagen_format = {
        "input_prefix": "<sep>",
        "input_suffix": " <s>",
        "template": "{question} <sep> {answer}",
    }
    scorer = QualsScorer(model, tokenizer, max_input_length=12, max_new_tokens=8, progress=False)
    long_text = make_examples(1, seed=3)[0].document
    with caplog.at_level(logging.WARNING, logger="quals_hf"):
        (ids,) = scorer._encode([long_text], "sources")
    sep, bos = tokenizer.convert_tokens_to_ids(["<sep>", "<s>"])
    assert len(ids) == 12 and ids[0] == sep and ids[-1] == bos
    assert ids[1:-1] == tokenizer(long_text)["input_ids"][:10]
    assert "1 of 1 sources were longer than 12 tokens" in caplog.text


def test_the_context_window_must_hold_the_prompt_and_the_generation(random_causal):
    model, tokenizer = random_causal  # 256 positions
    with pytest.raises(ValueError, match="exceeds the model's 256 positions"):
        QualsScorer(model, tokenizer, max_input_length=200, max_new_tokens=60)
    assert QualsScorer(model, tokenizer, max_new_tokens=60).max_input_length == 128


@pytest.mark.slow
def test_pairs_are_the_generated_tokens_and_lp_y_is_the_search_own(toy_causal_qagen_dir):
    scorer = QualsScorer.from_pretrained(str(toy_causal_qagen_dir), device="cpu", progress=False)
    examples = make_examples(4, seed=9)
    summaries = [e.summary for e in examples]
    out = scorer.score([e.document for e in examples], summaries, return_details=True)
    hypotheses = [
        [o.generated(i) for i in range(len(o.scores))]
        for o in scorer._search(scorer._encode(summaries, "summaries"))
    ]
    teacher = scorer.score_pairs([e.document for e in examples], summaries, out.pairs)
    for example, hyps, forced in zip(out.pair_scores, hypotheses, teacher):
        assert example
        for ps, tf in zip(example, forced):
            assert ps.pair.prefix_ids + ps.pair.token_ids in hyps
            assert tf.pair is ps.pair  # the scorer's own tokens are kept, not re-tokenized
            assert abs(ps.lp_y - tf.lp_y) < 1e-5 and abs(ps.lp_x - tf.lp_x) < 1e-5


@pytest.mark.slow
def test_one_shared_copy_of_the_prompt_leaves_every_score_unchanged(
    toy_causal_qagen_dir, monkeypatch
):
    """Rows attending to one copy of their prompt (`shared_prefix`) score what rows with a
    copy each score: the same pairs, every lp_x and lp_y within 1e-4 (the exact mode's pin)."""
    scorer = QualsScorer.from_pretrained(str(toy_causal_qagen_dir), device="cpu", progress=False)
    examples = make_examples(6, seed=13)
    sources, summaries = [e.document for e in examples], [e.summary for e in examples]
    assert shares_prefix(scorer.model)
    shared = scorer.score(sources, summaries, return_details=True)
    monkeypatch.setattr("quals_hf.qagen.backend.shares_prefix", lambda model: False)
    copied = scorer.score(sources, summaries, return_details=True)
    for one, each in zip(shared.pair_scores, copied.pair_scores):
        assert one and [p.pair.token_ids for p in one] == [p.pair.token_ids for p in each]
        for a, b in zip(one, each):
            assert abs(a.lp_x - b.lp_x) < 1e-4 and abs(a.lp_y - b.lp_y) < 1e-4
    assert max(abs(a - b) for a, b in zip(shared.scores, copied.scores)) < 1e-4


@pytest.mark.slow
def test_threads_sharing_one_scorer_get_the_serial_scores(toy_causal_qagen_dir):
    """Several threads scoring different summaries through one QualsScorer at once (a served
    metric) get what one thread gets scoring them one after another: the shared-prompt
    attention is chosen per call, nothing is switched on the shared model."""
    from concurrent.futures import ThreadPoolExecutor

    scorer = QualsScorer.from_pretrained(
        str(toy_causal_qagen_dir), device="cpu", progress=False, num_groups=8
    )
    examples = make_examples(8, seed=17)
    jobs = [(e.document, s) for e in examples for s in (e.summary, e.corrupted_summary)]

    def one(job):
        out = scorer.score([job[0]], [job[1]], return_details=True)
        return out.scores[0], [(p.pair.question, p.pair.answer, p.lp_x) for p in out.pair_scores[0]]

    serial = [one(job) for job in jobs]
    assert all(pairs for _, pairs in serial)
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        threaded = list(pool.map(one, jobs))
    for (a, pairs_a), (b, pairs_b) in zip(serial, threaded):
        assert [p[:2] for p in pairs_a] == [p[:2] for p in pairs_b]
        assert a == pytest.approx(b, abs=1e-6)
        assert all(x[2] == pytest.approx(y[2], abs=1e-6) for x, y in zip(pairs_a, pairs_b))


@pytest.mark.slow
def test_a_trained_decoder_only_qagen_prefers_faithful_summaries(toy_causal_qagen_dir):
    scorer = QualsScorer.from_pretrained(str(toy_causal_qagen_dir), device="cpu", progress=False)
    examples = make_examples(50, seed=7)  # stories the toy QAGen never saw
    sources = [e.document for e in examples]
    faithful = scorer.score(sources, [e.summary for e in examples], batch_size=25)
    corrupted = scorer.score(sources, [e.corrupted_summary for e in examples], batch_size=25)
    assert not any(math.isnan(s) for s in faithful.scores + corrupted.scores)
    wins = [f > c for f, c in zip(faithful.scores, corrupted.scores)]
    assert sum(wins) >= 45
    for kind in CORRUPTIONS:
        kind_wins = [w for e, w in zip(examples, wins) if e.corruption == kind]
        assert sum(kind_wins) >= 0.7 * len(kind_wins), kind


@pytest.mark.skipif(
    not os.environ.get("QUALS_REAL_QAGEN"),
    reason="opt-in: set QUALS_REAL_QAGEN to a real QAGen folder (docs/validity.md)",
)
def test_the_real_qagen_scores_qags_summaries():
    scorer = QualsScorer.from_pretrained(os.environ["QUALS_REAL_QAGEN"], progress=False)
    data = load_qags("xsum").select(range(8))
    out = scorer.score(data["document"], data["summary"], batch_size=8, return_details=True)
    assert all(n > 0 for n in out.num_pairs)
    assert all(-20 < s < 5 for s in out.scores)
    for example, summary in zip(out.pairs, data["summary"]):
        assert all(p.answer.lower() in summary.lower() for p in example)
