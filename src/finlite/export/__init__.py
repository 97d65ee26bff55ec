"""ONNX graphs of finlite models and the parity check between a graph and its model.

:mod:`finlite.export.graph` holds the builders, looked up by model class; tree ensembles register
theirs in :mod:`finlite.export.trees`; :mod:`finlite.export.parity` runs a graph in ONNX Runtime
and compares it with the model in memory. Writing ONNX files into an artifact is the export job,
:func:`finlite.jobs.export.export_artifact`.
"""

from finlite.export import trees as _trees  # noqa: F401  (registers the tree-ensemble exporter)
from finlite.export.graph import OPSET, Exporter, exporter_for, register_exporter, registered_exporters, to_onnx
from finlite.export.parity import FLOAT_TOLERANCE, INT8_TOLERANCE, Parity, check_parity, onnx_session, run_onnx

__all__ = ["FLOAT_TOLERANCE", "INT8_TOLERANCE", "OPSET", "Exporter", "Parity", "check_parity", "exporter_for",
           "onnx_session", "register_exporter", "registered_exporters", "run_onnx", "to_onnx"]
