"""Model architectures, rebuildable from their configs: MLP, logistic, their integer forms,
window forecasters (LSTM / GRU, TCN, Transformer, MLP over the window) and boosted-tree teachers
(LightGBM / XGBoost, scored by their own libraries)."""

from finlite.models.base import FinliteModel, build_model, register_model, registered_models
from finlite.models.gbdt import BoostedEnsemble
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP
from finlite.models.quantized import Int8Linear, QuantizedMLP
from finlite.models.scorecard import IntegerLogistic, ScorecardModel
from finlite.models.sequence import QuantizedSequenceModel, SequenceModel
from finlite.models.temporal import QuantizedWindowMLP, TemporalConvNet, TransformerForecaster, WindowMLP

__all__ = [
    "BoostedEnsemble",
    "FinliteModel",
    "Int8Linear",
    "IntegerLogistic",
    "LogisticRegression",
    "QuantizedMLP",
    "QuantizedSequenceModel",
    "QuantizedWindowMLP",
    "ScorecardModel",
    "SequenceModel",
    "TabularMLP",
    "TemporalConvNet",
    "TransformerForecaster",
    "WindowMLP",
    "build_model",
    "register_model",
    "registered_models",
]
