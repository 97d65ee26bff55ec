"""Two identical runs write byte-identical artifacts (issue 9, item 6).

Each run happens in its own Python process with a different PYTHONHASHSEED (so hash-map
order differs, as it would between two real runs) and the same SOURCE_DATE_EPOCH (so the
recorded creation times agree). Every file the runs write must then be equal byte for byte:
an MLP, a logistic and a LightGBM teacher, a compressed student, and its ONNX export.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from finlite._util import utc_timestamp
from finlite.errors import ConfigError

# Small on purpose: German credit, a few epochs. Timing is off because latencies are
# measurements, not results (the CLI's compress report records them; see the README).
_RUN = """
import sys
from pathlib import Path
import finlite
from finlite.jobs.export import export_artifact

out = Path(sys.argv[1])
fast = finlite.TrainConfig(epochs=4, patience=2, progress=False)
data = finlite.datasets.path("german_credit")
finlite.train(data, target="creditability", hidden=(16,), config=fast, out=out / "mlp")
finlite.train(data, target="creditability", model="logistic", progress=False, out=out / "logistic")
finlite.train(data, target="creditability", model="lightgbm", out=out / "lightgbm",
              gbdt_params={"learning_rate": 0.3})
finlite.compress(out / "mlp", data, student_hidden=(8,), config=fast, fine_tune=fast, out=out / "student",
                 timing=False, progress=False)
export_artifact(out / "student", data, int8=True)
"""


def _run(folder: Path, hash_seed: str) -> None:
    # The teacher's path is recorded in the student's report, so both runs use the same relative
    # path ("run/..."), each from its own working folder: identical runs, identical inputs.
    folder.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "SOURCE_DATE_EPOCH": "1700000000"}
    proc = subprocess.run([sys.executable, "-c", _RUN, "run"], env=env, capture_output=True, text=True,
                          timeout=600, cwd=folder)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_identical_runs_write_identical_bytes(tmp_path: Path) -> None:
    _run(tmp_path / "a", "1")
    _run(tmp_path / "b", "2")
    a, b = _files(tmp_path / "a" / "run"), _files(tmp_path / "b" / "run")
    assert sorted(a) == sorted(b)
    assert {"mlp/weights.safetensors", "lightgbm/oof_logits.safetensors", "student/model.onnx",
            "student/model_int8.onnx"} <= set(a)
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, f"files differ between two identical runs: {differ}"
    assert b'"created_utc": "2023-11-14T22:13:20Z"' in a["student/manifest.json"]
    # A pinned time says so, and the code that made the artifact is named (an auditor's walk-through).
    import json

    manifest = json.loads(a["mlp/manifest.json"])
    assert manifest["created_utc_from"] == "SOURCE_DATE_EPOCH"
    from finlite._version import code_sha256

    assert manifest["versions"]["finlite_code_sha256"] == code_sha256()
    assert {"jinja2", "pyyaml"} <= manifest["versions"].keys()


def test_source_date_epoch_sets_the_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert utc_timestamp() == "1970-01-01T00:00:00Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ConfigError, match=r"SOURCE_DATE_EPOCH is 'yesterday'.*whole, non-negative number of seconds"):
        utc_timestamp()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert utc_timestamp().endswith("Z") and utc_timestamp() >= "2024"


def test_weights_metadata_is_one_canonical_key(tmp_path: Path) -> None:
    """safetensors keeps metadata in a hash map: several keys come out in a per-process order."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    from finlite.models import build_model
    from finlite.models.serialize import load_weights, save_weights

    model = build_model({"kind": "mlp", "in_features": 4, "hidden": [3]})
    save_weights(model, tmp_path / "w.safetensors")
    with safe_open(str(tmp_path / "w.safetensors"), framework="pt") as fh:
        assert list(fh.metadata() or {}) == ["finlite"]
    # Weights written before (two metadata keys) still load.
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / "old.safetensors"), metadata={"finlite.sparse": "{}", "finlite.storage": "float32"})
    old = load_weights(model.config(), tmp_path / "old.safetensors")
    assert all(torch.equal(old.state_dict()[k], v) for k, v in state.items())
