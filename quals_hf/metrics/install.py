"""Making ``evaluate.load("quals")`` work: the metric's path, and its registration.

evaluate resolves a bare name on the Hub (``evaluate-metric/quals``) and, when that fails or
``HF_EVALUATE_OFFLINE=1`` is set, in its modules cache
(``$HF_HOME/modules/evaluate_modules/metrics/evaluate-metric--quals/<hash>/quals.py``).
`install_metric` writes the metric script there, as a Hub download would.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

SPACES_DIR = Path(__file__).parents[1] / "spaces"
METRIC_PATH = str(SPACES_DIR / "quals")  # evaluate.load(METRIC_PATH) needs no setup
QAGS_METRIC_PATH = str(SPACES_DIR / "qags")  # the QAGS baseline, loaded the same ways


def install_metric(name: str = "quals", modules_cache: str | Path | None = None) -> Path:
    """Register the metric ``name`` in evaluate's modules cache so ``evaluate.load(name)`` works.

    Args:
        name: the metric (a folder of ``quals_hf/spaces``).
        modules_cache: evaluate's modules cache; default ``$HF_MODULES_CACHE``
            (``$HF_HOME/modules``).

    Returns:
        The path of the installed script.
    """
    from evaluate.loading import init_dynamic_modules

    script = SPACES_DIR / name / f"{name}.py"
    if not script.is_file():
        raise ValueError(
            f"no metric {name!r}; available: {sorted(p.name for p in SPACES_DIR.iterdir())}"
        )
    root = Path(init_dynamic_modules(hf_modules_cache=modules_cache))
    digest = hashlib.sha256(script.read_bytes()).hexdigest()
    target = root / "metrics" / f"evaluate-metric--{name}" / digest
    target.mkdir(parents=True, exist_ok=True)
    for package in (root / "metrics", target.parent, target):
        (package / "__init__.py").touch(exist_ok=True)
    shutil.copyfile(script, target / script.name)
    return target / script.name
