"""No lookahead through the deployed model: an exported GRU forecaster (tests/conftest.py), served by
the torch-free Predictor, gives the same forecast for every date up to t whatever the prices and
volumes after t are, and its forecast for t from the rows up to t alone is the one it gives for t
inside a longer history."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finlite.runtime import Predictor
from tests.property.test_lookahead import change_after, random_prices

WARMUP = 30  # the conftest forecaster: 21 rows of feature look-back + a window of 10 - 1
# The conftest forecasters were trained on daily moves of about 1 %; prices of up to 2 % a day
# stay within what they accept (far wider ones are refused: MarketPreprocessor.check_range).


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_prices(min_rows=WARMUP + 5, max_rows=160, max_scale=0.02), where=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**31))
def test_forecasts_up_to_t_ignore_every_value_after_t(forecast_dir: Path, frame: pd.DataFrame, where: float,
                                                      seed: int) -> None:
    predictor = Predictor(forecast_dir)
    cut_row = WARMUP + int(where * (len(frame) - 2 - WARMUP))
    cut = pd.Timestamp(frame["date"].iloc[cut_row])
    before = predictor.forecast_all(frame)
    after = predictor.forecast_all(change_after(frame, cut, seed))
    known = before["date"] <= cut.to_datetime64().astype("datetime64[D]")
    assert known.sum() == cut_row - WARMUP + 1
    assert (before["date"] == after["date"]).all()
    # Bitwise: the same windows reach the same model in a batch of the same size.
    assert before["forecast"][known].tobytes() == after["forecast"][known].tobytes()
    assert before["last_price"][known].tobytes() == after["last_price"][known].tobytes()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_prices(min_rows=WARMUP + 5, max_rows=120, max_scale=0.02), where=st.floats(0.0, 1.0))
def test_the_forecast_for_t_needs_only_the_rows_up_to_t(direction_dir: Path, frame: pd.DataFrame,
                                                         where: float) -> None:
    predictor = Predictor(direction_dir)
    every = predictor.forecast_all(frame)
    cut_row = WARMUP + int(where * (len(frame) - 1 - WARMUP))
    history = {str(k): list(v) for k, v in frame.iloc[:cut_row + 1].to_dict("list").items()}
    one = predictor.forecast(history)
    assert one["date"] == frame["date"].iloc[cut_row]
    position = cut_row - WARMUP
    assert abs(one["probability"] - float(every["probability"][position])) < 1e-6
    assert one["decision"] == int(every["decision"][position])
