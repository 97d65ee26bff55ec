"""Artifacts: one directory per model, written atomically, verified by sha256 on load.

Layout::

    manifest.json         versions, seed, schema, steps, data hashes, metrics, sha256 of every file
    weights.safetensors   tensors only; sparse tensors stored as a bit mask plus their non-zeros
    preprocessor.json     the fitted Preprocessor
    pruning_plan.json     when the model was pruned
    oof_logits.safetensors  a boosted teacher's out-of-fold log-odds of its training rows
    report.md / .json     when the model was compared with a teacher

Nothing is unpickled: weights are safetensors, everything else JSON.
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save_file

from finlite import _paths
from finlite._finite import check_scores
from finlite._manifest import FORMAT, MANIFEST, manifest_digest, parse_json_bytes, read_listed, read_verified, swap_in
from finlite._spec import check_preprocessor_spec
from finlite._util import dump_json, package_versions, sha256_file, utc_timestamp
from finlite._version import __version__
from finlite.data.io import Table, frame_sha256, read_table
from finlite.data.prepared import PreparedData, prepare
from finlite.data.preprocess import Preprocessor
from finlite.data.schema import Schema
from finlite.data.split import SplitConfig
from finlite.errors import ArtifactError, ConfigError, DataError
from finlite.evaluate.operating import OperatingPoint
from finlite.methods.plan import PruningPlan
from finlite.models.base import FinliteModel
from finlite.models.gbdt import BoostedEnsemble
from finlite.models.serialize import WEIGHTS, load_weights, save_weights
from finlite.tasks import DEFAULT_TASK, Task, get_task, task_of_manifest

__all__ = ["Artifact", "load", "save_artifact"]

PREPROCESSOR, PLAN = "preprocessor.json", "pruning_plan.json"
OOF = "oof_logits.safetensors"


def library_versions() -> dict[str, str]:
    """Versions of Python and every library that shapes a model's numbers."""
    return {"python": platform.python_version(), "finlite": __version__,
            **package_versions(("torch", "numpy", "pandas", "safetensors", "pyarrow"))}


