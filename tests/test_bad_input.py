"""Bad inputs at every entry point: what each one does with them today (docs/bad_input.md).

Only the acceptable behaviours are asserted here: a clear error that names the offending item,
or a documented NaN or skip with a count. The cells marked BUG on the page are left out: a
test would pin the bug. Everything runs on the toy QAGen (``num_groups=8`` where the entry
point takes it) and, for QAGS, on untrained tiny QG/QA models: only the mechanics matter.
"""

import contextlib
import csv
import json
import math
import re
import signal
import time
from dataclasses import dataclass, field

import evaluate
import pytest
import torch
from datasets import Dataset
from transformers import BartForConditionalGeneration, BartForQuestionAnswering

from quals_hf import (
    METRIC_PATH,
    QAGS_METRIC_PATH,
    ContrastiveConfig,
    ContrastiveEntry,
    ContrastiveSets,
    ContrastiveTrainer,
    MiningConfig,
    QagsScorer,
    QualsScorer,
    mine_contrastive_sets,
)
from quals_hf.cli import main
from quals_hf.scoring.files import load_examples
from quals_hf.toy.models import TOY_QG_TEMPLATE, toy_bart_config, toy_tokenizer
from quals_hf.toy.world import make_examples, toy_answer_candidates

STORIES = make_examples(4, seed=81)
DOCS = [e.document for e in STORIES]
SUMMARIES = [e.summary for e in STORIES]
DOC, SUMMARY = DOCS[0], SUMMARIES[0]
NO_SPAN = "zebra ."  # no QA pair can be found for it (tests/test_score_cli.py)
BIG = ((DOC + " ") * 2000)[:500_000]  # about 100,000 toy tokens
# NUL, BEL, an ANSI colour, VT, FF, the separators FS/GS/RS, NEL, LINE SEPARATOR, DEL and CR
CONTROL = " \x00\x07\x1b[31m\x0b\x0c\x1c\x1d\x1e\x85\u2028\x7f\r ."
FAST = ["--num-groups", "8", "--device", "cpu", "--no-progress"]
# every document qualifies when its scores are not NaN: what is left out is what was skipped
MINE = ["--num-candidates", "2", "--batch-size", "4", "--negative-ratio", "1"]
MINE += ["--positive-ratio", "1", "--device", "cpu"]


@dataclass
class Outcome:
    """What an entry point did: an error (a ValueError's message, or the CLI's one-line
    error), or per-example scores and counts, the mean, what it printed."""

    error: str | None = None
    scores: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    mean: float | None = None
    printed: str = ""
    sets: ContrastiveSets | None = None


@contextlib.contextmanager
def deadline(seconds):
    """Raise TimeoutError in the block once ``seconds`` have passed: a hang fails the test."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_csv(path, rows):
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def rows_of(sources, summaries):
    return [
        {"id": f"r{i}", "document": s, "summary": y}
        for i, (s, y) in enumerate(zip(sources, summaries))
    ]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One torch thread: two do not speed up models this small, and slow them to a crawl
    when the cores are busy (see tests/conftest.py); restored after the module."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def scorer(toy_qagen):
    model, tokenizer = toy_qagen
    return QualsScorer(model, tokenizer, num_groups=8, progress=False)


@pytest.fixture(scope="module")
def qags_scorer():
    """QAGS on untrained tiny models with the toy world's answer extractor. Every question
    whose summary-side answer is not empty is kept (``answer_match_f1=0``), so that the source
    is read; windows fit the toy models' 128 positions."""
    torch.manual_seed(0)
    tokenizer = toy_tokenizer()
    config = toy_bart_config(tokenizer, d_model=32, layers=1)
    return QagsScorer(
        BartForConditionalGeneration(config).eval(),
        tokenizer,
        BartForQuestionAnswering(config).eval(),
        tokenizer,
        answer_extractor=toy_answer_candidates,
        qg_template=TOY_QG_TEMPLATE,
        num_beams=1,
        max_question_tokens=8,
        answer_match_f1=0.0,
        qa_max_length=128,
        qa_stride=32,
        progress=False,
    )


