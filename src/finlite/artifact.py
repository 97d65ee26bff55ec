"""Artifacts: one directory per model, written atomically, verified by sha256 on load.

Layout::

    manifest.json         versions, seed, schema, steps, data hashes, metrics, sha256 of every file
    weights.safetensors   tensors only; sparse tensors stored as a bit mask plus their non-zeros
    preprocessor.json     the fitted Preprocessor (tabular), or the MarketPreprocessor ("kind": "market")
    pruning_plan.json     when the model was pruned
    oof_logits.safetensors  a boosted teacher's out-of-fold log-odds of its training rows
    report.md / .json     when the model was compared with a teacher

Nothing is unpickled: weights are safetensors, everything else JSON.
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save_file

from finlite import _paths
from finlite._finite import check_scores, shown
from finlite._manifest import (
    EXPORT_FILES,
    FORMAT,
    MANIFEST,
    SIGNATURE,
    manifest_digest,
    parse_json_bytes,
    plain_file_name,
    read_listed,
    read_verified,
    swap_in,
)
from finlite._spec import check_market_spec, check_preprocessor_spec, is_market_spec
from finlite._util import check_flags, dump_json, package_versions, sha256_file, source_date_epoch, utc_timestamp
from finlite._version import __version__
from finlite.data.io import Table, frame_sha256, read_table
from finlite.data.market import (
    MarketPreprocessor,
    PreparedSeries,
    PriceTable,
    WindowStream,
    forecast_columns,
    prepare_series,
    read_prices,
    to_price_level,
)
from finlite.data.prepared import PreparedData, _prepare_table
from finlite.data.preprocess import Preprocessor
from finlite.data.schema import Schema
from finlite.data.split import SplitConfig
from finlite.data.walkforward import WalkForward
from finlite.errors import ArtifactError, ConfigError, DataError
from finlite.evaluate.operating import OperatingPoint
from finlite.methods.plan import PruningPlan
from finlite.models.base import FinliteModel
from finlite.models.gbdt import BoostedEnsemble
from finlite.models.serialize import WEIGHTS, current_weights_format, load_weights, save_weights
from finlite.tasks import DEFAULT_TASK, Task, get_task, in_score_chunks, task_of_manifest

__all__ = ["Artifact", "load", "prepare_if_trained_on", "prepare_like", "prepare_series_like", "prepare_table_like",
           "recorded_split", "recorded_table", "recorded_walk", "save_artifact"]

PREPROCESSOR, PLAN = "preprocessor.json", "pruning_plan.json"
OOF = "oof_logits.safetensors"


def check_extra_files(files: Any, taken: Collection[str] = ()) -> dict[str, str]:
    """``files`` (name to text) if each can be written into an artifact: a plain file name (no
    folder, ``..`` or absolute path, not hidden), none of the artifact's own files (weights,
    preprocessing, plan, manifest, signature, exported models) nor of ``taken`` (the files the
    caller writes itself, e.g. compress's report), and text values. A name with a folder was
    written outside the artifact, and ``preprocessor.json`` replaced the real one (a review of
    the Python API, 2026-12-05).

    Raises:
        ConfigError: naming the file and why (``param`` "extra_files").
    """
    if files is None:
        return {}
    if not isinstance(files, Mapping):
        raise ConfigError(f"The 'extra_files' parameter is a dict of file name to text; got {type(files).__name__}.",
                          param="extra_files")
    # Compared case-folded: on a case-insensitive file system "Preprocessor.json" is the real one.
    own = {n.casefold() for n in (WEIGHTS, PREPROCESSOR, PLAN, OOF, MANIFEST, SIGNATURE, *EXPORT_FILES, *taken)}
    for name, text in files.items():
        if not plain_file_name(name):  # the manifest's own rule: a name it would refuse never gets written
            raise ConfigError(f"The 'extra_files' parameter names {shown(name)}, which is not a plain file name (letters, "
                              "digits, '.', '_' and '-', not starting with '.', no '..' or folder, at most 128 "
                              "characters); extra files are written inside the artifact folder.", param="extra_files")
        if name.casefold() in own:
            raise ConfigError(f"The 'extra_files' parameter names {name!r}, a file finlite writes into the artifact "
                              "itself; choose another name.", param="extra_files")
        if not isinstance(text, str):
            raise ConfigError(f"The 'extra_files' parameter gives {name!r} a {type(text).__name__}; each file's "
                              "content is text (str).", param="extra_files")
    return dict(files)

#: What an artifact's preprocessing is: a tabular Preprocessor or a market (price series) one.
AnyPreprocessor = Preprocessor | MarketPreprocessor


#: The libraries whose versions a manifest records: those that train and store the model, and
#: those that compute its evidence (scipy's tests and intervals, scikit-learn's folds and
#: encoders, ONNX Runtime's served numbers, the boosters of an imported teacher, SHAP and
#: fairlearn in the report). A validator's review (2026-12-04) found only the first five.
RECORDED_LIBRARIES = ("torch", "numpy", "pandas", "safetensors", "pyarrow", "scipy", "scikit-learn", "onnx",
                      "onnxruntime", "lightgbm", "xgboost", "shap", "fairlearn", "jinja2", "pyyaml")


def library_versions() -> dict[str, str]:
    """Versions of Python and every library that shapes a model's numbers or its evidence
    ("not installed" for an optional one that is not: jinja2 renders the report, PyYAML reads
    recipes), with the digest of finlite's own code (``finlite_code_sha256``: one development
    version spans many commits; only a student's report.json recorded it, so a teacher named no
    code beyond its version: an auditor's walk-through, 2026-12-06)."""
    from finlite._version import code_sha256

    code = code_sha256()
    return {"python": platform.python_version(), "finlite": __version__,
            **({"finlite_code_sha256": code} if code is not None else {}), **package_versions(RECORDED_LIBRARIES)}


# -- saving ----------------------------------------------------------------------------------
def save_artifact(
    out: str | Path,
    *,
    model: FinliteModel,
    preprocessor: AnyPreprocessor,
    role: str,
    seed: int,
    cutoff: float | None,
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
    A task that makes no decisions (a forecast) takes ``cutoff=None`` and records none; a task
    that decides needs one. ``preprocessor`` is a tabular
    :class:`~finlite.data.preprocess.Preprocessor` or a
    :class:`~finlite.data.market.MarketPreprocessor` (``preprocessor.json`` then has
    ``"kind": "market"`` and the manifest's schema is its :meth:`manifest_schema`).

    Everything is written into a temporary sibling ``.NAME.tmp-<pid>-<tag>`` that
    :func:`finlite._manifest.swap_in` puts in place at the end, so a failure or a kill at any
    instant leaves either the previous artifact or none at ``out``, never a partial one.
    Leftovers of earlier killed runs beside ``out`` are cleaned first (and reported).
    ``overwrite`` replaces only a finlite artifact folder or an empty folder.

    Raises:
        ArtifactError: ``out`` exists and ``overwrite`` is false, or ``out`` is a file, a link
            or a folder that is not a finlite artifact (never replaced, even with ``overwrite``).
    """
    check_flags("save_artifact", overwrite=overwrite)
    decides = get_task(task).decides  # an unknown task is refused before anything is written
    point: OperatingPoint | None = None
    if cutoff is None:
        if decides or operating_point is not None:
            raise ConfigError(f"save_artifact got no cut-off for a {task} model, which decides at one (or with an "
                              "operating point); pass cutoff= the operating point's cut-off.", param="cutoff")
    else:
        point = operating_point if operating_point is not None else OperatingPoint(cutoff=float(cutoff),
                                                                                   method="cutoff")
        if point.cutoff != float(cutoff):
            raise ConfigError(f"save_artifact got cutoff={cutoff!r} and an operating point at {point.cutoff!r}; pass "
                              "the operating point's own cut-off.", param="cutoff")
    schema = (preprocessor.manifest_schema() if isinstance(preprocessor, MarketPreprocessor)
              else preprocessor.schema.to_dict())
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
        for name, text in check_extra_files(extra_files).items():
            (tmp / name).write_text(text, encoding="utf-8")
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "role": role,
            "created_utc": utc_timestamp(),
            # A pinned time reads as the clock's otherwise (an auditor's walk-through, 2026-12-06).
            **({"created_utc_from": "SOURCE_DATE_EPOCH"} if source_date_epoch() is not None else {}),
            "versions": library_versions(),
            "seed": seed,
            "task": task,
            "cutoff": None if cutoff is None else float(cutoff),
            "operating_point": None if point is None else point.to_dict(),
            "model": model.config(),
            "schema": schema,
            "data": dict(data),
            "steps": steps,
            "sparse_tensors": sparse,
            # Absent in artifacts of format 1 (reproduce writes those again in their own form).
            **({"weights_format": current_weights_format()} if current_weights_format() > 1 else {}),
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
    preprocessor: AnyPreprocessor
    plan: PruningPlan | None

    def __repr__(self) -> str:
        """A line a notebook shows: the folder, the model and its task (the dataclass repr printed
        the whole manifest and pruning plan, 42,595 characters: a notebook walk-through, 2026-12-06)."""
        model = self.manifest.get("model")
        kind = model.get("kind") if isinstance(model, dict) else None
        role = self.manifest.get("role") or ("student" if "report.json" in (self.manifest.get("files") or {})
                                             else "teacher")
        try:
            size = f"{self.weights_bytes:,}"
        except OSError:  # its folder moved or removed since it was loaded
            size = "unknown"
        return (f"Artifact({str(self.path)!r}, role={role!r}, model={kind!r}, task={self.task!r}, "
                f"weights_bytes={size})")

    @property
    def market(self) -> MarketPreprocessor | None:
        """The fitted market pipeline (spec, features, scaler) of a forecaster; None for a tabular model."""
        return self.preprocessor if isinstance(self.preprocessor, MarketPreprocessor) else None

    @property
    def tabular(self) -> Preprocessor:
        """The fitted tabular Preprocessor.

        Raises:
            ConfigError: the artifact holds a forecaster (see :attr:`market`).
        """
        if isinstance(self.preprocessor, MarketPreprocessor):
            raise ConfigError(f"{self.path} holds a market forecaster, which reads a price history, not a table; its "
                              "pipeline is artifact.market.")
        return self.preprocessor

    @property
    def schema(self) -> Schema:
        """The training schema (target, classes, feature columns) of a tabular model.

        Raises:
            ConfigError: the artifact holds a forecaster (its inputs are a price history, see
                :attr:`market`).
        """
        if isinstance(self.preprocessor, MarketPreprocessor):
            raise ConfigError(f"{self.path} holds a market forecaster, which reads a price history, not a table "
                              "with a schema; its spec is artifact.market.spec.")
        return self.preprocessor.schema

    @property
    def decision_cutoff(self) -> float | None:
        """The cut-off decisions are made at; None for a model that makes no decisions (a forecast)."""
        cutoff = self.manifest.get("cutoff")
        return None if cutoff is None or not self._task().decides else float(cutoff)

    @property
    def cutoff(self) -> float:
        """Decision threshold on P(positive): rows at or above it are flagged positive.

        Raises:
            ConfigError: the model makes no decisions (a forecast records no cut-off; see
                :attr:`decision_cutoff`).
        """
        cutoff = self.manifest.get("cutoff")
        if cutoff is None:
            raise ConfigError(f"{self.path} holds a {self.task} model, which makes no decisions and has no cut-off; "
                              "use its forecasts (predict) instead, or decision_cutoff, which is None here.",
                              param="cutoff")
        return float(cutoff)

    @property
    def task(self) -> str:
        """What the model predicts: "binary" (classification) or "regression" (see :mod:`finlite.tasks`);
        binary for artifacts that record none."""
        return task_of_manifest(self.manifest).name

    @property
    def operating_point(self) -> OperatingPoint:
        """The cut-off and how it was set (from the training bad rate, a flag rate, or given); a
        student's is its teacher's.

        Raises:
            ConfigError: the model makes no decisions (as :attr:`cutoff`).
        """
        self.cutoff  # noqa: B018 - raises the clear error for a model without decisions
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

    def predict_score(self, frame: pd.DataFrame | Mapping[Any, Any] | Sequence[Mapping[Any, Any]],
                      source: str = "the scoring data") -> np.ndarray:
        """One number per row of a raw DataFrame with the training schema's columns (or of records:
        one dict of field to value, or a list of them, as the runtime Predictor takes): P(positive
        class) for a binary classifier, the prediction itself for a regression model.

        Raises:
            DataError: a column is missing, or a numeric column holds text or a number that is
                not finite or does not fit float32 (naming the column, the row and the value).
            ScoreError: the model returned a NaN or infinite score for some row; no decision
                is made.
        """
        frame = self._as_frame(frame)
        if isinstance(self.preprocessor, MarketPreprocessor):
            return self._forecast(frame, source)[1]
        x = self.preprocessor.transform(frame, source)
        scores = self._task().scores(self.model, x)
        check_scores(scores, source)
        return scores

    def _as_frame(self, data: Any) -> pd.DataFrame:
        """``data`` as a DataFrame: itself, or records (a dict, or a list of dicts) of a table model,
        which the Predictor took and this refused (a notebook walk-through, 2026-12-06). Each record
        must hold every field the model reads, as the Predictor requires: a key missing from one
        record of several was a blank in the frame, scored with the training median (a review)."""
        if isinstance(data, pd.DataFrame):
            return data
        market = isinstance(self.preprocessor, MarketPreprocessor)
        accepted = ("a price history as a pandas DataFrame" if market else
                    "a pandas DataFrame, a record (a dict of field to value) or a non-empty list of records")
        records = [data] if isinstance(data, Mapping) else data
        if market or isinstance(records, (str, bytes)) or not isinstance(records, Sequence) or not records:
            raise DataError(f"Scoring takes {accepted}; got {type(data).__name__}.", param="frame")
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise DataError(f"Scoring takes {accepted}; item {i} of the list is a {type(record).__name__}, not a "
                                "record (a dict of field to value).", param="frame")
            schema = self.schema
            missing = [f for f in (*schema.numeric, *schema.categorical) if f not in record]
            if missing:
                raise DataError(f"Record {i} lacks {len(missing)} field(s) the model reads: {', '.join(missing)}. "
                                "Send every field (None for a value that is missing).", param="frame")
        return pd.DataFrame.from_records([dict(r) for r in records])

    def score_record(self, record: Mapping[Any, Any]) -> float:
        """P(positive class) (or the prediction) of one record, a dict of field to value, as the
        runtime Predictor's ``score_record`` (here through the model in memory).

        Raises:
            DataError: ``record`` is not one record (a list of them goes to :meth:`predict_score`),
                or lacks a field; as :meth:`predict_score` otherwise.
        """
        if not isinstance(record, Mapping):
            raise DataError(f"score_record takes one record (a dict of field to value); got "
                            f"{type(record).__name__}. Pass several to predict_score.", param="record")
        return float(self.predict_score(record)[0])

    def _forecast(self, history: pd.DataFrame | PriceTable, source: str) -> tuple[WindowStream, np.ndarray]:
        market = self.market
        if market is None:
            raise ConfigError(f"{self.path} holds a tabular model, not a forecaster; score rows with predict_score.")
        # Every window's inputs at once are `window` copies of the scaled features (3.1 GB for
        # 1,000 stocks over 10 years): gathered a block at a time instead. The blocks are the
        # rows Task.scores calls the model on (SCORE_CHUNK), so the forecasts are the same bits.
        # A trained model's window is fixed: a short history is not told to "use a shorter window
        # (--window)", the trainer's advice (a cross-path fuzz, 2026-12-07; the Predictor's words).
        stream = market.window_stream(history, source, fixed_window="The model's window is fixed")
        task = self._task()
        scores = in_score_chunks(len(stream), lambda start, stop: task.scores(self.model, stream.block(start, stop)))
        check_scores(scores, source)
        return stream, scores

    def forecast(self, history: pd.DataFrame | PriceTable, source: str = "the price history") -> pd.DataFrame:
        """A forecaster's forecasts from a price history (a DataFrame with the spec's date, target
        and other columns, or a :class:`~finlite.data.market.PriceTable`): one row per date with
        enough history (``market.warmup`` rows before it), each computed from rows up to that
        date only. Columns: ``date`` (and the id column for several assets), ``horizon`` (int32:
        the steps ahead each forecast is for; ``forecast_horizon`` when the id column is named
        horizon), ``forecast`` (the objective's quantity: log return, realised volatility, price level, or P(up) for
        direction), ``last_price``; ``log_change`` for the price objective; ``probability`` and
        ``decision`` (1 = up, at the cut-off) for direction.

        Raises:
            ConfigError: the artifact holds a tabular model.
            DataError: the history is refused (no date column, an unparsable date, a duplicate
                date, a non-positive price, too few rows), naming the column, date and value.
            ScoreError: the model returned a NaN or infinite forecast.
        """
        windows, scores = self._forecast(history, source)
        market = self.market
        if market is None:  # _forecast refused it already; this narrows the type
            raise ConfigError(f"{self.path} holds a tabular model, not a forecaster.")
        return pd.DataFrame(forecast_columns(market.spec, windows, scores, self.decision_cutoff))

    def predict_proba(self, frame: pd.DataFrame | Mapping[Any, Any] | Sequence[Mapping[Any, Any]],
                      source: str = "the scoring data") -> np.ndarray:
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

    def predict(self, frame: pd.DataFrame | Mapping[Any, Any] | Sequence[Mapping[Any, Any]],
                source: str = "the scoring data") -> np.ndarray:
        """Decisions at the artifact's cut-off for a classifier (1 = positive class, e.g. decline
        as bad; int8), the predictions themselves for a regression model (float64). For a
        forecaster, ``frame`` is a price history and the result has one entry per forecastable
        date (see :meth:`forecast`): the price level for the price objective, up (1) or not (0)
        for direction, the forecast itself otherwise."""
        if isinstance(self.preprocessor, MarketPreprocessor) and isinstance(frame, pd.DataFrame):
            windows, scores = self._forecast(frame, source)
            if self._task().decides:
                return (scores >= self.cutoff).astype(np.int8)
            if self.preprocessor.spec.objective == "price":
                return to_price_level(scores, windows.last_price)
            return scores
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
        preprocessor: AnyPreprocessor
        if is_market_spec(spec):
            check_market_spec(spec, str(root / PREPROCESSOR), manifest.get("schema"))
            preprocessor = MarketPreprocessor.from_dict(spec, str(root / PREPROCESSOR))
        else:
            check_preprocessor_spec(spec, str(root / PREPROCESSOR), manifest.get("schema"))
            preprocessor = Preprocessor.from_dict(spec, str(root / PREPROCESSOR))
        task = task_of_manifest(manifest)  # a task this finlite does not know is refused here, not at scoring
        if task.decides and manifest.get("cutoff") is None:
            raise ConfigError(f"its manifest records no cut-off, but its task {task.name!r} decides at one.")
        # Every file is used from the bytes read (and hashed) once more here, never re-opened by
        # path: a file swapped in after read_verified (or a link planted then) is never used.
        plan = PruningPlan.from_dict(parse_json_bytes(read_listed(root, manifest, PLAN), str(root / PLAN), "pruning plan"),
                                     str(root / PLAN)) if PLAN in files else None
        model = load_weights(manifest["model"], root / WEIGHTS, data=read_listed(root, manifest, WEIGHTS))
        if OOF in files:
            if not isinstance(model, BoostedEnsemble):  # only a boosted teacher carries out-of-fold scores
                raise ConfigError(f"it lists {OOF}, but its model is a {model.kind!r} model, not a boosted "
                                  "ensemble; only a boosted teacher carries out-of-fold scores.")
            raw = read_listed(root, manifest, OOF)
            try:
                values = safetensors_load(raw).get("oof_logits")
            except Exception as exc:  # noqa: BLE001 - any malformed content is the same refusal
                raise ConfigError(f"its {OOF} is not a readable safetensors file ({str(exc)[:200]}).") from None
            if values is None:
                raise ConfigError(f"its {OOF} holds no 'oof_logits' tensor.")
            if values.dtype != torch.float32:  # finlite writes float32; a wider type would be narrowed silently
                raise ConfigError(f"its {OOF} holds {values.dtype} values, not float32.")
            model.set_oof(values.numpy())
    except (DataError, ConfigError) as exc:
        raise ArtifactError(f"Artifact {str(root)!r} could not be read: {exc}") from exc
    return Artifact(path=root, manifest=manifest, model=model, preprocessor=preprocessor, plan=plan)


#: What the jobs accept as data: a file path, a DataFrame, or a table already read.
DataLike = str | os.PathLike[str] | pd.DataFrame | Table


def recorded_table(artifact: Artifact, near: Sequence[str | Path] = ()) -> Table | PriceTable:
    """The table an artifact was trained on, found from its manifest: a bundled dataset of that
    file name, the recorded path if it still exists, or a file of the recorded name in the
    artifact's parent folder or in a folder of ``near``; it must have the recorded content. The
    recorded path is as training was given it, relative to the folder training ran in, so from
    another folder it named nothing (a review, 2026-12-05).
    A forecaster's is read as a price table with its spec (:class:`~finlite.data.market.PriceTable`).

    Raises:
        DataError: none is available or matches; the message says to pass the data.
    """
    from finlite import datasets

    recorded = artifact.manifest["data"]
    source = str(recorded.get("source", ""))
    name = Path(source).name
    candidates = [datasets.path(info.name) for info in datasets.list_datasets() if info.file == name]
    candidates.append(Path(source))
    if Path(source).suffix:  # a file's name (a DataFrame's source, "DataFrame", names none)
        # Beside the artifact: as named (a link's folder; "." made absolute) and where it really is.
        beside = (Path(os.path.abspath(artifact.path)).parent, Path(artifact.path).resolve().parent)
        candidates += [Path(folder) / name for folder in (*near, *beside)]
    market = artifact.market
    tried: set[Path] = set()
    unreadable = ""  # each candidate is a guess (the recorded path is relative to training's folder)
    for path in candidates:
        try:
            key = path.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a symbolic-link loop (Python 3.11)
            continue
        if key in tried:
            continue
        tried.add(key)
        try:
            if not path.is_file():
                continue
            if market is not None:
                prices = read_prices(path, market.spec)
                if prices.content_sha256 == recorded["content_sha256"]:
                    return prices
                continue
            table = read_table(path)
        except (DataError, OSError) as exc:  # another file of that name, unreadable: not the table
            unreadable = unreadable or f" ({str(path)!r} has that name but could not be read: {str(exc)[:200]})"
            continue
        if frame_sha256(table.frame) == recorded["content_sha256"]:
            return table
    raise DataError(
        f"The training table of {artifact.path} ({source!r}, content sha256 {recorded['content_sha256'][:16]}…) "
        f"was not found{unreadable}; pass it as data=PATH so the test split can be rebuilt.", param="data"
    )


def prepare_like(artifact: Artifact, data: DataLike | PriceTable) -> PreparedData | PreparedSeries:
    """Split and encode ``data`` exactly as ``artifact``'s model was trained (same rows per part).

    A forecaster's data is read as prices with its spec and split by the walk-forward settings
    its manifest records, and its windows are built with the artifact's fitted preprocessor
    (nothing is re-fitted): a :class:`~finlite.data.market.PreparedSeries`.

    Raises:
        DataError: ``data`` is not the table the artifact was trained on (content hash differs).
    """
    preprocessor = artifact.preprocessor
    if isinstance(preprocessor, MarketPreprocessor):
        return _prepare_series_like(artifact, preprocessor, data)
    if isinstance(data, PriceTable):
        raise DataError(f"{artifact.path} holds a tabular model; pass its table (a file or a DataFrame), not a "
                        "price table.", param="data")
    table = data if isinstance(data, Table) else read_table(data)
    prepared = prepare_if_trained_on(artifact, table)
    if prepared is None:
        recorded = artifact.manifest["data"]
        rows = recorded.get("rows")
        # Which it is, where the rows can tell: the hash reads the column order and how each value
        # is written (a column of whole numbers as floats: 1.0 for 1), and a frame reordered or
        # retyped in a notebook was told only "the same rows in the same order" (a walk-through).
        # The manifest counts the labelled rows (training leaves out those with no outcome).
        target = preprocessor.schema.target
        labelled = int(table.frame[target].notna().sum()) if target in table.frame.columns else len(table.frame)
        why = (f" It has {labelled:,} labelled rows and the training table had {rows:,}." if isinstance(rows, int)
               and rows != labelled else
               f" It has as many rows ({rows:,}): if it is that table, its columns are in another order or of other "
               "types than when the model was trained (the hash reads both: whole numbers as floats are 1.0, not "
               "1); pass it as it was then (the same file, or the DataFrame with the same column order and dtypes)."
               if isinstance(rows, int) else "")
        raise DataError(
            f"{table.source} is not the table {artifact.path} was trained on (content sha256 differs from "
            f"{recorded['content_sha256'][:16]}…, recorded from {recorded.get('source')!r}).{why} Compressing, "
            "exporting and reproducing need that table, with the same rows in the same order (the split is rebuilt "
            "from it), so the test split stays unseen by both models."
        )
    return prepared


def prepare_if_trained_on(artifact: Artifact, table: Table, *,
                          content_sha256: str | None = None) -> PreparedData | None:
    """``table`` split and encoded as ``artifact``'s tabular model was trained, or None when it is
    not that model's training table (its content hash differs from the manifest's).

    The table is hashed once, for the check and the prepared data's provenance both: here, or by
    the caller that needs the hash too (``content_sha256``, :func:`frame_sha256` of ``table``).
    """
    preprocessor = artifact.preprocessor
    if isinstance(preprocessor, MarketPreprocessor):
        raise ConfigError(f"{artifact.path} holds a market forecaster; its data is a price series "
                          "(prepare_series_like).", param="artifact")
    recorded = artifact.manifest["data"]
    digest = content_sha256 if content_sha256 is not None else frame_sha256(table.frame)
    if digest != recorded["content_sha256"]:
        return None
    prepared = _prepare_table(table, preprocessor.schema, recorded_split(artifact), preprocessor,
                              content_sha256=digest)
    split = recorded.get("split")
    expected = split.get("test_rows_sha256") if isinstance(split, Mapping) else None
    if isinstance(expected, str) and prepared.test_rows_sha256() != expected:
        # The table is the one trained on, yet its split made again holds other test rows: a rule
        # of the split changed since the artifact was made (a review, 2026-12-07: a split by
        # account keyed anew judged 666 training rows as test rows, with exit 0). Judging it would
        # put rows the model trained on into the evidence.
        raise DataError(f"{table.source} is the table {artifact.path} was trained on, but its split made again from "
                        "the recorded settings holds other test rows than the ones the artifact recorded (data.split."
                        "test_rows_sha256): a rule of the split changed since the artifact was made, and its evidence "
                        "would mix in rows the model trained on. Use the finlite that made it, or train it again.")
    return prepared


def recorded_split(artifact: Artifact) -> SplitConfig:
    """The split settings the manifest records for a tabular model (``data.split.config``).

    Raises:
        ArtifactError: the settings are not SplitConfig's, naming the manifest field (the
            manifest's digest passed, so it was altered and re-hashed, or written by hand).
    """
    config = artifact.manifest["data"]["split"]["config"]  # an object: check_manifest
    if "whole_dates" not in config:  # made before out-of-time cuts moved to date boundaries: split as it was
        config = {**config, "whole_dates": False}
    if "one_shuffle" not in config:  # made before a stratified split shuffled all rows once: as it was
        config = {**config, "one_shuffle": False}
    if "month_year" not in config:  # made before month-of-year dates were read: refused where it matters
        config = {**config, "month_year": False}
    known = {f.name for f in fields(SplitConfig)}
    unknown = [k for k in config if k not in known]
    try:
        if unknown:
            raise ConfigError(f"it has no setting {str(unknown[0])!r}")
        return SplitConfig(**config)
    except ConfigError as exc:
        raise ArtifactError(f"The manifest of {artifact.path} records split settings finlite cannot use "
                            f"(field 'data.split.config'): {exc} Re-create the artifact instead of editing it.") from None


def prepare_table_like(artifact: Artifact, data: DataLike | PriceTable) -> PreparedData:
    """:func:`prepare_like` for a tabular model (typed so).

    Raises:
        ConfigError: the artifact holds a forecaster (use :func:`prepare_series_like`).
        DataError: as :func:`prepare_like`.
    """
    prepared = prepare_like(artifact, data)
    if not isinstance(prepared, PreparedData):
        raise ConfigError(f"{artifact.path} holds a market forecaster; its data is a price series "
                          "(prepare_series_like).", param="artifact")
    return prepared


def prepare_series_like(artifact: Artifact, data: DataLike | PriceTable) -> PreparedSeries:
    """:func:`prepare_like` for a forecaster (typed so).

    Raises:
        ConfigError: the artifact holds a tabular model (use :func:`prepare_table_like`).
        DataError: as :func:`prepare_like`.
    """
    market = artifact.market
    if market is None:
        raise ConfigError(f"{artifact.path} holds a tabular model, not a forecaster; use prepare_table_like.",
                          param="artifact")
    return _prepare_series_like(artifact, market, data)


def _prepare_series_like(artifact: Artifact, market: MarketPreprocessor, data: DataLike | PriceTable) -> PreparedSeries:
    """A forecaster's data split and windowed as when it was trained (see :func:`prepare_like`)."""
    recorded = artifact.manifest["data"]
    if isinstance(data, Table):
        data = data.frame
    prices = data if isinstance(data, PriceTable) else read_prices(data, market.spec)
    if prices.content_sha256 != recorded.get("content_sha256"):
        raise DataError(
            f"{prices.source} is not the price table {artifact.path} was trained on (content sha256 differs from "
            f"{str(recorded.get('content_sha256'))[:16]}…, recorded from {recorded.get('source')!r}). Evaluating, "
            "exporting and compressing need the teacher's training data, so the test period stays unseen by both "
            "models.", param="data")
    return prepare_series(prices, market.spec, walk=recorded_walk(artifact), preprocessor=market)


def recorded_walk(artifact: Artifact) -> WalkForward:
    """The walk-forward settings a forecaster's manifest records (``data.split.config``).

    Raises:
        ArtifactError: they are missing or not WalkForward's, naming the manifest field.
    """
    where = str(artifact.path)
    split = artifact.manifest.get("data", {}).get("split")
    walk = split.get("config") if isinstance(split, Mapping) else None
    if not isinstance(walk, Mapping):
        raise ArtifactError(f"The manifest of {where} records no walk-forward settings (data.split.config); "
                            "re-create the artifact with this finlite.")
    try:
        return WalkForward.from_dict(dict(walk), "the manifest's 'data.split.config'")
    except ConfigError as exc:
        raise ArtifactError(f"The manifest of {where} records walk-forward settings finlite cannot use (field "
                            f"'data.split.config'): {exc} Re-create the artifact instead of editing it.") from None
