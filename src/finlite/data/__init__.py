"""Data: reading tables, the Schema, splitting, and the JSON-serialisable Preprocessor; price
series for market forecasting (market) and their walk-forward splits (walkforward)."""

from finlite.data.io import Table, frame_sha256, read_table
from finlite.data.market import (
    OBJECTIVES,
    MarketPreprocessor,
    MarketSpec,
    MarketWindows,
    PreparedSeries,
    PriceTable,
    WindowStream,
    prepare_series,
    read_prices,
    to_price_level,
)
from finlite.data.prepared import PreparedData, prepare
from finlite.data.preprocess import Encoding, Preprocessor
from finlite.data.schema import Schema, infer_schema, label_key
from finlite.data.split import Split, SplitConfig, make_split
from finlite.data.walkforward import SeriesSplit, WalkForward, walk_forward

__all__ = [
    "OBJECTIVES",
    "Encoding",
    "MarketPreprocessor",
    "MarketSpec",
    "MarketWindows",
    "PreparedData",
    "PreparedSeries",
    "Preprocessor",
    "PriceTable",
    "Schema",
    "SeriesSplit",
    "Split",
    "SplitConfig",
    "Table",
    "WalkForward",
    "WindowStream",
    "frame_sha256",
    "infer_schema",
    "label_key",
    "make_split",
    "prepare",
    "prepare_series",
    "read_prices",
    "read_table",
    "to_price_level",
    "walk_forward",
]
