"""Data: reading tables, the Schema, splitting, and the JSON-serialisable Preprocessor."""

from finlite.data.io import Table, frame_sha256, read_table
from finlite.data.prepared import PreparedData, prepare
from finlite.data.preprocess import Encoding, Preprocessor
from finlite.data.schema import Schema, infer_schema, label_key
from finlite.data.split import Split, SplitConfig, make_split

__all__ = [
    "Encoding",
    "PreparedData",
    "Preprocessor",
    "Schema",
    "Split",
    "SplitConfig",
    "Table",
    "frame_sha256",
    "infer_schema",
    "label_key",
    "make_split",
    "prepare",
    "read_table",
]
