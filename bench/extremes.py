"""Benchmark: what far values in a numeric column cost a model, scaled as they are or squashed.

Run with ``make bench`` or ``python bench/extremes.py [--seeds 3] [--rows 5000]``. For each seed
it makes one synthetic book shaped like Give Me Some Credit (Kaggle, 2011): revolving utilisation
mostly from 0 to 1.5 with 0.1 % of it at 1,000 to 50,000 (as the real file holds), ages, monthly
incomes with 20 % blank, a debt ratio that holds dollars where the income is blank, and counts of
late payments with a few 96 and 98 codes; the default risk follows the utilisation (capped at
1.5), the late payments, the income and the age. On the same book and split it trains, with
``finlite.train`` and the seed, an MLP, a logistic regression and LightGBM twice each:

- ``scale``: every numeric column standardised as it is (``Encoding(extremes="scale")``, what
  finlite did before squashing): the far utilisations set that column's scale;
- ``squash``: the default (``Encoding()``): a column with far values is read as d / (1 + |d|) of
  its distance from its median in 1st-99th percentile ranges before it is standardised.

Prints test AUC per model, seed and encoding, the means, and which columns were squashed, and
writes ``bench/results/extremes.json``. Only the encoding differs between the two runs of a model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import finlite
from finlite._timing import cpu_info
from finlite.data.preprocess import Encoding
from finlite.training.loop import TrainConfig

TARGET = "SeriousDlqin2yrs"
MODELS = ("mlp", "logistic", "lightgbm")


def book(rows: int, seed: int) -> pd.DataFrame:
    """A Give Me Some Credit-shaped book of ``rows`` loans (see the module docstring)."""
    rng = np.random.default_rng(seed)
    util = np.clip(rng.beta(0.6, 1.6, rows) * 1.3, 0, None)
    over = rng.random(rows) < 0.03
    util[over] = rng.uniform(1.0, 1.5, int(over.sum()))
    far = rng.choice(rows, max(3, rows // 1000), replace=False)
    util[far] = rng.uniform(1_000, 50_000, len(far))
    age = np.clip(np.round(rng.normal(52, 15, rows)), 21, 103)
    income = np.round(np.exp(rng.normal(8.6, 0.6, rows)))
    blank_income = rng.random(rows) < 0.20
    debt_ratio = np.clip(rng.gamma(2.0, 0.17, rows), 0, 2)
    debt_ratio[blank_income] = np.round(rng.lognormal(7.0, 1.0, int(blank_income.sum())))  # dollars, not a ratio
    capped = np.clip(util, 0, 1.5)
    late = [rng.poisson(np.exp(base + 1.5 * capped)) for base in (-2.2, -3.2, -3.0)]
    risk = -4.0 + 1.8 * capped - 0.03 * (age - 50) + 0.6 * late[0] + 0.8 * late[1] + 1.0 * late[2]
    risk += -0.35 * np.where(blank_income, 0.0, np.log1p(income) - 8.6) + 0.25 * blank_income
    risk += 0.6 * np.where(blank_income, 0.0, debt_ratio - 0.35)
    coded = rng.random(rows) < 0.002  # 96 / 98: "unknown" / "refused" in the late-payment counts
    code = np.where(rng.random(rows) < 0.95, 98, 96)
    for counts in late:
        counts[coded] = code[coded]
    risk[coded] = 0.3
    y = (rng.random(rows) < 1 / (1 + np.exp(-risk))).astype(int)
    return pd.DataFrame({
        TARGET: y, "RevolvingUtilizationOfUnsecuredLines": util, "age": age,
        "NumberOfTime30-59DaysPastDueNotWorse": late[0], "DebtRatio": debt_ratio,
        "MonthlyIncome": np.where(blank_income, np.nan, income), "NumberOfTimes90DaysLate": late[2],
        "NumberOfTime60-89DaysPastDueNotWorse": late[1],
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    squashed: dict[int, list[str]] = {}
    for seed in range(args.seeds):
        frame = book(args.rows, seed)
        for model in MODELS:
            for extremes in ("scale", "squash"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the notes on far values and codes: expected here
                    outcome = finlite.train(frame, target=TARGET, model=model, seed=seed,
                                            encoding=Encoding(seed=seed, extremes=extremes),
                                            config=TrainConfig(progress=False, seed=seed))
                auc = float(outcome.metrics["test"]["auc"])
                runs.append({"seed": seed, "model": model, "extremes": extremes, "test_auc": auc})
                if extremes == "squash":
                    squashed[seed] = [n.name for n in outcome.data.preprocessor.numeric_ if n.squash is not None]
                print(f"seed {seed}  {model:<9} {extremes:<6} test AUC {auc:.4f}", flush=True)
    means = {model: {e: statistics.mean(r["test_auc"] for r in runs if r["model"] == model and r["extremes"] == e)
                     for e in ("scale", "squash")} for model in MODELS}
    print(f"\nmean test AUC over seeds 0-{args.seeds - 1}:")
    for model, by in means.items():
        print(f"  {model:<9} scaled {by['scale']:.4f}  squashed {by['squash']:.4f}  ({by['squash'] - by['scale']:+.4f})")
    print("squashed columns:", sorted({c for cols in squashed.values() for c in cols}))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "extremes.json").write_text(json.dumps({"cpu": cpu_info(), "rows": args.rows, "runs": runs, "means": means,
                                                   "squashed": squashed}, indent=1) + "\n")


if __name__ == "__main__":
    main()
