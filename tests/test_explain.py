"""QualsScorer.explain, its HTML report and figure, and `quals-hf explain`."""

import html
import math
import struct

import pytest

from quals_hf import Explanation
from quals_hf.cli import main
from quals_hf.toy.world import make_examples

EXAMPLE = make_examples(4, seed=3)[-1]  # an unseen story; its corrupted summary swaps a company
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def explanations(toy_scorer):
    """The faithful and the corrupted summary of one story, explained."""
    return (
        toy_scorer.explain(EXAMPLE.document, EXAMPLE.summary),
        toy_scorer.explain(EXAMPLE.document, EXAMPLE.corrupted_summary),
    )


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_explanation_orders_pairs_and_aligns_tokens(explanations, toy_scorer):
    faithful, corrupted = explanations
    for e in explanations:
        assert isinstance(e, Explanation) and e.pair_scores
        consistency = [p.consistency for p in e.pair_scores]
        assert consistency == sorted(consistency)
        assert e.score == pytest.approx(sum(consistency) / len(consistency))
        for p, tokens in zip(e.pair_scores, e.tokens, strict=True):
            assert len(tokens) == len(p.pair.token_ids) == len(p.token_logprobs_x)
            assert len(p.token_logprobs_y) == len(tokens)
            assert tokens[-1] == toy_scorer.tokenizer.eos_token
    # the score is the one score() gives
    out = toy_scorer.score([EXAMPLE.document], [EXAMPLE.corrupted_summary], progress=False)
    assert corrupted.score == pytest.approx(out.scores[0])
    # the hallucinated fact shows: the corrupted summary's worst pair is far below the faithful's
    assert corrupted.pair_scores[0].consistency < faithful.pair_scores[0].consistency - 0.3


def test_html_report_lists_pairs_in_order_with_the_score(explanations, tmp_path):
    e = explanations[1]
    page = e.save_html(tmp_path / "report.html").read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "http://" not in page and "https://" not in page  # self-contained
    assert f"QUALS = {e.score:.3f}" in page
    assert html.escape(EXAMPLE.corrupted_summary) in page and html.escape(EXAMPLE.document) in page
    positions = []
    for p in e.pair_scores:
        row = (
            f'<td class="num">{p.consistency:.3f}</td><td class="num">{p.lp_x:.3f}</td>'
            f'<td class="num">{p.lp_y:.3f}</td><td class="question">{html.escape(p.pair.question)}'
            f'</td><td class="answer">{html.escape(p.pair.answer)}</td>'
        )
        assert row in page
        positions.append(page.index(row))
    assert positions == sorted(positions)  # least consistent first
    assert page.count('class="token"') == sum(len(t) for t in e.tokens)
    assert e._repr_html_() in page  # the notebook shows the same report


def test_png_has_one_panel_per_pair(explanations, tmp_path):
    pytest.importorskip("matplotlib")
    sizes = []
    for e in explanations:
        fig = e.figure()
        assert len(fig.axes) == len(e.pair_scores)
        assert fig.axes[0].get_title(loc="left").startswith(f"1. {e.pair_scores[0].pair.question}")
        sizes.append(png_size(e.save_png(tmp_path / "figure.png")))
    for width, height in sizes:
        assert 600 <= width <= 4000 and 300 <= height <= 6000


def test_no_pair_gives_nan_and_a_readable_report(toy_scorer, tmp_path):
    e = Explanation.from_pair_scores(
        "a source .", "a summary .", math.nan, [], toy_scorer.tokenizer
    )
    assert "No QA pair survived the filter" in e.to_html()
    pytest.importorskip("matplotlib")
    assert png_size(e.save_png(tmp_path / "empty.png"))[0] > 0


def test_cli_explain_writes_png_and_html(toy_qagen_dir, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    source = tmp_path / "source.txt"
    source.write_text(EXAMPLE.document + "\n")
    png, page = tmp_path / "why.png", tmp_path / "why.html"
    code = main(
        [
            "explain",
            "--qagen",
            str(toy_qagen_dir),
            "--source-file",
            str(source),
            "--summary",
            EXAMPLE.corrupted_summary,
            "--png",
            str(png),
            "--html",
            str(page),
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "QUALS = " in printed and f"HTML report -> {page}" in printed
    assert png_size(png)[0] > 0
    assert html.escape(EXAMPLE.corrupted_summary) in page.read_text("utf-8")
    rows = [line for line in printed.splitlines() if "<sep>" in line][1:]  # after the header
    values = [float(line.split()[2]) for line in rows]
    assert rows and values == sorted(values)  # printed least consistent first


def test_cli_explain_errors_are_one_line(tmp_path, capsys):
    code = main(
        [
            "explain",
            "--qagen",
            str(tmp_path),
            "--source-file",
            str(tmp_path / "nope"),
            "--summary",
            "s .",
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("quals-hf explain: error: ")


def test_reports_name_each_pairs_form_flaws(tmp_path):
    from quals_hf.scoring.pairs import PairScore, QAPair

    def scored(question, answer):
        return PairScore(QAPair(question, answer, 0.0), -1.0, -0.5, [-1.0, -1.0], [-0.5, -0.5])

    flawed, formed = scored("Who is Anna Brown?", "Anna Brown"), scored("Who came?", "Anna")
    assert (flawed.pair.flaw_note, formed.pair.flaw_note) == ("[answer in question]", "")
    e = Explanation("src", "Anna Brown came.", -0.5, [flawed, formed], [["a", "b"]] * 2)
    page = e.to_html()
    assert '</td><td class="flaws">[answer in question]</td></tr>' in page
    assert '<td class="answer">Anna</td><td class="flaws"></td></tr>' in page
    pytest.importorskip("matplotlib")
    titles = [ax.get_title(loc="left") for ax in e.figure().axes]
    assert titles[0].endswith("[answer in question]") and titles[1].endswith("-0.50")
