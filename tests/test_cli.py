"""The quals-hf command line."""

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from quals_hf import CONSEQ_PRESETS, ContrastiveSets, MiningConfig, QualsConfig, QualsScorer
from quals_hf.cli import build_parser, main
from quals_hf.toy.world import make_examples

DOCS = Path(__file__).resolve().parents[1] / "docs"
# the options of the dataclass fields before they were made from the fields: scripts use them
SCORE_FLAGS = ["--num-groups", "--max-pairs", "--max-input-length", "--pair-score"]
SCORE_FLAGS += ["--question-weight", "--aggregate", "--worst-k", "--softmin-temperature"]
SCORE_FLAGS += ["--source-window-tokens", "--pair-filter"]
MINE_FLAGS = ["--num-candidates", "--top-k", "--negative-ratio", "--positive-ratio"]
MINE_FLAGS += ["--batch-size", "--seed"]


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "explain", "install-metric", "mine", "train-qagen"):
        assert command in out


def test_help_makes_no_command_options_and_imports_no_torch():
    """The options of score and mine come from dataclasses whose modules import torch: they
    are made when their command runs, not for `quals-hf --help`."""
    code = "import sys\nfrom quals_hf.cli import main\ntry:\n    main(['--help'])\n"
    code += "except SystemExit:\n    print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "False"


def _option_helps(capsys, command: str) -> dict[str, str]:
    """``quals-hf COMMAND --help`` read back: each option's help text, on one line, by flag."""
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out.split("\noptions:\n", 1)[1]
    helps: dict[str, str] = {}
    flag = None
    for line in text.splitlines():
        start = re.match(r"  (-\S+(?:, --\S+)?)(?: [A-Z{]\S*)?(?:  +(.*))?$", line)
        if start:
            flag = start[1].split(", ")[-1]
            helps[flag] = start[2] or ""
        elif line.startswith("    ") and flag:
            helps[flag] = f"{helps[flag]} {line.strip()}".strip()
        else:
            flag = None  # a blank line or a group's title
    return helps


@pytest.mark.parametrize(
    "command", ["demo", "explain", "install-metric", "mine", "score", "validity"]
)
def test_help_shows_each_default_once(command, capsys):
    helps = _option_helps(capsys, command)
    assert "--help" in helps and len(helps) >= 3  # the help was read
    for flag, text in helps.items():
        assert text.lower().count("default") <= 1, (flag, text)


def _flags(cls) -> dict[str, str]:
    return {f.name: "--" + f.name.replace("_", "-") for f in dataclasses.fields(cls)}


def test_every_quals_config_field_is_a_score_option_with_its_default(capsys):
    flags = _flags(QualsConfig)
    assert set(SCORE_FLAGS) <= set(flags.values())  # a renamed field keeps its old option
    helps = _option_helps(capsys, "score")
    for f in dataclasses.fields(QualsConfig):
        text = helps[flags[f.name]]
        assert text.lower().count("default") == 1, text
        if f.default is not None:  # else the help says what None means
            assert text.endswith(f"(default: {f.default})"), text
    args = vars(build_parser().parse_args(["score", "--data", "d", "--output", "o.jsonl"]))
    assert {name: args[name] for name in flags} == dataclasses.asdict(QualsConfig())


def test_every_mining_config_field_is_a_mine_option_with_its_default(capsys):
    flags = _flags(MiningConfig)
    assert set(MINE_FLAGS) <= set(flags.values())
    helps = _option_helps(capsys, "mine")
    presets = {name: p.mining_options() for name, p in sorted(CONSEQ_PRESETS.items())}
    args = ["mine", "--model", "m", "--data", "d", "--output", "o.jsonl"]
    args = vars(build_parser().parse_args(args))
    for f in dataclasses.fields(MiningConfig):
        text = helps[flags[f.name]]
        assert text.lower().count("default") == 1, text
        if f.name in presets["paper"]:  # the preset's: the option is unset
            values = ", ".join(f"{name} {options[f.name]}" for name, options in presets.items())
            assert text.endswith(f"(default: the --preset's: {values})"), text
            assert args[f.name] is None
        else:
            assert text.endswith(f"(default: {f.default})"), text
            assert args[f.name] == f.default
    assert MiningConfig.preset("paper") == MiningConfig()  # so unset options give the defaults


def test_options_in_the_docs_tables_exist(capsys):
    """Each option named in the first column of docs/score.md's table of options."""
    rows = re.findall(r"^\| (`--.*?) \|", (DOCS / "score.md").read_text(), re.M)
    named = {flag for row in rows for flag in re.findall(r"`(--[a-z-]+)`", row)}
    assert "--num-groups" in named
    assert named <= set(_option_helps(capsys, "score"))


