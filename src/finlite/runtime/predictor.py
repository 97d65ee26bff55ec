"""The Predictor: an exported artifact scored through ONNX Runtime, without torch.

It reads the manifest (every file's sha256 checked), ``preprocessor.json`` and the exported
``model.onnx``, and scores raw records. One record takes the fast path: pure-Python encoding
into a vector, one ONNX Runtime call. Batches go through numpy (lists of dicts), pandas
(DataFrames) or Arrow (batch scoring of files).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from finlite._finite import check_scores, record_score_error
from finlite._manifest import parse_json_bytes, read_listed, read_verified
from finlite._spec import check_preprocessor_spec
from finlite.errors import ArtifactError, DataError
from finlite.runtime.encoder import Encoder

__all__ = ["Predictor"]

_VARIANTS = ("fp32", "int8")


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

    Raises:
        ArtifactError: the folder is not a verified artifact, or was not exported (yet).
    """

    def __init__(self, artifact: str | Path, *, variant: str = "fp32", threads: int = 1, verify_key: Any = None,
                 manifest_sha256: str | None = None) -> None:
        import onnxruntime as ort

        if variant not in _VARIANTS:
            raise ArtifactError(f"Unknown model variant {variant!r}; use 'fp32' or 'int8'.")
        root, manifest = read_verified(artifact, required=("preprocessor.json",), verify_key=verify_key,
                                       manifest_sha256=manifest_sha256)
        export = manifest.get("export", {})
        record = export.get("onnx_int8" if variant == "int8" else "onnx")
        if record is None:
            hint = "finlite export --int8" if variant == "int8" else "finlite export"
            raise ArtifactError(f"Artifact {str(root)!r} has no exported {variant} model; run '{hint} {root}' "
                                "first (it checks the ONNX model against the original on the test split).")
        self.path = root
        self.manifest = manifest
        self.variant = variant
        self.file = str(record.get("file") or record["same_as"])
        self.model_sha256 = manifest["files"][self.file]
        # Parse exactly the bytes that were hashed (read again, checked again: no swap in between).
        spec = parse_json_bytes(read_listed(root, manifest, "preprocessor.json"), str(root / "preprocessor.json"),
                                "preprocessor")
        try:
            check_preprocessor_spec(spec, str(root / "preprocessor.json"), manifest.get("schema"))
            self.encoder = Encoder(spec)
        except DataError as exc:
            raise ArtifactError(f"Artifact {str(root)!r} cannot be used: {exc}") from None
        self._spec = spec
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        if threads <= 1:
            # One thread needs no spinning workers; spinning burns a core between requests.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(read_listed(root, manifest, self.file), options,
                                            providers=["CPUExecutionProvider"])
        self._run = self.session.run
        self._outputs = ["probability"]
        self._local = threading.local()

    # -- what the artifact is ------------------------------------------------------------------
    @property
    def cutoff(self) -> float:
        """Decision threshold on P(positive): scores at or above it are decided positive."""
        return float(self.manifest["cutoff"])

    @property
    def schema(self) -> dict[str, Any]:
        """The training schema (target, classes, numeric and categorical fields)."""
        return self.manifest["schema"]

    @property
    def fields(self) -> list[str]:
        """Feature fields a record must carry, numeric first."""
        return list(self.encoder.fields)

    def metadata(self) -> dict[str, Any]:
        """What a caller needs to trust the scores: schema, categories, hashes, cut-off, metrics."""
        export = self.manifest.get("export", {})
        return {
            "artifact": self.path.name,
            "role": self.manifest.get("role"),
            "model": self.manifest.get("model"),
            "variant": self.variant,
            "model_file": self.file,
            "model_sha256": self.model_sha256,
            "manifest_sha256": self.manifest.get("manifest_sha256"),
            "cutoff": self.cutoff,
            "schema": {"target": self.schema["target"], "positive": self.schema["positive"],
                       "negative": self.schema["negative"], "numeric": list(self.schema["numeric"]),
                       "categorical": {c[0]: list(c[3]) for c in self.encoder.categorical},
                       "unseen_categories": "scored in the 'unseen' bucket learned in training, and reported"},
            "metrics": self.manifest.get("metrics", {}),
            "parity": {k: v.get("parity") for k, v in export.items() if isinstance(v, dict) and "parity" in v},
            "versions": self.manifest.get("versions", {}),
        }

    # -- scoring -----------------------------------------------------------------------------------
    def _slot(self) -> _Slot:
        slot = getattr(self._local, "slot", None)
        if slot is None:
            slot = self._local.slot = _Slot(self.session, self.encoder.n_features)
        return slot

    def score_vector(self, x: np.ndarray) -> np.ndarray:
        """P(positive) for already-encoded rows (float32, ``[rows, n_features]`` or one row).

        Raises:
            DataError: the rows have the wrong width or hold a non-finite value.
            ScoreError: the model returned a NaN or infinite score (``rows`` holds the 0-based
                positions); no decision is made from it.
        """
        if type(x) is not np.ndarray or x.dtype != np.float32 or x.ndim != 2:
            x = np.asarray(x, dtype=np.float32)
            x = x.reshape(1, -1) if x.ndim == 1 else x
        if x.shape[1] != self.encoder.n_features:
            raise DataError(f"Encoded rows have {x.shape[1]} values; this model takes {self.encoder.n_features}.")
        if not np.isfinite(x).all():
            r, c = (int(i) for i in np.argwhere(~np.isfinite(x))[0])
            raise DataError(f"Encoded row {r + 1} holds {float(x[r, c])!r} in column {c}; encoded inputs must be "
                            "finite. Encode raw records with the artifact's encoder, which refuses such values.")
        scores = self._slot().run_vector(x) if x.shape[0] == 1 else self._run(self._outputs, {"x": x})[0].reshape(-1)
        check_scores(scores)
        return scores

    def score_record(self, record: Mapping[str, Any]) -> float:
        """P(positive) of one raw record (a dict of field to value): the fast path.

        The record is encoded straight into an input buffer already bound to the ONNX session
        (one per thread), so a call is the Python encoding plus one ONNX Runtime run.

        Raises:
            RecordErrors: a field is missing, of the wrong type, or a number that is not finite
                or does not fit float32 (kind "value").
            ScoreError: the model returned a NaN or infinite score; no decision is made from it.
        """
        return self._slot().run_record(self.encoder, record)[0]

    def explain_record(self, record: Mapping[str, Any]) -> tuple[float, list[str]]:
        """P(positive) of one record and the fields whose category was unseen in training.

        Raises the same errors as :meth:`score_record`.
        """
        return self._slot().run_record(self.encoder, record)

    def encode(self, records: Any, source: str | None = None) -> np.ndarray:
        """Encode a DataFrame, a list of dicts, one dict or an Arrow batch as model inputs.

        ``source`` names the input in error messages (default: "the DataFrame", "the records").
        """
        if isinstance(records, Mapping):
            return self.encoder.encode_record(records)[0].reshape(1, -1)  # raises RecordErrors for "the record"
        pandas = sys.modules.get("pandas")
        if pandas is not None and isinstance(records, pandas.DataFrame):
            return self._frame_encoder().transform(records, source or "the DataFrame")
        if type(records).__module__.startswith("pyarrow"):
            return self.encoder.encode_arrow(records, source=source or "the Arrow batch")
        if isinstance(records, Sequence) and not isinstance(records, (str, bytes)):
            return self.encoder.encode_records(records, source or "the records")[0]
        raise DataError(f"Records must be a pandas DataFrame, a list of dicts or one dict; got "
                        f"{type(records).__name__}.")

    def predict_proba(self, records: Any) -> np.ndarray:
        """P(positive) per record, for a DataFrame, a list of dicts or one dict (float64 array).

        Raises:
            DataError: a value is refused (text in a numeric column, a number that is not finite
                or does not fit float32, ...), naming the column or field, the row and the value
                (:class:`~finlite.runtime.RecordErrors` for dicts).
            ScoreError: the model returned a NaN or infinite score for some row; no decision is
                made, for any row.
        """
        x = self.encode(records)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        scores = self._run(self._outputs, {"x": x})[0].reshape(-1).astype(np.float64)
        if isinstance(records, Mapping):
            if not np.isfinite(scores[0]):
                raise record_score_error(float(scores[0]))
        elif isinstance(records, Sequence) and not isinstance(records, (str, bytes)):
            check_scores(scores, unit="record", first=0)  # record indices, as RecordErrors name them
        else:
            check_scores(scores)  # DataFrame or Arrow rows, 1-based
        return scores

    def predict(self, records: Any) -> np.ndarray:
        """Decisions at the artifact's cut-off (1 = positive class, e.g. decline as bad)."""
        return (self.predict_proba(records) >= self.cutoff).astype(np.int8)

    def _frame_encoder(self) -> Any:
        # A DataFrame means pandas is loaded already, so the training Preprocessor (pandas) is free.
        if not hasattr(self, "_preprocessor"):
            from finlite.data.preprocess import Preprocessor

            self._preprocessor = Preprocessor.from_dict(self._spec, str(self.path / "preprocessor.json"))
        return self._preprocessor


