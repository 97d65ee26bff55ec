"""The Predictor: an exported artifact scored through ONNX Runtime, without torch.

It reads the manifest (every file's sha256 checked), ``preprocessor.json`` and the exported
``model.onnx``, and scores raw records. One record takes the fast path: pure-Python encoding
into a vector, one ONNX Runtime call. Lists of dicts go record by record; a DataFrame goes
through Arrow (``Encoder.prepare_arrow``: one vectorised pass per column, then encoded and
scored a cache-sized block of rows at a time; a handful of rows record by record), with the
pandas Preprocessor as the reference it falls back to wherever the two could read a column
differently and for every refused value (so results and errors are the Preprocessor's); Arrow
batches go to ``encode_arrow`` directly, and batch scoring of files uses the same blocks
(``runtime/batch.py``).
Boosted-tree teachers are served the same way: their ``model.onnx`` is a tree ensemble.

A market forecaster (``preprocessor.json`` of kind "market") is served from a price history
instead of records: :meth:`Predictor.forecast` takes the last rows (a DataFrame or a dict of
lists), computes the same causal features and scaled windows as training did
(:class:`finlite.data.market.MarketPreprocessor`, numpy, pandas and numba only) and runs the model
once; :meth:`Predictor.forecast_all` gives one forecast per date with enough history. That module
(and pandas with it) is imported only when a forecaster is loaded: a tabular model's scoring
process does not pay for it.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from finlite._finite import check_score_count, check_scores, record_score_error
from finlite._keys import averaged_groups
from finlite._limits import available_cores, check_count
from finlite._manifest import parse_json_bytes, read_listed, verify_artifact
from finlite._spec import check_market_spec, check_preprocessor_spec, is_market_spec
from finlite._util import check_flags
from finlite.errors import ArtifactError, ConfigError, DataError, ScoreError
from finlite.runtime import _native
from finlite.runtime._fastenc import ArrowRows, block_buffer
from finlite.runtime._graph_ops import NO_BUILD_TIME_WORK, check_operators, probe
from finlite.runtime.encoder import Encoder, FieldError, RecordErrors
from finlite.runtime.reasons import METHOD as REASONS_METHOD
from finlite.runtime.reasons import MIN_SHARE as REASONS_MIN_SHARE
from finlite.runtime.reasons import TOP as REASONS_TOP
from finlite.runtime.reasons import ReasonModel, empty_fields, field_columns, incomplete_fields
from finlite.tasks import Task, task_of_manifest

if TYPE_CHECKING:
    from finlite.data.market import MarketPreprocessor, MarketWindows, WindowStream
    from finlite.runtime.reason_codes import ReasonCodes

__all__ = ["Predictor"]

_VARIANTS = ("fp32", "int8")
#: DataFrames of up to this many rows are encoded record by record (Encoder.fill): for a handful
#: of rows that is faster than building an Arrow table.
_SMALL_FRAME = 4
#: A DataFrame's columns are read and looked up on several threads (the Predictor's ``threads``)
#: when each gets at least this many rows.
_PARALLEL_ROWS = 32768
_ABSENT = object()
#: What a forecaster's ``forecast`` value is, per objective (for metadata and the OpenAPI page).
_OUTPUTS = {"return": "the log return over the horizon, log(P[t+h] / P[t])",
            "direction": "P(up): the probability that the price rises over the horizon",
            "volatility": "the realised volatility over the horizon, sqrt(sum of squared daily log returns)",
            "price": "the price level at t + h, P[t] * exp(forecast log change)"}
_NUMBER_TYPES = frozenset((float, int))
_NP_NUMBERS = frozenset((np.float64, np.float32, np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint16,
                         np.uint32, np.uint64, np.float16))


def _one_plain_id(ids: list[Any]) -> bool:
    """Whether every id of a served history is the same text that every reader reads alike: a
    str of printable ASCII, not empty, without surrounding spaces (pandas' and Python's ideas of
    whitespace differ beyond ASCII; read_prices strips it, so "AAA " is answered as "AAA")."""
    first = ids[0] if ids else None
    return (type(first) is str and bool(first) and first.isascii() and first.isprintable() and first == first.strip()
            and ids.count(first) == len(ids) and all(type(v) is str for v in ids))


def history_columns(market: MarketPreprocessor) -> list[str]:
    """The columns a price history must carry for ``market``: date, the id column (if any),
    the target, the volume column (if any) and the extra columns, in that order."""
    spec = market.spec
    columns = [spec.date_column, *([spec.id_column] if spec.id_column else []), spec.target,
               *([spec.volume_column] if spec.volume_column else []), *spec.extra_columns]
    return list(dict.fromkeys(columns))


#: The inputs of one block of windows a forecaster scores at once (``forecast_windows``): about
#: 6,000 windows of 30 x 11 features. A GRU's working memory in ONNX Runtime grows with the block:
#: 65,536 windows took about 620 MiB more peak memory than 4,096 (a review, 2026-12-06).
FORECAST_BLOCK_BYTES = 8 << 20


def forecast_block(market: MarketPreprocessor) -> int:
    """Windows per block for ``market``'s inputs: :data:`FORECAST_BLOCK_BYTES` of them, from 256 to 65,536."""
    per_window = int(market.spec.window) * int(market.n_features) * 4
    return max(256, min(1 << 16, FORECAST_BLOCK_BYTES // max(1, per_window)))


def model_session(model: bytes, threads: int = 1, where: str = "the ONNX model") -> Any:
    """The ONNX Runtime session the Predictor scores with (also what recipe gates time).

    ``threads`` intra-op threads, which never spin between calls. The graph may run
    only the operators finlite's exporters write (:func:`~finlite.runtime._graph_ops.check_operators`,
    an ArtifactError naming ``where`` otherwise).
    """
    import onnxruntime as ort

    check_operators(model, where)
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # No spinning workers: a worker that spins after a call burns the core that the encoder's
    # threads (and the next request) need. With two threads on the same 100,000 German credit rows
    # from a DataFrame, 3.5 M rows/s without spinning against 2.5 M with it. The price: one large
    # call on already encoded rows waits for its threads to wake, 2.38 ms against 2.08 for 100,000
    # German rows on two threads (SBA's 2.72 against 2.48; medians of 6 alternated rounds), which
    # is what `finlite bench`'s rows/s with every core times (2026-12-02, Intel Xeon, 2 cores).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"], **NO_BUILD_TIME_WORK)


#: Integers from here on are not all floats: a code this large read through a float row is another code.
_EXACT_FLOAT = 2.0**53


#: Most threads a Predictor takes (more when the machine has more cores): 20,000 hung its constructor.
MAX_THREADS = 64


def _check_one_record(record: Any) -> None:
    """Refuse what is not one record (a list, text) with the record path's own error, not the
    TypeError its lookups raise."""
    if not isinstance(record, Mapping):
        raise RecordErrors([FieldError(0, "", f"expected an object of fields (a dict of field to value), got "
                                              f"{type(record).__name__}; pass a list of records to predict_score",
                                       "type")], "the record")


class Predictor:
    """Score raw records with an exported artifact.

    Args:
        artifact: the artifact folder (after ``finlite export``).
        variant: "fp32" (``model.onnx``) or "int8" (``model_int8.onnx``, from ``export --int8``).
        threads: ONNX Runtime intra-op threads. 1 (the default) suits a server, where
            requests are small and run side by side; batch scoring uses one per core.
        verify_key: a trusted public key (PEM path): the artifact must be signed with the
            matching private key (``finlite sign``). Default: ``$FINLITE_VERIFY_KEY`` if set.
        manifest_sha256: the expected manifest digest; any other artifact is refused.
        no_impute: refuse a blank in a field training never saw blank (an error naming the field
            and row) instead of scoring it with the training median or the unseen category
            (:attr:`Encoder.no_impute`); a table model only.

    Raises:
        ArtifactError: the folder is not a verified artifact, or was not exported (yet).
        ConfigError: ``no_impute`` for a forecaster, which reads a price history.
    """

    def __init__(self, artifact: str | Path, *, variant: str = "fp32", threads: int = 1, verify_key: Any = None,
                 manifest_sha256: str | None = None, no_impute: bool = False) -> None:
        if variant not in _VARIANTS:
            raise ConfigError(f"Unknown model variant {variant!r}; use 'fp32' or 'int8'.", param="variant")
        # Before any work: 20,000 threads hung the constructor at 1.7 GB (a review, 2026-12-02).
        # More threads than cores only contend, but a caller may oversubscribe a little on purpose.
        cores = available_cores()
        threads = check_count(threads, "threads", high=max(MAX_THREADS, cores),
                              fix=f"1 (the default) suits a server; batch scoring gains up to the {cores} core(s) "
                                  "this process may use.")
        root, manifest, signed = verify_artifact(artifact, required=("preprocessor.json",), verify_key=verify_key,
                                                 manifest_sha256=manifest_sha256)
        #: What is known of the artifact's signature, for the audit log's start line and a scoring
        #: run's provenance: ``signed``, and when signed its ``algorithm`` and key ``fingerprint``
        #: (sha256 of the public key); ``verified`` is True when a trusted key checked it, None
        #: when none was given (the fingerprint is then only what signature.json claims).
        self.signature: dict[str, Any] = {k: signed[k] for k in ("signed", "algorithm", "fingerprint", "verified")
                                          if k in signed}
        export = manifest.get("export", {})
        record = export.get("onnx_int8" if variant == "int8" else "onnx")
        if record is None:
            if variant == "int8" and (manifest.get("model") or {}).get("kind") == "gbdt":
                # Its export refuses --int8: the advice sent users round in a circle (a review, 2026-12-03).
                raise ArtifactError(f"Artifact {str(root)!r} is a boosted-tree model, which has no int8 form (its trees "
                                    "compare the inputs with thresholds that int8 would move); score it in float32 "
                                    "(without --int8), or distil it into a student and export that with --int8.")
            hint = "finlite export --int8" if variant == "int8" else "finlite export"
            raise ArtifactError(f"Artifact {str(root)!r} has no exported {variant} model; run '{hint} {root}' "
                                "first (it checks the ONNX model against the original on the test split).")
        try:
            self._task: Task = task_of_manifest(manifest)
        except ConfigError as exc:
            raise ArtifactError(f"Artifact {str(root)!r} cannot be used: {exc}") from None
        self.path = root
        self.manifest = manifest
        self.variant = variant
        self.file = str(record.get("file") or record["same_as"])
        self.model_sha256 = manifest["files"][self.file]
        # Parse exactly the bytes that were hashed (read again, checked again: no swap in between).
        spec = parse_json_bytes(read_listed(root, manifest, "preprocessor.json"), str(root / "preprocessor.json"),
                                "preprocessor")
        where = str(root / "preprocessor.json")
        #: The fitted market pipeline of a forecaster; None for a tabular model.
        self.market: MarketPreprocessor | None = None
        #: finlite.data.market, for a forecaster (imported only then: it brings pandas and numba).
        self._m: Any = None
        self._encoder: Encoder | None = None
        try:
            if is_market_spec(spec):
                from finlite.data import market as market_module

                check_market_spec(spec, where, manifest.get("schema"))
                self._m = market_module
                self.market = market_module.MarketPreprocessor.from_dict(spec, where)
            else:
                check_preprocessor_spec(spec, where, manifest.get("schema"))
                self._encoder = Encoder(spec)
            if self._task.decides and manifest.get("cutoff") is None:
                raise ConfigError(f"its manifest records no cut-off, but its task {self._task.name!r} decides at one")
        except (DataError, ConfigError) as exc:
            raise ArtifactError(f"Artifact {str(root)!r} cannot be used: {exc}") from None
        if no_impute:
            if self._encoder is None:
                raise ConfigError(f"{str(root)!r} is a market forecaster: it reads a price history, whose gaps its "
                                  "features handle as trained; no_impute applies to a table model's records. Drop it.",
                                  param="no_impute")
            self._encoder.no_impute = True
        self._spec = spec
        self._history_columns = history_columns(self.market) if self.market is not None else []
        # Where the batch-1 path finds each series in a served history's value block (its rows are
        # the history columns after the date, but the id): the target, the volume (-1: none), the extras.
        market_spec = self.market.spec if self.market is not None else None
        # The asset id of a panel's model is text: checked on its own, never in the value block.
        values = [c for c in self._history_columns[1:] if market_spec is None or c != market_spec.id_column]
        self._value_columns = values
        self._volume_row = values.index(market_spec.volume_column) \
            if market_spec is not None and market_spec.volume_column in values else -1
        self._target_row = values.index(market_spec.target) if market_spec is not None else -1
        self._extra_rows = np.array([values.index(c) for c in market_spec.extra_columns] if market_spec else [],
                                    dtype=np.intp)
        self._field_set = frozenset(self.fields)
        self._threads = threads
        self._columns: tuple[Any, list[Any]] = (None, [])  # the last DataFrame column Index seen, as a list
        try:
            self.session = model_session(read_listed(root, manifest, self.file), threads, str(root / self.file))
        except ArtifactError:
            raise
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime's own classes (InvalidProtobuf, Fail, ...)
            raise ArtifactError(f"Artifact {str(root)!r} cannot be used: its {self.file} is not a model ONNX Runtime "
                                f"loads ({type(exc).__name__}: {str(exc)[:200]}). Export the artifact again "
                                "(finlite export).") from None
        self._run = self.session.run
        # A classifier's graph outputs P(positive) as "probability"; a regression model's "prediction".
        self._output = "probability" if self._task.decides else "prediction"
        # A classifier's output is a probability: a score outside [0, 1] (a forged graph) decides nothing.
        self._bounded = self._output == "probability"
        self._outputs = [self._output]
        self._check_signature(root)
        self._probe(root)
        self._local = threading.local()
        self._reasons: ReasonModel | None = None
        self._reasons_lock = threading.Lock()
        if self.market is not None:
            self._m.compile_kernels()  # now, not in the first forecast (about 1.4 s, once per process)

    # -- what the artifact is ------------------------------------------------------------------
    def _probe(self, root: Path) -> None:
        """One row of zeros through the graph under a time limit before anything is scored
        (:func:`finlite.runtime._graph_ops.probe`: the operator allowlist cannot bound a loop built
        from allowed operators)."""
        shape = (1, int(self.market.spec.window), self.market.n_features) if self.market is not None \
            else (1, self.encoder.n_features)
        probe(self.session, self._output, shape, f"Artifact {str(root)!r} cannot be used: its {self.file}")

    def _check_signature(self, root: Path) -> None:
        """Refuse a graph whose interface does not fit this artifact's preprocessing: one input
        ``x`` as wide as the encoded rows (a forecaster's: ``[rows, steps, features]``), and the
        task's output with one value per row. Otherwise every score would fail inside ONNX
        Runtime, or, with two values per row, be spread over twice the rows."""
        inputs, outputs = self.session.get_inputs(), {o.name: o for o in self.session.get_outputs()}
        width = self.market.n_features if self.market is not None else self.encoder.n_features
        rank = 3 if self.market is not None else 2
        problem = None
        if len(inputs) != 1 or inputs[0].name != "x" or len(inputs[0].shape) != rank:
            problem = (f"its inputs are {[(i.name, i.shape) for i in inputs]}, where one input 'x' of rank {rank} is "
                       "expected")
        elif isinstance(inputs[0].shape[-1], int) and inputs[0].shape[-1] != width:
            problem = f"its input 'x' has {inputs[0].shape[-1]} columns, where the preprocessing makes {width}"
        elif self._output not in outputs:
            problem = f"it has no output {self._output!r} (outputs: {sorted(outputs)})"
        else:
            shape = outputs[self._output].shape
            if not (len(shape) == 1 or (len(shape) == 2 and shape[1] in (1, None) and not isinstance(shape[1], str))):
                problem = f"its output {self._output!r} has shape {shape}, where one value per row is expected"
        if problem is not None:
            # Either side may be the altered one: the graph, or preprocessor.json or the manifest's
            # task (re-exporting mends only the first; a review, 2026-12-04).
            raise ArtifactError(f"Artifact {str(root)!r} cannot be used: {self.file} does not fit its preprocessing "
                                f"and task (preprocessor.json, manifest.json): {problem}. If only {self.file} is "
                                "wrong, export the artifact again (finlite export); if preprocessor.json or the "
                                "manifest was edited, re-create the artifact.")

    @property
    def encoder(self) -> Encoder:
        """The record encoder of a tabular model.

        Raises:
            ConfigError: the artifact holds a forecaster, which reads a price history (see
                :meth:`forecast`).
        """
        if self._encoder is None:
            raise ConfigError(f"{self.path} holds a market forecaster: it reads a price history, not records; use "
                              "forecast(history) or forecast_all(history).")
        return self._encoder

    def __repr__(self) -> str:
        """A line a notebook shows: the artifact, the model scored, its task and cut-off (the
        default repr named only the object's address: a notebook walk-through, 2026-12-06)."""
        cutoff = self.decision_cutoff
        return (f"Predictor({str(self.path)!r}, variant={self.variant!r}, task={self.task!r}, "
                f"cutoff={'None' if cutoff is None else f'{cutoff:.6g}'}, threads={self._threads})")

    @property
    def decision_cutoff(self) -> float | None:
        """The cut-off decisions are made at; None for a model that makes no decisions (a forecast)."""
        cutoff = self.manifest.get("cutoff")
        return None if cutoff is None or not self._task.decides else float(cutoff)

    @property
    def cutoff(self) -> float:
        """Decision threshold on P(positive): scores at or above it are decided positive.

        Raises:
            ConfigError: the model makes no decisions (a forecast records no cut-off).
        """
        cutoff = self.manifest.get("cutoff")
        if cutoff is None:
            raise ConfigError(f"{self.path} holds a {self.task} model, which makes no decisions and has no cut-off; "
                              "decision_cutoff is None for it.", param="cutoff")
        return float(cutoff)

    @property
    def task(self) -> str:
        """What the model predicts: "binary" (classification) or "regression" (see finlite.tasks)."""
        return self._task.name

    @functools.cached_property
    def points_scale(self) -> tuple[float, float] | None:
        """A points scorecard's ``(offset, factor)``: its points total is ``offset − factor ·
        logit(P(positive))`` (``finlite.models.scorecard.ScorecardModel``), read from the verified
        ``scorecard.json`` as the exported graph holds them (float32). None for any other model.

        Raises:
            ArtifactError: ``scorecard.json`` is missing or does not hold a scorecard's scaling.
        """
        if (self.manifest.get("model") or {}).get("kind") != "scorecard":
            return None
        record = parse_json_bytes(read_listed(self.path, self.manifest, "scorecard.json"),
                                  str(self.path / "scorecard.json"), "scorecard")
        method = record.get("method") if isinstance(record, dict) else None
        try:
            pdo, base, odds = (float(method[k]) for k in ("pdo", "base_points", "base_odds"))  # type: ignore[index]
        except (TypeError, KeyError, ValueError):
            raise ArtifactError(f"{self.path / 'scorecard.json'} holds no scorecard scaling (pdo, base_points, "
                                "base_odds); make the scorecard again (finlite compress with its recipe).") from None
        if not (math.isfinite(pdo) and pdo > 0 and math.isfinite(base) and math.isfinite(odds) and odds > 0):
            raise ArtifactError(f"{self.path / 'scorecard.json'} holds a scaling finlite cannot use (pdo {pdo}, "
                                f"base_points {base}, base_odds {odds}); make the scorecard again (finlite "
                                "compress with its recipe).")
        factor = pdo / math.log(2.0)
        # As the graph holds them (float32 constants), so the total comes back whole.
        return float(np.float32(base - factor * math.log(odds))), float(np.float32(factor))

    def points(self, records: Any) -> np.ndarray:
        """A points scorecard's total per record (int64; higher is lower risk), as the bank publishes
        it: recovered exactly from the score (``offset − factor · logit(p)``, within 1e-4 of a whole
        number on German credit's 1,000 rows).

        Raises:
            ConfigError: the artifact is no points scorecard.
            ScoreError: a score too close to 0 or 1 for its total to be recovered whole.
            RecordErrors / DataError: as :meth:`predict_score`.
        """
        scale = self.points_scale
        if scale is None:
            raise ConfigError(f"{self.path} holds no points scorecard; points are a scorecard's (a recipe's scorecard "
                              "step).", param="points")
        total, bad = points_of(self.predict_score(records), scale)
        if bad.any():
            raise ScoreError(f"{int(bad.sum()):,} record(s) scored too close to 0 or 1 for their points total to be "
                             f"recovered whole (first: record {int(np.flatnonzero(bad)[0])}).")
        return total

    @property
    def schema(self) -> dict[str, Any]:
        """The training schema (target, classes, numeric and categorical fields)."""
        schema: dict[str, Any] = self.manifest["schema"]
        return schema

    @property
    def fields(self) -> list[str]:
        """Feature fields a record must carry, numeric first; for a forecaster, the columns a
        price history must carry (date, the id column if any, target, volume, extra columns)."""
        if self.market is not None:
            return history_columns(self.market)
        return list(self.encoder.fields)

    def _unseen_words(self) -> str:
        """How the model scores a category training never saw, as /metadata says it: the weights
        are an average category's only where its training or distillation step records it."""
        if (averaged_groups(self.manifest.get("steps")) or 0) > 0:
            how = "its first layer weighs it as the training rows' average category"
        elif (self.manifest.get("model") or {}).get("kind") == "gbdt":
            how = "the trees read it as none of the seen categories"
        else:  # made before finlite averaged them, or a student whose own steps trained nothing (int8 only)
            how = "the model's own weights for it, which no training row set (no step of this artifact records "\
                  "averaging them; a teacher's may have)"
        return (f"scored in the column's unseen bucket ({how}; a weight-of-evidence or target-encoded column gives "
                "the prior), and reported")

    def metadata(self) -> dict[str, Any]:
        """What a caller needs to trust the scores: schema, categories, hashes, cut-off, metrics."""
        export = self.manifest.get("export", {})
        out: dict[str, Any] = {
            "artifact": self.path.name,
            "role": self.manifest.get("role"),
            "model": self.manifest.get("model"),
            "variant": self.variant,
            "model_file": self.file,
            "model_sha256": self.model_sha256,
            "manifest_sha256": self.manifest.get("manifest_sha256"),
            "task": self.task,
        }
        if self.market is not None:
            market = self.market
            out["cutoff"] = self.decision_cutoff
            out["market"] = {"spec": market.spec.to_dict(), "columns": self.fields,
                             "features": list(market.feature_names), "warmup": int(market.warmup),
                             "output": _OUTPUTS[market.spec.objective]}
        else:
            out["cutoff"] = self.cutoff
            out["operating_point"] = self.manifest.get("operating_point")
            out["schema"] = {
                "target": self.schema["target"], "positive": self.schema["positive"],
                "negative": self.schema["negative"], "numeric": list(self.schema["numeric"]),
                "categorical": {c[0]: list(c[3]) for c in self.encoder.categorical},
                # Weight-of-evidence / target-encoded fields: one number per training value.
                "encoded_as_numbers": {str(d["name"]): str(d.get("encoding")) for d in self._spec["categorical"]
                                       if d.get("encoding", "onehot") != "onehot"},
                "unseen_categories": self._unseen_words()}
        steps = self.manifest.get("steps")
        record = steps[0].get("central_tendency") if isinstance(steps, list) and steps and isinstance(
            steps[0], dict) else None
        if isinstance(record, dict) and isinstance(record.get("rate"), (int, float)):
            # The PDs' level is a long-run rate's, not the development sample's: a client reads them so.
            out["central_tendency"] = {"rate": float(record["rate"]), "asked": record.get("asked"),
                                       "basis": record.get("basis", "training")}
        out["metrics"] = self.manifest.get("metrics", {})
        out["parity"] = {k: v.get("parity") for k, v in export.items() if isinstance(v, dict) and "parity" in v}
        out["versions"] = self.manifest.get("versions", {})
        return out

    # -- scoring -----------------------------------------------------------------------------------
    def _slot(self) -> _RecordSlot:
        slot: _RecordSlot | None = getattr(self._local, "slot", None)
        if slot is None:  # self.encoder refuses a forecaster, once per thread: not on every record
            slot = self._local.slot = _RecordSlot(self.session, self.encoder, self._output)
        return slot

    def score_vector(self, x: np.ndarray) -> np.ndarray:
        """P(positive) for already-encoded rows (float32, ``[rows, n_features]`` or one row).

        Raises:
            DataError: the rows have the wrong width or hold a non-finite value.
            ScoreError: the model returned a NaN or infinite score (``rows`` holds the 0-based
                positions); no decision is made from it.
        """
        if self.market is not None:
            return self._run_windows(np.asarray(x, dtype=np.float32))
        if type(x) is not np.ndarray or x.dtype != np.float32 or x.ndim != 2:
            x = self._encoded_rows(x)
        if x.shape[1] != self.encoder.n_features:
            raise DataError(f"Encoded rows have {x.shape[1]} values; this model takes {self.encoder.n_features}.")
        if not np.isfinite(x).all():
            r, c = (int(i) for i in np.argwhere(~np.isfinite(x))[0])
            raise DataError(f"Encoded row {r + 1} holds {float(x[r, c])!r} in column {c}; encoded inputs must be "
                            "finite. Encode raw records with the artifact's encoder, which refuses such values.")
        scores = self._slot().run_vector(x) if x.shape[0] == 1 else self._run(self._outputs, {"x": x})[0].reshape(-1)
        check_score_count(scores, x.shape[0])
        check_scores(scores, probability=self._bounded)
        return scores

    def _encoded_rows(self, x: Any) -> np.ndarray:
        """``x`` as float32 rows ``[rows, n_features]`` (one row may be 1-D), or a DataError saying
        what it is instead: text, ragged lists, complex numbers (whose imaginary part a cast would
        drop), another number of dimensions."""
        try:
            given = np.asarray(x) if not isinstance(x, np.ndarray) else x
        except ValueError:  # numpy's "inhomogeneous shape"
            raise DataError(f"Encoded rows must be [rows, {self.encoder.n_features}] numbers; got rows of different "
                            "lengths.") from None
        if given.dtype.kind == "O" and x is not None:  # numbers as objects (to_numpy() of mixed columns)
            try:
                numbers = given.astype(np.float64)
            except (TypeError, ValueError):
                numbers = None
            if numbers is not None and not any(isinstance(v, (str, bytes, complex, np.complexfloating)) for v in given.flat):
                given = numbers
        if given.dtype.kind not in "biuf":
            what = ("complex numbers" if given.dtype.kind == "c" else
                    "nothing" if x is None else f"values of type {given.dtype} (text, objects or ragged rows)")
            raise DataError(f"Encoded rows must be real numbers, [rows, {self.encoder.n_features}] float32; got {what}. "
                            "Encode raw records with the artifact's encoder (Predictor.encode), or score them "
                            "directly (predict_score).")
        if given.ndim not in (1, 2):
            raise DataError(f"Encoded rows must be [rows, {self.encoder.n_features}] (or one row of "
                            f"{self.encoder.n_features}); got an array of shape {given.shape}.")
        rows = given.astype(np.float32, copy=False)
        return rows.reshape(1, -1) if rows.ndim == 1 else rows

    def score_record(self, record: Mapping[Any, Any]) -> float:
        """P(positive) of one raw record (a dict of field to value): the fast path.

        The record is encoded straight into an input buffer already bound to the ONNX session
        (one per thread), so a call is the Python encoding plus one ONNX Runtime run.

        Raises:
            RecordErrors: a field is missing, of the wrong type, or a number that is not finite
                or does not fit float32 (kind "value").
            ScoreError: the model returned a NaN or infinite score; no decision is made from it.
        """
        try:
            return self._slot().run_record(record)[0]
        except (TypeError, AttributeError):
            _check_one_record(record)  # checked only on failure: the fast path pays nothing
            raise

    def explain_record(self, record: Mapping[str, Any], imputed: list[str] | None = None,
                       outside: list[str] | None = None) -> tuple[float, list[str]]:
        """P(positive) of one record and the fields whose category was unseen in training; with
        ``imputed`` given, the numeric fields whose blank took the training median are appended there;
        with ``outside`` given, the numeric fields whose value lies beyond every training value.

        Raises the same errors as :meth:`score_record`.
        """
        try:
            return self._slot().run_record(record, imputed, outside)
        except (TypeError, AttributeError):
            _check_one_record(record)
            raise

    def incomplete(self, record: Mapping[str, Any]) -> list[str]:
        """The fields of one raw record sent blank (null, empty or blank text) and scored on a
        stand-in value: numbers, which take their training median (and their missing indicator
        where training had blanks), and categories training never saw blank, in field order. A record decided 1 with any was decided on an incomplete
        application, and its :meth:`reasons` cannot state those blanks' part in the decision: a
        notice of incompleteness may be due (``serve`` answers them as ``incomplete``, and
        ``score --reasons`` in its ``incomplete`` column). A category training saw blank has its
        learned treatment, which a reason can name, and is not listed.

        Raises the same errors as :meth:`score_record`.
        """
        imputed: list[str] = []
        _, unseen = self.explain_record(record, imputed)
        return incomplete_fields([], imputed, empty_fields(unseen, record), self.protected_fields)

    # -- adverse-action reasons -------------------------------------------------------------------
    @property
    def gives_reasons(self) -> bool:
        """True when the artifact can say why a record was decided positive: a tabular classifier
        exported with a reasons reference (``finlite export`` records one since 0.2)."""
        return (self._encoder is not None and self._task.decides
                and isinstance(self.manifest.get("export", {}).get("reasons"), dict))

    @property
    def reasons_floor_note(self) -> str | None:
        """What a run giving reasons says when the export records no floor (exported before
        2026-12-07): it gives this finlite's, which an export before 2026-12-05 did not apply, so
        a reason or two may differ from that export's own (an upgrade walk-through, 2026-12-07)."""
        record = self.manifest.get("export", {}).get("reasons")
        if not self.gives_reasons or not isinstance(record, dict) or "min_share" in record:
            return None
        return (f"{self.path}'s export records no floor for its reasons (exported before 2026-12-07): they follow "
                f"this finlite's, at least {REASONS_MIN_SHARE:.0%} of a record's push towards a decision of 1 each, "
                "which an export before 2026-12-05 did not apply; run 'finlite export' on it again to record it")

    def _reason_model(self) -> ReasonModel:
        if self._reasons is None:
            with self._reasons_lock:
                if self._reasons is None:
                    if not self.gives_reasons:
                        what = ("a model that makes no decisions" if not self._task.decides or self._encoder is None
                                else "no reasons reference (it was exported before 'finlite export' recorded one)")
                        raise ConfigError(f"{self.path} holds {what}; adverse-action reasons need a tabular "
                                          "classifier exported by this finlite. Run 'finlite export' on it again.",
                                          param="reasons")
                    record = self.manifest["export"]["reasons"]
                    if record.get("method") != REASONS_METHOD:
                        raise ArtifactError(f"{self.path}: export.reasons.method is {record.get('method')!r}; this "
                                            f"finlite computes {REASONS_METHOD!r}. Export the artifact again.")
                    offsets = record.get("offsets")
                    if offsets is None and (self.manifest.get("model") or {}).get("kind") == "scorecard":
                        # Exported before scorecards got offsets: its mean reference is no category at
                        # all in a graph that rounds, so its reasons would be wrong (2026-12-03).
                        raise ArtifactError(f"{self.path}: the scorecard's reasons reference has no per-field "
                                            "offsets (it was exported before scorecards got them); run 'finlite "
                                            "export' on it again.")
                    # The export's floor. None recorded (exported before 2026-12-07): this finlite's,
                    # as every export since 2026-12-05 applied it; runs say so (reasons_floor_note).
                    self._reasons = ReasonModel(field_columns(self.encoder), record.get("reference") or [],
                                                self._score_rows, str(self.path),
                                                offsets=offsets if isinstance(offsets, dict) else None,
                                                min_share=record.get("min_share", REASONS_MIN_SHARE))
        return self._reasons

    @property
    def protected_fields(self) -> frozenset[str]:
        """The reason fields that are protected characteristics a lender may not ask for, left out
        of a notice of incompleteness (declared ``--protected`` in its report, or named like one:
        :func:`finlite.runtime.reason_codes.protected_fields`), but not an age, which a creditor may
        ask for (Regulation B restricts its use, 1002.6(b)(2), not the question; a review,
        2026-12-07): read once; empty for a model that gives no reasons."""
        known = self.__dict__.get("_protected_fields")
        if known is None:
            from finlite._protected import names_age
            from finlite.runtime.reason_codes import protected_fields

            found = protected_fields(self) if self.gives_reasons else []
            known = self.__dict__["_protected_fields"] = frozenset(f for f in found if not names_age(f))
        return known

    @property
    def reason_fields(self) -> list[str]:
        """The raw fields reasons are given for, in order (reads and checks the reference).

        Raises:
            ConfigError: the artifact gives no reasons (see :attr:`gives_reasons`).
            ArtifactError: its reference does not fit the model.
        """
        return list(self._reason_model().fields)

    def reasons(self, records: Any, top: int = REASONS_TOP,
                codes: ReasonCodes | str | os.PathLike[str] | None = None) -> list[list[dict[str, Any]]]:
        """Adverse-action reasons of each record (a DataFrame, a list of dicts or one dict): up to
        ``top`` raw fields that pushed its score towards the positive class the most, each at
        least 5 % of that push together (:data:`finlite.runtime.reasons.MIN_SHARE`; the largest
        always), largest first, each ``{"field": name, "contribution": log-odds}``; an empty list
        when none did. With ``codes`` (the lender's table, :meth:`read_reason_codes`, or its path),
        up to ``top`` of its codes instead, each ``{"code", "text", "fields", "contribution"}`` (a
        code's contribution is the sum of its fields', and the floor is taken over the codes').

        Every record is explained, decided positive or not; the letters go to those whose
        :meth:`predict` is 1. The method (baseline Shapley against the training rows' typical applicant,
        from one antithetic pair; :mod:`finlite.runtime.reasons`) costs ``2 x fields + 1`` model
        rows per record.

        Raises:
            ConfigError: the artifact gives no reasons (see :attr:`gives_reasons`); ``top`` is
                not 1 to the number of fields.
            RecordErrors / DataError: as :meth:`predict_score`.
        """
        self._reason_model()  # an artifact that gives no reasons is refused before the records are encoded
        return self.reasons_encoded(self.encode(records), top, codes)

    def reasons_encoded(self, x: np.ndarray, top: int = REASONS_TOP,
                        codes: ReasonCodes | str | os.PathLike[str] | None = None) -> list[list[dict[str, Any]]]:
        """:meth:`reasons` for rows already encoded (float32 ``[rows, n_features]``, or one row).

        Raises:
            DataError: the rows have the wrong width or hold a non-finite value.
            ConfigError: ``codes`` were read for another model's fields.
        """
        model = self._reason_model()
        if isinstance(codes, (str, os.PathLike)):  # a path to the table: read and checked here
            codes = self.read_reason_codes(codes)
        high = len(model.fields) if codes is None else len(codes.codes)
        check_count(top, "top", high=high, fix="Four reasons is the US adverse-action practice.")
        if codes is not None:
            codes.check_fields(model.fields, str(self.path))
        rows = x if type(x) is np.ndarray and x.dtype == np.float32 and x.ndim == 2 else self._encoded_rows(x)
        if rows.shape[1] != self.encoder.n_features or not np.isfinite(rows).all():
            self.score_vector(rows)  # raises the DataError naming what is wrong
        return model.reasons(rows, top, codes)

    def read_reason_codes(self, path: str | os.PathLike[str]) -> ReasonCodes:
        """The lender's reason-codes table at ``path`` (CSV ``field,code,text``), checked against this
        model's :attr:`reason_fields` (:class:`~finlite.runtime.reason_codes.ReasonCodes`).

        Raises:
            ConfigError: the artifact gives no reasons, or the file is not a valid table for its fields.
        """
        from finlite.runtime.reason_codes import ReasonCodes

        return ReasonCodes.read(path, self.reason_fields)

    def _score_rows(self, x: np.ndarray) -> np.ndarray:
        """P(positive) of encoded rows known to be finite and of the right width (the rows the
        reasons build from checked rows and the reference): every score checked."""
        scores: np.ndarray = self._run(self._outputs, {"x": x})[0].reshape(-1)
        check_score_count(scores, x.shape[0])
        check_scores(scores, probability=self._bounded)
        return scores

    def encode(self, records: Any, source: str | None = None) -> np.ndarray:
        """Encode a DataFrame, a list of dicts, one dict or an Arrow batch as model inputs.

        ``source`` names the input in error messages (default: "the DataFrame", "the records").
        """
        if isinstance(records, Mapping):
            return self.encoder.encode_record(records)[0].reshape(1, -1)  # raises RecordErrors for "the record"
        pandas = sys.modules.get("pandas")
        if pandas is not None and isinstance(records, pandas.DataFrame):
            return self._encode_frame(records, source or "the DataFrame")
        if type(records).__module__.startswith("pyarrow"):
            pa = sys.modules["pyarrow"]
            if not isinstance(records, (pa.Table, pa.RecordBatch)):
                # A reader, a chunked array or a struct array reached encode_arrow as an AttributeError.
                raise DataError(f"Records from Arrow must be a pyarrow Table or RecordBatch; got "
                                f"{type(records).__name__} (a reader: read_all() it first).")
            return self.encoder.encode_arrow(records, source=source or "the Arrow batch")
        if isinstance(records, Sequence) and not isinstance(records, (str, bytes)):
            return self.encoder.encode_records(records, source or "the records")[0]
        raise DataError(f"Records must be a pandas DataFrame, a pyarrow Table, a list of dicts or one dict; got "
                        f"{type(records).__name__}.")

    def predict_score(self, records: Any) -> np.ndarray:
        """One number per record, for a DataFrame, a list of dicts or one dict (float64 array):
        P(positive class) for a classifier, the prediction for a regression model.

        Raises:
            DataError: a value is refused (text in a numeric column, a number that is not finite
                or does not fit float32, ...), naming the column or field, the row and the value
                (:class:`~finlite.runtime.RecordErrors` for dicts).
            ScoreError: the model returned a NaN or infinite score for some row; no decision is
                made, for any row.
        """
        if self.market is not None:
            stream = self._windows(records, None, stream=True)
            scores = self._run_stream(stream)
            check_scores(scores, "the price history", unit="forecast", first=0, probability=self._bounded)
            return scores
        if _is_frame(records) and len(records) > _SMALL_FRAME and records.columns.nlevels == 1 \
                and records.columns.is_unique:
            fused = self._score_arrow_frame(records)  # every score checked
            if fused is not None:
                return fused.astype(np.float64)
            # A column Arrow would read otherwise than pandas, or a refused value: the reference
            # encoder (the Arrow route would only be tried again), whose errors name the row labels.
            self._refuse_frame_blanks(records, "the DataFrame")
            self._refuse_empty_rows(records, "the DataFrame")
            x: np.ndarray = self._frame_encoder().transform(records, "the DataFrame")
        else:
            x = self.encode(records)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        if len(x) == 1:  # one row (a dict, a one-row DataFrame): the thread's bound buffers, no allocation
            scores = self._slot().run_vector(x).astype(np.float64)
        else:
            scores = self._run(self._outputs, {"x": x})[0].reshape(-1).astype(np.float64)
            check_score_count(scores, len(x))
        if isinstance(records, Mapping):
            if not (0.0 <= scores[0] <= 1.0 if self._bounded else np.isfinite(scores[0])):
                raise record_score_error(float(scores[0]))
        elif isinstance(records, Sequence) and not isinstance(records, (str, bytes)):
            # record indices, as RecordErrors name them
            check_scores(scores, unit="record", first=0, probability=self._bounded)
        else:
            check_scores(scores, probability=self._bounded)  # DataFrame or Arrow rows, 1-based
        return scores

    def predict_proba(self, records: Any) -> np.ndarray:
        """Class probabilities as scikit-learn returns them: shape ``(rows, 2)``, columns
        P(negative class), P(positive class) (e.g. P(good), P(bad)). :meth:`predict_score` gives
        the second column alone, without the copy.

        Raises:
            ConfigError: the artifact holds a regression model (no classes; use :meth:`predict`).
            DataError, ScoreError: as :meth:`predict_score`.
        """
        if not self._task.decides:
            raise ConfigError(f"{self.path} holds a {self.task} model, which predicts numbers, not classes; use "
                              "predict(records) for its predictions.")
        positive = self.predict_score(records)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, records: Any) -> np.ndarray:
        """Decisions at the artifact's cut-off for a classifier (1 = positive class, e.g. decline
        as bad; int8), the predictions for a regression model (float64). For a forecaster,
        ``records`` is a price history and the result the ``forecast`` of :meth:`forecast_all`
        (the price level for the price objective), or up (1) / not (0) for direction."""
        if self.market is not None:
            result = self.forecast_all(records)
            return result["decision"] if "decision" in result else result["forecast"]
        scores = self.predict_score(records)
        if not self._task.decides:
            return scores
        return (scores >= self.cutoff).astype(np.int8)

    # -- forecasting from a price history -----------------------------------------------------------
    def _market(self) -> MarketPreprocessor:
        if self.market is None:
            raise ConfigError(f"{self.path} holds a {self.task} model that scores records, not a forecaster; use "
                              "predict_score(records).")
        return self.market

    def _run_windows(self, x: np.ndarray) -> np.ndarray:
        """The model's outputs (float64) for scaled windows ``[n, window, features]``."""
        market = self._market()
        expected = (int(market.spec.window), int(market.n_features))
        if x.ndim != 3 or tuple(x.shape[1:]) != expected:
            raise DataError(f"Windows have shape {tuple(x.shape)}; this forecaster takes [rows, {expected[0]}, "
                            f"{expected[1]}] (rows, window, features). Build them with forecast(history).")
        if not np.isfinite(x).all():
            raise DataError("A window holds a value that is not finite; build windows from a price history with "
                            "forecast(history), which refuses such values.")
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        out = np.asarray(self._run(self._outputs, {"x": np.ascontiguousarray(x, dtype=np.float32)})[0],
                         dtype=np.float64).reshape(-1)
        check_score_count(out, len(x), unit="forecast")
        return out

    def _run_stream(self, windows: MarketWindows | WindowStream, chunk_rows: int | None = None,
                    workers: int = 1) -> np.ndarray:
        """The model's outputs (float64) for every window, ``chunk_rows`` at a time (by default
        :func:`forecast_block` windows): a stream's inputs are gathered a block at a time, so
        they, and ONNX Runtime's working memory for the block, are one block's (``workers`` of
        them at once, each on a thread of its own: gathering and ONNX Runtime release the GIL;
        the outputs are the same, in order, whatever the number)."""
        step = max(1, int(chunk_rows if chunk_rows is not None else forecast_block(self._market())))
        workers = check_count(workers, "workers", low=1, high=256, fix="One worker per core is the most that helps.")
        starts = range(0, len(windows), step)
        if workers > 1 and len(starts) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(workers, len(starts)), thread_name_prefix="finlite-forecast") as pool:
                parts = list(pool.map(lambda i: self._run_windows(windows.block(i, i + step)), starts))
        else:
            parts = [self._run_windows(windows.block(i, i + step)) for i in starts]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float64)

    @overload
    def _windows(self, history: Any, source: str | None, last_only: bool = ...,
                 stream: Literal[False] = ...) -> MarketWindows: ...

    @overload
    def _windows(self, history: Any, source: str | None, last_only: bool = ..., *,
                 stream: Literal[True]) -> WindowStream: ...

    def _windows(self, history: Any, source: str | None, last_only: bool = False,
                 stream: bool = False) -> MarketWindows | WindowStream:
        """The scaled windows of ``history`` (with ``last_only``, each asset's last one; with
        ``stream``, every window as a :class:`~finlite.data.market.WindowStream`, its inputs
        gathered a block at a time): a dict of lists that :meth:`_fast_arrays` has checked skips
        read_prices' parsing; anything else goes through :func:`finlite.data.market.read_prices`
        (the reference, whose errors name the value)."""
        market = self._market()
        arrays = self._fast_arrays(history) if isinstance(history, Mapping) else None
        if arrays is None:
            # The reader's advice for a short history ("use a shorter window (--window)") is the
            # trainer's: a deployed model's window is fixed (a review, 2026-12-04).
            table = market.table(self._history(history), source or "the price history",
                                 fixed_window="The model's window is fixed", content_hash=False)
        else:
            import pandas as pd  # loaded already: finlite.data.market imports it

            spec = market.spec
            frame = pd.DataFrame({name: values.astype("datetime64[ns]") if name == spec.date_column else values
                                  for name, values in arrays.items()})
            table = self._m.PriceTable(frame, source or "the price history", None, "", [])
        if stream:
            if last_only:  # a stream is of every window; the last ones are few: windows() holds them
                raise ConfigError("_windows: last_only and stream are not taken together.")
            return market.window_stream(table)
        return market.windows(table, last_only=last_only)

    def _served_block(self, history: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        """A dict of lists read without pandas: its dates (int64 days since 1970-01-01) and its
        value columns (float64, one row per column of :attr:`_value_columns`: the history's after
        the date, but the id), or None when anything could be read differently by (or be refused
        by) ``read_prices``.

        Taken only when every value (of every row) is of a type both read alike: one asset
        (a panel's model: every row's id the same plain text, printable ASCII without surrounding
        spaces), exactly the spec's columns, ``YYYY-MM-DD`` dates strictly increasing, plain
        numbers, finite, prices above zero and volumes not below, and at least ``warmup + 1``
        rows. Anything else goes to ``read_prices``, which is the reference: its results and its
        errors are the ones returned.
        """
        market = self._market()
        spec = market.spec
        columns = self._history_columns
        if len(history) != len(columns):
            return None
        raw_dates = history.get(spec.date_column)
        if type(raw_dates) is not list or len(raw_dates) <= int(market.warmup):
            return None
        n = len(raw_dates)
        if spec.id_column is not None:
            # One asset's history, its id written one plain way: read_prices reads it as it is
            # (a panel's model answered 5 ms a forecast through it: a quant's walk-through).
            ids = history.get(spec.id_column)
            if type(ids) is not list or len(ids) != n or not _one_plain_id(ids):
                return None
        # Every value (not only the rows the window reads) is checked as read_prices would: a bad
        # value anywhere goes to read_prices, which names it. The dates in one compiled pass:
        # exactly YYYY-MM-DD, real dates in the range read_prices takes, strictly increasing
        # (else read_prices sorts them, or names the duplicate or the bad one).
        dates = self._m.served_days(raw_dates)
        if dates is None:
            return None
        lists = [history.get(name) for name in self._value_columns]
        for values in lists:
            if type(values) is not list or len(values) != n or not _NUMBER_TYPES.issuperset(map(type, values)):
                return None
        try:
            block = np.array(lists, dtype=np.float64)  # every value column in one conversion
        except OverflowError:
            return None  # an int beyond float64: read_prices decides
        if not self._m.served_values(block, self._volume_row):  # finite, prices > 0, volumes >= 0
            return None
        return dates.view(np.int64), block

    def _served_frame(self, frame: Any) -> tuple[np.ndarray, np.ndarray, str, Any] | None:
        """A DataFrame history read as :meth:`_served_block` reads a dict of lists: its dates (int64
        days), its value block, the last date as ISO text and the asset's id (None without an id
        column); or None where ``read_prices`` might read it otherwise or refuse it.

        Taken when the frame has the spec's columns (others are not read, but checked as
        ``read_prices`` checks them: text names, no column of Python objects, price-named ones
        plain numbers above zero), its dates are typed (numpy datetime64, with or without a time
        zone: ``read_prices`` takes the wall-clock day) or ``YYYY-MM-DD`` text,
        strictly increasing within FIRST_DATE to LAST_DATE (text: objects or pandas' strings), its
        value columns have a plain numpy integer or float type (no objects, booleans or pandas'
        nullable types) with every value as :meth:`_served_block` asks, and a panel's id column
        holds one plain text id. A DataFrame of the last rows took about 3.5 ms a forecast through
        ``read_prices``, about 0.1 ms this way (2026-12-06)."""
        market = self._market()
        spec = market.spec
        columns = frame.columns
        if columns.nlevels != 1 or not columns.is_unique or len(frame) <= int(market.warmup):
            return None
        # Other columns as read_prices takes them (a review, 2026-12-06, found an 'open' of 0.0, a
        # column named 1 and a column of lists answered here and refused there): every name text;
        # a column of Python objects (whose cells it checks) goes the reference way; a price-named
        # one (open, high, low, adj close) must hold plain numbers, finite and above zero.
        if any(type(c) is not str for c in columns) or not set(self._history_columns) <= set(columns):
            return None
        prices = []
        for name in columns:
            if name in self._history_columns:
                continue
            dtype = frame[name].dtype
            if isinstance(dtype, np.dtype) and dtype.kind == "O":
                return None
            if name.strip().lower() in self._m._PRICE_NAMES:
                if not isinstance(dtype, np.dtype) or dtype.kind not in "iuf":
                    return None
                prices.append(frame[name].to_numpy(dtype=np.float64))
        if prices and not self._m.served_values(np.vstack(prices), -1):
            return None
        raw = frame[spec.date_column]
        pandas = sys.modules["pandas"]
        if isinstance(raw.dtype, (np.dtype, pandas.DatetimeTZDtype)) and raw.dtype.kind == "M":
            # As read_prices reads them: the wall-clock time, in the column's own unit (a date of 2300
            # in seconds is beyond nanoseconds, and is refused there by name, not overflowed here).
            # Arrow-backed dates (read_parquet(dtype_backend="pyarrow")) go the reference way.
            stamps = raw.dt.tz_localize(None) if isinstance(raw.dtype, pandas.DatetimeTZDtype) else raw
            days = stamps.to_numpy().astype("datetime64[D]")
            number = days.view(np.int64)
            if np.isnat(days).any() or number[0] < self._m._FIRST_DAY or number[-1] > self._m._LAST_DAY \
                    or (len(number) > 1 and not (np.diff(number) > 0).all()):
                return None
        elif _text_dtype(raw.dtype):
            read = self._m.served_days(raw.tolist())
            if read is None:
                return None
            days = read
        else:
            return None
        ident = None
        if spec.id_column is not None:
            ids = frame[spec.id_column]
            if not _text_dtype(ids.dtype) or not _one_plain_id(ids.tolist()):
                return None
            ident = ids.iloc[0]
        block = np.empty((len(self._value_columns), len(frame)), dtype=np.float64)
        for row, name in enumerate(self._value_columns):
            column = frame[name]
            if not isinstance(column.dtype, np.dtype) or column.dtype.kind not in "iuf":
                return None
            block[row] = column.to_numpy(dtype=np.float64)
        if not self._m.served_values(block, self._volume_row):  # finite, prices > 0, volumes >= 0
            return None
        return days.view(np.int64), block, str(np.datetime_as_string(days[-1], unit="D")), ident

    def _fast_arrays(self, history: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
        """:meth:`_served_block` as columns (dates as datetime64[D]), or None as there (and for a
        panel's model, whose histories go through read_prices here)."""
        if self._market().spec.id_column is not None:
            return None
        read = self._served_block(history)
        if read is None:
            return None
        days, block = read
        columns = self._history_columns
        out: dict[str, np.ndarray] = {columns[0]: days.view("datetime64[D]")}
        for i, name in enumerate(columns[1:]):
            out[name] = block[i]
        return out

    def _history(self, history: Any) -> Any:
        """``history`` if it is a form a price history may take (DataFrame, dict of lists, PriceTable)."""
        if isinstance(history, (Mapping, self._m.PriceTable)) or _is_frame(history):
            return history
        spec = self._market().spec
        raise DataError(f"A price history is a pandas DataFrame or a dict of lists (column name to values, e.g. "
                        f"{{'{spec.date_column}': [...], '{spec.target}': [...]}}); got {type(history).__name__}.",
                        param="history")

    def forecast_all(self, history: Any, source: str | None = None) -> dict[str, np.ndarray]:
        """One forecast per date of ``history`` that has enough rows before it, each from rows up
        to that date only (the features are causal).

        ``history`` is a pandas DataFrame or a dict of lists (``{"date": [...], "close": [...],
        ...}``) with the columns of :attr:`fields`; dates are parsed and checked as in training
        (a duplicate or unparsable date, text or a non-positive price are refused, naming the
        column, date and value). Returns columns as numpy arrays: ``date`` (datetime64[D]), the
        id column when the spec has one, ``horizon`` (int32; ``forecast_horizon`` when the id
        column is named horizon), ``forecast`` (see :meth:`metadata`: the log return,
        the realised volatility, the price level, or P(up)), ``last_price``; for the price
        objective also ``log_change``; for direction ``probability`` and ``decision`` (1 = up,
        at the cut-off).

        Raises:
            DataError: the history is refused, or has fewer rows than the model needs
                (``market.warmup`` + 1).
            ScoreError: the model returned a NaN or infinite forecast; nothing is returned.
        """
        return self.forecast_windows(self._windows(history, source, stream=True), source=source)

    def forecast_windows(self, windows: MarketWindows | WindowStream, *, source: str | None = None,
                         chunk_rows: int | None = None, workers: int = 1) -> dict[str, np.ndarray]:
        """The columns of :meth:`forecast_all` for windows already built by the artifact's
        :class:`~finlite.data.market.MarketPreprocessor` (``windows``, or ``window_stream``:
        the model runs ``chunk_rows`` windows at a time, by default :func:`forecast_block`, each
        block of a stream gathered then; ``workers`` blocks at once, each on a thread of its own).

        Raises:
            DataError: the windows have another shape than the model takes.
            ScoreError: the model returned a NaN or infinite forecast; nothing is returned.
        """
        market = self._market()
        scores = self._run_stream(windows, chunk_rows, workers)
        check_scores(scores, source or "the price history", unit="forecast", first=0, probability=self._bounded)
        columns: dict[str, np.ndarray] = self._m.forecast_columns(market.spec, windows, scores, self.decision_cutoff)
        return columns

    def forecast(self, history: Any, source: str | None = None, *, notes: bool = False) -> dict[str, Any]:
        """The forecast for the last date of ``history`` (one asset), as plain Python values:
        ``date`` (ISO text), the id when the spec has an id column, ``forecast``, ``last_price``,
        ``horizon``, and ``log_change`` (price) or ``probability`` and ``decision`` (direction).

        ``history`` is as for :meth:`forecast_all`; it needs at least ``market.warmup`` + 1 rows
        (more are fine: only the last window is used for the result).

        With ``notes=True`` the answer also holds ``notes``, the warnings ``finlite serve`` answers
        with (an empty list on a plain history): business days missing or rows on a weekend, a
        price that moves more than tenfold from one date to the next, a split-like move, a run of
        the very same price (a stale feed, a halt), a volume of 0, a volatility forecast below 0
        (:func:`finlite.data.market.history_notes`). The forecast is the same either way; a history
        given as a read ``PriceTable`` brings the notes its reading made.

        Raises:
            DataError: as :meth:`forecast_all`; also when the history holds several assets
                (use :meth:`forecast_all`, or pass one asset's rows).
            ScoreError: the model returned a NaN or infinite forecast.
        """
        check_flags("Predictor.forecast", notes=notes)
        answer = self._forecast_last(history, source)
        if notes:
            answer["notes"] = self._history_notes(history, answer["forecast"])
        return answer

    def _history_notes(self, history: Any, forecast: float) -> list[str]:
        """:meth:`forecast`'s ``notes`` for a history it accepted."""
        market = self._market()
        spec = market.spec
        said = self._m.impossible_forecast_notes(spec.objective, np.array([forecast]))
        if isinstance(history, self._m.PriceTable):
            return [*history.notes, *said]
        # The price columns (volume may well jump tenfold in a day: only its zeros are told).
        priced = [c for c in (spec.target, *spec.extra_columns, spec.volume_column) if c is not None and c in history]
        return [*self._m.history_notes(history[spec.date_column], market, {c: history[c] for c in priced}), *said]

    def _forecast_last(self, history: Any, source: str | None) -> dict[str, Any]:
        """:meth:`forecast` without its notes."""
        market = self._market()
        if isinstance(history, dict):  # a dict of lists: the batch-1 fast path when it applies
            fast = self._forecast_one(history, source)
            if fast is not None:
                return fast
        elif _is_frame(history):  # a DataFrame of the last rows: the same path, when it applies
            framed = self._served_frame(history)
            if framed is not None:
                fast = self._forecast_read(framed[0], framed[1], framed[2], framed[3], source)
                if fast is not None:
                    return fast
        # Any other history, or a window the fast path found not finite: through the reference
        # path (whose errors name the date and value), the last window answered; its rows alone
        # are checked, as on the fast path.
        id_column = market.spec.id_column
        if id_column is not None:
            # Several assets are refused before any of them is read into windows: an error about
            # another asset's rows sent the caller to fix data it need not send (a review, 2026-12-06).
            several = DataError(f"{source or 'The price history'} holds several assets (column {id_column!r}); "
                                "forecast() answers for one asset. Pass one asset's rows, or use forecast_all().",
                                param="history")
            try:
                history = market.table(self._history(history), source or "the price history",
                                       fixed_window="The model's window is fixed", content_hash=False)
            except DataError:
                # The reader refuses another asset's short rows first, which sent the caller to fix
                # data it need not send (a cross-path fuzz, 2026-12-07): several ids are said as that.
                if _several_ids(history, id_column):
                    raise several from None
                raise
            if len(history.assets(market.spec.date_column, id_column)) > 1:
                raise several
        result = self.forecast_windows(self._windows(history, source, last_only=True), source=source)
        n = len(result["date"])
        if n == 0:
            raise DataError(f"{source or 'The price history'} has too few rows to forecast: the model needs "
                            f"{int(market.warmup) + 1} consecutive dates (window {market.spec.window} plus the "
                            "history its features need). Send more rows.", param="history")
        answer: dict[str, Any] = {"date": str(np.datetime_as_string(result["date"][-1], unit="D"))}
        if id_column is not None:
            answer[id_column] = str(result[id_column][-1])
        horizon = self._m.horizon_column(market.spec)
        for key, column in result.items():
            if key in ("date", id_column):
                continue
            answer[key] = int(column[-1]) if key in ("decision", horizon) else float(column[-1])
        return answer

    def _forecast_one(self, history: dict[str, Any], source: str | None) -> dict[str, Any] | None:
        """:meth:`forecast` of a dict of lists that :meth:`_served_block` reads: the batch-1 fast
        path, or None where it does not apply (the reference path then answers, or raises its error).

        The window is scaled straight into this thread's input buffer, bound once to the ONNX
        session, by one compiled call (``MarketPreprocessor._fill_window``),
        and the answer is built from plain floats: no MarketWindows, no result columns. The date
        is the history's last date as sent (``YYYY-MM-DD``, as ``served_days`` checked: the text
        ``np.datetime_as_string`` would give). The numbers are the same, bit for bit, as the last
        row of :meth:`forecast_all`. None also when the window holds a value that is not finite,
        beyond float32 once scaled, or far beyond a feature's training range.
        """
        read = self._served_block(history)
        if read is None:
            return None
        spec = self._market().spec
        date = history[spec.date_column][-1]
        if type(date) is not str:
            date = str(date)  # a numpy.str_ (a list of numpy's text): the reference path answers a str
        ident = history[spec.id_column][0] if spec.id_column is not None else None  # the one id (_one_plain_id)
        return self._forecast_read(read[0], read[1], date, ident, source)

    def _forecast_read(self, days: np.ndarray, block: np.ndarray, date: str, ident: Any,
                       source: str | None) -> dict[str, Any] | None:
        """The batch-1 forecast of a history read into ``days`` and ``block`` (:meth:`_served_block`,
        :meth:`_served_frame`), answered for ``date`` (its last date, ISO text) and asset ``ident``;
        None where the window is refused (the reference path then answers or names the value)."""
        market = self.market
        slot = getattr(self._local, "market_slot", None)
        if slot is None:
            slot = self._local.market_slot = _MarketSlot(self, market)  # type: ignore[arg-type]
        start = len(days) - slot.rows
        prices = block[self._target_row, start:]  # C-contiguous views of the rows the window reads
        volume = block[self._volume_row, start:] if self._volume_row >= 0 else self._m._NO_VALUES
        extras = block[self._extra_rows, start:] if len(self._extra_rows) else self._m._NO_EXTRAS
        if not market._fill_window(prices, days[start:], volume, extras, slot.window):  # type: ignore[union-attr]
            return None  # refused by the reference path, which names the feature, date and value
        _run_bound(self.session, slot.binding)
        score = float(slot.out[0, 0])
        if score - score != 0.0 or (self._bounded and not 0.0 <= score <= 1.0):  # the reference path's ScoreError
            check_scores(np.array([score]), source or "the price history", unit="forecast", first=0,
                         probability=self._bounded)
        last_price = float(prices[-1])
        answer: dict[str, Any] = {"date": date}
        if slot.id_column is not None:
            answer[slot.id_column] = ident
        answer[slot.horizon_key] = slot.horizon
        if slot.price_level:
            answer["forecast"] = float(self._m.to_price_level(np.array([score]), prices[-1:], [date])[0])
            answer["log_change"] = score
        else:
            answer["forecast"] = score
        answer["last_price"] = last_price
        if slot.cutoff is not None:
            answer["probability"] = score
            answer["decision"] = int(score >= slot.cutoff)
        return answer

    # -- DataFrames -------------------------------------------------------------------------------
    def _encode_frame(self, frame: Any, source: str) -> np.ndarray:
        """A DataFrame's rows encoded by the runtime encoder, equal to the pandas Preprocessor's.

        A few rows go through the one-record path, more through Arrow (``encode_arrow``: one
        vectorised pass per column). Where pandas and those paths could read a column differently
        (text in a numeric column, numbers stored as objects in a categorical one, a type neither
        path reads, duplicate names), and whenever a value is refused, the pandas Preprocessor
        encodes the frame instead: its results are the reference, and its errors name the
        DataFrame's own row labels.
        """
        if frame.columns.nlevels > 1:  # a MultiIndex: ('a', 'b') names no field, in any path
            raise DataError(f"The columns of {source} have {frame.columns.nlevels} levels; give one name per column "
                            "(e.g. frame.columns = ['_'.join(map(str, c)) for c in frame.columns]).")
        if frame.columns.is_unique:
            x = self._encode_small_frame(frame) if len(frame) <= _SMALL_FRAME else None
            if x is None:  # many rows, or a type the record path does not read as pandas does
                x = self._encode_arrow_frame(frame)
            if x is not None:
                return x
        self._refuse_frame_blanks(frame, source)
        self._refuse_empty_rows(frame, source)
        encoded: np.ndarray = self._frame_encoder().transform(frame, source)
        return encoded

    def _refuse_empty_rows(self, frame: Any, source: str) -> None:
        """Before the reference (pandas) encoder, which imputes: refuse a row blank (NaN, None,
        empty or blank text) in every field the model reads, naming its row label, as the record
        and Arrow paths refuse it (:data:`finlite.runtime.encoder.EMPTY_RECORD`)."""
        enc = self._encoder
        fields = [f for f in (enc.fields if enc is not None else ()) if f in frame.columns]
        if enc is None or enc.blanks_learned or len(fields) < 2 or len(fields) < len(enc.fields):
            return  # a missing column is refused by the encoder, naming it
        from finlite.runtime.encoder import EMPTY_RECORD

        empty = np.ones(len(frame), dtype=bool)
        for name in fields:
            empty &= _blank_cells(frame[name], source)
            if not empty.any():
                return
        rows = np.flatnonzero(empty)
        more = f" (and {rows.size - 1} more row(s))" if rows.size > 1 else ""
        raise DataError(f"Row label {_label(frame.index[rows[0]])}{more} of {source}: {EMPTY_RECORD}.")

    def _refuse_frame_blanks(self, frame: Any, source: str) -> None:
        """With ``no_impute``, before the reference (pandas) encoder, which imputes: refuse a blank
        (NaN, None, empty or blank text) in a field training never saw blank, naming the column and
        the DataFrame's row label, as the record and Arrow paths refuse it."""
        enc = self._encoder
        if enc is None or not enc.no_impute:
            return
        from finlite._keys import MISSING

        learned = {name for name, *_, ind in enc.numeric if ind >= 0}  # a missing indicator: blanks were learned
        keys: dict[str, Mapping[str, Any]] = {c[0]: c[1] for c in enc.categorical}
        keys.update((v[0], v[1]) for v in enc.valued)
        for name in enc.fields:
            if name not in frame.columns or name in learned or (name in keys and MISSING in keys[name]):
                continue
            rows = np.flatnonzero(_blank_cells(frame[name], source))
            if rows.size:
                more = f" (and {rows.size - 1} more row(s))" if rows.size > 1 else ""
                raise DataError(f"Column {name!r} of {source} is blank at row label {_label(frame.index[rows[0]])}{more}, and "
                                "training never saw it blank: with no_impute a value the model has not learned is "
                                "refused, not scored with the training median or the unseen category. Fill the value.")

    def _encode_small_frame(self, frame: Any) -> np.ndarray | None:
        """One record per row through ``Encoder.fill``, when every value has a type whose reading
        is the same in the record path and in pandas; None otherwise (or on any refused value)."""
        enc = self.encoder
        columns = frame.columns
        cached = self._columns
        if cached[0] is columns:  # rows cut from one DataFrame share its (immutable) column Index
            names = cached[1]
        else:
            # Listing an Index of (Arrow-backed) text costs about as much as encoding the row.
            names = list(columns)
            self._columns = (columns, names)
        if not self._field_set.issubset(names):
            return None  # pandas names the missing column (even in an empty frame)
        out = np.zeros((len(frame), enc.n_features), dtype=np.float32)
        numeric_kinds: dict[str, bool] = {}
        for i in range(len(frame)):
            record = dict(zip(names, frame.iloc[i].tolist(), strict=True))
            for name, *_ in enc.numeric:
                value = record.get(name, _ABSENT)
                kind = type(value)
                # Numbers (not booleans: pandas reads a boolean column as 0/1, a record refuses it)
                # and gaps; text goes to pandas, whose parse ("nan" is refused there) is the reference.
                if not (kind is float or kind is int or value is None or kind in _NP_NUMBERS):
                    return None
            for name in enc.category_fields:
                value = record.get(name, _ABSENT)
                kind = type(value)
                if kind is str or value is None or kind is bool or kind is np.bool_:
                    continue
                if kind is float and value != value:
                    continue  # NaN: missing in either reading
                if kind is int or kind is float or kind in _NP_NUMBERS:
                    # A number is a code read like 3 == 3.0 only in a numeric column; in an object
                    # column pandas reads its text ("3.0"), so that case goes to pandas.
                    if name not in numeric_kinds:
                        numeric_kinds[name] = frame[name].dtype.kind in "iuf"
                    if numeric_kinds[name]:
                        if kind is float and abs(value) >= _EXACT_FLOAT and frame[name].dtype.kind in "iu":
                            # A row of numbers of several types is one float Series: an integer code
                            # above 2**53 came out as another code. Read from its own column.
                            record[name] = frame[name].iat[i]
                        continue
                return None
            try:
                enc.fill(record, out[i])
            except DataError:
                return None
        return out

    def _encode_arrow_frame(self, frame: Any) -> np.ndarray | None:
        """The frame's feature columns as an Arrow table through ``Encoder.encode_arrow``, when
        each column's Arrow type reads as pandas reads it; None otherwise (or on a refused value)."""
        table = self._arrow_frame(frame)
        if table is None:
            return None
        enc = self.encoder
        try:
            n = table.num_rows
            parts = min(self._threads, n // _PARALLEL_ROWS)
            if parts < 2:
                return enc.encode_arrow(table, source="the DataFrame")
            # Arrow's kernels and numpy's large loops release the GIL: each thread encodes its own
            # rows straight into its slice of one matrix.
            out = np.empty((n, enc.n_features), dtype=np.float32)
            bounds = [n * k // parts for k in range(parts + 1)]

            def encode(k: int) -> None:
                start, stop = bounds[k], bounds[k + 1]
                enc.encode_arrow(table.slice(start, stop - start), first_row=start + 1, source="the DataFrame",
                                 out=out[start:stop])

            list(self._pool().map(encode, range(parts)))
            return out
        except DataError:
            return None

    def _score_arrow_frame(self, frame: Any) -> np.ndarray | None:
        """The model's outputs (float32) for a DataFrame's rows, encoded through Arrow and scored a
        cache-sized block at a time (:func:`score_blocks`) instead of encoding the whole matrix
        first; None where :meth:`_encode_arrow_frame` would give None (the caller then takes the
        reference path, which also names a refused value). Each calling thread keeps its block
        (4 MiB; 1,024 rows of a wider model) for the Predictor's lifetime.

        Raises:
            ScoreError: the model returned another number of scores than rows.
        """
        table = self._arrow_frame(frame)
        if table is None:
            return None
        enc = self.encoder
        n = table.num_rows
        if n >= _native.WORTH_ROWS:  # a Predictor scoring frames this large compiles the block fill once
            _native.compile_in_background()
        parts = max(1, min(self._threads, n // _PARALLEL_ROWS))
        bounds = [n * k // parts for k in range(parts + 1)]

        def prepare(k: int) -> ArrowRows:
            start, stop = bounds[k], bounds[k + 1]
            return enc.prepare_arrow(table.slice(start, stop - start), first_row=start + 1, source="the DataFrame")

        try:
            # The columns (text hashed into categories, numbers checked) are read on the threads:
            # Arrow's kernels and numpy's large loops release the GIL. The blocks are then scored
            # on this thread: the session already runs each call on its ``threads`` threads, and
            # calls from several threads at once contend for them (slower, measured).
            prepared = [prepare(0)] if parts == 1 else list(self._pool().map(prepare, range(parts)))
            buffer = getattr(self._local, "block", None)  # this thread's reusable block of encoded rows
            if buffer is None:
                buffer = self._local.block = block_buffer(enc.n_features)
            scores = [score_blocks(part, self.session, buffer, "the DataFrame", first=start + 1, output=self._output,
                                   finite=False) for part, start in zip(prepared, bounds[:-1], strict=True)]
            result = scores[0] if parts == 1 else np.concatenate(scores)
            # every bad row of the DataFrame in one message (1-based rows)
            check_scores(result, probability=self._bounded)
            return result
        except ScoreError:  # a DataError too, but a bad score is refused, not retried by the reference path
            raise
        except DataError:
            return None

    def _arrow_frame(self, frame: Any) -> Any:
        """The frame's feature columns as an Arrow table, when each column's Arrow type reads as
        pandas reads it; None otherwise."""
        import pyarrow as pa

        enc = self.encoder
        fields = enc.fields
        for name in fields:
            # pyarrow 26 dies (SIGSEGV) converting an object column that holds a numpy datetime64
            # before a numpy float32 (a cross-path fuzz, 2026-12-07): an object column of anything
            # but text, numbers or booleans goes to pandas, which names the value. About 0.7 ms per
            # 100,000 cells of text, beside 3 ms for Arrow's own conversion of them.
            if name in frame.columns and isinstance(frame[name].dtype, np.dtype) and frame[name].dtype.kind == "O" and \
                    _pandas().api.types.infer_dtype(frame[name], skipna=True) not in _ARROW_SAFE_OBJECTS:
                return None
        try:
            # One thread: the columns are buffers handed over, and pyarrow's default thread pool for
            # them took 0.9 ms of a 100,000-row German frame's conversion against 0.4 ms without it.
            table = pa.Table.from_pandas(frame, columns=fields, preserve_index=False, nthreads=1)
        except (KeyError, TypeError, ValueError, OverflowError, pa.ArrowException):
            return None  # mixed objects, an int beyond int64, a type Arrow does not convert: pandas decides
        if table.num_columns != len(fields):
            return None  # from_pandas skips a missing column; pandas names it
        categorical = set(enc.category_fields)
        dtypes = frame.dtypes
        for name, column in zip(fields, table.columns, strict=True):
            kind = column.type
            if pa.types.is_dictionary(kind):
                if name not in categorical or not (pa.types.is_string(kind.value_type)
                                                   or pa.types.is_large_string(kind.value_type)):
                    return None
            elif name in categorical:
                if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind) \
                        or pa.types.is_boolean(kind):
                    continue
                # Numbers as category codes: 3 and 3.0 agree only when pandas holds a numeric column.
                if not ((pa.types.is_integer(kind) or pa.types.is_floating(kind)) and dtypes[name].kind in "iuf"):
                    return None
            elif dtypes[name].kind == "O":
                # An untyped (object) column of a numeric field: Arrow converts a boolean among
                # floats to 1.0/0.0 without a word (a review, 2026-12-03), which pandas' path and
                # every record path refuse. pandas decides what such a column holds.
                return None
            elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)
                      or (pa.types.is_boolean(kind) and (dtypes[name].kind == "b" or str(dtypes[name]) == "boolean"))):
                # Text (money, numbers written as text), decimals, dates: pandas reads them. So is an
                # untyped (object) column Arrow saw only booleans in: pandas refuses a boolean among
                # numbers, which this path scored as 1/0 when a slice held nothing else (a review,
                # 2026-12-03); a column typed bool stays 1/0.
                return None
        return table

    def _pool(self) -> Any:
        if not hasattr(self, "_executor"):
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="finlite-encode")
        return self._executor

    def _frame_encoder(self) -> Any:
        # A DataFrame means pandas is loaded already, so the training Preprocessor (pandas) is free.
        if not hasattr(self, "_preprocessor"):
            from finlite.data.preprocess import Preprocessor

            self._preprocessor = Preprocessor.from_dict(self._spec, str(self.path / "preprocessor.json"))
        return self._preprocessor


def report_status(predictor: Predictor) -> tuple[str, str] | None:
    """The verdict of the artifact's validation report (its verified ``report.json``:
    :func:`finlite._verdict.report_verdict`), or None for an artifact without one (a teacher) or a
    report that records none: what ``serve`` and ``score`` warn of when it is not PASS."""
    from finlite._manifest import parse_json_bytes, read_listed
    from finlite._verdict import report_verdict

    known = predictor.__dict__.get("_report_status", _UNREAD)  # read once: a scoring run asks twice
    if known is not _UNREAD:
        return known  # type: ignore[no-any-return]
    verdict = None
    if "report.json" in (predictor.manifest.get("files") or {}):
        verdict = report_verdict(parse_json_bytes(read_listed(predictor.path, predictor.manifest, "report.json"),
                                                  str(predictor.path / "report.json"), "validation report"))
    predictor.__dict__["_report_status"] = verdict
    return verdict


#: A cached value not read yet.
_UNREAD = object()


def report_status_warning(predictor: Predictor, where: str) -> str | None:
    """The line ``serve`` and ``score`` print when the artifact's validation report is not PASS
    (a warning on FAIL, a note on WARN), or None: one wording for both (they said it alike)."""
    verdict = report_status(predictor)
    if verdict is None or verdict[0] == "PASS":
        return None
    return (f"{'warning' if verdict[0] == 'FAIL' else 'note'}: {where}'s validation report is {verdict[0]} "
            f"({verdict[1]}; report.html, MODEL_CARD.md): read it before relying on these "
            f"{'decisions' if predictor._task.decides else 'forecasts'}.")


def _blank_cells(column: Any, source: str = "the DataFrame") -> np.ndarray:
    """Which cells of a DataFrame column are blank: NaN, None, NA, or empty or blank text (a
    writable array: pandas 3 may hand back a view).

    Raises:
        DataError: a cell no test of blankness can read (a signalling ``Decimal("sNaN")``, whose
            comparison raised decimal's InvalidOperation as a traceback: a cross-path fuzz,
            2026-12-07), naming the column and the row.
    """
    try:
        blank: np.ndarray = column.isna().to_numpy(dtype=bool, copy=True)
    except ArithmeticError:  # decimal.InvalidOperation
        from finlite._finite import frame_row

        values = column.tolist()
        at = next((i for i, v in enumerate(values) if isinstance(v, Decimal) and v.is_snan()), None)
        if at is None:
            raise DataError(f"Column {column.name!r} of {source} holds a value that cannot be compared (no test of "
                            "a blank reads it); write the column as plain values.") from None
        raise DataError(f"Column {column.name!r} of {source} holds {values[at]!r} at {frame_row(column.index, at)}, a "
                        "signalling NaN that is no number; send a number, or null for an unknown value.") from None
    pandas = _pandas()
    if _text_dtype(column.dtype) or isinstance(column.dtype, pandas.CategoricalDtype):
        # Objects, text (an Arrow string_view's dtype has no .kind, nor pandas a tolist() for it),
        # and a category column's cells, whose blank text is as blank as an object column's.
        values = column.astype(object).tolist() if isinstance(column.dtype, pandas.CategoricalDtype) else \
            _arrow_text(column.array.__arrow_array__()) if isinstance(column.dtype, pandas.ArrowDtype) else \
            column.tolist()
        blank |= np.array([isinstance(v, str) and not v.strip() for v in values], dtype=bool)
    return blank


def _arrow_text(array: Any) -> list[Any]:
    """An Arrow text array's (or chunked array's, or dictionary's) values as Python strings."""
    import pyarrow as pa

    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
    values: list[Any] = array.cast(pa.large_string()).to_pylist()
    return values


def _text_dtype(dtype: Any) -> bool:
    """Whether a DataFrame column of ``dtype`` holds Python objects or text (pandas' ``str``, the
    default for text from pandas 3, or an Arrow-backed string: ``dtype_backend="pyarrow"``): its
    values read back as Python strings where they are text. An Arrow-backed text column was not
    looked into, so a row of blank text scored, and a blank passed ``no_impute`` (a cross-path
    fuzz, 2026-12-07)."""
    pandas = sys.modules.get("pandas")
    if isinstance(dtype, np.dtype):
        return dtype.kind == "O"
    if pandas is None:
        return False
    if isinstance(dtype, pandas.StringDtype):
        return True
    if isinstance(dtype, pandas.ArrowDtype):
        import pyarrow as pa

        kind = dtype.pyarrow_dtype
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))
    return False


#: What pandas may infer an object column to hold for Arrow to convert it (:meth:`Predictor._arrow_frame`).
_ARROW_SAFE_OBJECTS = frozenset({"string", "empty", "integer", "floating", "mixed-integer-float", "boolean"})


def _pandas() -> Any:
    import pandas

    return pandas


def _several_ids(history: Any, column: str) -> bool:
    """Whether a history (a DataFrame or a dict of lists) names more than one asset in ``column``,
    its ids read as text, stripped, blanks left out."""
    from finlite._keys import is_missing_marker

    try:
        values = history[column]
        ids = values.tolist() if hasattr(values, "tolist") else list(values)
        texts = {str(v).strip() for v in ids if not (v is None or is_missing_marker(v)
                                                    or (isinstance(v, float) and math.isnan(v)))}
    except (KeyError, TypeError, IndexError, ValueError):  # no such column, or a cell no text reads
        return False
    texts.discard("")
    return len(texts) > 1


def _label(value: Any) -> str:
    """A row label as a message shows it: 40, not numpy 2's ``np.int64(40)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _is_frame(value: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


class _Slot:
    """One thread's input and output buffers, bound once to the session (ONNX Runtime IOBinding)."""

    def __init__(self, session: Any, n_features: int, output: str = "probability") -> None:
        import onnxruntime as ort

        self.session = session
        self.row = np.zeros((1, n_features), dtype=np.float32)
        self.flat = self.row.reshape(-1)
        self.view = self.flat.data  # item writes through a memoryview skip numpy's scalar path
        self.out = np.zeros((1, 1), dtype=np.float32)
        self.binding = session.io_binding()
        self.binding.bind_ortvalue_input("x", ort.OrtValue.ortvalue_from_numpy(self.row))
        self.binding.bind_ortvalue_output(output, ort.OrtValue.ortvalue_from_numpy(self.out))

    def run_vector(self, x: np.ndarray) -> np.ndarray:
        self.row[0] = x[0]
        _run_bound(self.session, self.binding)
        return self.out.reshape(-1).copy()


def score_blocks(prepared: ArrowRows, session: Any, buffer: np.ndarray, source: str, *,
                 first: int = 1, output: str = "probability", finite: bool = True) -> np.ndarray:
    """The model's ``output`` (float32) for every row of a prepared batch
    (:meth:`finlite.runtime.encoder.Encoder.prepare_arrow`), encoded into ``buffer`` (float32,
    ``(block rows, n_features)``: :func:`finlite.runtime._fastenc.block_buffer`) and scored a
    block at a time, every score checked to be finite (``finite``; a caller that scores its input
    in several batches passes False and checks all the scores at once, so that one message lists
    every bad row). ``first`` is the row label of the batch's first row (its file row in batch
    scoring), for the messages.

    The rows are split into as few blocks as the buffer allows, of equal size to a row, so that
    no block is a sliver: a few rows in a call of their own could take another path in ONNX
    Runtime (its tree ensembles sum the trees in parallel for small calls).

    Raises:
        ScoreError: the model returned another number of scores than rows for a block (naming
            the block's rows), or a NaN or infinite score (naming the rows): no decision is
            made from it.
    """
    n = prepared.rows
    blocks = -(-n // len(buffer))  # 0 for no rows
    score = np.empty(n, dtype=np.float32)
    for k in range(blocks):
        lo, hi = n * k // blocks, n * (k + 1) // blocks  # at most len(buffer) rows
        x = buffer[:hi - lo]
        prepared.fill(x, lo, hi)
        part = session.run([output], {"x": x})[0].reshape(-1)
        if part.size != hi - lo:  # one score would broadcast over the block
            where = source if blocks == 1 else f"{source} (rows {first + lo:,} to {first + hi - 1:,})"
            check_score_count(part, hi - lo, where)
        score[lo:hi] = part
    if finite:  # fail closed: NaN >= cut-off is false, so a NaN would be written as "not flagged"
        check_scores(score, source, first=first, probability=output == "probability")
    return score


def _run_bound(session: Any, binding: Any) -> None:
    """One run into the slot's bound (1, 1) output. A graph that returns another shape for the
    row (a forged one: the interface check reads only declared shapes) makes ONNX Runtime raise
    its own RuntimeError; it is the ScoreError every other path raises for a wrong score count.
    (A try block costs nothing on the path where no exception is raised.)"""
    try:
        session.run_with_iobinding(binding)
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime's own classes
        raise ScoreError(f"The model did not return one score for the row ({type(exc).__name__}: {str(exc)[:200]}); "
                         "no decision was made. Re-export the artifact (finlite export) and check it with "
                         "'finlite inspect'.") from None


class _RecordSlot(_Slot):
    """A :class:`_Slot` with the tabular model's record encoder: one record in, one score out."""

    def __init__(self, session: Any, encoder: Encoder, output: str = "probability") -> None:
        super().__init__(session, encoder.n_features, output)
        self.encoder = encoder
        self.bounded = output == "probability"  # a classifier's score must lie in [0, 1]

    def run_record(self, record: Mapping[str, Any], imputed: list[str] | None = None,
                   outside: list[str] | None = None) -> tuple[float, list[str]]:
        self.flat.fill(0.0)
        unseen = self.encoder.fill(record, self.view, 0, None, imputed, outside)
        _run_bound(self.session, self.binding)
        score = float(self.out[0, 0])
        # NaN or ±inf (inf - inf is NaN), or a probability outside [0, 1]: float operations, no numpy
        if score - score != 0.0 or (self.bounded and not 0.0 <= score <= 1.0):
            raise record_score_error(score)
        return score, unseen


class _MarketSlot:
    """One thread's window buffer [1, window, features] and output, bound once to the session,
    and what the batch-1 path reads of the spec on every forecast, read once."""

    def __init__(self, predictor: Predictor, market: MarketPreprocessor) -> None:
        import onnxruntime as ort

        spec = market.spec
        self.x = np.zeros((1, spec.window, market.n_features), dtype=np.float32)
        self.window = self.x[0]  # what _fill_window writes: a view of the bound buffer
        self.out = np.zeros((1, 1), dtype=np.float32)
        self.binding = predictor.session.io_binding()
        self.binding.bind_ortvalue_input("x", ort.OrtValue.ortvalue_from_numpy(self.x))
        self.binding.bind_ortvalue_output(predictor._output, ort.OrtValue.ortvalue_from_numpy(self.out))
        self.rows = int(market.warmup) + 1  # the rows the last window's features read
        self.date_column = spec.date_column
        self.id_column = spec.id_column
        self.horizon_key = predictor._m.horizon_column(spec)
        self.horizon = int(spec.horizon)
        self.price_level = spec.objective == "price"
        self.cutoff = predictor.decision_cutoff


#: The largest error a recovered points total may carry, from the score's float32 precision, for
#: it to be given: beyond it the total is null, never a wrong whole number.
POINTS_ERROR = 0.1


def points_of(scores: np.ndarray, scale: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A scorecard's points totals from its scores (:attr:`Predictor.points_scale`), and the rows
    whose total cannot be recovered whole; their totals are 0 there. A float32 score near 0 or 1
    holds the log-odds only coarsely (its step near 1 is 6e-8, and ONNX Runtime's sigmoid is
    within about 1e-8 near 0): the error bound ``factor · max(step, 1e-8) / (p · (1 − p))`` must
    stay under :data:`POINTS_ERROR`, else totals came back whole but wrong (950 as 947: a review,
    2026-12-06). At 600 points for 50:1 and 20 to double the odds, that gives totals from about
    170 to 855."""
    offset, factor = scale
    p = np.asarray(scores, dtype=np.float64)
    step = np.maximum(np.spacing(np.abs(p).astype(np.float32)).astype(np.float64), 1e-8)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        raw = offset - factor * (np.log(p) - np.log1p(-p))
        bound = factor * step / (p * (1.0 - p))
        whole = np.round(raw)
        bad = (~np.isfinite(raw) | ~np.isfinite(bound) | (bound > POINTS_ERROR) | (np.abs(raw - whole) > 0.25)
               | (np.abs(whole) > np.iinfo(np.int32).max))
    return np.where(bad, 0, whole).astype(np.int64), bad
