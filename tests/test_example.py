"""The ConSeq toy-world example runs, with re-mining, on two CPU processes."""

import os
import subprocess
from pathlib import Path

import pytest

from quals_hf import ContrastiveSets

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[1] / "examples" / "conseq_toy_world.py"


def test_conseq_example_with_remining_on_two_processes(toy_qagen_dir, tmp_path, torchrun):
    run = subprocess.run(
        [
            *torchrun,
            "--nproc_per_node",
            "2",
            str(EXAMPLE),
            "--output-dir",
            str(tmp_path),
            "--qagen-dir",
            str(toy_qagen_dir),
            "--num-docs",
            "24",
            "--mle-steps",
            "40",
            "--eval-docs",
            "4",
            "--remine-every",
            "1",
            "--select-ratio",
            "1.0",
            "--conseq-epochs",
            "1",
            "--num-candidates",
            "2",
        ],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "QUALS of greedy summaries of 4 unseen stories" in run.stdout
    # 3 steps (24 documents, 2 processes, batches of 4): re-mined after steps 1 and 2
    assert "selected 24 of 24 documents (round 2)" in run.stdout
    final = ContrastiveSets.load(tmp_path / "conseq" / "checkpoint-3")
    assert final.round == 2 and len(final) == 24  # the last round, saved with the checkpoint
