"""`quals-hf score`: a file in, one scored row per example out; resume, two processes, errors."""

import csv
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from datasets import Dataset

from quals_hf import QualsScorer
from quals_hf.cli import main
from quals_hf.toy.world import make_examples

ROOT = Path(__file__).parents[1]
STORIES = make_examples(5, seed=81)
# a faithful and a corrupted summary per story, and one summary no QA pair can be found for
ROWS = [
    {"id": f"{kind}{i}", "document": e.document, "summary": summary}
    for i, e in enumerate(STORIES)
    for kind, summary in (("f", e.summary), ("c", e.corrupted_summary))
] + [{"id": "none", "document": STORIES[0].document, "summary": "zebra ."}]
FAST = ["--num-groups", "8", "--device", "cpu", "--no-progress"]  # equality is all that's tested


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def reference(toy_qagen):
    """The Python API's scores of ROWS, with the same QUALS settings as the CLI runs."""
    model, tokenizer = toy_qagen
    scorer = QualsScorer(model, tokenizer, num_groups=8, progress=False)
    out = scorer.score(
        [r["document"] for r in ROWS], [r["summary"] for r in ROWS], return_details=True
    )
    assert math.isnan(out.scores[-1]) and out.num_pairs[-1] == 0  # the unscorable row
    assert all(n > 0 for n in out.num_pairs[:-1])
    return out


def assert_same_rows(got_path, want_path):
    """The same rows in the same order, scores equal up to float noise: another process may
    take another float path (its thread count), so its last digits may differ."""
    got, want = read_jsonl(got_path), read_jsonl(want_path)
    assert [r["id"] for r in got] == [r["id"] for r in want]
    for g, w in zip(got, want):
        assert g["num_pairs"] == w["num_pairs"]
        assert (g["score"] is None) == (w["score"] is None)
        if w["score"] is not None:
            assert g["score"] == pytest.approx(w["score"], abs=1e-5)


def copy_record(scored, partial):
    """What made ``scored`` (its ``.meta.json``), for a partial copy of it to resume."""
    meta = scored.with_name(scored.name + ".meta.json")
    partial.with_name(partial.name + ".meta.json").write_text(meta.read_text())


def arguments(qagen_dir, data, output, *options):
    """The command line of a test run of `quals-hf score`."""
    paths = ["--qagen", str(qagen_dir), "--data", str(data), "--output", str(output)]
    return ["score", *paths, *FAST, *options]


def score(*args):
    """Run `quals-hf score` in this process; its exit status."""
    return main(arguments(*args))


def assert_rows_match(rows, reference, ids):
    assert [row["id"] for row in rows] == ids  # one row per example, in input order
    for row, value, num_pairs in zip(rows, reference.scores, reference.num_pairs):
        assert row["num_pairs"] == num_pairs
        if math.isnan(value):
            assert row["score"] is None
        else:
            assert row["score"] == pytest.approx(value, abs=1e-5)


