"""A scoring-only install: the base dependencies pull no torch, and the CLI scores without it.

The subprocess tests hide torch (and the other training-only packages) behind an import hook, as
an install without the ``train`` extra would: ``score`` and ``serve --help`` still work, and a
command that trains says which extra to install, with exit code 2 and no traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
from packaging.requirements import Requirement

from finlite import datasets

ROOT = Path(__file__).resolve().parents[1]
TRAINING_ONLY = {"torch", "safetensors", "onnx", "lightgbm", "xgboost", "xgboost-cpu"}

# Run before finlite is imported: any import of a training-only package fails as if not installed.
_BLOCK = """
import importlib.abc, sys
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "safetensors", "onnx"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NotInstalled())
from finlite.cli import main
sys.argv = ["finlite", *sys.argv[1:]]
main()
"""


def _finlite_without_torch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _BLOCK, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def _project() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        project: dict[str, Any] = tomllib.load(fh)["project"]
    return project


def test_base_dependencies_pull_no_torch_and_the_train_extra_declares_a_range() -> None:
    project = _project()
    base = {Requirement(r).name.lower() for r in project["dependencies"]}
    assert not base & TRAINING_ONLY, f"training-only packages in the base install: {sorted(base & TRAINING_ONLY)}"
    assert {"onnxruntime", "numpy", "pandas", "fastapi", "uvicorn"} <= base
    extras: dict[str, list[str]] = project["optional-dependencies"]
    assert "serve" in extras
    torch = [Requirement(r) for r in extras["train"] if Requirement(r).name == "torch"]
    assert len(torch) == 1
    spec = torch[0].specifier
    assert not any(s.operator == "==" for s in spec), "the package declares a range; the exact pin is the Makefile's"
    assert {s.operator for s in spec} >= {">=", "<"}
    # The Makefile installs the exact CPU build first; it must be inside the declared range.
    pins = re.findall(r"^TORCH\s*:=\s*torch==(\S+)$", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
    assert len(pins) == 1 and spec.contains(pins[0]), f"Makefile pins torch {pins}, outside {spec}"


def test_score_and_serve_help_work_without_torch(exported_dir: Path, tmp_path: Path) -> None:
    rows = pd.read_csv(datasets.path("german_credit")).head(20).drop(columns="creditability")
    rows.to_csv(tmp_path / "new.csv", index=False)
    scored = _finlite_without_torch("score", str(exported_dir), "new.csv", "-o", "out.csv", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 20 and out["score"].between(0, 1).all() and set(out["decision"]) <= {0, 1}
    for args in (("--help",), ("serve", "--help")):
        shown = _finlite_without_torch(*args, cwd=tmp_path)
        assert shown.returncode == 0 and "Usage" in shown.stdout, shown.stderr


def test_a_training_command_without_torch_names_the_extra(tmp_path: Path) -> None:
    result = _finlite_without_torch("train", str(datasets.path("german_credit")), "--target", "creditability",
                                    "--out", "teacher", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "pip install 'finlite[train]'" in result.stderr and "Traceback" not in result.stderr
    # PyPI's Linux torch pulls the CUDA libraries: the CPU build is named first (a packaging walk-through).
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in result.stderr
    assert not (tmp_path / "teacher").exists()


def test_inspect_without_torch_verifies_what_it_can(exported_dir: Path, tmp_path: Path) -> None:
    """A scoring-only machine had no command to verify an artifact's hashes and signature: inspect
    needed torch (an MLOps walk-through, 2026-12-06). It verifies them and says what it leaves out."""
    result = _finlite_without_torch("inspect", str(exported_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"student \w+ model, all \d+ file hashes verified", result.stdout)
    assert "manifest sha256 " in result.stdout and "signature: " in result.stdout
    assert "pip install 'finlite[train]'" in result.stdout and "Traceback" not in result.stderr


def test_audit_without_torch_verifies_a_serve_log(tmp_path: Path) -> None:
    """The machine that serves (no torch) checks its own audit log."""
    from finlite.runtime.service import AuditLog

    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(3):
        log.write([{"event": "prediction", "time": f"2026-12-06T19:00:0{i}.000Z", "score": 0.1, "decision": 0}])
    log.close()
    result = _finlite_without_torch("audit", str(tmp_path / "audit.jsonl"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 audit line(s) in 1 file(s)" in result.stdout and "intact" in result.stdout