@pytest.fixture()
def run(scorer, qags_scorer, toy_qagen_dir, tmp_path, capsys):
    """``run(entry, sources, summaries, file="jsonl", data=None)``: one entry point's `Outcome`.

    `score` and `mine` get the texts in a file (``file``: "jsonl" or "csv"; or ``data``, a
    file the test wrote), `mining` (`mine_contrastive_sets` with ROUGE) in a `datasets.Dataset`
    (or ``data``, its rows), `explain` one (source, summary) as arguments. `mine` takes the
    summaries as references and samples candidates from the toy QAGen (any seq2seq model
    serves as the summarizer here: only what happens to the rows matters).
    """

    def python(sources, summaries, file, data):
        out = scorer.score(sources, summaries)
        return Outcome(scores=out.scores, counts=out.num_pairs, mean=out.mean)

    def quals(sources, summaries, file, data):
        metric = evaluate.load(METRIC_PATH, scorer=scorer)
        result = metric.compute(predictions=summaries, sources=sources)
        return Outcome(scores=result["scores"], counts=result["num_qa_pairs"], mean=result["quals"])

    def qags(sources, summaries, file, data):
        metric = evaluate.load(QAGS_METRIC_PATH, scorer=qags_scorer)
        result = metric.compute(predictions=summaries, sources=sources)
        return Outcome(scores=result["scores"], counts=result["num_questions"], mean=result["qags"])

    def cli(*argv):
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        errors = [line for line in captured.err.splitlines() if line.startswith("quals-hf ")]
        assert (code == 2) == bool(errors), captured.err[-2000:]
        assert len(errors) <= 1, errors  # one line
        return Outcome(error=errors[0] if errors else None, printed=captured.out)

    def data_file(sources, summaries, file, data):
        if data is not None:
            return data
        rows = rows_of(sources, summaries)
        path = tmp_path / f"data.{file}"
        return write_csv(path, rows) if file == "csv" else write_jsonl(path, rows)

    def score(sources, summaries, file, data):
        data, output = data_file(sources, summaries, file, data), tmp_path / "scores.jsonl"
        outcome = cli("score", "--qagen", toy_qagen_dir, "--data", data, "--output", output, *FAST)
        if outcome.error is None:
            rows = [json.loads(line) for line in output.read_text().splitlines()]
            outcome.scores = [math.nan if r["score"] is None else r["score"] for r in rows]
            outcome.counts = [r["num_pairs"] for r in rows]
        else:
            assert not output.exists()  # the input is checked before anything is written
        return outcome

    def explain(sources, summaries, file, data):
        (source,), (summary,) = sources, summaries
        command = ["explain", "--qagen", toy_qagen_dir, "--device", "cpu"]
        outcome = cli(*command, "--source", source, "--summary", summary)
        if outcome.error is None:
            value, count = re.search(
                r"QUALS = (\S+)\s+\((\d+) QA pairs\)", outcome.printed
            ).groups()
            outcome.scores, outcome.counts = [float(value)], [int(count)]
        return outcome

    def mine(sources, summaries, file, data, *options):
        data, output = data_file(sources, summaries, file, data), tmp_path / "sets.jsonl"
        models = ["--model", toy_qagen_dir, "--qagen", toy_qagen_dir]
        outcome = cli("mine", *models, "--data", data, "--output", output, *MINE, *options)
        if outcome.error is None:
            outcome.sets = ContrastiveSets.load(output)
        return outcome

    def mine_rouge(sources, summaries, file, data):
        return mine(sources, summaries, file, data, "--scorer", "rouge")

    def mining(sources, summaries, file, data):  # the Python API, on `datasets` rows
        config = MiningConfig(num_candidates=2, batch_size=4, negative_ratio=1, positive_ratio=1)
        rows = rows_dataset(sources, summaries) if data is None else Dataset.from_list(data)
        sets = mine_contrastive_sets(scorer.model, scorer.tokenizer, rows, "rouge", config)
        return Outcome(sets=sets)

    runners = {"python": python, "quals": quals, "qags": qags}
    runners.update(score=score, explain=explain, mine=mine, mining=mining)
    runners["mine-rouge"] = mine_rouge

    def call(entry, sources=(), summaries=(), file="jsonl", data=None):
        try:
            return runners[entry](list(sources), list(summaries), file, data)
        except ValueError as err:  # the Python entry points raise; the CLI returns 2
            return Outcome(error=str(err))

    return call