# -- saving ----------------------------------------------------------------------------------
def save_artifact(
    out: str | Path,
    *,
    model: FinliteModel,
    preprocessor: Preprocessor,
    role: str,
    seed: int,
    cutoff: float,
    data: Mapping[str, Any],
    steps: list[dict[str, Any]],
    metrics: Mapping[str, Any],
    plan: PruningPlan | None = None,
    extra_files: Mapping[str, str] | None = None,
    overwrite: bool = False,
    task: str = DEFAULT_TASK,
    operating_point: OperatingPoint | None = None,
) -> Path:
    """Write a complete artifact directory at ``out`` (atomically) and return its path.

    ``task`` (a name from :mod:`finlite.tasks`) and ``operating_point`` (how ``cutoff`` was set:
    :class:`~finlite.evaluate.operating.OperatingPoint`, whose cut-off must equal ``cutoff``) are
    recorded in the manifest; without an operating point the cut-off is recorded as given.

    Everything is written into a temporary sibling ``.NAME.tmp-<pid>-<tag>`` that
    :func:`finlite._manifest.swap_in` puts in place at the end, so a failure or a kill at any
    instant leaves either the previous artifact or none at ``out``, never a partial one.
    Leftovers of earlier killed runs beside ``out`` are cleaned first (and reported).
    ``overwrite`` replaces only a finlite artifact folder or an empty folder.

    Raises:
        ArtifactError: ``out`` exists and ``overwrite`` is false, or ``out`` is a file, a link
            or a folder that is not a finlite artifact (never replaced, even with ``overwrite``).
    """
    get_task(task)  # an unknown task is refused before anything is written
    point = operating_point if operating_point is not None else OperatingPoint(cutoff=float(cutoff), method="cutoff")
    if point.cutoff != float(cutoff):
        raise ConfigError(f"save_artifact got cutoff={cutoff!r} and an operating point at {point.cutoff!r}; pass the "
                          "operating point's own cut-off.", param="cutoff")
    out = Path(out)
    _paths.clean_leftovers(out)
    _paths.check_replaceable(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _paths.new_temp_dir(out)
    try:
        sparse = save_weights(model, tmp / WEIGHTS)
        _paths.kill_point("writing")
        oof = getattr(model, "oof_logits", None)
        if oof is not None:  # a boosted teacher's out-of-fold scores of its training rows
            save_file({"oof_logits": torch.from_numpy(np.ascontiguousarray(oof, dtype=np.float32))}, str(tmp / OOF))
        preprocessor.save(tmp / PREPROCESSOR)
        if plan is not None:
            plan.save(tmp / PLAN)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "role": role,
            "created_utc": utc_timestamp(),
            "versions": library_versions(),
            "seed": seed,
            "task": task,
            "cutoff": cutoff,
            "operating_point": point.to_dict(),
            "model": model.config(),
            "schema": preprocessor.schema.to_dict(),
            "data": dict(data),
            "steps": steps,
            "sparse_tensors": sparse,
            "metrics": dict(metrics),
            "files": files,
        }
        manifest["manifest_sha256"] = manifest_digest(manifest)
        (tmp / MANIFEST).write_text(dump_json(manifest), encoding="utf-8")
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# -- loading ---------------------------------------------------------------------------------
@dataclass
class Artifact:
    """A verified, loaded artifact: the model, its preprocessing and its manifest."""

    path: Path
    manifest: dict[str, Any]
    model: FinliteModel
    preprocessor: Preprocessor
    plan: PruningPlan | None

    @property
    def schema(self) -> Schema:
        """The training schema (target, classes, feature columns)."""
        return self.preprocessor.schema

    @property
    def cutoff(self) -> float:
        """Decision threshold on P(positive): rows at or above it are flagged positive."""
        return float(self.manifest["cutoff"])

    @property
    def task(self) -> str:
        """What the model predicts: "binary" (classification) or "regression" (see :mod:`finlite.tasks`);
        binary for artifacts that record none."""
        return task_of_manifest(self.manifest).name

    @property
    def operating_point(self) -> OperatingPoint:
        """The cut-off and how it was set (from the training bad rate, a flag rate, or given); a
        student's is its teacher's."""
        return OperatingPoint.from_manifest(self.manifest)

    @property
    def metrics(self) -> dict[str, Any]:
        """Metrics recorded when the artifact was saved."""
        metrics: dict[str, Any] = self.manifest.get("metrics", {})
        return metrics

    @property
    def weights_bytes(self) -> int:
        """Size of the weights file on disk."""
        return (self.path / WEIGHTS).stat().st_size

    def _task(self) -> Task:
        return task_of_manifest(self.manifest)

    def predict_score(self, frame: pd.DataFrame, source: str = "the scoring data") -> np.ndarray:
        """One number per row of a raw DataFrame with the training schema's columns: P(positive
        class) for a binary classifier, the prediction itself for a regression model.

        Raises:
            DataError: a column is missing, or a numeric column holds text or a number that is
                not finite or does not fit float32 (naming the column, the row and the value).
            ScoreError: the model returned a NaN or infinite score for some row; no decision
                is made.
        """
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"Scoring takes a pandas DataFrame; got {type(frame).__name__}.", param="frame")
        x = self.preprocessor.transform(frame, source)
        scores = self._task().scores(self.model, x)
        check_scores(scores, source)
        return scores

    def predict_proba(self, frame: pd.DataFrame, source: str = "the scoring data") -> np.ndarray:
        """Class probabilities as scikit-learn returns them: shape ``(rows, 2)``, columns
        P(negative class), P(positive class) (e.g. P(good), P(bad)); :meth:`predict_score` gives
        the second column alone.

        Raises:
            ConfigError: the model is a regression model (it has no classes; use :meth:`predict`).
            DataError, ScoreError: as :meth:`predict_score`.
        """
        if not self._task().decides:
            raise ConfigError(f"{self.path} holds a {self.task} model, which predicts numbers, not classes; use "
                              "predict(frame) for its predictions.")
        positive = self.predict_score(frame, source)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, frame: pd.DataFrame, source: str = "the scoring data") -> np.ndarray:
        """Decisions at the artifact's cut-off for a classifier (1 = positive class, e.g. decline
        as bad; int8), the predictions themselves for a regression model (float64)."""
        scores = self.predict_score(frame, source)
        if not self._task().decides:
            return scores
        return (scores >= self.cutoff).astype(np.int8)


