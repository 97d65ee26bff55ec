"""The export job: write an artifact's ONNX files (float32, and int8 where asked) after a parity
check against the model in memory, and record them in the manifest."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from finlite._limits import check_count, check_finite
from finlite._manifest import SIGNATURE, amend_artifact, failed_gates, import_step, refuse_working_folder
from finlite._util import check_flags, package_versions, sha256_bytes, utc_timestamp
from finlite.artifact import Artifact, load, prepare_like, recorded_table
from finlite.data.prepared import PreparedData
from finlite.errors import ArtifactError, ExportError
from finlite.evaluate.explain import deployed_reference
from finlite.evaluate.metrics import auc as roc_auc
from finlite.export.graph import OPSET, _is_regression, to_onnx
from finlite.export.parity import (
    FLOAT_TOLERANCE,
    INT8_TOLERANCE,
    Parity,
    check_parity,
    onnx_session,
    run_onnx,
    run_onnx_blocks,
)
from finlite.models.base import FinliteModel
from finlite.models.gbdt import BoostedEnsemble
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP
from finlite.models.quantized import QuantizedMLP
from finlite.models.scorecard import IntegerLogistic, ScorecardModel
from finlite.models.sequence import QuantizedSequenceModel, SequenceModel
from finlite.signing import load_private_key
from finlite.tasks import in_score_chunks

FP32_FILE, INT8_FILE = "model.onnx", "model_int8.onnx"


def _reference(model: FinliteModel, x: np.ndarray) -> np.ndarray:
    """The model's outputs on ``x`` (probabilities, or a regression's values), :data:`SCORE_CHUNK`
    rows at a time: a recurrent model's activations over every row at once took 4 GB for a
    universe's 494,000 test windows (2026-12-06)."""
    def chunk(start: int, stop: int) -> np.ndarray:
        with torch.inference_mode():
            out = model(torch.from_numpy(np.ascontiguousarray(x[start:stop], dtype=np.float32)))
        return out.numpy() if _is_regression(model) else torch.sigmoid(out).numpy()

    return in_score_chunks(len(x), chunk)


def export(model: FinliteModel, x: np.ndarray, *, cutoff: float | None = 0.5, tolerance: float | None = None,
           max_flips: int = 0) -> tuple[bytes, Parity]:
    """The ONNX bytes of ``model`` and its parity with the model on the rows ``x``.

    ``tolerance`` defaults to 1e-5 for float models and 1e-3 for int8 ones; ``cutoff`` is
    ignored for regression forecasters (no decisions).

    Raises:
        ExportError: no ONNX form, or parity broken; the error lists every problem found.
    """
    int8 = isinstance(model, (QuantizedMLP, QuantizedSequenceModel))
    tol = tolerance if tolerance is not None else (INT8_TOLERANCE if int8 else FLOAT_TOLERANCE)
    width = int(x.shape[1]) if isinstance(model, BoostedEnsemble) and x.ndim == 2 else None
    boundary = 0
    if isinstance(model, BoostedEnsemble) and width is not None:
        # An imported booster's graph decides each split from the encoded value: checked on and next
        # to every split's place as well, where the test split seldom has a row (three zeros in 2,000
        # went the other way in the graph and passed a check on the test rows: a review, 2026-12-03).
        extra = model.boundary_rows(x)
        boundary = len(extra)
        x = np.concatenate([x, extra])
    data = to_onnx(model, in_features=width).SerializeToString()
    output = "prediction" if _is_regression(model) else "probability"
    got = run_onnx_blocks(onnx_session(data), x, output)
    parity = check_parity(_reference(model, x), got, cutoff=None if _is_regression(model) else cutoff,
                          tolerance=tol, max_flips=max_flips, what=output)
    parity.boundary_rows = boundary
    if not parity.passed:
        rows = (f"{parity.rows} rows ({parity.rows - boundary} given, {boundary} at the booster's split places)"
                if boundary else f"{parity.rows} rows")
        raise ExportError(f"The ONNX export of the {model.kind!r} model does not match the model in memory on "
                          f"{rows}: " + "; ".join(parity.problems) + ". Nothing was written.",
                          problems=parity.problems, parity=parity.to_dict())
    return data, parity


def _sign_flips(reference: np.ndarray, got: np.ndarray) -> int:
    """Forecasts whose predicted direction (the sign) differs between two forms of one model."""
    a, b = np.asarray(reference, dtype=np.float64).reshape(-1), np.asarray(got, dtype=np.float64).reshape(-1)
    return int(np.sum(np.sign(a) != np.sign(b)))