def trainer_for(model, tokenizer, tmp_path, sets, data, **options):
    """A ContrastiveTrainer on ``data`` (id, document, summary) for one CPU step."""
    args = ContrastiveConfig(
        output_dir=str(tmp_path / "trainer"),
        per_device_train_batch_size=4,
        max_steps=1,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
        **options,
    )
    return ContrastiveTrainer(
        model=model,
        args=args,
        contrastive_sets=sets,
        train_dataset=data,
        processing_class=tokenizer,
    )


def contrastive_sets(positives=SUMMARIES):
    return ContrastiveSets(
        {
            f"r{i}": ContrastiveEntry(positive=p, negative=e.corrupted_summary)
            for i, (p, e) in enumerate(zip(positives, STORIES))
        }
    )


def rows_dataset(sources=DOCS, summaries=SUMMARIES):
    return Dataset.from_list(rows_of(sources, summaries))


# -- empty and whitespace-only texts ----------------------------------------------------------

EMPTY_MESSAGES = {  # (entry, side): the error; {data} is the input file
    ("python", "source"): "sources[1] is empty or whitespace only",
    ("python", "summary"): "summaries[1] is empty or whitespace only",
    ("quals", "source"): "sources[1] is empty or whitespace only",
    ("quals", "summary"): "predictions[1] is empty or whitespace only",
    ("qags", "source"): "sources[1] is empty or whitespace only",
    ("qags", "summary"): "predictions[1] is empty or whitespace only",
    ("score", "source"): "quals-hf score: error: {data}:2: 'document' is empty",
    ("score", "summary"): "quals-hf score: error: {data}:2: 'summary' is empty",
    ("explain", "source"): "quals-hf explain: error: sources[0] is empty or whitespace only",
    ("explain", "summary"): "quals-hf explain: error: summaries[0] is empty or whitespace only",
    # mining and training check every row before any model work
    ("mine", "source"): "quals-hf mine: error: {data}:2: 'document' is empty",
    ("mine", "summary"): "quals-hf mine: error: {data}:2: 'summary' is empty",
    ("mine-rouge", "source"): "quals-hf mine: error: {data}:2: 'document' is empty",
    ("mining", "source"): "the dataset row 1 (id 'r1'): 'document' is empty",
    ("mining", "summary"): "the dataset row 1 (id 'r1'): 'summary' is empty",
    ("trainer", "source"): "the train dataset row 1 (id 'r1'): 'document' is empty",
    ("trainer", "summary"): "the train dataset row 1 (id 'r1'): 'summary' is empty",
}


def trainer_outcome(model, tokenizer, tmp_path, sets, data, **options):
    """The `Outcome` of building a `ContrastiveTrainer` on ``data``: its error, if any."""
    try:
        trainer_for(model, tokenizer, tmp_path, sets, data, **options)
    except ValueError as err:
        return Outcome(error=str(err))
    return Outcome()


@pytest.mark.parametrize("text", ["", " \t\n "], ids=["empty", "whitespace"])
@pytest.mark.parametrize(
    "entry,side", [*EMPTY_MESSAGES, ("trainer", "positive"), ("trainer", "negative")]
)
def test_empty_or_whitespace_text(entry, side, text, run, tmp_path, random_toy_model):
    if side in ("positive", "negative"):  # a contrastive entry's texts: checked as built
        texts = {"positive": "a summary .", "negative": "another summary ."}
        with pytest.raises(ValueError, match=f"example 'r1': the {side} must be a non-empty"):
            ContrastiveSets({"r1": ContrastiveEntry(**{**texts, side: text})})
        return
    bad = 0 if entry == "explain" else 1
    sources, summaries = DOCS[: bad + 1], SUMMARIES[: bad + 1]
    if side == "source":
        sources[bad] = text
    else:
        summaries[bad] = text
    if entry == "trainer":
        model, tokenizer = random_toy_model
        data = rows_dataset(sources, summaries)
        outcome = trainer_outcome(model, tokenizer, tmp_path, contrastive_sets(), data)
    else:
        outcome = run(entry, sources, summaries)
    assert outcome.error == EMPTY_MESSAGES[entry, side].format(data=tmp_path / "data.jsonl")


