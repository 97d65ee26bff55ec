"""The evaluate job: score an artifact on labelled data, compare it with a baseline, and check that
the served (ONNX) model decides as the model in memory does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from finlite.artifact import Artifact, DataLike, load, prepare_like
from finlite.data.io import Table, frame_sha256, read_table
from finlite.errors import ConfigError
from finlite.evaluate.operating import OperatingPoint, check_operating_options, cutoff_at_flag_rate
from finlite.evaluate.report import compare_models, model_evidence
from finlite.tasks import get_task


def check_served_model(art: Artifact, x: np.ndarray, split: str) -> dict[str, Any]:
    """Check that the exported ONNX model (what ``score`` and ``serve`` run) agrees with the
    weights (what is evaluated) on the rows ``x``: the model evaluated is the model served.

    ``model.onnx`` must match within the export's recorded tolerance (at most 1e-3) with no
    decision flipped beyond the recorded allowance; ``model_int8.onnx`` must match the int8 form
    of the weights (what export checked it against) within 1e-3, with at most 1 % (+1) of the
    decisions flipped by rounding at the cut-off. Returns the agreement numbers, or
    ``{"file": None, "status": "not exported", ...}`` when there is no ONNX model.

    Raises:
        ArtifactError: the exported model and the weights disagree (the artifact was altered).
    """
    from finlite._manifest import read_listed
    from finlite.errors import ArtifactError
    from finlite.export.parity import FLOAT_TOLERANCE, INT8_TOLERANCE, onnx_session, run_onnx
    from finlite.jobs.export import FP32_FILE, INT8_FILE, _reference, int8_counterpart

    files, export = art.manifest["files"], art.manifest.get("export") or {}
    decides = get_task(art.task).decides
    if "onnx" not in export or FP32_FILE not in files:
        return {"file": None, "status": "not exported", "scored": "weights.safetensors"}
    p_ref = _reference(art.model, x).astype(np.float64).reshape(-1)
    parity = export["onnx"].get("parity") or {}
    # The recorded tolerance is capped at the largest default export uses: a forged (re-hashed,
    # unsigned) manifest must not widen the check until an approve-everyone model "agrees".
    checks = [(FP32_FILE, min(float(parity.get("tolerance", FLOAT_TOLERANCE)), INT8_TOLERANCE),
               int(parity.get("max_flips", 0)), p_ref)]
    quantized = int8_counterpart(art.model) if (export.get("onnx_int8") or {}).get("file") == INT8_FILE else None
    if INT8_FILE in files and quantized is not None:
        # Export checked model_int8.onnx against the int8 form of the weights (rebuilt here from the
        # verified weights): compare with that, never within numbers a forged manifest could widen.
        checks.append((INT8_FILE, INT8_TOLERANCE, 1 + len(p_ref) // 100,
                       _reference(quantized, x).astype(np.float64).reshape(-1)))
    out: dict[str, Any] = {"file": FP32_FILE, "status": "agrees", "sha256": files[FP32_FILE], "rows": len(p_ref)}
    for name, tolerance, max_flips, p_ref in checks:
        p = run_onnx(onnx_session(read_listed(art.path, art.manifest, name)), x).astype(np.float64).reshape(-1)
        finite = np.isfinite(p)
        diff = np.where(finite, np.abs(p - p_ref), np.inf) if p.shape == p_ref.shape else np.full(p_ref.shape, np.inf)
        if not decides:  # a regression model makes no decisions: only the values are compared
            flipped = np.zeros(p_ref.shape, dtype=bool) if p.shape == p_ref.shape else np.ones(p_ref.shape, dtype=bool)
        else:
            flipped = (p_ref >= art.cutoff) != (np.nan_to_num(p, nan=-1.0) >= art.cutoff) if p.shape == p_ref.shape \
                else np.ones(p_ref.shape, dtype=bool)
        flips, worst = int(flipped.sum()), float(diff.max()) if diff.size else 0.0
        numbers = {"max_abs_diff": worst, "flips": flips, "tolerance": tolerance, "max_flips": max_flips}
        if name == FP32_FILE:
            out.update(numbers)
        else:
            out["int8"] = {"file": name, "sha256": files[name], **numbers}
        if worst > tolerance or flips > max_flips:
            bad = int(((diff > tolerance) | flipped).sum())
            raise ArtifactError(
                f"{name} and weights.safetensors of {str(art.path)!r} disagree on {bad} of {len(p_ref)} rows of the "
                f"{split} split (max |Δp| {worst:.3g}, tolerance {tolerance:g}; {flips} decisions flipped at the "
                f"cut-off {art.cutoff:g}, allowed {max_flips}): the model that 'finlite score' and 'finlite serve' "
                "run is not the model evaluated, so the artifact was altered after export. Do not deploy it: "
                "re-export it from a trusted copy ('finlite export ARTIFACT') and check who can write the folder.")
    return out


def evaluate_artifact(artifact: str | Path | Artifact, data: DataLike, *,
                      baseline: str | Path | Artifact | None = None, timing: bool = True,
                      verify_key: Any = None, flag_rate: float | None = None) -> dict[str, Any]:
    """Metrics of an artifact on labelled data, optionally side by side with a baseline artifact.

    When ``data`` is the table the artifact was trained on, only its test split is scored;
    any other table is treated as a hold-out and every row is scored. The baseline scores the
    same rows through its own preprocessor, so artifacts with different features compare fairly.
    When the artifact is exported, its ONNX model scores the same rows and must agree with the
    weights (:func:`check_served_model`); ``result["served_model"]`` says what was checked.
    ``verify_key`` (public key PEM) requires the artifact to be signed by its private key.

    Decisions are judged at the artifact's operating point (its recorded cut-off, set when its
    teacher was trained); ``flag_rate=0.1`` judges them instead at the cut-off where the
    reference model (the baseline when given, else the artifact) flags 10 % of the evaluated
    rows. ``result["operating_point"]`` says which cut-off was used and how it was set.

    Raises:
        ArtifactError: the artifact does not verify, or its exported model disagrees with its weights.
        ConfigError: ``flag_rate`` is not in (0, 1), or is given for a regression model.
    """
    check_operating_options("evaluate_artifact", None, flag_rate)
    art = artifact if isinstance(artifact, Artifact) else load(artifact, verify_key=verify_key)
    task = get_task(art.task)
    if flag_rate is not None and not task.decides:
        raise ConfigError(f"flag_rate applies to classifiers; {art.path} holds a {task.name} model, which makes no "
                          "decisions. Drop flag_rate.", param="flag_rate")
    table = data if isinstance(data, Table) else read_table(data)
    if frame_sha256(table.frame) == art.manifest["data"]["content_sha256"]:
        prepared = prepare_like(art, table)
        rows, split = prepared.frame.iloc[prepared.split.test], "test"
    else:
        rows, split = table.frame, "hold-out (all rows)"
    y = art.schema.labels(rows, table.source)
    x = art.preprocessor.transform(rows, table.source)
    served = check_served_model(art, x, split)
    # The same trust as the artifact: with a key, the baseline must be signed by it too.
    base = None if baseline is None else baseline if isinstance(baseline, Artifact) else load(baseline,
                                                                                             verify_key=verify_key)
    x_base = None if base is None else base.preprocessor.transform(rows, table.source)
    point: OperatingPoint | None = art.operating_point if task.decides else None
    if flag_rate is not None:
        reference = task.scores(art.model, x) if base is None or x_base is None else task.scores(base.model, x_base)
        point = OperatingPoint(cutoff=cutoff_at_flag_rate(reference, flag_rate), method="flag_rate",
                               flag_rate=float(flag_rate))
    cutoff = None if point is None else point.cutoff
    if base is None:
        metrics, _ = model_evidence(art.model, x, y, cutoff, timing=timing, task=task.name)
        result: dict[str, Any] = {"split": split, "rows": len(y), "task": task.name, "artifact": str(art.path),
                                  "model": metrics, "served_model": served}
        if point is not None:
            result["operating_point"] = {**point.to_dict(), "description": _describe(point, flag_rate, "artifact"),
                                         "flagged": metrics.get("flagged_rate")}
        return result
    report = compare_models(base.model, art.model, x, y, cutoff, timing=timing, split=split, x_teacher=x_base,
                            task=task.name, operating_point=point)
    if point is not None and flag_rate is not None:
        report["operating_point"]["description"] = _describe(point, flag_rate, "baseline")
    report["artifact"], report["baseline"] = str(art.path), str(base.path)
    report["served_model"] = served
    return report


def _describe(point: OperatingPoint, flag_rate: float | None, reference: str) -> str:
    """How the evaluation's cut-off was set, for the result and the table."""
    if flag_rate is None:
        return f"{point.describe()}, the artifact's own"
    return f"cut-off {point.cutoff:.6g} on P(positive), where the {reference} flags {flag_rate:.1%} of these rows"