def int8_counterpart(model: FinliteModel) -> FinliteModel | None:
    """The dynamic int8 form of a float model (None when the model is integer already)."""
    from finlite.methods.linear import IntegerWeights, integer_logistic
    from finlite.methods.quantize import convert_to_int8
    from finlite.models.sequence import quantize_sequence

    if isinstance(model, TabularMLP):
        return convert_to_int8(model, None)
    if isinstance(model, LogisticRegression):
        return integer_logistic(model, IntegerWeights(bits=8))
    if isinstance(model, SequenceModel):
        return quantize_sequence(model)
    if isinstance(model, (QuantizedMLP, QuantizedSequenceModel, IntegerLogistic, ScorecardModel)):
        return None
    if isinstance(model, BoostedEnsemble):
        raise ExportError("A boosted-tree teacher has no int8 ONNX form: its trees compare the inputs with "
                          "thresholds, which int8 would move. Export it without int8=True; int8 is for the distilled "
                          "student.", param="int8")
    raise ExportError(f"A {model.kind!r} model has no int8 ONNX form in finlite.")


def _record(data: bytes, parity: Parity, file: str) -> dict[str, Any]:
    return {"file": file, "sha256": sha256_bytes(data), "bytes": len(data), "opset": OPSET,
            "created_utc": utc_timestamp(),
            "versions": package_versions(("onnx", "onnxruntime")),
            "parity": parity.to_dict()}


def reasons_reference(art: Artifact, prepared: Any, session: Any) -> dict[str, Any]:
    """The reference adverse-action reasons are measured against (runtime/reasons.py), from the
    training rows as the deployed encoder gives them (in-sample: never the out-of-fold encodings
    the student was trained on), scored through the exported graph ``session``: an aggregate
    rather than any customer's row."""
    x = art.tabular.transform(prepared.frame.iloc[prepared.split.train], prepared.source)

    def run(rows: np.ndarray) -> np.ndarray:
        return np.asarray(run_onnx(session, rows, "probability"), dtype=np.float64).reshape(-1)

    return deployed_reference(art.model, art.preprocessor, x, run, int(art.manifest.get("seed") or 0))