# -- a summary with no answerable span --------------------------------------------------------


@pytest.mark.parametrize("entry", ["python", "quals", "qags", "score", "explain", "mine"])
def test_summary_with_no_answerable_span_is_nan(entry, run):
    if entry == "explain":
        outcome = run(entry, [DOC], [NO_SPAN])
        assert math.isnan(outcome.scores[0]) and outcome.counts == [0]
        assert "QUALS = nan   (0 QA pairs)" in outcome.printed
        return
    if entry == "mine":  # a reference without QA pair: NaN, never selected
        outcome = run(entry, DOCS[:3], [SUMMARIES[0], NO_SPAN, SUMMARIES[2]])
        assert outcome.error is None and "r1" not in outcome.sets
        assert f"selected {len(outcome.sets)} of 3 documents" in outcome.printed
        return
    outcome = run(entry, DOCS[:2], [SUMMARIES[0], NO_SPAN])
    assert outcome.error is None
    assert math.isnan(outcome.scores[1]) and outcome.counts[1] == 0
    if entry == "score":  # null in the output, counted in the summary printed
        assert "no QA pair (score NaN): 1 of 2 (50.0%)" in outcome.printed
    else:  # the mean leaves the NaN out
        assert outcome.mean == pytest.approx(outcome.scores[0], nan_ok=True)
    if entry != "qags":  # QAGS on untrained models: its other score may be NaN too
        assert outcome.counts[0] > 0 and not math.isnan(outcome.scores[0])


# -- non-UTF-8 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry,message",
    [
        ("python", r"^summaries\[1\] must be a string, got bytes$"),
        ("quals", r"^predictions\[1\] must be a string, got bytes$"),
        ("qags", r"^predictions\[1\] must be a string, got bytes$"),
    ],
)
def test_bytes_instead_of_text_name_the_item(entry, message, run):
    """Python has no non-UTF-8 str: undecoded bytes are refused, naming the item. (Files
    with non-UTF-8 bytes and str with lone surrogates are BUG cells on the page.)"""
    outcome = run(entry, DOCS[:2], [SUMMARIES[0], "caf\xe9 .".encode("latin-1")])
    assert re.match(message, outcome.error)


def test_non_utf8_contrastive_sets_file_names_the_line(tmp_path):
    path = contrastive_sets().save(tmp_path / "sets.jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b" .", b" caf\xe9 .", 1)
    path.write_bytes(b"".join(lines))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:2: not UTF-8"):
        ContrastiveSets.load(path)


# -- control characters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry", ["python", "quals", "qags", "score", "explain", "mine", "trainer"]
)
def test_control_characters_are_kept_and_scored(entry, run, tmp_path, random_toy_model):
    sources = [DOCS[0] + CONTROL, DOCS[1]]
    summaries = [SUMMARIES[0] + CONTROL, SUMMARIES[1]]
    if entry == "trainer":
        model, tokenizer = random_toy_model
        data = rows_dataset(sources, summaries)
        sets = contrastive_sets([summaries[0], *SUMMARIES[1:2]])
        trainer = trainer_for(model, tokenizer, tmp_path, sets, data)
        assert math.isfinite(trainer.train().training_loss)
        return
    if entry == "explain":
        outcome = run(entry, sources[:1], summaries[:1])
        assert outcome.error is None and outcome.counts[0] > 0
        return
    # raw in a CSV file (the csv module quotes the field that holds the CR)
    outcome = run(entry, sources, summaries, file="csv")
    assert outcome.error is None
    if entry == "mine":  # read intact: a mined positive is its reference, as written
        assert "of 2 documents" in outcome.printed and "r0" in outcome.sets
        assert outcome.sets["r0"].positive == summaries[0]
        return
    assert len(outcome.scores) == 2 and outcome.counts[0] > 0
    if entry == "score":
        examples = load_examples(str(tmp_path / "data.csv"))
        assert examples.sources == sources and examples.summaries == summaries