def test_scores_and_details_equal_the_python_api(toy_qagen_dir, reference, tmp_path, capsys):
    data, out = write_jsonl(tmp_path / "data.jsonl", ROWS), tmp_path / "scores.jsonl"
    assert (
        score(toy_qagen_dir, data, out, "--id-column", "id", "--details", "--batch-size", "4") == 0
    )
    rows = read_jsonl(out)
    assert_rows_match(rows, reference, [r["id"] for r in ROWS])
    for row, pair_scores in zip(rows, reference.pair_scores):
        questions = [(p.pair.question, p.pair.answer) for p in pair_scores]
        assert [(p["question"], p["answer"]) for p in row["pairs"]] == questions
        for got, want in zip(row["pairs"], pair_scores):
            assert got["lp_x"] == pytest.approx(want.lp_x, abs=1e-5)
            assert got["lp_y"] == pytest.approx(want.lp_y, abs=1e-5)
            assert got["consistency"] == pytest.approx(got["lp_x"] - got["lp_y"], abs=1e-12)
    printed = capsys.readouterr().out
    assert f"11 examples in {out}: 11 scored now, 0 were already there" in printed
    valid = torch.tensor(reference.scores[:-1], dtype=torch.float64)
    mean, *quartiles, count = re.search(
        r"QUALS mean (\S+), quartiles (\S+) / (\S+) / (\S+) \((\d+) with a score\)", printed
    ).groups()
    assert float(mean) == pytest.approx(valid.mean().item(), abs=2e-4)
    want = valid.quantile(torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)).tolist()
    assert [float(q) for q in quartiles] == pytest.approx(want, abs=2e-4)
    assert count == "10"
    assert "no QA pair (score NaN): 1 of 11 (9.1%)" in printed
    slowest = re.search(r"slowest batch: (\S+) s \(ids (.*)\)", printed).groups()
    assert float(slowest[0]) > 0
    assert slowest[1] in {", ".join(r["id"] for r in ROWS[i : i + 4]) for i in (0, 4, 8)}


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_csv_and_parquet_in_named_columns_csv_out(kind, toy_qagen_dir, reference, tmp_path):
    table = Dataset.from_dict({"text": [r["document"] for r in ROWS]})
    table = table.add_column("hyp", [r["summary"] for r in ROWS])
    data, out = tmp_path / f"data.{kind}", tmp_path / "scores.csv"
    if kind == "csv":
        table.to_csv(data, index=False)
    else:
        table.to_parquet(data)
    columns = ["--source-column", "text", "--summary-column", "hyp"]
    assert score(toy_qagen_dir, data, out, *columns, "--details", "--batch-size", "11") == 0
    with out.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["id", "score", "num_pairs", "pairs"]
    assert rows[-1]["score"] == "" and rows[-1]["pairs"] == "[]"  # NaN: an empty field
    parsed = [
        {**r, "score": float(r["score"]) if r["score"] else None, "num_pairs": int(r["num_pairs"])}
        for r in rows
    ]
    assert_rows_match(parsed, reference, [str(i) for i in range(11)])  # row numbers as ids
    pairs = json.loads(rows[0]["pairs"])
    assert [p["answer"] for p in pairs] == [p.pair.answer for p in reference.pair_scores[0]]
    assert pairs[0]["lp_x"] == pytest.approx(reference.pair_scores[0][0].lp_x, abs=1e-5)


