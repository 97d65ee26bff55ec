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
from finlite.compress.plan import PruningPlan
from finlite.data.preprocess import Preprocessor
from finlite.data.schema import Schema
from finlite.errors import ArtifactError, ConfigError, DataError
from finlite.models.base import FinliteModel
from finlite.models.serialize import WEIGHTS, load_weights, save_weights

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
) -> Path:
    """Write a complete artifact directory at ``out`` (atomically) and return its path.

    Everything is written into a temporary sibling ``.NAME.tmp-<pid>-<tag>`` that
    :func:`finlite._manifest.swap_in` puts in place at the end, so a failure or a kill at any
    instant leaves either the previous artifact or none at ``out``, never a partial one.
    Leftovers of earlier killed runs beside ``out`` are cleaned first (and reported).
    ``overwrite`` replaces only a finlite artifact folder or an empty folder.

    Raises:
        ArtifactError: ``out`` exists and ``overwrite`` is false, or ``out`` is a file, a link
            or a folder that is not a finlite artifact (never replaced, even with ``overwrite``).
    """
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
            "cutoff": cutoff,
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
    def metrics(self) -> dict[str, Any]:
        """Metrics recorded when the artifact was saved."""
        return self.manifest.get("metrics", {})

    @property
    def weights_bytes(self) -> int:
        """Size of the weights file on disk."""
        return (self.path / WEIGHTS).stat().st_size

    def predict_proba(self, frame: pd.DataFrame, source: str = "the scoring data") -> np.ndarray:
        """P(positive class) for each row of a raw DataFrame with the training schema's columns.

        Raises:
            DataError: a column is missing, or a numeric column holds text or a number that is
                not finite or does not fit float32 (naming the column, the row and the value).
            ScoreError: the model returned a NaN or infinite score for some row; no decision
                is made.
        """
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"predict_proba takes a pandas DataFrame; got {type(frame).__name__}.")
        x = torch.from_numpy(self.preprocessor.transform(frame, source))
        scores = self.model.predict_proba(x).numpy().astype(np.float64)
        check_scores(scores, source)
        return scores

    def predict(self, frame: pd.DataFrame, source: str = "the scoring data") -> np.ndarray:
        """Decisions at the artifact's cut-off: 1 = positive class (e.g. decline as bad)."""
        return (self.predict_proba(frame, source) >= self.cutoff).astype(np.int8)


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
        model = load_weights(manifest["model"], root / WEIGHTS, data=read_listed(root, manifest, WEIGHTS))
        if OOF in files:
            oof = safetensors_load(read_listed(root, manifest, OOF))
            model.set_oof(oof["oof_logits"].numpy())  # type: ignore[operator]
    except (DataError, ConfigError) as exc:
        raise ArtifactError(f"Artifact {str(root)!r} could not be read: {exc}") from exc
    return Artifact(path=root, manifest=manifest, model=model, preprocessor=preprocessor, plan=plan)
