"""Running an ONNX graph in ONNX Runtime and checking it against the model it came from:
largest |Δprobability|, decisions that flip at the cut-off, within a tolerance."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Default tolerances on |Δprobability|: float graphs reorder sums (≈1e-7); int8 graphs may round
#: one activation to the neighbouring integer where ONNX and torch differ in the last bit.
FLOAT_TOLERANCE, INT8_TOLERANCE = 1e-5, 1e-3


def onnx_session(model: bytes | str | os.PathLike[str], threads: int = 1) -> Any:
    """An ONNX Runtime CPU session; ``threads`` intra-op threads (1 suits batch-1 scoring).

    The graph may run only the operators finlite's exporters write (ArtifactError otherwise).
    """
    import onnxruntime as ort

    from finlite.runtime._graph_ops import NO_BUILD_TIME_WORK, check_operators

    check_operators(model if isinstance(model, bytes) else Path(model).read_bytes(),
                    "the ONNX model" if isinstance(model, bytes) else str(model))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"], **NO_BUILD_TIME_WORK)


def run_onnx(session: Any, x: np.ndarray, output: str = "probability") -> np.ndarray:
    """One output of an ONNX session for the float32 input ``x``, one value per row (none for no
    rows: ONNX Runtime aborted the process on a recurrent graph given none, 2026-12-06)."""
    if len(x) == 0:
        return np.empty(0, dtype=np.float32)
    values: np.ndarray = session.run([output], {"x": np.ascontiguousarray(x, dtype=np.float32)})[0]
    return values.reshape(-1)


def run_onnx_blocks(session: Any, x: np.ndarray, output: str = "probability") -> np.ndarray:
    """:func:`run_onnx`, :data:`~finlite.tasks.SCORE_CHUNK` rows at a time: what a parity check
    runs, so its working memory does not grow with the rows checked (ONNX Runtime's for a GRU
    over every window of a universe's test period was gigabytes, 2026-12-06)."""
    from finlite.tasks import in_score_chunks

    return in_score_chunks(len(x), lambda start, stop: run_onnx(session, x[start:stop], output))


# -- parity ----------------------------------------------------------------------------------------
@dataclass
class Parity:
    """How far an exported model's outputs are from the model in memory on the same rows."""

    rows: int
    max_abs_diff: float
    mean_abs_diff: float
    flips: int
    tolerance: float
    max_flips: int
    cutoff: float | None
    worst_rows: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Of ``rows``, those made at an imported booster's split places (BoostedEnsemble.boundary_rows),
    #: after the given rows: a ``worst_rows`` index at or past ``rows - boundary_rows`` is one of them.
    boundary_rows: int = 0

    @property
    def passed(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (recorded in the manifest)."""
        out = asdict(self)
        out["passed"] = self.passed
        return out


def check_parity(reference: np.ndarray, exported: np.ndarray, *, cutoff: float | None, tolerance: float,
                 max_flips: int = 0, what: str = "probability") -> Parity:
    """Compare outputs row by row and collect every problem (shape, non-finite values, the
    largest difference, decisions flipped at ``cutoff``) rather than stopping at the first."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    got = np.asarray(exported, dtype=np.float64).reshape(-1)
    problems: list[str] = []
    if ref.shape != got.shape:
        problems.append(f"the exported model returned {got.size} values for {ref.size} rows")
        return Parity(ref.size, float("inf"), float("inf"), ref.size, tolerance, max_flips, cutoff, [], problems)
    nonfinite = int((~np.isfinite(got)).sum())
    if nonfinite:
        problems.append(f"{nonfinite} exported {what} values are NaN or infinite")
    diff = np.abs(np.nan_to_num(got, nan=np.inf) - ref)
    max_diff = float(diff.max()) if diff.size else 0.0
    if max_diff > tolerance:
        problems.append(f"max |Δ{what}| is {max_diff:.3g}, above the tolerance {tolerance:g} "
                        f"({int((diff > tolerance).sum())} of {ref.size} rows)")
    flips = int(((ref >= cutoff) != (got >= cutoff)).sum()) if cutoff is not None else 0
    if flips > max_flips:
        problems.append(f"{flips} decisions flip at the cut-off {cutoff:g} (allowed: {max_flips})")
    worst = [int(i) for i in np.argsort(-diff, kind="stable")[:5]] if diff.size else []
    mean = float(diff.mean()) if diff.size else 0.0
    return Parity(int(ref.size), max_diff, mean, flips, tolerance, max_flips, cutoff, worst, problems)