@pytest.mark.parametrize("entry", ["score", "mine"])
def test_raw_control_characters_in_a_json_line_are_a_malformed_row(entry, run, tmp_path):
    """JSON forbids unescaped control characters in strings (json.dumps escapes them, and the
    rows so written are read intact: the CSV case above); a raw one names the row."""
    line = json.dumps({"id": "r0", "document": DOC, "summary": "x ."})
    data = tmp_path / "given.jsonl"
    data.write_text(line.replace("x .", "a\x1b[31m b .") + "\n")
    column = line.index("x .") + 2  # 1-based: the ESC after "a"
    message = f"{data}:1: malformed row: Invalid control character at (column {column})"
    assert run(entry, data=data).error == f"quals-hf {entry}: error: {message}"


# -- a 500,000-character document -------------------------------------------------------------


ENTRIES_500K = ["python", "quals", "qags", "qags-default", "score", "explain", "mine"]


@pytest.mark.parametrize("entry", [*ENTRIES_500K, "trainer", "trainer-default"])
def test_500k_character_document_is_read_in_bounded_time(
    entry, run, qags_scorer, tmp_path, random_toy_model, caplog
):
    """QUALS reads at most 1024 tokens (the toy QAGen: 128), so a huge source costs about
    what a short one does; QAGS reads it whole, in windows. Mining and training cut sources
    at max_source_length, capped at the model's positions (the toy models': 128); QAGS caps
    its QA windows likewise (``qags-default``: 384 asked, 128 read)."""
    start = time.perf_counter()
    with deadline(60):
        if entry.startswith("trainer"):  # the source is cut at max_source_length
            model, tokenizer = random_toy_model
            data = rows_dataset([BIG, *DOCS[1:]])
            options = {} if entry == "trainer-default" else {"max_source_length": 128}
            trainer = trainer_for(model, tokenizer, tmp_path, contrastive_sets(), data, **options)
            assert len(trainer.train_dataset[0]["input_ids"]) == 128
            assert math.isfinite(trainer.train().training_loss)
        elif entry == "mine":  # the summarizer reads the first 128 tokens
            outcome = run(entry, [BIG], [SUMMARY])
            assert outcome.error is None and "of 1 documents" in outcome.printed
        elif entry.startswith("qags"):  # one question, asked on every window of the source
            windows = {"qags-default": {"qa_max_length": 384, "qa_stride": 128}}.get(entry, {})
            one = QagsScorer(
                qags_scorer.qg_model,
                qags_scorer.qg_tokenizer,
                qags_scorer.qa_model,
                qags_scorer.qa_tokenizer,
                toy_answer_candidates,
                config=qags_scorer.config,
                batch_size=64,  # windows per forward pass: 64 x num_answers
                num_answers=1,
                progress=False,
                **windows,
            )
            assert (one.qa_max_length, one.qa_stride) == ((128, 42) if windows else (128, 32))
            result = evaluate.load(QAGS_METRIC_PATH, scorer=one).compute(
                predictions=[SUMMARY], sources=[BIG]
            )
            assert result["num_questions"] == [1]
        else:
            with caplog.at_level("WARNING", logger="quals_hf"):
                outcome = run(entry, [BIG], [SUMMARY])
            assert outcome.error is None
            assert outcome.counts[0] > 0 and math.isfinite(outcome.scores[0])
            warning = "1 of 1 sources were longer than 128 tokens and were truncated"
            assert warning in caplog.text
    assert time.perf_counter() - start < 60


