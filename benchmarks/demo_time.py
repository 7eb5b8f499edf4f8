"""Time the README's first command (install, build the package's QAGen, `quals-hf demo`) as a
newcomer runs it: a fresh clone, a fresh venv and an empty QAGen cache.

    python benchmarks/demo_time.py

Appends one row to ``results/demo/readme_demo.jsonl``: the wall seconds, whether the command
succeeded, the demo's closing lines, the machine and its load average when the run started
(other jobs on the machine slow it down: `benchmarks/report.py` shows the load beside the time).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "results" / "demo" / "readme_demo.jsonl"


def readme_command(readme: Path = ROOT / "README.md") -> str:
    """The last line of the README's first bash block: the newcomer's install-and-run command."""
    block = re.search(r"```bash\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    return block[1].strip().splitlines()[-1]


def main() -> None:
    command = readme_command()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        clone, venv = Path(tmp) / "repo", Path(tmp) / "venv"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = {
            **os.environ,
            "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
            "VIRTUAL_ENV": str(venv),
            "QUALS_HF_CACHE": str(Path(tmp) / "cache"),
        }
        done = subprocess.run(
            ["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
    closing = [line for line in done.stdout.splitlines() if line.startswith("QUALS puts")]
    row = {
        "date": datetime.date.today().isoformat(),
        "commit": commit,
        "machine": cpu(),
        "load_average_at_start": round(load, 2),
        "command": command,
        "seconds": round(seconds, 1),
        "returncode": done.returncode,
        "closing": closing,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1))
    if done.returncode:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)


if __name__ == "__main__":
    main()