def load(path: str | Path, *, verify_key: Any = None, manifest_sha256: str | None = None) -> Artifact:
    """Load an artifact directory after checking the sha256 of every file.

    ``verify_key`` (a public key PEM path; default ``$FINLITE_VERIFY_KEY``) requires a valid
    signature by the matching private key; ``manifest_sha256`` pins one exact artifact.
    See :func:`finlite._manifest.read_verified` for every check.

    Raises:
        ArtifactError: the directory or manifest is missing or unreadable, a listed file is
            missing, or any file (the manifest included) differs from what was saved, a file
            name escapes the folder, or the signature or pin does not match.
    """
    root, manifest = read_verified(path, required=(WEIGHTS, PREPROCESSOR), verify_key=verify_key,
                                   manifest_sha256=manifest_sha256)
    files = manifest["files"]
    try:
        spec = parse_json_bytes(read_listed(root, manifest, PREPROCESSOR), str(root / PREPROCESSOR), "preprocessor")
        check_preprocessor_spec(spec, str(root / PREPROCESSOR), manifest.get("schema"))
        preprocessor = Preprocessor.from_dict(spec, str(root / PREPROCESSOR))
        # Every file is used from the bytes read (and hashed) once more here, never re-opened by
        # path: a file swapped in after read_verified (or a link planted then) is never used.
        plan = PruningPlan.from_dict(parse_json_bytes(read_listed(root, manifest, PLAN), str(root / PLAN), "pruning plan"),
                                     str(root / PLAN)) if PLAN in files else None
        task_of_manifest(manifest)  # a task this finlite does not know is refused here, not at scoring
        model = load_weights(manifest["model"], root / WEIGHTS, data=read_listed(root, manifest, WEIGHTS))
        if OOF in files:
            if not isinstance(model, BoostedEnsemble):  # only a boosted teacher carries out-of-fold scores
                raise ConfigError(f"it lists {OOF}, but its model is a {model.kind!r} model, not a boosted "
                                  "ensemble; only a boosted teacher carries out-of-fold scores.")
            values = safetensors_load(read_listed(root, manifest, OOF)).get("oof_logits")
            if values is None:
                raise ConfigError(f"its {OOF} holds no 'oof_logits' tensor.")
            model.set_oof(values.numpy())
    except (DataError, ConfigError) as exc:
        raise ArtifactError(f"Artifact {str(root)!r} could not be read: {exc}") from exc
    return Artifact(path=root, manifest=manifest, model=model, preprocessor=preprocessor, plan=plan)


#: What the jobs accept as data: a file path, a DataFrame, or a table already read.
DataLike = str | os.PathLike[str] | pd.DataFrame | Table


def recorded_table(artifact: Artifact) -> Table:
    """The table an artifact was trained on, found from its manifest: a bundled dataset of that
    file name, or the recorded path if it still exists; either must have the recorded content.

    Raises:
        DataError: neither is available or matches; the message says to pass the data.
    """
    from finlite import datasets

    recorded = artifact.manifest["data"]
    source = str(recorded.get("source", ""))
    candidates = [datasets.path(info.name) for info in datasets.list_datasets() if info.file == Path(source).name]
    candidates.append(Path(source))
    for path in candidates:
        if path.is_file():
            table = read_table(path)
            if frame_sha256(table.frame) == recorded["content_sha256"]:
                return table
    raise DataError(
        f"The training table of {artifact.path} ({source!r}, content sha256 {recorded['content_sha256'][:16]}…) "
        "was not found; pass it as data=PATH so the test split can be rebuilt.", param="data"
    )


def prepare_like(artifact: Artifact, data: DataLike) -> PreparedData:
    """Split and encode ``data`` exactly as ``artifact``'s model was trained (same rows per part).

    Raises:
        DataError: ``data`` is not the table the artifact was trained on (content hash differs).
    """
    table = data if isinstance(data, Table) else read_table(data)
    recorded = artifact.manifest["data"]
    if frame_sha256(table.frame) != recorded["content_sha256"]:
        raise DataError(
            f"{table.source} is not the table {artifact.path} was trained on (content sha256 differs from "
            f"{recorded['content_sha256'][:16]}…, recorded from {recorded['source']!r}). Compressing needs the "
            "teacher's training data so the test split stays unseen by both models."
        )
    config = SplitConfig(**recorded["split"]["config"])
    return prepare(table, schema=artifact.schema, split=config, preprocessor=artifact.preprocessor)