def test_kill_and_resume_give_the_file_of_one_uninterrupted_run(toy_qagen_dir, tmp_path):
    stories = make_examples(15, seed=82)  # 30 rows, one a batch: the kill lands mid-run
    rows = [
        {"id": f"{i}{kind}", "document": e.document, "summary": s}
        for i, e in enumerate(stories)
        for kind, s in (("f", e.summary), ("c", e.corrupted_summary))
    ]
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    full, killed = tmp_path / "full.jsonl", tmp_path / "killed.jsonl"
    options = ["--batch-size", "1", "--id-column", "id"]
    assert score(toy_qagen_dir, data, full, *options) == 0
    command = arguments(toy_qagen_dir, data, killed, *options)
    run = subprocess.Popen(
        [sys.executable, "-m", "quals_hf.cli", *command],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while run.poll() is None and not (killed.exists() and killed.read_text().strip()):
            time.sleep(0.01)
        run.kill()  # SIGKILL: no chance to clean up
    finally:
        run.wait(timeout=60)
    written = killed.read_text().count("\n")
    assert 1 <= written < 30, "the kill must land while rows are being written"
    assert score(toy_qagen_dir, data, killed, *options) == 0
    assert_same_rows(killed, full)


def _killed_and_resumed(launcher, qagen_dir, data, output, options, kills=5, seed=0):
    """Start `quals-hf score` with ``launcher`` (a command prefix), SIGKILL its whole process
    group at ``kills`` random moments while rows are being written, resume after each, then
    run it to the end. Returns the number of rows each kill left."""
    draw = random.Random(seed)
    total = len(data.read_text().splitlines())
    left = []
    for target in sorted(draw.sample(range(1, total - 8), kills)):  # rows written before a kill
        run = subprocess.Popen(
            [*launcher, "-m", "quals_hf.cli", *arguments(qagen_dir, data, output, *options)],
            cwd=ROOT,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: torchrun's workers die with it
        )
        try:
            while run.poll() is None and (
                not output.exists() or output.read_bytes().count(b"\n") < target
            ):
                time.sleep(0.005)
            time.sleep(draw.uniform(0, 0.05))  # anywhere in the batch that follows
            os.killpg(run.pid, signal.SIGKILL)
        finally:
            run.wait(timeout=120)
        left.append(output.read_bytes().count(b"\n"))
    run = subprocess.run(
        [*launcher, "-m", "quals_hf.cli", *arguments(qagen_dir, data, output, *options)],
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return left


@pytest.mark.slow
@pytest.mark.parametrize("processes", [1, 2])
def test_killed_at_random_moments_every_id_once_and_the_scores_of_one_run(
    processes, toy_qagen_dir, tmp_path, torchrun
):
    """300 examples, 5 SIGKILLs at seeded random moments (mid-batch, often mid-write), each run
    resumed: every id exactly once, in input order, with the scores of one uninterrupted run;
    the same under torchrun with 2 processes."""
    stories = make_examples(150, seed=91)
    rows = [
        {"id": f"{i}{kind}", "document": e.document, "summary": s}
        for i, e in enumerate(stories)
        for kind, s in (("f", e.summary), ("c", e.corrupted_summary))
    ]
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    options = ["--batch-size", "4", "--id-column", "id"]
    full, killed = tmp_path / "full.jsonl", tmp_path / "killed.jsonl"
    assert score(toy_qagen_dir, data, full, *options) == 0
    launcher = [*torchrun, "--nproc_per_node", "2"] if processes == 2 else [sys.executable]
    left = _killed_and_resumed(launcher, toy_qagen_dir, data, killed, options)
    assert len(left) == 5 and left == sorted(left) and left[-1] < 300  # each kill lost nothing
    ids = [r["id"] for r in read_jsonl(killed)]
    assert ids == [r["id"] for r in rows]  # every id once, in input order
    assert_same_rows(killed, full)


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_resume_drops_a_row_cut_mid_line(kind, toy_qagen_dir, tmp_path, capsys):
    data = write_jsonl(tmp_path / "data.jsonl", ROWS)
    options = ["--id-column", "id", "--batch-size", "3", "--details"]
    full, cut = tmp_path / f"full.{kind}", tmp_path / f"cut.{kind}"
    assert score(toy_qagen_dir, data, full, *options) == 0
    lines = full.read_bytes().splitlines(keepends=True)
    kept = b"".join(lines[:5])  # CSV: the header and 4 rows, JSONL: 5 rows
    cut.write_bytes(kept + lines[5][: len(lines[5]) // 2])  # the 6th line, half written
    copy_record(full, cut)
    capsys.readouterr()
    assert score(toy_qagen_dir, data, cut, *options) == 0
    resumed = 4 if kind == "csv" else 5
    printed = capsys.readouterr().out
    assert (
        f"11 examples in {cut}: {11 - resumed} scored now, {resumed} were already there" in printed
    )
    assert cut.read_bytes() == full.read_bytes()


@pytest.mark.slow
def test_two_processes_resume_into_the_file_of_one(toy_qagen_dir, tmp_path, torchrun):
    data = write_jsonl(tmp_path / "data.jsonl", ROWS)
    options = ["--id-column", "id", "--batch-size", "2"]
    single, double = tmp_path / "single.jsonl", tmp_path / "double.jsonl"
    assert score(toy_qagen_dir, data, single, *options) == 0
    lines = single.read_text().splitlines(keepends=True)
    # rows f0, c0, f1 written and c1 cut: batch 1 (f1, c1) is scored again, c1 written once;
    # batches 1-5 left for 2 processes: the last round has a batch for one process only
    head = "".join(lines[:3])
    double.write_text(head + lines[3][:20])
    copy_record(single, double)
    command = arguments(toy_qagen_dir, data, double, *options)
    run = subprocess.run(
        [*torchrun, "--nproc_per_node", "2", "-m", "quals_hf.cli", *command],
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"11 examples in {double}: 8 scored now, 3 were already there" in run.stdout
    assert run.stdout.count("examples in") == 1  # one process reports
    assert double.read_text().startswith(head)
    assert_same_rows(double, single)


def test_a_resume_made_otherwise_stops_and_names_the_difference(toy_qagen_dir, tmp_path, capsys):
    data = write_jsonl(tmp_path / "data.jsonl", ROWS)
    full, out = tmp_path / "full.jsonl", tmp_path / "out.jsonl"
    options = ["--id-column", "id", "--batch-size", "3"]
    assert score(toy_qagen_dir, data, full, *options) == 0
    first_rows = "".join(full.read_text().splitlines(keepends=True)[:3])

    def resume(data_file, *changed):
        out.write_text(first_rows)
        copy_record(full, out)
        capsys.readouterr()
        code = score(toy_qagen_dir, data_file, out, *options, *changed)
        return code, capsys.readouterr().err.strip().splitlines()[-1]

    edited = write_jsonl(tmp_path / "edited.jsonl", [*ROWS[:-1], {**ROWS[-1], "summary": "x"}])
    for data_file, changed, named in (
        (data, ["--num-groups", "6"], "config.num_groups; e.g. config.num_groups: 8 then, 6 now"),
        (data, ["--batch-size", "2"], "batch_size; e.g. batch_size: 3 then, 2 now"),
        (data, ["--dtype", "bf16"], "models.model; e.g. models.model:"),
        (edited, [], "inputs; e.g. inputs:"),
    ):
        code, err = resume(data_file, *changed)
        assert code == 2, changed
        assert err.startswith(
            f"quals-hf score: error: {out} was written with other settings (" + named
        ), err
        assert "--restart" in err
        assert out.read_text() == first_rows  # nothing written, nothing lost
    out.unlink()  # rows without their record cannot be resumed safely either
    out.with_name(out.name + ".meta.json").unlink()
    out.write_text(first_rows)
    assert score(toy_qagen_dir, data, out, *options) == 2
    assert "no record of what made them" in capsys.readouterr().err
    assert score(toy_qagen_dir, data, out, *options, "--num-groups", "6", "--restart") == 0
    restarted = read_jsonl(out)
    assert [r["id"] for r in restarted] == [r["id"] for r in ROWS]
    assert score(toy_qagen_dir, data, out, *options, "--num-groups", "6") == 0  # same: resumes
    assert "11 were already there" in capsys.readouterr().out


def _bad_inputs(tmp):
    """(name, data file, extra options, the error message) for each kind of bad input."""
    ok = write_jsonl(tmp / "ok.jsonl", ROWS[:3])
    empty = tmp / "empty.jsonl"
    empty.write_text("\n")
    broken = tmp / "broken.jsonl"
    broken.write_text(json.dumps(ROWS[0]) + "\n\n" + '{"id": "x", "document": "a b",\n')
    null = write_jsonl(tmp / "null.jsonl", [ROWS[0], {**ROWS[1], "summary": None}])
    short = tmp / "short.csv"
    short.write_text("document,summary\na b,c\nd,e,f\n")
    twice = write_jsonl(tmp / "twice.jsonl", [ROWS[0], ROWS[1], ROWS[0]])
    return [
        (
            "missing column",
            ok,
            ["--summary-column", "hyp"],
            f"{ok} has no column 'hyp' (columns: id, document, summary)",
        ),
        ("empty file", empty, [], f"{empty} is empty"),
        (
            "malformed row",
            broken,
            [],
            f"{broken}:3: malformed row: Expecting property name enclosed in double quotes "
            "(column 31)",
        ),
        ("null text", null, [], f"{null}:2: 'summary' is not a text (None)"),
        ("csv row", short, [], f"{short}:3: malformed row: 3 fields, the header has 2"),
        ("repeated id", twice, ["--id-column", "id"], f"{twice}:3: id 'f0' repeats {twice}:1"),
        ("no such file", tmp / "nope.jsonl", [], f"no such file: {tmp / 'nope.jsonl'}"),
        ("a folder", tmp, [], f"{tmp}: unsupported file type; use .jsonl, .json, .csv or .parquet"),
    ]


def test_bad_inputs_give_one_line_errors_and_leave_written_rows_intact(
    toy_qagen_dir, tmp_path, capsys
):
    out = tmp_path / "scores.jsonl"
    written = '{"id": 0, "score": -0.1, "num_pairs": 2}\n{"id": 1, "score": null, "num_pairs": 0}\n'
    out.write_text(written)
    cases = _bad_inputs(tmp_path)
    cases.append(
        (
            "other fields",
            tmp_path / "ok.jsonl",
            ["--details"],
            f"{out}:1: holds the fields ['id', 'score', 'num_pairs'] but this run writes "
            "['id', 'score', 'num_pairs', 'pairs']; use the same --details setting or "
            "another output file",
        )
    )
    for name, data, options, message in cases:
        code = score(toy_qagen_dir, data, out, *options)
        err = capsys.readouterr().err
        assert code == 2, name
        assert err.strip().splitlines()[-1] == f"quals-hf score: error: {message}", name
        assert sum("error" in line for line in err.splitlines()) == 1, name
        assert out.read_text() == written, name
    assert score(toy_qagen_dir, tmp_path / "ok.jsonl", tmp_path / "scores.txt") == 2
    assert capsys.readouterr().err.strip() == (
        f"quals-hf score: error: {tmp_path / 'scores.txt'}: unsupported output type; "
        "use .jsonl or .csv"
    )


def test_help_names_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    options = "--data --output --source-column --summary-column --id-column --details --format"
    for option in [*options.split(), "--batch-size", "--num-groups", "--dtype", "--no-progress"]:
        assert option in text
