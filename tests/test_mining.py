"""Mining contrastive sets: the selection rule, scorers, determinism, several processes."""

import math
import os
import subprocess
from pathlib import Path

import pytest
from transformers import BartForConditionalGeneration

from quals_hf import ContrastiveSets, MiningConfig, mine_contrastive_sets, select_documents
from quals_hf.conseq.mining import MinedDocument, mine_documents
from quals_hf.toy.models import toy_tokenizer
from quals_hf.toy.world import make_examples

NAN = math.nan
SCRIPT = Path(__file__).parent / "scripts" / "mine_distributed.py"


def test_selection_is_lowest_negatives_intersected_with_highest_references():
    negative = [-3.0, -0.1, -2.0, -0.5, -2.5, -0.2, NAN, -1.0, -0.3, -0.4]
    reference = [-0.1, -0.2, -2.0, -0.1, -0.3, -0.1, -0.1, -3.0, -0.2, -0.2]
    # 30% of 10 = 3: lowest negatives {0, 4, 2}; highest references: 0, 3, 5 tie at -0.1
    # with 6 (whose negative is NaN) and the tie keeps document order -> {0, 3, 5}
    assert select_documents(negative, reference) == [0]
    # 50%: lowest {0, 4, 2, 7, 3} ∩ highest {0, 3, 5, 6, 1} (1 wins the tie at -0.2)
    assert select_documents(negative, reference, 0.5, 0.5) == [0, 3]
    assert select_documents(negative, reference, 0.0, 0.3) == []


def test_nan_scores_never_qualify_and_lengths_must_match():
    assert select_documents([NAN, NAN, -1.0], [-0.1, NAN, NAN], 1.0, 1.0) == []
    assert select_documents([NAN, -2.0, -1.0], [-0.1, -0.2, NAN], 1.0, 1.0) == [1]
    assert select_documents([], []) == []
    with pytest.raises(ValueError, match="2 negative scores and 1 reference"):
        select_documents([-1.0, -2.0], [-0.1])


def test_negative_is_the_worst_scorable_candidate_that_differs_from_the_reference():
    doc = MinedDocument(0, ["ref .", "b .", "c .", "d ."], [-5.0, -1.0, NAN, -2.0], -0.1)
    assert doc.negative("ref .") == ("d .", -2.0)
    assert MinedDocument(0, ["x ."], [NAN], -0.1).negative("ref .") is None


@pytest.fixture(scope="module")
def summarizer(toy_summarizer_dir):
    return BartForConditionalGeneration.from_pretrained(toy_summarizer_dir).eval()


DATA = make_examples(24, seed=55)
DATASET = {
    "id": [f"d{i}" for i in range(24)],
    "document": [e.document for e in DATA],
    "summary": [e.summary for e in DATA],
}


@pytest.fixture(scope="module")
def quals_sets(summarizer, toy_scorer):
    """DATA mined with QUALS in round 3, once for the tests below."""
    config = MiningConfig(batch_size=4)
    return mine_contrastive_sets(
        summarizer, toy_tokenizer(), DATASET, toy_scorer, config, round=3, progress=False
    )


@pytest.mark.slow
def test_quals_mining_is_reproducible_and_follows_the_rule(summarizer, toy_scorer, quals_sets):
    tokenizer = toy_tokenizer()
    config = MiningConfig(batch_size=4)
    mined = mine_documents(
        summarizer,
        tokenizer,
        DATASET["document"],
        DATASET["summary"],
        toy_scorer,
        config,
        progress=False,
        round=3,
    )
    assert [len(d.candidates) for d in mined] == [6] * 24
    other_round = mine_documents(
        summarizer,
        tokenizer,
        DATASET["document"][:4],
        DATASET["summary"][:4],
        toy_scorer,
        config,
        progress=False,
    )
    assert [d.candidates for d in other_round] != [d.candidates for d in mined[:4]]
    # mined again, apart (the fixture): the same candidates, scores and selection
    sets = quals_sets
    assert len(sets) >= 1 and sets.round == 3
    negatives = [d.negative(ref) for d, ref in zip(mined, DATASET["summary"])]
    expected = select_documents(
        [n[1] if n else NAN for n in negatives], [d.reference_score for d in mined]
    )
    assert sorted(sets) == sorted(f"d{i}" for i in expected)
    for i in expected:
        entry = sets[f"d{i}"]
        assert entry.positive == DATASET["summary"][i] and entry.round == 3
        assert (entry.negative, entry.negative_score) == negatives[i]
        assert entry.positive_score == mined[i].reference_score
        assert entry.negative != entry.positive
        assert entry.negative_score == min(
            s
            for s, c in zip(mined[i].candidate_scores, mined[i].candidates)
            if not math.isnan(s) and c != entry.positive
        )
        assert entry.negative_score < entry.positive_score  # a hallucinated summary


def test_pluggable_scorers(summarizer):
    tokenizer = toy_tokenizer()
    config = MiningConfig(batch_size=8, negative_ratio=1.0, positive_ratio=1.0)
    longest = mine_contrastive_sets(
        summarizer, tokenizer, DATASET, lambda s, y, r: [-len(t) for t in y], config, progress=False
    )
    mined = mine_documents(
        summarizer,
        tokenizer,
        DATASET["document"],
        DATASET["summary"],
        lambda s, y, r: [-len(t) for t in y],
        config,
        progress=False,
    )
    for example_id, entry in longest.items():
        doc = mined[int(example_id[1:])]
        others = [c for c in doc.candidates if c != entry.positive and c]
        assert len(entry.negative) == max(len(c) for c in others)
    rouge = mine_contrastive_sets(summarizer, tokenizer, DATASET, "rouge", config, progress=False)
    assert all(e.positive_score == pytest.approx(1.0) for e in rouge.values())  # vs itself
    assert all(e.negative_score < 1.0 for e in rouge.values())
    with pytest.raises(ValueError, match="unknown scorer"):
        mine_contrastive_sets(summarizer, tokenizer, DATASET, "bleu", config)
    with pytest.raises(ValueError, match="no column 'text'"):
        mine_contrastive_sets(summarizer, tokenizer, DATASET, "rouge", config, source_column="text")


@pytest.mark.slow
def test_two_processes_mine_exactly_the_sets_of_one(
    toy_summarizer_dir, toy_qagen_dir, quals_sets, tmp_path, torchrun
):
    out = tmp_path / "sets.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [
            *torchrun,
            "--nproc_per_node",
            "2",
            str(SCRIPT),
            str(toy_summarizer_dir),
            str(toy_qagen_dir),
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "rank 1 of 2" in run.stdout and "rank 0 of 2" in run.stdout
    single = quals_sets
    shared = ContrastiveSets.load(out)
    # the same documents, summaries and rounds; scores equal up to float noise (one thread per
    # process there, this worker's count here: matmul reductions may differ in the last bits)
    assert sorted(shared) == sorted(single) and shared.round == single.round
    for key in single:
        a, b = shared[key], single[key]
        assert (a.positive, a.negative, a.round) == (b.positive, b.negative, b.round)
        assert a.positive_score == pytest.approx(b.positive_score, abs=1e-6)
        assert a.negative_score == pytest.approx(b.negative_score, abs=1e-6)
