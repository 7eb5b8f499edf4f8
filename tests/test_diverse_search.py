"""diverse_beam_search against transformers 4.x, a brute-force reference, and itself."""

import json
from pathlib import Path

import pytest
import torch
from transformers import BartForConditionalGeneration, LlamaForCausalLM

from quals_hf import diverse_beam_search

REFERENCE = Path(__file__).parent / "fixtures" / "group_beam_reference"


@pytest.fixture(scope="module")
def reference():
    model = BartForConditionalGeneration.from_pretrained(REFERENCE).eval()
    data = json.loads((REFERENCE / "reference.json").read_text())
    return model, data


def _strip(seq, pad):
    while seq and seq[-1] == pad:
        seq = seq[:-1]
    return seq


@pytest.mark.parametrize("case", range(3))
def test_same_hypotheses_and_scores_as_transformers_4(reference, case):
    """The fixture was written by transformers 4.55.4's generate(num_beam_groups=...)."""
    model, data = reference
    spec = data["cases"][case]
    groups = spec["settings"]["num_groups"]
    outputs = diverse_beam_search(
        model,
        torch.tensor(data["input_ids"]),
        torch.tensor(data["attention_mask"]),
        **spec["settings"],
    )
    pad = model.config.pad_token_id
    for b, out in enumerate(outputs):
        expected = [_strip(s, pad) for s in spec["sequences"][b * groups : (b + 1) * groups]]
        assert [_strip(s, pad) for s in out.sequences.tolist()] == expected
        torch.testing.assert_close(
            out.scores,
            torch.tensor(spec["sequences_scores"][b * groups : (b + 1) * groups]),
            atol=1e-5,
            rtol=0,
        )


def brute_force_search(model, input_ids, groups, penalty, min_new, max_new, length_penalty):
    """The 4.x algorithm for one input, written plainly: full prefixes, no cache, full vocab;
    except that a finished group whose pad id is EOS counts toward no later group's penalty."""
    eos, pad = model.config.eos_token_id, model.config.pad_token_id
    seqs = [[model.config.decoder_start_token_id] for _ in range(groups)]
    scores, lls = [0.0] * groups, [0.0] * groups
    finished = [None] * groups
    for step in range(max_new):
        logits = (
            model(input_ids=input_ids.repeat(groups, 1), decoder_input_ids=torch.tensor(seqs))
            .logits[:, -1]
            .float()
        )
        logprobs = torch.log_softmax(logits, -1)
        current = []
        for g in range(groups):
            if finished[g] is not None:
                scores[g] = 0.0
                if pad != eos:
                    current.append(pad)
                seqs[g].append(pad)
                continue
            lp = logprobs[g].clone()
            if step < min_new:
                lp[eos] = float("-inf")
            processed = lp.clone()
            for token in current:
                processed[token] -= penalty
            total = processed + scores[g]
            best = torch.argsort(total, descending=True, stable=True)[:2].tolist()
            if best[0] == eos:
                finished[g] = (
                    seqs[g] + [eos],
                    total[eos].item() / (step + 1) ** length_penalty,
                    lls[g] + lp[eos].item(),
                )
                best = best[1:]
            token = best[0]
            scores[g], lls[g] = total[token].item(), lls[g] + lp[token].item()
            seqs[g].append(token)
            current.append(token)
        if all(f is not None for f in finished):
            break
    results = [
        f if f is not None else (seqs[g], scores[g] / max_new**length_penalty, lls[g])
        for g, f in enumerate(finished)
    ]
    return sorted(results, key=lambda r: -r[1])


@pytest.mark.parametrize("penalty,min_new,length_penalty", [(0.5, 3, 1.0), (1.5, 0, 0.8)])
def test_matches_brute_force_reference(reference, penalty, min_new, length_penalty):
    model, data = reference
    input_ids = torch.tensor(data["input_ids"][:1])
    ours = diverse_beam_search(
        model,
        input_ids,
        num_groups=7,
        diversity_penalty=penalty,
        min_new_tokens=min_new,
        max_new_tokens=10,
        length_penalty=length_penalty,
    )[0]
    with torch.no_grad():
        expected = brute_force_search(model, input_ids, 7, penalty, min_new, 10, length_penalty)
    pad = model.config.pad_token_id
    assert [_strip(s, pad) for s in ours.sequences.tolist()] == [
        _strip(s, pad) for s, _, _ in expected
    ]
    torch.testing.assert_close(
        ours.scores, torch.tensor([s for _, s, _ in expected]), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        ours.log_likelihoods, torch.tensor([ll for _, _, ll in expected]), atol=1e-4, rtol=0
    )


def test_log_likelihood_is_the_pure_teacher_forced_likelihood(reference):
    model, data = reference
    out = diverse_beam_search(
        model,
        torch.tensor(data["input_ids"][:1]),
        num_groups=5,
        diversity_penalty=1.0,
        min_new_tokens=2,
        max_new_tokens=8,
    )[0]
    for seq, length, ll in zip(out.sequences, out.lengths, out.log_likelihoods):
        seq = seq[: length + 1].unsqueeze(0)
        with torch.no_grad():
            logits = model(
                input_ids=torch.tensor(data["input_ids"][:1]), decoder_input_ids=seq[:, :-1]
            ).logits
        expected = torch.log_softmax(logits, -1).gather(-1, seq[:, 1:, None]).sum()
        assert ll.item() == pytest.approx(expected.item(), abs=1e-4)
    # with a diversity penalty the search score of later groups is below the pure likelihood
    assert (out.scores * out.lengths < out.log_likelihoods + 1e-6).all()
    assert (out.scores * out.lengths < out.log_likelihoods - 1e-3).any()