def test_explain_help_names_its_inputs_and_outputs(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    out = capsys.readouterr().out
    for option in ("--qagen", "--source-file", "--summary", "--html", "--png"):
        assert option in out


@pytest.fixture()
def documents(tmp_path):
    path = tmp_path / "docs.jsonl"
    with path.open("w") as f:
        for e in make_examples(12, seed=71):
            f.write(json.dumps({"document": e.document, "summary": e.summary}) + "\n")
    return path


def test_mine_writes_sets_from_a_jsonl_file(
    toy_summarizer_dir, toy_qagen_dir, documents, tmp_path, capsys
):
    out = tmp_path / "sets.jsonl"
    code = main(
        [
            "mine",
            "--model",
            str(toy_summarizer_dir),
            "--qagen",
            str(toy_qagen_dir),
            "--data",
            str(documents),
            "--output",
            str(out),
            "--batch-size",
            "6",
            "--negative-ratio",
            "0.5",
            "--positive-ratio",
            "0.5",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    sets = ContrastiveSets.load(out)
    printed = capsys.readouterr().out
    assert f"selected {len(sets)} of 12 documents" in printed
    assert all(0 <= int(i) < 12 for i in sets)  # ids from row numbers
    assert all(e.negative_score < e.positive_score for e in sets.values())


class _Mined(Exception):
    """Raised by a stand-in for mining: what the CLI passed it is all the test needs."""


class _Loaded(Exception):
    """Raised by a stand-in for a loader: what the CLI passed it is all the test needs."""


def test_mine_presets_set_the_selection_and_the_mining_score(
    toy_summarizer_dir, toy_qagen_dir, documents, tmp_path, monkeypatch
):
    seen = {}

    def mine(model, tokenizer, data, scorer, config, *args):
        seen.update(scorer=scorer, config=config)
        raise _Mined

    monkeypatch.setattr("quals_hf.conseq.mining.mine_contrastive_sets", mine)
    args = ["mine", "--model", str(toy_summarizer_dir), "--qagen", str(toy_qagen_dir)]
    args += ["--data", str(documents), "--output", str(tmp_path / "s.jsonl"), "--device", "cpu"]
    preset = CONSEQ_PRESETS["recommended"]
    with pytest.raises(_Mined):
        main([*args, "--preset", "recommended"])
    assert seen["config"] == MiningConfig.preset("recommended", batch_size=8)
    assert seen["scorer"].config.pair_score == preset.pair_score
    assert seen["scorer"].config.aggregate == preset.aggregate
    with pytest.raises(_Mined):  # an explicit option wins over the preset
        main([*args, "--preset", "recommended", "--negative-ratio", "0.05"])
    assert seen["config"].negative_ratio == 0.05
    assert seen["config"].positive_ratio == preset.positive_ratio
    with pytest.raises(_Mined):
        main(args)  # the paper's by default
    assert seen["config"] == MiningConfig(batch_size=8)
    assert seen["scorer"].config == QualsConfig()


def _unlike(default: object) -> object:
    """A valid value unlike a field's default: another choice, or another number."""
    if isinstance(default, bool):
        return not default
    if isinstance(default, str):
        return {"pair": "answer", "mean": "softmin", "none": "well_formed"}[default]
    return 0.25 if isinstance(default, float) else (default or 0) + 2


def _other_values(cls) -> tuple[dict[str, object], list[str]]:
    """Values unlike the defaults for every field of ``cls``, and the options that give them."""
    values = {f.name: _unlike(f.default) for f in dataclasses.fields(cls)}
    flags = _flags(cls)
    options = [  # a bool field's option is a flag that sets it
        x
        for name, value in values.items()
        for x in ((flags[name],) if isinstance(value, bool) else (flags[name], str(value)))
    ]
    return values, options


def test_every_score_option_of_a_field_reaches_the_scorer(documents, tmp_path, monkeypatch):
    seen: dict = {}

    def from_pretrained(*args, **kwargs):
        seen.update(kwargs)
        raise _Loaded

    monkeypatch.setattr(QualsScorer, "from_pretrained", from_pretrained)
    args = ["score", "--data", str(documents), "--output", str(tmp_path / "s.jsonl")]
    args += ["--device", "cpu"]
    names = [f.name for f in dataclasses.fields(QualsConfig)]
    with pytest.raises(_Loaded):
        main(args)
    assert QualsConfig(**{name: seen[name] for name in names if name in seen}) == QualsConfig()
    values, options = _other_values(QualsConfig)
    with pytest.raises(_Loaded):
        main([*args, *options])
    assert {name: seen[name] for name in names} == values
    assert dataclasses.asdict(QualsConfig(**values)) == values  # values the config takes


def test_every_mine_option_of_a_field_reaches_mining(documents, tmp_path, monkeypatch):
    seen: dict = {}

    def mine(model, tokenizer, data, scorer, config, *args):
        seen.update(config=config)
        raise _Mined

    def from_pretrained(*args, **kwargs):
        seen.update(scorer=kwargs)
        return "a scorer"

    monkeypatch.setattr("quals_hf.core.loading.load_seq2seq", lambda *a, **k: (None, None))
    monkeypatch.setattr("quals_hf.conseq.mining.mine_contrastive_sets", mine)
    monkeypatch.setattr(QualsScorer, "from_pretrained", from_pretrained)
    values, options = _other_values(MiningConfig)
    args = ["mine", "--model", "m", "--data", str(documents), "--output", str(tmp_path / "s")]
    with pytest.raises(_Mined):
        main([*args, "--device", "cpu", "--preset", "recommended", *options])
    assert seen["config"] == MiningConfig(**values)
    assert seen["scorer"]["batch_size"] == values["batch_size"]
    assert seen["scorer"]["pair_score"] == values["quals_pair_score"]
    assert seen["scorer"]["aggregate"] == values["quals_aggregate"]


def test_mine_errors_are_one_line_and_nonzero(tmp_path, toy_summarizer_dir, documents):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "quals_hf.cli", "mine", *args],
            capture_output=True,
            text=True,
            timeout=300,
        )

    missing = run(
        "--model",
        str(toy_summarizer_dir),
        "--data",
        str(tmp_path / "nope.jsonl"),
        "--output",
        str(tmp_path / "o.jsonl"),
        "--scorer",
        "rouge",
    )
    assert missing.returncode == 2 and "error: no such file" in missing.stderr.splitlines()[-1]
    no_qagen = run(
        "--model",
        str(toy_summarizer_dir),
        "--data",
        str(documents),
        "--output",
        str(tmp_path / "o.jsonl"),
    )
    # no --qagen: the package's QAGen, which tests never fetch (HF_HUB_OFFLINE, empty caches)
    assert no_qagen.returncode == 2
    last = no_qagen.stderr.strip().splitlines()[-1]
    assert last.startswith("quals-hf mine: error: could not fetch the default QAGen's base model")
    assert "pass a local QAGen folder" in last and "--qagen DIR" in last


def test_demo_scores_a_faithful_and_an_unfaithful_qags_summary(toy_scorer, monkeypatch, capsys):
    from quals_hf.benchmark_data import load_qags
    from quals_hf.scoring.scorer import QualsScorer

    asked = []  # the package's QAGen is asked for; the toy QAGen stands in for it
    monkeypatch.setattr(
        QualsScorer, "from_pretrained", lambda *a, **k: asked.append(a) or toy_scorer
    )
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert asked == [()]
    rows = {r["id"]: r for r in load_qags("cnndm")}
    shortest = sorted(rows.values(), key=lambda r: len(r["document"]))
    for label, value in (("faithful", 1.0), ("unfaithful", 0.0)):
        row = next(r for r in shortest if r["consistency"] == value)
        assert f"source (QAGS-CNNDM #{row['id']}): {row['document']}" in out
        assert f"\n{label} summary (human label), by {row['system']}: {row['summary']}" in out
    assert out.count("QUALS = ") == 2
    first, second = (float(x.split()[0]) for x in out.split("QUALS = ")[1:])
    if first == second:  # equal at the printed precision: the order is in digits not shown
        assert "QUALS puts the faithful summary " in out
    else:
        order = "above" if first > second else "not above"
        assert f"QUALS puts the faithful summary {order} the unfaithful one." in out


def test_the_demo_closing_sentence_follows_the_stored_scores(monkeypatch):
    """No fixed text: the odds come from the package's stored scores of every QAGS summary."""
    from quals_hf import benchmark_data, cli, load_qags

    shipped = cli._demo_odds()
    assert "% of " in shipped and "CNNDM" in shipped and "XSUM" in shipped

    def perfect(name):  # every faithful summary above every unfaithful one
        data = load_qags(name)
        return dict(zip(data["id"], data["consistency"]))

    monkeypatch.setattr(benchmark_data, "stored_quals_scores", perfect)
    ordered = cli._demo_odds()
    assert ordered.count("100.0% of ") == 2 and ordered != shipped


def test_printed_pairs_name_their_form_flaws(toy_scorer, capsys):
    from quals_hf.cli import _flaw_legend, _print_pairs
    from quals_hf.scoring.pairs import PairScore, QAPair

    def scored(question, answer):
        return PairScore(QAPair(question, answer, 0.0), -1.0, -0.5, [-1.0], [-0.5])

    formed = [scored("Who came?", "Anna")]
    _print_pairs("summary", "Anna Brown came.", -0.5, formed, toy_scorer.format)
    _flaw_legend(formed, "--pair-filter prefer_well_formed")
    clean = capsys.readouterr().out
    assert clean.rstrip().endswith("Anna") and "[" not in clean
    both = [*formed, scored("Who is Anna?", "Anna")]
    _print_pairs("summary", "Anna Brown came.", -0.5, both, toy_scorer.format)
    _flaw_legend(both, "--pair-filter prefer_well_formed")
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3].endswith("Anna  [answer in question]")
    assert lines[-1].endswith("--pair-filter prefer_well_formed chooses well-formed pairs first")
    _flaw_legend(both, None)  # where the command already chooses them: the legend alone
    assert capsys.readouterr().out.strip() == "[...]: a pair's form flaws (docs/text_forms.md)"