# -- mismatched list lengths ------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [(2, 1), (1, 2)], ids=["more-sources", "more-summaries"])
@pytest.mark.parametrize("entry", ["python", "quals", "quals-add-batch", "qags"])
def test_mismatched_lengths_are_an_error(entry, sizes, run, scorer):
    sources, summaries = DOCS[: sizes[0]], SUMMARIES[: sizes[1]]
    names = ("sources", "summaries") if entry == "python" else ("predictions", "sources")
    lengths = dict(zip(("sources", "summaries", "predictions"), (*sizes, sizes[1])))
    expected = f"inputs differ in length: {{'{names[0]}': {lengths[names[0]]}, "
    expected += f"'{names[1]}': {lengths[names[1]]}}}"
    if entry == "quals-add-batch":  # refused as it is added: nothing half-added
        metric = evaluate.load(METRIC_PATH, scorer=scorer)
        with pytest.raises(ValueError) as error:
            metric.add_batch(predictions=summaries, sources=sources)
        assert str(error.value) == expected
        metric.add_batch(predictions=[SUMMARY], sources=[DOC])
        assert len(metric.compute()["scores"]) == 1
        return
    assert run(entry, sources, summaries).error == expected


# -- duplicate ids ----------------------------------------------------------------------------


@pytest.mark.parametrize("id_column", [True, False], ids=["id-column", "row-numbers"])
def test_duplicate_ids_in_a_file(id_column, toy_qagen_dir, tmp_path, capsys):
    rows = rows_of(DOCS[:3], SUMMARIES[:3])
    rows[2]["id"] = "r0"
    data, output = write_jsonl(tmp_path / "data.jsonl", rows), tmp_path / "scores.jsonl"
    options = ["--id-column", "id"] if id_column else []
    arguments = ["score", "--qagen", toy_qagen_dir, "--data", data, "--output", output]
    code = main([str(a) for a in [*arguments, *FAST, *options]])
    err = capsys.readouterr().err.strip().splitlines()
    if id_column:  # refused before the model loads, naming both lines
        assert code == 2 and not output.exists()
        assert err[-1] == f"quals-hf score: error: {data}:3: id 'r0' repeats {data}:1"
    else:  # without --id-column the ids are the row numbers: every row is scored
        assert code == 0
        assert [json.loads(line)["id"] for line in output.read_text().splitlines()] == [0, 1, 2]


@pytest.mark.parametrize("entry", ["mine", "mining", "trainer", "sets-file"])
def test_duplicate_ids_are_refused_naming_both_rows(entry, run, tmp_path, random_toy_model):
    """Refused before any model work: mining keys its sets by id, and the trainer looks each
    row's entry up by id, so a repeated id would merge rows or mistrain one."""
    rows = rows_of(DOCS[:3], SUMMARIES[:3])
    rows[2]["id"] = "r0"
    if entry == "sets-file":  # a repeated id line, named with the line it repeats
        path = contrastive_sets().save(tmp_path / "sets.jsonl")
        path.write_text(path.read_text() + path.read_text().splitlines(keepends=True)[0])
        with pytest.raises(ValueError) as error:
            ContrastiveSets.load(path)
        assert str(error.value) == f"{path}:5: id 'r0' repeats {path}:1"
        return
    if entry == "trainer":
        model, tokenizer = random_toy_model
        data = Dataset.from_list(rows)
        outcome = trainer_outcome(model, tokenizer, tmp_path, contrastive_sets(), data)
        assert (
            outcome.error
            == "the train dataset row 2 (id 'r0'): id 'r0' repeats the train dataset row 0 "
            "(id 'r0')"
        )
    elif entry == "mining":
        assert (
            run(entry, data=rows).error
            == "the dataset row 2 (id 'r0'): id 'r0' repeats the dataset row 0 (id 'r0')"
        )
    else:
        data = write_jsonl(tmp_path / "data.jsonl", rows)
        assert (
            run(entry, data=data).error
            == f"quals-hf mine: error: {data}:3: id 'r0' repeats {data}:1"
        )