def test_batched_inputs_give_the_same_hypotheses_as_single_ones(reference):
    model, data = reference
    ids, mask = torch.tensor(data["input_ids"]), torch.tensor(data["attention_mask"])
    together = diverse_beam_search(
        model, ids, mask, num_groups=6, max_new_tokens=12, min_new_tokens=2
    )
    for b in range(ids.shape[0]):
        n = int(mask[b].sum())
        alone = diverse_beam_search(
            model, ids[b : b + 1, :n], num_groups=6, max_new_tokens=12, min_new_tokens=2
        )[0]
        assert (
            alone.sequences.tolist()
            == together[b].sequences[:, : alone.sequences.shape[1]].tolist()
        )
        torch.testing.assert_close(alone.scores, together[b].scores, atol=1e-5, rtol=0)


def test_min_new_tokens_and_max_new_tokens_bound_the_lengths(reference):
    model, data = reference
    out = diverse_beam_search(
        model, torch.tensor(data["input_ids"]), num_groups=10, min_new_tokens=5, max_new_tokens=9
    )
    eos = model.config.eos_token_id
    for o in out:
        assert o.sequences.shape == (10, 1 + int(o.lengths.max()))
        assert int(o.lengths.min()) >= 6  # 5 tokens, then EOS at the earliest
        assert int(o.lengths.max()) <= 9
        for seq, length in zip(o.sequences.tolist(), o.lengths.tolist()):
            assert eos not in seq[1:length]  # EOS only as the last token
        assert o.scores.tolist() == sorted(o.scores.tolist(), reverse=True)


def test_rejects_decoder_only_models_and_bad_sizes(reference):
    model, _ = reference
    with pytest.raises(ValueError, match="num_groups"):
        diverse_beam_search(model, torch.tensor([[5, 6]]), num_groups=0)


CAUSAL_REFERENCE = Path(__file__).parent / "fixtures" / "group_beam_reference_causal"


@pytest.fixture(scope="module")
def causal_reference():
    model = LlamaForCausalLM.from_pretrained(CAUSAL_REFERENCE).eval()
    data = json.loads((CAUSAL_REFERENCE / "reference.json").read_text())
    return model, data


@pytest.mark.parametrize("case", range(3))
def test_decoder_only_hypotheses_and_scores_as_transformers_4(causal_reference, case):
    """A tiny Llama with left-padded prompts; 4.55.4 returned prompt + generated tokens."""
    model, data = causal_reference
    spec = data["cases"][case]
    groups = spec["settings"]["num_groups"]
    prompt_width = len(data["input_ids"][0])
    outputs = diverse_beam_search(
        model,
        torch.tensor(data["input_ids"]),
        torch.tensor(data["attention_mask"]),
        **spec["settings"],
    )
    pad = model.config.pad_token_id
    for b, out in enumerate(outputs):
        assert out.num_prefix_tokens == 0
        rows = spec["sequences"][b * groups : (b + 1) * groups]
        expected = [_strip(s[prompt_width:], pad) for s in rows]
        assert [_strip(out.generated(i), pad) for i in range(groups)] == expected
        torch.testing.assert_close(
            out.scores,
            torch.tensor(spec["sequences_scores"][b * groups : (b + 1) * groups]),
            atol=1e-5,
            rtol=0,
        )


def test_finished_groups_do_not_penalise_eos_when_pad_is_eos(reference):
    """Most decoder-only models pad with their EOS id. transformers 4.x counted a finished
    group's pad toward the diversity penalty, so every finished group lowered EOS for the later
    ones and late answers ran on to max_new_tokens; here a finished group counts nothing."""
    model, data = reference
    input_ids = torch.tensor(data["input_ids"][:1])
    settings = dict(num_groups=10, diversity_penalty=1.5, min_new_tokens=1, max_new_tokens=12)
    pad, eos = model.config.pad_token_id, model.config.eos_token_id
    model.config.pad_token_id = model.generation_config.pad_token_id = eos
    try:
        ours = diverse_beam_search(model, input_ids, **settings)[0]
        with torch.no_grad():
            expected = brute_force_search(model, input_ids, 10, 1.5, 1, 12, 1.0)
    finally:
        model.config.pad_token_id = model.generation_config.pad_token_id = pad
    lengths = ours.lengths.tolist()
    assert [ours.sequences[i, : 1 + n].tolist() for i, n in enumerate(lengths)] == [
        s for s, _, _ in expected
    ]
    torch.testing.assert_close(
        ours.scores, torch.tensor([s for _, s, _ in expected]), atol=1e-5, rtol=0
    )
    assert sum(n < 12 for n in lengths) >= 3  # groups finished, so they could have penalised
