"""The documentation's code: every Python block runs, or says why it cannot run offline.

A block is skipped only when the line before its fence is ``<!-- skip: the reason -->``.
The runnable blocks of a page run in order in one namespace (later blocks use earlier names),
in a temporary folder, with the session's toy QAGen in place of the cached one.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from quals_hf.toy.models import default_cache_dir

ROOT = Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
FENCE = re.compile(r"^```(?P<lang>[^\n`]*)\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)
SKIP = re.compile(r"^<!-- skip: (?P<reason>.*\S) -->$", re.M)  # a line of its own
LANGUAGES = {"python", "bash", "text", "bibtex"}  # python runs; the others are not Python


@dataclass
class Block:
    page: str
    line: int
    lang: str
    code: str
    skip: str | None  # the reason, for a marked block


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with the skip marker just above each."""
    text = path.read_text("utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = SKIP.fullmatch(before.rstrip())
        line = text.count("\n", 0, match.start()) + 1
        lang = match["lang"].strip()
        found.append(Block(path.name, line, lang, match["code"], marker and marker["reason"]))
    return found


ALL = {path: blocks(path) for path in PAGES}
RUNNABLE = {
    path: [b for b in found if b.lang == "python" and b.skip is None] for path, found in ALL.items()
}


def test_every_python_block_runs_or_says_why_not():
    problems = []
    for path, found in ALL.items():
        text = path.read_text("utf-8")
        for b in found:
            where = f"{path.relative_to(ROOT)}:{b.line}"
            if b.lang not in LANGUAGES:
                problems.append(f"{where}: fence language {b.lang!r}; use one of {LANGUAGES}")
            if b.skip is not None and b.lang != "python":
                problems.append(f"{where}: a skip marker on a {b.lang} block")
        markers = len(SKIP.findall(text))
        attached = sum(b.skip is not None for b in found)
        if markers != attached:
            problems.append(f"{path.relative_to(ROOT)}: a skip marker not right above a fence")
    assert not problems, "\n".join(problems)
    assert sum(map(len, RUNNABLE.values())) >= 5  # the docs keep showing runnable code


@pytest.fixture()
def docs_env(toy_qagen_dir, tmp_path, monkeypatch):
    """A temporary working folder, and the session's toy QAGen where the docs load it from."""
    monkeypatch.setenv("QUALS_HF_CACHE", str(tmp_path / "cache"))
    cached = default_cache_dir()
    cached.parent.mkdir(parents=True)
    os.symlink(toy_qagen_dir, cached)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    "path", [p for p in PAGES if RUNNABLE[p]], ids=lambda p: p.name.removesuffix(".md")
)
def test_python_blocks_run(path, docs_env):
    namespace = {"__name__": "__docs__"}
    for b in RUNNABLE[path]:  # padded so that tracebacks give the page's line numbers
        exec(compile("\n" * b.line + b.code, str(path), "exec"), namespace)


def test_api_reference_covers_the_public_api():
    import quals_hf

    api = (ROOT / "docs" / "api.md").read_text("utf-8")
    missing = [name for name in quals_hf.__all__ if f"::: quals_hf.{name}\n" not in api]
    assert not missing, f"add to docs/api.md: {missing}"


def test_ci_runs_the_readme_test_command():
    commands = [
        b.code.strip().splitlines()[-1] for b in ALL[ROOT / "README.md"] if b.lang == "bash"
    ]
    assert len(commands) == 2  # install-and-demo, install-and-test
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == commands[1]