# -- a truncated last line --------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["score", "mine"])
@pytest.mark.parametrize("cut", [True, False], ids=["cut-mid-row", "no-final-newline"])
def test_truncated_last_line(entry, cut, run, tmp_path):
    """A last row cut mid-object is named (line and column) before any model loads; a whole
    last row that only lacks its newline is read like the others."""
    text = "".join(json.dumps(row) + "\n" for row in rows_of(DOCS, SUMMARIES)).rstrip("\n")
    if cut:
        text = text[: text.rindex("\n") + 41]  # in the middle of the last document
    data = tmp_path / "given.jsonl"
    data.write_text(text)
    outcome = run(entry, data=data)
    if cut:
        message = f"{data}:4: malformed row: Unterminated string starting at (column 26)"
        assert outcome.error == f"quals-hf {entry}: error: {message}"
    elif entry == "score":
        assert outcome.error is None and len(outcome.scores) == 4
    else:
        assert outcome.error is None and "of 4 documents" in outcome.printed


@pytest.mark.parametrize(
    "last,message",
    [
        ('{"id": "r3", "positive": "a cut', "malformed row: Unterminated string starting at"),
        ('["r3"]', "malformed row: not an entry"),
        ('{"id": "r3", "summary": "x ."}', "malformed row: not an entry"),
    ],
    ids=["cut", "not-an-object", "unknown-field"],
)
def test_malformed_contrastive_sets_line_is_named(last, message, tmp_path):
    path = contrastive_sets(SUMMARIES[:3]).save(tmp_path / "sets.jsonl")
    path.write_text(path.read_text() + last)
    with pytest.raises(ValueError, match=rf"^{re.escape(f'{path}:4: {message}')}"):
        ContrastiveSets.load(path)


# -- a CSV with quoted newlines ---------------------------------------------------------------


@pytest.mark.parametrize("entry", ["score", "mine"])
def test_csv_with_quoted_newlines_is_read_row_by_row(entry, run, tmp_path):
    sources = [d.replace(" . ", " .\n", 2) for d in DOCS]  # two newlines in each document
    summaries = [SUMMARIES[0], SUMMARIES[1] + '\n\nsecond line, with "quotes" ,', *SUMMARIES[2:]]
    outcome = run(entry, sources, summaries, file="csv")
    assert outcome.error is None
    examples = load_examples(str(tmp_path / "data.csv"), id_column="id")
    assert examples.ids == ["r0", "r1", "r2", "r3"]
    assert examples.sources == sources and examples.summaries == summaries
    if entry == "score":
        assert len(outcome.scores) == 4 and all(n > 0 for n in outcome.counts)
    else:  # a mined positive is its reference, as written
        assert "of 4 documents" in outcome.printed and len(outcome.sets) > 0
        assert all(e.positive == summaries[int(i[1:])] for i, e in outcome.sets.items())


# -- a missing (null) text -------------------------------------------------------------------


@pytest.mark.parametrize("side", ["document", "summary"])
@pytest.mark.parametrize("entry", ["mine", "mining", "trainer"])
def test_null_text_is_named(entry, side, run, tmp_path, random_toy_model):
    """A JSON null (or a field left out) is refused before any model work, naming the row."""
    rows = rows_of(DOCS[:2], SUMMARIES[:2])
    rows[1][side] = None
    if entry == "trainer":
        model, tokenizer = random_toy_model
        data = Dataset.from_list(rows)
        outcome = trainer_outcome(model, tokenizer, tmp_path, contrastive_sets(), data)
        assert outcome.error == f"the train dataset row 1 (id 'r1'): '{side}' is not a text (None)"
    elif entry == "mining":
        outcome = run(entry, data=rows)
        assert outcome.error == f"the dataset row 1 (id 'r1'): '{side}' is not a text (None)"
    else:
        data = write_jsonl(tmp_path / "data.jsonl", rows)
        message = f"{data}:2: '{side}' is not a text (None)"
        assert run(entry, data=data).error == f"quals-hf mine: error: {message}"


