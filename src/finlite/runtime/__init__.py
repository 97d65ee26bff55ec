"""The deployment runtime: score exported artifacts with ONNX Runtime, never importing torch.

``from finlite.runtime import Predictor`` loads numpy and ONNX Runtime only (pandas when you
pass a DataFrame, pyarrow for batch files, pandas and numba when you load a forecaster), so a
scoring process starts in a fraction of a second and carries no training stack.
"""

from finlite.runtime.encoder import Encoder, FieldError, RecordErrors
from finlite.runtime.predictor import Predictor

__all__ = ["Encoder", "FieldError", "Predictor", "RecordErrors"]
