"""ONNX export: every model kind matches itself in ONNX Runtime, parity problems are all
collected, and the artifact records what was checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from typer.testing import CliRunner

import finlite
from finlite.cli import app
from finlite.errors import ArtifactError, DataError, ExportError
from finlite.export.graph import to_onnx
from finlite.export.parity import check_parity
from finlite.jobs.export import INT8_FILE, export, export_artifact, int8_counterpart
from finlite.methods.linear import IntegerWeights, Scorecard, integer_logistic, make_scorecard
from finlite.methods.quantize import convert_to_int8
from finlite.models import FinliteModel, LogisticRegression, SequenceModel, TabularMLP
from finlite.models.sequence import quantize_sequence

RNG = np.random.default_rng(0)
X = RNG.normal(size=(400, 12)).astype(np.float32)
WINDOWS = RNG.normal(size=(200, 10, 3)).astype(np.float32)


def _mlp(**kw: object) -> TabularMLP:
    torch.manual_seed(0)
    return TabularMLP(12, (24, 8), dropout=0.0, **kw).eval()  # type: ignore[arg-type]


def _pruned(density: float) -> TabularMLP:
    model = _mlp()
    with torch.no_grad():
        for layer in model.layers:
            keep = torch.rand_like(layer.weight) < density
            layer.weight.mul_(keep)
    return model


def _fp16() -> TabularMLP:
    model = _mlp()
    with torch.no_grad():  # the fp16 method rounds the weights; so does the file
        for p in model.parameters():
            p.copy_(p.half().float())
    model.weight_storage = "float16"
    return model


def _scorecard() -> FinliteModel:
    torch.manual_seed(0)
    x = np.hstack([RNG.normal(size=(400, 3)), np.eye(9)[RNG.integers(0, 9, 400)]]).astype(np.float32)
    return make_scorecard(LogisticRegression(12).eval(), Scorecard(bins=6), x, n_numeric=3)


MODELS = {
    "mlp relu": lambda: _mlp(),
    "mlp gelu": lambda: _mlp(activation="gelu"),
    "mlp tanh": lambda: _mlp(activation="tanh"),
    "mlp silu": lambda: _mlp(activation="silu"),
    "mlp low rank": lambda: _mlp(ranks=[3, None, None]),
    "mlp pruned 90%": lambda: _pruned(0.1),
    "mlp fp16": _fp16,
    "mlp int8 dynamic": lambda: convert_to_int8(_mlp(), None),
    "mlp int8 static": lambda: convert_to_int8(_mlp(), [0.05, 0.05, 0.05]),
    "logistic": lambda: LogisticRegression(12).eval(),
    "logistic int8": lambda: integer_logistic(LogisticRegression(12).eval(), IntegerWeights(bits=8)),
    "scorecard": _scorecard,
}


def _scorecard_rows() -> np.ndarray:
    return np.hstack([RNG.normal(size=(300, 3)), np.eye(9)[RNG.integers(0, 9, 300)]]).astype(np.float32)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_tabular_models_match_in_onnx_runtime(name: str) -> None:
    model = MODELS[name]()
    x = _scorecard_rows() if name == "scorecard" else X
    data, parity = export(model, x, cutoff=0.5)
    assert parity.passed and parity.flips == 0 and parity.rows == len(x)
    assert parity.max_abs_diff <= (1e-3 if "int8" in name else 1e-5)
    proto = onnx.load_from_string(data)
    assert [o.name for o in proto.graph.output] == ["probability", "logit"]
    dtypes = {t.data_type for t in proto.graph.initializer}
    if "int8" in name:  # the file holds int8 weights and multiplies them as integers
        assert onnx.TensorProto.INT8 in dtypes
        if name.startswith("mlp"):
            assert "MatMulInteger" in {n.op_type for n in proto.graph.node}
    if name == "mlp fp16":
        assert onnx.TensorProto.FLOAT16 in dtypes and onnx.TensorProto.FLOAT not in {
            t.data_type for t in proto.graph.initializer if t.dims and np.prod(t.dims) > 8}


def test_sparse_weights_stay_small_on_disk() -> None:
    dense = len(to_onnx(_mlp()).SerializeToString())
    sparse_proto = to_onnx(_pruned(0.1))
    assert len(sparse_proto.graph.sparse_initializer) == 3
    assert len(sparse_proto.SerializeToString()) < 0.6 * dense


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_forecasters_float_and_int8_match(cell: str, task: str) -> None:
    torch.manual_seed(1)
    model = SequenceModel(cell, 3, [12, 6], task).eval()
    for candidate in (model, quantize_sequence(model)):
        data, parity = export(candidate, WINDOWS)
        assert parity.passed, parity.problems
        output = onnx.load_from_string(data).graph.output[0].name
        assert output == ("prediction" if task == "regression" else "probability")
    assert "Scan" in {n.op_type for n in onnx.load_from_string(export(quantize_sequence(model), WINDOWS)[0]).graph.node}


def test_parity_collects_every_problem() -> None:
    ref = np.array([0.1, 0.4, 0.6, 0.9, 0.5])
    got = np.array([0.1, 0.6, 0.6, np.nan, 0.49])
    parity = check_parity(ref, got, cutoff=0.5, tolerance=1e-4)
    assert not parity.passed and len(parity.problems) == 3
    assert "NaN or infinite" in parity.problems[0]
    assert "above the tolerance" in parity.problems[1] and "3 of 5 rows" in parity.problems[1]
    assert parity.flips == 3 and "3 decisions flip" in parity.problems[2]
    assert parity.worst_rows[0] == 3  # the NaN row is the worst
    short = check_parity(ref, got[:3], cutoff=0.5, tolerance=1e-4)
    assert short.problems == ["the exported model returned 3 values for 5 rows"]


def test_unknown_kinds_are_refused() -> None:
    # (Boosted teachers export as tree ensembles: tests/export/test_trees.py.)
    class Custom(FinliteModel):
        kind = "custom"

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.sum(1)

    with pytest.raises(ExportError, match=r"'custom' model has no ONNX export.*distil it"):
        to_onnx(Custom())


def test_broken_parity_raises_and_writes_nothing(exported_dir: Path, german_csv: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    art = tmp_path / "student"
    shutil.copytree(exported_dir, art)
    before = (art / "manifest.json").read_bytes()
    import finlite.jobs.export as export_module

    real = export_module.run_onnx_blocks
    monkeypatch.setattr(export_module, "run_onnx_blocks", lambda s, x, o="probability": 1 - real(s, x, o))
    with pytest.raises(ExportError, match=r"does not match the model in memory.*above the tolerance.*decisions flip"
                       ) as info:
        export_artifact(art, german_csv)
    assert len(info.value.problems) == 2 and info.value.parity["flips"] > 0
    assert (art / "manifest.json").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_export_records_parity_in_the_artifact(exported_dir: Path) -> None:
    manifest = json.loads((exported_dir / "manifest.json").read_text())
    record = manifest["export"]
    assert record["split"] == "test" and record["rows"] == 200
    assert record["onnx"]["parity"]["flips"] == 0 and record["onnx"]["parity"]["max_abs_diff"] < 1e-5
    int8 = record["onnx_int8"]
    assert int8["kind"] == "mlp_int8" and int8["parity"]["passed"]
    assert int8["against_float"]["flips"] >= 0 and 0.5 < int8["against_float"]["auc_int8"] <= 1
    assert manifest["files"][INT8_FILE] == int8["sha256"]
    assert finlite.load(exported_dir).model.kind == "mlp"  # still a loadable, verified artifact
    tampered = exported_dir.parent / "tampered"
    shutil.copytree(exported_dir, tampered)
    (tampered / "model.onnx").write_bytes(b"\0" + (tampered / "model.onnx").read_bytes()[1:])
    with pytest.raises(ArtifactError, match=r"model\.onnx.*altered after saving"):
        finlite.load(tampered)


def test_int8_counterpart_of_integer_models_is_none() -> None:
    assert int8_counterpart(convert_to_int8(_mlp(), None)) is None
    assert int8_counterpart(_mlp()).kind == "mlp_int8"  # type: ignore[union-attr]


def test_cli_export(exported_dir: Path, german_csv: Path, loans_csv: Path, tmp_path: Path) -> None:
    art = tmp_path / "student"
    shutil.copytree(exported_dir, art)
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(art), "--int8"])  # finds the bundled table itself
    assert result.exit_code == 0, result.output
    assert "model.onnx" in result.output and "PASS" in result.output and "decisions flipped" in result.output
    result = runner.invoke(app, ["export", str(art), "--data", str(loans_csv)])
    assert result.exit_code == 2 and "is not the table" in result.output


def test_failed_gates_are_read_from_the_gates_themselves() -> None:
    """A manifest whose summary (gates_passed) disagrees with its gates fails closed; a teacher or
    a run without gates has none."""
    from finlite._manifest import failed_gates, failed_gates_warning

    bad = {"passed": False, "message": "agreement 0.98 < min 0.985 (by 0.005)"}
    good = {"passed": True, "message": "auc drop 0.001 <= 0.02"}
    assert failed_gates({"metrics": {"gates_passed": True, "gates": [good, bad]}}) == [bad["message"]]
    assert failed_gates({"metrics": {"gates_passed": True, "gates": [good]}}) == []
    assert failed_gates({"metrics": {"test": {}}}) == [] and failed_gates({}) == []
    warning = failed_gates_warning({"metrics": {"gates": [bad]}, "export": {"accepted_failed_gates": [bad["message"]]}},
                                   "art")
    assert warning is not None and warning.endswith("It was exported with --accept-failed-gates.")


def test_the_int8_warning_says_how_many_test_decisions_int8_changed() -> None:
    """score --int8 ran a model that export measured deciding test rows unlike the validated float
    model, and said nothing of it (note60, left alone)."""
    from finlite._manifest import int8_warning

    def manifest(**against: object) -> dict[str, object]:
        return {"export": {"rows": 200, "onnx_int8": {"file": "model_int8.onnx", "against_float": {
            "max_abs_diff": 0.031, **against}}}}

    said = int8_warning(manifest(flips=5, auc_float=0.8123, auc_int8=0.8101), "int8", "art")
    assert said == ("warning: art: its int8 model (model_int8.onnx) decided 5 of 200 test rows unlike the float model "
                    "that the validation report judged (max |Δp| 0.031; test AUC 0.8123 -> 0.8101), as export "
                    "measured; these are not the validated decisions. Score with the float model for them (leave out "
                    "--int8; in Python, Predictor(..., variant='fp32')).")
    # A forecast of a number: its sign is its call.
    said = int8_warning(manifest(flips=0, direction_flips=3), "int8", "art")
    assert said is not None and "forecast the opposite direction to the float model" in said and "3 of 200" in said
    assert int8_warning(manifest(flips=5), "fp32", "art") is None  # the float model is the validated one
    direction = {**manifest(flips=2), "task": "direction"}
    assert "decided 2 of 200 test windows unlike" in str(int8_warning(direction, "int8", "art"))
    assert int8_warning(manifest(flips=0, auc_float=0.8, auc_int8=0.8), "int8", "art") is None  # every row agreed
    assert int8_warning({"export": {"onnx_int8": {"same_as": "model.onnx", "reason": "integer"}}}, "int8", "art") is None
    assert int8_warning({}, "int8", "art") is None


@pytest.mark.slow
def test_score_int8_warns_when_export_measured_flips(exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """The warning reaches score's stderr (and --json's notes) with --int8 only."""
    from finlite._manifest import amend_artifact

    art = tmp_path / "student"
    shutil.copytree(exported_dir, art)
    export = json.loads((art / "manifest.json").read_text())["export"]
    export["onnx_int8"]["against_float"]["flips"] = 7  # as if export had measured 7 flips
    amend_artifact(art, {}, {"export": export})
    runner = CliRunner()
    result = runner.invoke(app, ["score", str(art), str(german_csv), "-o", str(tmp_path / "a.csv"), "--int8", "-q"])
    assert result.exit_code == 0, result.output
    assert f"warning: {art}: its int8 model (model_int8.onnx) decided 7 of {export['rows']:,} test rows" in result.output
    result = runner.invoke(app, ["score", str(art), str(german_csv), "-o", str(tmp_path / "b.csv"), "--int8", "-q",
                                 "--json"])
    assert result.exit_code == 0 and any("decided 7 of" in n for n in json.loads(result.stdout)["notes"])
    result = runner.invoke(app, ["score", str(art), str(german_csv), "-o", str(tmp_path / "c.csv"), "-q"])
    assert result.exit_code == 0 and "its int8 model" not in result.output


@pytest.mark.slow
def test_a_student_that_failed_its_gates_is_not_exported_unless_accepted(exported_dir: Path, german_csv: Path,
                                                                          tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """compress exits 1 and writes the student for review; export, score and serve ran it without
    a word (a validator's review, 2026-12-04). Export now refuses it (exit 1), or records that it
    was accepted; score and serve warn whenever they load it."""
    from finlite._manifest import amend_artifact
    from finlite.runtime import Predictor
    from finlite.runtime.batch import score_file
    from finlite.runtime.service import serve

    art = tmp_path / "student"
    shutil.copytree(exported_dir, art)
    manifest = json.loads((art / "manifest.json").read_text())
    failed = {"passed": False, "message": "agreement 0.98 < min 0.985 (by 0.005)"}
    amend_artifact(art, {}, {"metrics": {**manifest["metrics"], "gates_passed": False,
                                         "gates": [{"passed": True, "message": "auc drop 0.001 <= 0.02"}, failed]}})
    before = (art / "manifest.json").read_bytes()
    with pytest.raises(ExportError, match=r"failed its quality gates on the test split \(agreement 0\.98 < min 0\.985 "
                                          r"\(by 0\.005\)\); it was written for review") as info:
        export_artifact(art, german_csv)
    assert info.value.gates == [failed["message"]] and (art / "manifest.json").read_bytes() == before
    result = CliRunner().invoke(app, ["export", str(art)])
    assert result.exit_code == 1 and "--accept-failed-gates" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["export", str(art), "--accept-failed-gates"])
    assert result.exit_code == 0, result.output
    assert "warning: exported although" in result.output
    assert json.loads((art / "manifest.json").read_text())["export"]["accepted_failed_gates"] == [failed["message"]]
    summary = score_file(Predictor(art), german_csv, tmp_path / "scores.csv")
    assert summary.notes[0].startswith(f"warning: {art} failed its quality gates on the test split (agreement 0.98")
    said: list[str] = []
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: said.append("bound"))  # no port bound
    serve(art, port=8000, announce=said.append)
    assert said[0].startswith(f"warning: {art} failed its quality gates") and said[-1] == "bound"
    # Signing is what a deployment trusts: refused likewise (exit 1, nothing written) unless accepted.
    from finlite.errors import GatesFailedError
    from finlite.signing import sign_artifact
    from tests.test_signing import make_key

    private, _ = make_key(tmp_path, "ed25519")
    with pytest.raises(GatesFailedError, match=r"failed its quality gates .* is not signed.*accept_failed_gates=True"):
        sign_artifact(art, private)  # the library refuses it too, not only the command line
    result = CliRunner().invoke(app, ["sign", str(art), "--key", str(private)])
    assert result.exit_code == 1 and "is not signed" in result.output and "--accept-failed-gates" in result.output
    assert not (art / "signature.json").exists()
    result = CliRunner().invoke(app, ["sign", str(art), "--key", str(private), "--accept-failed-gates"])
    assert result.exit_code == 0 and "warning: signing" in result.output and (art / "signature.json").exists()
    # A student that passed (or a teacher, with no gates) exports and scores without the warning.
    assert not any("quality gates" in n for n in score_file(Predictor(exported_dir), german_csv,
                                                            tmp_path / "clean.csv").notes)


def test_missing_training_table_is_named(exported_dir: Path, tmp_path: Path) -> None:
    art = tmp_path / "student"
    shutil.copytree(exported_dir, art)
    manifest = json.loads((art / "manifest.json").read_text())
    loaded = finlite.load(art)
    loaded.manifest = {**manifest, "data": {**manifest["data"], "source": "gone.csv"}}
    with pytest.raises(DataError, match=r"'gone\.csv'.*was not found; pass it as data=PATH"):
        export_artifact(loaded)


def test_an_exported_teacher_gives_score_its_training_scores_bins(teacher_dir: Path, german_csv: Path,
                                                                   tmp_path: Path) -> None:
    """A teacher deployed as it is had no report, so score judged no PSI and --max-psi refused every
    run naming the wrong cause (a monitoring walk-through, 2026-12-06). Export records the bins of
    its training scores; score's PSI on the file is checked against them by hand."""
    from finlite.evaluate.fidelity import psi_contributions
    from finlite.runtime import Predictor
    from finlite.runtime.batch import ScoreLimits, score_file

    art = tmp_path / "teacher"
    shutil.copytree(teacher_dir, art)
    export_artifact(art, german_csv)
    record = json.loads((art / "manifest.json").read_text())["export"]["score_stability"]
    bins = record["bins"]
    assert len(bins) >= 2 and bins[-1]["upper"] is None
    assert sum(b["expected_share"] for b in bins) == pytest.approx(1.0)
    predictor = Predictor(art)
    summary = score_file(predictor, german_csv, tmp_path / "out.csv", limits=ScoreLimits(max_psi=5.0))
    assert summary.psi is not None
    import pandas as pd

    scores = pd.read_csv(tmp_path / "out.csv")["score"].to_numpy(np.float64)
    uppers = np.array([b["upper"] for b in bins[:-1]], dtype=np.float64)
    counts = np.bincount(np.searchsorted(uppers, scores, side="left"), minlength=len(bins)).astype(np.float64)
    expected = np.array([b["expected_share"] for b in bins])
    assert summary.psi == pytest.approx(float(psi_contributions(expected, counts / counts.sum()).sum()), abs=1e-6)