# -- NaN in aggregation -----------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["python", "quals", "qags", "score", "mine", "trainer"])
def test_nothing_scorable_gives_a_nan_mean_and_says_so(entry, run, tmp_path, random_toy_model):
    """Every summary unscorable: the mean is NaN (not an error, not a sentinel), and the
    count of unscored summaries is there to see."""
    if entry == "trainer":  # mining selected nothing: the trainer refuses empty sets
        model, tokenizer = random_toy_model
        with pytest.raises(ValueError, match=r"^the contrastive sets are empty: mine them first"):
            trainer_for(model, tokenizer, tmp_path, ContrastiveSets(), rows_dataset())
        return
    outcome = run(entry, DOCS[:3], [NO_SPAN] * 3)
    assert outcome.error is None
    if entry == "mine":
        assert len(outcome.sets) == 0
        assert "selected 0 of 3 documents" in outcome.printed
        assert "mean positive score nan, mean negative score nan" in outcome.printed
        return
    assert all(math.isnan(s) for s in outcome.scores) and outcome.counts == [0, 0, 0]
    if entry == "score":
        assert "no QA pair (score NaN): 3 of 3 (100.0%)" in outcome.printed
        assert "QUALS mean" not in outcome.printed
    else:
        assert math.isnan(outcome.mean)
        empty = run(entry, [], [])  # no summaries at all: the same NaN mean
        assert empty.error is None and empty.scores == [] and math.isnan(empty.mean)


# -- text that is not UTF-8 -------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["score", "mine"])
def test_a_file_with_bytes_that_are_not_utf8_names_its_line_and_column(entry, run, tmp_path):
    data = tmp_path / "latin1.jsonl"
    good = json.dumps({"document": DOCS[0], "summary": SUMMARIES[0]}).encode()
    bad = b'{"document": "a b .", "summary": "caf\xe9 ."}'
    data.write_bytes(good + b"\n" + bad + b"\n")
    outcome = run(entry, data=data)
    column = bad.index(b"\xe9") + 1
    assert outcome.error.endswith(
        f"{data}:2: not UTF-8 text (byte 0xe9 at column {column}); save the file as UTF-8"
    )


def test_explain_names_the_file_whose_bytes_are_not_utf8(run, tmp_path, toy_qagen_dir, capsys):
    source = tmp_path / "source.txt"
    source.write_bytes(DOCS[0].encode() + b"\ncaf\xe9\n")
    command = ["explain", "--qagen", str(toy_qagen_dir), "--device", "cpu"]
    assert main([*command, "--source-file", str(source), "--summary", SUMMARIES[0]]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"quals-hf explain: error: {source}:2: not UTF-8 text (byte 0xe9 at column 4); "
        "save the file as UTF-8"
    )


@pytest.mark.parametrize(
    "entry,name",
    [
        ("python", "summaries"),
        ("quals", "predictions"),
        ("qags", "predictions"),
        ("explain", "summaries"),
    ],
)
def test_a_lone_surrogate_is_refused_naming_the_item(entry, name, run):
    """Undecodable bytes read with errors='surrogateescape' (Python's way for command-line
    arguments) become lone surrogates, which no tokenizer takes."""
    summary = SUMMARIES[0] + " caf\udce9 ."
    sources, summaries = (
        ([DOCS[0]], [summary]) if entry == "explain" else (DOCS[:2], [SUMMARIES[0], summary])
    )
    index = 0 if entry == "explain" else 1
    outcome = run(entry, sources, summaries)
    assert re.search(
        rf"{name}\[{index}\] is not valid Unicode: a lone surrogate '\\udce9' at character "
        rf"{len(SUMMARIES[0]) + 4}",
        outcome.error,
    ), outcome.error


def test_a_lone_surrogate_in_a_contrastive_entry_is_refused_naming_its_id():
    sets = ContrastiveSets()
    with pytest.raises(ValueError, match=r"^example 'r1': the negative is not valid Unicode"):
        sets["r1"] = ContrastiveEntry(positive=SUMMARIES[0], negative="caf\udce9 .")
