"""`QualsConfig.normalize_text`: the normalizer (one form for text as written and lower-cased,
PTB-tokenized), its offset map, and QUALS with it on the toy QAGen."""

import argparse
import json
import math

import pytest

from quals_hf import QualsConfig, QualsScorer, load_qags
from quals_hf.qagen.augment import lower_ptb
from quals_hf.scoring.normalize import normalize, normalize_with_offsets
from quals_hf.scoring.pairs import PairScore, QAPair

# (as written, as lower_ptb writes it, the normalized form of both)
FORMS = [
    (
        "The 37-year-old was arrested on Monday.",
        "the 37 - year - old was arrested on monday .",
        "the 37-year-old was arrested on monday.",
    ),
    (
        'He paid $5.5bn (about 10%) at 10:30, she said: "I won\'t go."',
        'he paid $ 5.5bn ( about 10 % ) at 10 : 30 , she said : " i won \'t go . "',
        'he paid $5.5bn (about 10%) at 10:30, she said: "i won\'t go."',
    ),
    (
        "The players' union called the A&E plan `absurd'. It's Sean O'Brien's 24/7 job!",
        "the players ' union called the a & e plan `absurd ' . it 's sean o 'brien 's 24 / 7 job !",
        "the players' union called the a&e plan `absurd'. it's sean o'brien's 24/7 job!",
    ),
]


@pytest.mark.parametrize(("written", "ptb", "normalized"), FORMS)
def test_both_forms_normalize_to_one_text(written, ptb, normalized):
    assert lower_ptb(written) == ptb  # what sacremoses writes, as the benchmarks use it
    assert normalize(written) == normalize(written.lower()) == normalize(ptb) == normalized
    assert normalize(normalized) == normalized  # idempotent


def test_ptb_escapes_quotes_and_whitespace():
    text = " -LRB- Reuters -RRB-  ``Fine , '' he said\n-- ca n't  stop ."
    assert normalize(text) == '(reuters) "fine," he said -- can\'t stop.'
    assert normalize("`` july 13th was the worst day of my life , ' ' she said .") == (
        '"july 13th was the worst day of my life," she said.'
    )


def test_offsets_map_normalized_spans_back_to_the_original():
    ptb = "The 37 - year - old paid $ 5 ( about 10 % ) ."
    found = normalize_with_offsets(ptb)
    assert found.text == "the 37-year-old paid $5 (about 10%)."
    assert len(found.spans) == len(found.text)
    assert found.as_written("37-year-old") == "37 - year - old"
    assert found.as_written("37-YEAR-OLD") == "37 - year - old"  # ignoring case
    assert found.as_written("(about 10%).") == "( about 10 % ) ."
    assert found.as_written("The 37") == "The 37"
    assert found.as_written("$5") == "$ 5"
    assert found.as_written("not there") is None
    assert found.original_span(0, 0) == ""
    quoted = normalize_with_offsets("`` Fine , '' he said")
    assert quoted.text == '"fine," he said'
    assert quoted.as_written('"fine,"') == "`` Fine , ''"


@pytest.mark.parametrize("name", ["cnndm", "xsum"])
def test_qags_summaries_read_the_same_in_both_forms(name):
    """Every QAGS summary (the residuals the normalizer's docstring names do not occur)."""
    for summary in load_qags(name)["summary"]:
        written, ptb = normalize(summary.lower()), normalize(lower_ptb(summary))
        assert written == ptb == normalize(summary)
        assert normalize(written) == written


# -- QUALS with the option ------------------------------------------------------------------

SOURCE = (
    "on sunday , julia berg , the chief executive of helix , opened a new library in geneva . "
    "helix said the library will employ 995 people ."
)
PTB_SUMMARY = "a new helix library in geneva , opened by julia berg , will employ 995 people ."
WRITTEN_SUMMARY = "A new Helix library in Geneva, opened by Julia Berg, will employ 995 people."


