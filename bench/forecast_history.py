"""Benchmark: one forecast from a price history through the Predictor, in each form a history takes.

A deployed forecaster answers from the last rows of a series: a dict of lists (what ``finlite
serve`` receives), a DataFrame of the model's own columns, or the tail of the whole price table.
The first two take the Predictor's compiled batch-1 path; a frame with other columns goes the
reference way (``read_prices``, which also checks its price-named columns).

In one run (``python bench/forecast_history.py``): a GRU of 12 units (window 30, close and
volume) trained for two epochs on the bundled S&P 500 and exported (its quality is not what is
measured), then the batch-1 p50 over ``--histories`` histories of 60 rows from the test period,
each form timed in turn, ``--rounds`` times, one ONNX thread; the answers of the three forms are
checked equal. Writes ``bench/results/forecast_history.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

import finlite
from finlite._timing import cpu_info
from finlite.data.market import MarketSpec
from finlite.jobs.export import export_artifact
from finlite.jobs.forecast import train_forecaster
from finlite.runtime.predictor import Predictor
from finlite.training.loop import TrainConfig

HERE = Path(__file__).parent


def _p50(predictor: Predictor, histories: list[Any], rounds: int) -> float:
    """Median microseconds of one ``forecast`` over every history, ``rounds`` times (after one warm-up pass)."""
    for history in histories:
        predictor.forecast(history)
    times = []
    for _ in range(rounds):
        for history in histories:
            start = time.perf_counter_ns()
            predictor.forecast(history)
            times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "forecast_history.json")
    args = parser.parse_args()
    data = finlite.datasets.path("sp500")
    prices = pd.read_csv(data)
    with tempfile.TemporaryDirectory() as tmp:
        spec = MarketSpec(date_column="date", target="close", volume_column="volume", window=30)
        model = Path(tmp) / "gru"
        train_forecaster(data, spec=spec, model="gru", hidden=(12,), seed=0, out=model, progress=False,
                         config=TrainConfig(epochs=2, progress=False))
        export_artifact(model, data)
        predictor = Predictor(model, threads=1)
        columns = ["date", "close", "volume"]
        ends = range(len(prices) - args.histories, len(prices))
        tails = [prices.iloc[end - 60:end].reset_index(drop=True) for end in ends]
        forms = {"dict of lists": [{c: t[c].tolist() for c in columns} for t in tails],
                 "DataFrame of the model's columns": [t[columns] for t in tails],
                 "DataFrame of all the file's columns": tails}
        for i in range(0, len(tails), 20):  # the same answers, whatever the form
            answers = [predictor.forecast(items[i]) for items in forms.values()]
            if any(a != answers[0] for a in answers):
                raise SystemExit(f"the forms answer differently on history {i}: {answers}")
        result: dict[str, Any] = {name: _p50(predictor, items, args.rounds) for name, items in forms.items()}
    cpu = cpu_info()
    result["cpu"] = f"{cpu['model']} ({cpu['cores']} cores)"
    result["histories"], result["rounds"] = args.histories, args.rounds
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True))
    for name in forms:
        print(f"{name:<36} p50 {result[name]:8.1f} µs")
    print(f"cpu: {result['cpu']}; results: {args.out}")


if __name__ == "__main__":
    main()
