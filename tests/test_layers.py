"""The package's layers: a lower package never imports a higher one (docs/development.md)."""

import ast
from pathlib import Path

import quals_hf

PACKAGE = Path(quals_hf.__file__).parent

# package -> the quals_hf packages it may import (besides itself)
ALLOWED = {
    "core": set(),
    "toy": {"core"},
    "benchmark_data": set(),
    "qagen": {"core"},
    "scoring": {"core", "qagen"},
    "qags": {"core"},
    "conseq": {"core", "scoring"},
    "metrics": {"core", "qagen", "scoring", "qags"},
    "evaluation": {"core", "qagen", "scoring", "benchmark_data"},
}
TOP = {"__init__", "cli", "metric", "qags_metric"}  # the shell: may import any package


def _imported_packages(source: str, module_parts: tuple[str, ...]) -> set[str]:
    """The first-level quals_hf packages that a module's source imports (relative or absolute);
    ``module_parts`` is the module's path below quals_hf (``("core", "inputs")``)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(module_parts[: len(module_parts) - node.level])
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # `from .. import name`: the names are packages
                    found |= {alias.name for alias in node.names}
            elif node.module and node.module.split(".")[0] == "quals_hf":
                target = node.module.split(".")[1:]
            else:
                continue
            if target:
                found.add(target[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "quals_hf" and len(parts) > 1:
                    found.add(parts[1])
    return found


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages - {"spaces"} == set(ALLOWED)
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules == TOP


def test_no_package_imports_a_higher_one():
    wrong = []
    for name, allowed in ALLOWED.items():
        for path in sorted((PACKAGE / name).rglob("*.py")):
            parts = path.relative_to(PACKAGE).with_suffix("").parts
            for imported in _imported_packages(path.read_text(), parts) - allowed - {name}:
                wrong.append(f"{path.relative_to(PACKAGE)} imports quals_hf.{imported}")
    assert wrong == []


def test_the_check_sees_a_wrong_import():
    """Relative and absolute imports are both found (else the test above could not fail)."""
    parts = ("core", "inputs")
    assert _imported_packages("from ..scoring.scorer import QualsScorer", parts) == {"scoring"}
    assert _imported_packages("from .. import conseq", parts) == {"conseq"}
    assert _imported_packages("import quals_hf.conseq.trainer", parts) == {"conseq"}
    assert _imported_packages("from .padding import pad_sequences", parts) == {"core"}