class _Slot:
    """One thread's input and output buffers, bound once to the session (ONNX Runtime IOBinding)."""

    def __init__(self, session: Any, n_features: int) -> None:
        import onnxruntime as ort

        self.session = session
        self.row = np.zeros((1, n_features), dtype=np.float32)
        self.flat = self.row.reshape(-1)
        self.view = memoryview(self.flat)  # item writes through a memoryview skip numpy's scalar path
        self.out = np.zeros((1, 1), dtype=np.float32)
        self.binding = session.io_binding()
        self.binding.bind_ortvalue_input("x", ort.OrtValue.ortvalue_from_numpy(self.row))
        self.binding.bind_ortvalue_output("probability", ort.OrtValue.ortvalue_from_numpy(self.out))

    def run_record(self, encoder: Encoder, record: Mapping[str, Any]) -> tuple[float, list[str]]:
        self.flat.fill(0.0)
        unseen = encoder.fill(record, self.view)
        self.session.run_with_iobinding(self.binding)
        score = float(self.out[0, 0])
        if score - score != 0.0:  # NaN or ±inf (inf - inf is NaN): one float operation, no numpy
            raise record_score_error(score)
        return score, unseen

    def run_vector(self, x: np.ndarray) -> np.ndarray:
        self.row[0] = x[0]
        self.session.run_with_iobinding(self.binding)
        return self.out.reshape(-1).copy()