def test_config_and_command_line_take_the_option(capsys, load_benchmark):
    from quals_hf.cli import _add_fields, main
    from quals_hf.core.fields import given_fields

    assert QualsConfig().normalize_text is False  # the paper reads the texts as given
    parser = argparse.ArgumentParser()
    _add_fields(parser, QualsConfig)
    assert given_fields(parser.parse_args([]), QualsConfig)["normalize_text"] is False
    on = given_fields(parser.parse_args(["--normalize-text"]), QualsConfig)
    assert on["normalize_text"] is True
    for command in ("score", "explain", "validity"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--normalize-text" in capsys.readouterr().out
    parse_args = load_benchmark("validity").parse_args
    assert parse_args(["--normalize-text", "--stored"]).normalize_text
    assert not parse_args(["--stored"]).normalize_text


def test_with_the_option_both_forms_score_the_same_and_answers_show_as_written(toy_qagen):
    model, tokenizer = toy_qagen
    sources, summaries = [SOURCE, SOURCE], [PTB_SUMMARY, WRITTEN_SUMMARY]
    plain = QualsScorer(model, tokenizer, num_groups=8, progress=False)
    off = plain.score(sources, summaries)
    assert off.scores[0] != off.scores[1]  # the paper's QUALS reads two different texts

    scorer = QualsScorer(model, tokenizer, num_groups=8, progress=False, normalize_text=True)
    out = scorer.score(sources, summaries, return_details=True)
    assert out.scores[0] == out.scores[1] and not math.isnan(out.scores[0])
    assert out.num_pairs[0] == out.num_pairs[1] > 0
    for summary, scored in zip(summaries, out.pair_scores):
        for p in scored:
            assert p.pair.summary_span in summary  # shown as the user's summary writes it
            assert normalize(p.pair.summary_span) == normalize(p.pair.answer)
    ptb_pairs, written_pairs = out.pair_scores
    assert [p.pair.answer for p in ptb_pairs] == [p.pair.answer for p in written_pairs]
    assert [p.lp_x for p in ptb_pairs] == [p.lp_x for p in written_pairs]
    assert any(p.pair.summary_span != p.pair.answer for p in written_pairs)

    # details keep the scored answer, add the span; stored pairs re-score as they were scored
    details = out.details(1)
    assert details[0]["summary_span"] == written_pairs[0].pair.summary_span
    paper = plain.score(sources[:1], summaries[:1], return_details=True)
    assert "summary_span" not in paper.details(0)[0]
    again = scorer.score_pairs(
        sources, summaries, [[PairScore.from_dict(d).pair for d in out.details(k)] for k in (0, 1)]
    )
    for fresh, stored in zip(out.pair_scores, again):
        assert [p.lp_x for p in stored] == pytest.approx([p.lp_x for p in fresh], abs=1e-5)
        assert [p.pair.summary_span for p in stored] == [p.pair.summary_span for p in fresh]

    pairs = scorer.generate_pairs([WRITTEN_SUMMARY])[0]
    assert [p.summary_span for p in pairs] == [p.pair.summary_span for p in written_pairs]
    explained = scorer.explain(SOURCE, WRITTEN_SUMMARY)
    assert explained.summary == WRITTEN_SUMMARY
    assert explained.score == pytest.approx(out.scores[1], abs=1e-5)
    html = explained.to_html()
    assert all(p.pair.shown_answer in html for p in explained.pair_scores)


def test_a_hand_made_pair_not_in_the_summary_shows_its_own_answer():
    pair = QAPair("who?", "nobody", 0.0, summary_span=None)
    assert pair.shown_answer == "nobody"
    assert QAPair("who?", "julia berg", 0.0, summary_span="Julia Berg").shown_answer == "Julia Berg"


def test_validity_runs_with_and_without_the_option_are_never_mixed(toy_qagen, tmp_path):
    from quals_hf.evaluation import OutDirMismatchError, measure_validity

    model, tokenizer = toy_qagen
    plain = QualsScorer(model, tokenizer, num_groups=4, progress=False)
    measure_validity(plain, sets=["xsum"], n=3, out=tmp_path, baselines=False, progress=False)
    on = QualsScorer(model, tokenizer, num_groups=4, progress=False, normalize_text=True)
    with pytest.raises(OutDirMismatchError, match="config"):
        measure_validity(on, sets=["xsum"], n=3, out=tmp_path, baselines=False, progress=False)
    other = tmp_path / "normalized"
    measure_validity(on, sets=["xsum"], n=3, out=other, baselines=False, progress=False)
    meta = json.loads((other / "meta.json").read_text())
    assert meta["fingerprint"]["config"] == {"normalize_text": True}