def export_artifact(artifact: Any, data: Any = None, *, int8: bool = False, tolerance: float | None = None,
                    max_flips: int = 0, key: Any = None, verify_key: Any = None,
                    accept_failed_gates: bool = False) -> dict[str, Any]:
    """Export an artifact's model to ONNX inside the artifact, after a parity check on its test split.

    Writes ``model.onnx`` (the model as it is: float, or integer for an int8/scorecard model)
    and, with ``int8=True`` for a float model, ``model_int8.onnx``: its dynamic int8 form. The
    int8 file must match finlite's own int8 model (parity); its decisions flipped against the
    float model are measured and recorded, not failed on. ``data`` is the artifact's training
    table (default: the recorded source when it is a bundled dataset or an existing file).

    A signed artifact (``finlite sign``) is re-signed with ``key`` (private key PEM path), since
    the export changes its manifest; without ``key`` it is refused before anything is computed.
    ``verify_key`` is the public key the artifact is verified with when loaded.

    A student that failed a quality gate on its test split (``compress`` exits 1 and writes it for
    review) is refused, naming the gates: exporting is the step to deployment, and ``score`` and
    ``serve`` would otherwise run it without a word (a validator's review, 2026-12-04).
    ``accept_failed_gates=True`` exports it all the same, recorded in the export section
    (``accepted_failed_gates``); ``score`` and ``serve`` then warn whenever they load it.

    Returns the manifest's new ``export`` section.

    Raises:
        ExportError: no ONNX form, parity broken (every problem listed; nothing written), or the
            artifact failed its gates and ``accept_failed_gates`` is False (``gates``).
        DataError: the data is not the artifact's training table or cannot be found.
        ArtifactError: the artifact is signed and no ``key`` was given (nothing written).
    """
    check_flags("export_artifact", int8=int8, accept_failed_gates=accept_failed_gates)

    # The command line checks --tolerance; the library took -1 and then blamed the export for the
    # parity it "broke" (a review of the Python API, 2026-12-05).
    if tolerance is not None:
        check_finite(tolerance, "tolerance", low=0.0, high=1.0, high_open=True)
    max_flips = check_count(max_flips, "max_flips", low=0)
    private = load_private_key(key) if key is not None else None  # a bad key fails before any work
    art = artifact if isinstance(artifact, Artifact) else load(artifact, verify_key=verify_key)
    refuse_working_folder(art.path)  # before the export's work: its end replaces the folder
    if private is None and os.path.lexists(art.path / SIGNATURE):
        raise ArtifactError(f"Artifact {str(art.path)!r} is signed ({SIGNATURE}); exporting changes its manifest, "
                            "which would void the signature. Pass the signing key (key='PRIVATE.pem') to re-sign it; "
                            "nothing was written.", param="key")
    failed = failed_gates(art.manifest)
    if failed and not accept_failed_gates:
        raise ExportError(f"Artifact {str(art.path)!r} failed its quality gates on the test split "
                          f"({'; '.join(failed)}); it was written for review, not for deployment, and is not "
                          "exported. Compress again with another recipe, or pass accept_failed_gates=True to export "
                          "it all the same (recorded in its manifest; score and serve then warn).", gates=failed,
                          param="accept_failed_gates")
    prepared = prepare_like(art, data if data is not None else recorded_table(art))
    x, y = prepared.x_test, prepared.y_test
    files: dict[str, bytes] = {}
    cutoff = art.decision_cutoff  # None for a forecast: parity then compares numbers, not decisions
    record: dict[str, Any] = {"split": "test", "rows": len(x), "cutoff": cutoff}
    if failed:
        record["accepted_failed_gates"] = failed
    fp32, parity = export(art.model, x, cutoff=cutoff, tolerance=tolerance, max_flips=max_flips)
    files[FP32_FILE] = fp32
    record["onnx"] = _record(fp32, parity, FP32_FILE)
    forecast = art.market is not None and cutoff is None  # a forecast of a number: its sign is its call
    # ... but a volatility's, never negative, calls no direction (its export said "direction flips 0":
    # an LGD modeller's walk-through, 2026-12-07).
    calls = forecast and art.market is not None and art.market.spec.objective != "volatility"
    if calls:
        served = run_onnx_blocks(onnx_session(fp32), x, "prediction")
        record["onnx"]["parity"]["direction_flips"] = _sign_flips(_reference(art.model, x), served)
    if int8:
        quantized = int8_counterpart(art.model)
        if quantized is None:
            record["onnx_int8"] = {"same_as": FP32_FILE, "reason": f"the {art.model.kind!r} model is integer already"}
        else:
            data8, parity8 = export(quantized, x, cutoff=cutoff)
            files[INT8_FILE] = data8
            p_float = _reference(art.model, x)
            p_int8 = run_onnx_blocks(onnx_session(data8), x, "prediction" if _is_regression(quantized) else "probability")
            effect = check_parity(p_float, p_int8, cutoff=cutoff, tolerance=float("inf"),
                                  max_flips=len(x))
            against: dict[str, Any] = {"max_abs_diff": effect.max_abs_diff, "flips": effect.flips}
            if forecast:  # no AUC of a number: the forecasts whose sign (predicted direction) int8 flipped
                if calls:
                    against["direction_flips"] = _sign_flips(p_float, p_int8)
            else:
                # A direction forecaster's test period that only rose has no AUC (null, as its metrics).
                ranked = 0 < int(np.sum(y)) < len(y)
                against.update({"auc_float": roc_auc(y, p_float) if ranked else None,
                                "auc_int8": roc_auc(y, p_int8.astype(np.float64)) if ranked else None})
            record["onnx_int8"] = {**_record(data8, parity8, INT8_FILE), "kind": quantized.kind,
                                   "against_float": against}
    if cutoff is not None and art.market is None:
        record["reasons"] = reasons_reference(art, prepared, onnx_session(fp32))
    if isinstance(prepared, PreparedData):  # each field's training bins: score reports every field's CSI
        # against them
        from finlite.runtime.stability import reference_record

        schema = prepared.schema
        record["stability"] = reference_record(prepared.frame.iloc[prepared.split.train], schema.numeric,
                                               schema.categorical, schema.text_numbers,
                                               f"the training rows of {prepared.source}")
        if cutoff is not None and "report.json" not in art.manifest["files"]:
            # A teacher deployed as it is has no report whose stability section gives score the
            # training scores' bins: its PSI was never judged, and --max-psi refused every run
            # naming the wrong cause (a monitoring walk-through, 2026-12-06). The exported graph's
            # scores of the training rows (the report's sample of them), binned as the report bins.
            from finlite.evaluate.validation import psi_table
            from finlite.jobs.report import train_score_rows

            rows = train_score_rows(len(prepared.x_train), int(art.manifest["seed"]))
            scores = run_onnx_blocks(onnx_session(fp32), np.ascontiguousarray(prepared.x_train[rows]), "probability")
            bins = psi_table(scores, scores)["bins"]
            record["score_stability"] = {"rows": len(rows), "bins": [
                {"upper": b["upper"], "expected_share": b["expected_share"]} for b in bins]}
    # Pinned to the manifest loaded above: a folder changed during the parity check is refused,
    # so the key never signs what was not verified (and the ONNX files match the weights beside them).
    # An int8 file of an earlier 'export --int8' that this export does not write again goes: kept
    # without its parity record it was hashed, listed and signed, yet never checked nor read.
    stale = [INT8_FILE] if INT8_FILE not in files and INT8_FILE in art.manifest["files"] else []
    amend_artifact(art.path, files, {"export": record}, sign_with=private, verify_key=verify_key,
                   manifest_sha256=art.manifest["manifest_sha256"], drop=stale)
    step = import_step(art.manifest)
    imported = step.get("parity") if step is not None else None
    if isinstance(imported, dict) and imported.get("rows_above_1e-6"):
        # The parity above is ONNX against the teacher; an imported teacher may itself differ from
        # its booster (recorded at import). Said beside it: a PASS alone read as "scores as the
        # booster does" (a review, 2026-12-05). Returned, not added to the manifest's record.
        return {**record, "import_parity": imported}
    return record
