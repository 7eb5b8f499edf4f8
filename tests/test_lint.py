"""The code stays clean: ruff (configured in pyproject.toml) reports nothing and formats nothing."""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_reports_no_problems():
    ruff = shutil.which("ruff")
    assert ruff, "ruff is a dev requirement: pip install -e '.[dev]'"
    result = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_every_file_as_it_is():
    ruff = shutil.which("ruff")
    assert ruff, "ruff is a dev requirement: pip install -e '.[dev]'"
    result = subprocess.run(
        [ruff, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
