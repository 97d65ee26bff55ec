"""Benchmark: does an imported booster score every row as its own library does?

Run with ``make bench`` or ``python bench/import_parity.py [--seeds 6]``. For each seed, three
synthetic books of 1,500 rows (full-precision ratios; incomes in cents from 60,000 to several
million; a mix of ages, near-constant balances, tiny values, heavy tails, and zeros beside blanks
and beside negatives) are labelled from a
random linear score, and a booster is trained on the raw columns by LightGBM and by XGBoost (the
tree method cycles through ``hist``, ``exact`` and ``approx`` by seed: ``hist`` and ``approx``
split at observed values, ``exact`` between them). Each is imported with ``import_teacher`` (two
out-of-fold folds, for speed) and exported; then, on every row of its book:

- the artifact's teacher against the booster's own probability (rows differing by over 1e-6);
- the exported ONNX graph through the Predictor against the artifact's teacher;
- on probe rows (copies of the first three rows with one column set to zero, to one of the
  booster's thresholds, or to a midpoint between two), the teacher and the ONNX graph against
  the booster: values a book's own rows seldom hold.

"Snapped only" is the teacher with the threshold places switched off (``_gap_table = {}``): the
rebuild before them, raw values snapped to numbers of few decimals, in today's code.

Prints one line per book and the totals, and writes ``bench/results/import_parity.json``. The
import reads finlite's float32 encoding of each column; a row whose value lies closer to a
threshold than that encoding resolves cannot be placed, and is counted here.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb

import finlite
from finlite._timing import cpu_info
from finlite.jobs.export import export_artifact
from finlite.jobs.train import import_teacher
from finlite.models.gbdt import split_points
from finlite.runtime import Predictor

ROWS = 1_500
KINDS = ("ratios", "money", "mixed")
METHODS = ("hist", "exact", "approx")


def book(kind: str, rng: np.random.Generator) -> pd.DataFrame:
    """Raw numeric columns of one synthetic book."""
    if kind == "ratios":
        return pd.DataFrame(rng.random((ROWS, 8)) * rng.lognormal(0, 3, 8), columns=[f"ratio_{i}" for i in range(8)])
    if kind == "money":
        return pd.DataFrame({f"income_{i}": np.round(rng.lognormal(11 + i, 1.5, ROWS), 2) for i in range(6)})
    # Zeros beside blanks and beside negatives: boosters split right beside zero (LightGBM at
    # -1e-35, XGBoost at 1e-6 or 1e-5), which the encoding cannot tell from zero.
    overdue = np.where(rng.random(ROWS) < 0.3, 0.0, np.round(rng.lognormal(5, 2, ROWS), 2))
    overdue[rng.random(ROWS) < 0.1] = np.nan
    change = np.where(rng.random(ROWS) < 0.3, 0.0, rng.normal(0, 1, ROWS))
    return pd.DataFrame({"age": rng.integers(18, 80, ROWS).astype(float), "balance": rng.normal(1e6, 1e3, ROWS),
                         "tiny": rng.normal(0, 1e-4, ROWS), "share": np.round(rng.random(ROWS), 3),
                         "heavy": rng.standard_t(2, ROWS) * 1e3, "overdue": overdue, "change": change})


def one(kind: str, library: str, seed: int, folder: Path) -> dict[str, Any]:
    """Import and export one booster; count the rows that score differently."""
    rng = np.random.default_rng(seed)
    x = book(kind, rng)
    z = ((x - x.mean()) / x.std()).fillna(2.0).to_numpy()  # a blank counts as a high value
    y = (rng.random(ROWS) < 1 / (1 + np.exp(-(z @ rng.normal(0, 1, x.shape[1]))))).astype(int)
    data = folder / "book.csv"
    x.assign(bad=np.where(y == 1, "yes", "no")).to_csv(data, index=False)
    method = METHODS[seed % len(METHODS)]
    if library == "xgboost":
        booster = xgb.train({"objective": "binary:logistic", "max_depth": 5, "eta": 0.3, "tree_method": method,
                             "seed": seed}, xgb.DMatrix(x, label=y), 100)
        model = folder / "model.json"
        own = booster.predict(xgb.DMatrix(x), output_margin=True)
    else:
        booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 31, "min_data_in_leaf": 5,
                             "seed": seed}, lgb.Dataset(x, y), 100)
        model = folder / "model.txt"
        own = booster.predict(x, raw_score=True)
    booster.save_model(str(model))
    out = folder / f"{kind}_{library}_{seed}"
    import_teacher(model, data, target="bad", positive="yes", learning_rate=0.3 if library == "xgboost" else None,
                   folds=2, out=out)
    export_artifact(out, data)
    art = finlite.load(out)
    ours = art.predict_score(x)
    deployed = Predictor(out).predict_score(x)
    # Values the book's rows seldom hold: zero, each split's own threshold and the midpoints between
    # consecutive thresholds, one column at a time in copies of the first three rows.
    probe = _probe_frame(x, split_points(library, booster))
    probe_own = (booster.predict(xgb.DMatrix(probe), output_margin=True) if library == "xgboost"
                 else booster.predict(probe, raw_score=True))
    probe_expected = 1 / (1 + np.exp(-np.asarray(probe_own, dtype=np.float64)))
    probe_teacher = art.predict_score(probe)
    probe_deployed = Predictor(out).predict_score(probe)
    # Side by side, the rebuild before encoded thresholds (2026-12-03): raw values rebuilt from the
    # encoding and snapped to numbers of few decimals, with no split placed from the encoded value.
    art.model._gap_table = {}
    snapped_only = art.predict_score(x)
    expected = 1 / (1 + np.exp(-np.asarray(own, dtype=np.float64)))
    return {"kind": kind, "library": library, "seed": seed, "method": method if library == "xgboost" else "lightgbm",
            "rows": ROWS, "teacher_vs_booster": int((np.abs(ours - expected) > 1e-6).sum()),
            "snapped_only_vs_booster": int((np.abs(snapped_only - expected) > 1e-6).sum()),
            "onnx_vs_teacher": int((np.abs(deployed - ours) > 1e-6).sum()),
            "probe_rows": len(probe),
            "probe_teacher_vs_booster": int((np.abs(probe_teacher - probe_expected) > 1e-6).sum()),
            "probe_onnx_vs_booster": int((np.abs(probe_deployed - probe_expected) > 1e-6).sum()),
            # Columns the import took for other units (an XGBoost booster's beyond_splits): on the
            # booster's own table, none should be.
            "beyond_splits": len(art.manifest["steps"][0].get("beyond_splits") or {})}


def _probe_frame(x: pd.DataFrame, points: dict[int, np.ndarray]) -> pd.DataFrame:
    """Copies of the first three rows with one column set to zero, to one of the booster's
    thresholds on it, or to a midpoint between two of them."""
    parts = []
    for j, t in points.items():
        values = np.concatenate([[0.0], t, (t[1:] + t[:-1]) / 2])
        for _, row in x.head(3).iterrows():
            part = pd.DataFrame([row.to_numpy()] * len(values), columns=x.columns)
            part.iloc[:, j] = values
            parts.append(part)
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for kind in KINDS:
                for library in ("xgboost", "lightgbm"):
                    r = one(kind, library, seed, Path(tmp))
                    results.append(r)
                    print(f"seed {seed} {kind:6} {library:8} ({r['method']:8}): {r['teacher_vs_booster']:4} of "
                          f"{ROWS:,} rows differ from the booster (snapped only: {r['snapped_only_vs_booster']:4}), "
                          f"{r['onnx_vs_teacher']} ONNX rows from the teacher; probes: "
                          f"{r['probe_teacher_vs_booster']}/{r['probe_onnx_vs_booster']} of {r['probe_rows']:,} "
                          "(teacher/ONNX vs booster)", flush=True)
    keys = ("teacher_vs_booster", "snapped_only_vs_booster", "probe_rows", "probe_teacher_vs_booster",
            "probe_onnx_vs_booster")
    total = {lib: {key: sum(r[key] for r in results if r["library"] == lib) for key in keys}
             for lib in ("xgboost", "lightgbm")}
    onnx = sum(r["onnx_vs_teacher"] for r in results)
    for lib, counts in total.items():
        print(f"{lib}: {counts['teacher_vs_booster']} of {ROWS * len(results) // 2:,} rows differ from the booster "
              f"(snapped only, as before: {counts['snapped_only_vs_booster']}); probes: teacher "
              f"{counts['probe_teacher_vs_booster']}, ONNX {counts['probe_onnx_vs_booster']} of "
              f"{counts['probe_rows']:,}")
    print(f"ONNX against the teacher: {onnx} rows")
    told = sum(r["beyond_splits"] for r in results)
    print(f"columns told to lie beyond every split (other units) on the boosters' own tables: {told}")
    cpu = cpu_info()
    print(f"CPU: {cpu['model']} ({cpu['cores']} cores)")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "import_parity.json").write_text(json.dumps({"cpu": cpu, "books": results, "totals": total,
                                                          "onnx_vs_teacher": onnx, "beyond_splits": told},
                                                         indent=2) + "\n")


if __name__ == "__main__":
    main()
