"""Benchmark: ``finlite score`` of a forecaster on a universe of stocks, in bounded memory.

A quant scores a universe every night: one forecast per date and asset, each from the rows up
to that date. The windows of a panel repeat every row ``window`` times (30 here), so building
every window's inputs at once, as ``finlite score`` did until 2026-12-06, took 30 times the
memory of the scaled features: 3.3 GB for 1,000 stocks over 10 years, and a file of 5,000 over
30 years, within the size ``finlite score`` accepts, was refused (its windows' inputs alone are
50 GB). The windows are now gathered a block at a time as they are scored
(``MarketPreprocessor.window_stream``). What else a run holds grows with the rows too (the
table, the unscaled features, the forecast columns): the peak memory measured here is the
whole command's.

In one run (``python bench/panel_scoring.py``; ``--assets`` and ``--days`` to change the
1,000 × 2,520 rows):

1. a seeded synthetic panel (random walks with drift, daily volume; business days from
   2010-01-04) written as Parquet;
2. a small GRU direction forecaster (16 units, window 30) trained for two epochs on 20 of its
   assets and exported (the model's quality is not what is measured here);
3. ``finlite score ARTIFACT panel.parquet -o forecasts.parquet`` as a separate process: wall
   time, peak RSS and CPU, beside what every window's inputs at once would take; with
   ``--before SRC`` (another finlite's ``src`` folder, e.g. a git worktree of an older commit)
   the same command with that code on ``PYTHONPATH``, alternated ``--runs`` times, and whether
   the two outputs hold the same values, column by column;
4. ``finlite evaluate ARTIFACT panel.parquet --no-timing --json`` once with each code (every
   out-of-sample date of every stock: the model's evidence on the universe): wall time, peak RSS,
   and whether the two JSON outputs are the same bytes (``--skip-evaluate`` leaves it out).

Writes ``bench/results/panel_scoring.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from scoring import FINLITE, _run  # noqa: E402 - bench/ is not a package

WINDOW = 30


def panel(path: Path, assets: int, days: int, seed: int) -> int:
    """A panel of ``assets`` random walks over ``days`` business days (long format: date, ticker,
    close, volume), written a few hundred assets at a time; returns its rows."""
    rng = np.random.default_rng(seed)
    dates = np.busday_offset(np.datetime64("2010-01-04"), np.arange(days), roll="forward")
    writer = None
    for first in range(0, assets, 250):
        count = min(250, assets - first)
        drift = rng.normal(0.0003, 0.0002, (count, 1))
        scale = rng.uniform(0.008, 0.03, (count, 1))
        close = 20.0 * np.exp(rng.uniform(0, 3, (count, 1)) + np.cumsum(rng.normal(drift, scale, (count, days)), axis=1))
        volume = rng.integers(10_000, 5_000_000, (count, days)).astype(np.float64)
        part = pa.table({"date": pa.array(np.tile(dates, count), type=pa.date32()),
                         "ticker": pa.array(np.repeat([f"S{first + k:05d}" for k in range(count)], days)),
                         "close": close.round(4).reshape(-1), "volume": volume.reshape(-1)})
        writer = writer or pq.ParquetWriter(path, part.schema)
        writer.write_table(part)
    if writer is not None:
        writer.close()
    return assets * days


def forecaster(data: Path, out: Path, seed: int) -> Path:
    """A GRU direction forecaster of the first 20 assets of ``data``, exported to ONNX."""
    import pyarrow.compute as pc

    from finlite.data.market import MarketSpec
    from finlite.jobs.export import export_artifact
    from finlite.jobs.forecast import train_forecaster
    from finlite.training.loop import TrainConfig

    table = pq.read_table(data)
    tickers = sorted(set(table.column("ticker").to_pylist()))[:20]
    sample = table.filter(pc.is_in(table.column("ticker"), value_set=pa.array(tickers))).to_pandas()
    spec = MarketSpec(date_column="date", target="close", objective="direction", horizon=1, window=WINDOW,
                      volume_column="volume", id_column="ticker")
    trained = train_forecaster(sample, spec=spec, model="gru", hidden=(16,), seed=seed,
                               config=TrainConfig(epochs=2, progress=False), out=out, progress=False)
    export_artifact(trained.path, sample)
    return Path(trained.path)


def _env(src: str | None) -> dict[str, str]:
    """This environment, with ``src`` (another finlite's source folder) on PYTHONPATH when given."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    return env


def score(artifact: Path, data: Path, out: Path, src: str | None) -> dict[str, float]:
    """``finlite score`` as a separate process (``src``: a finlite source folder on PYTHONPATH)."""
    if out.exists():
        out.unlink()
    wall, peak, _, cpu = _run([FINLITE, "score", str(artifact), str(data), "-o", str(out), "--quiet"], env=_env(src))
    return {"wall_seconds": wall, "peak_rss_mib": peak, "cpu_seconds": cpu}


def evaluate(artifact: Path, data: Path, src: str | None) -> tuple[dict[str, float], str]:
    """``finlite evaluate --json`` as a separate process: its measures and its output."""
    wall, peak, text, cpu = _run([FINLITE, "evaluate", str(artifact), str(data), "--no-timing", "--json"],
                                 env=_env(src))
    return {"wall_seconds": wall, "peak_rss_mib": peak, "cpu_seconds": cpu}, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--days", type=int, default=2520, help="business days per asset (2,520: about 10 years)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--before", default=None, help="another finlite's src folder, scored alternately")
    parser.add_argument("--skip-evaluate", action="store_true", help="time finlite score only")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "panel_scoring.json")
    args = parser.parse_args()

    from finlite._timing import cpu_info

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "panel.parquet"
        rows = panel(data, args.assets, args.days, args.seed)
        artifact = forecaster(data, tmp / "model", args.seed)
        import finlite

        features = finlite.load(artifact).preprocessor.n_features
        windows = rows - args.assets * (21 + WINDOW - 1)
        runs: dict[str, list[dict[str, float]]] = {"now": [], "before": []}
        outputs = {"now": tmp / "now.parquet", "before": tmp / "before.parquet"}
        for run in range(args.runs):
            order = ["now", "before"] if run % 2 == 0 else ["before", "now"]
            for name in order:
                if name == "before" and args.before is None:
                    continue
                runs[name].append(score(artifact, data, outputs[name], args.before if name == "before" else None))
        same = None
        if args.before is not None:
            now, before = pq.read_table(outputs["now"]), pq.read_table(outputs["before"])
            same = now.column_names == before.column_names and all(
                now.column(c).equals(before.column(c)) for c in now.column_names)
        scored = pq.read_metadata(outputs["now"]).num_rows
        evaluated: dict[str, dict[str, float]] = {}
        texts: dict[str, str] = {}
        for name in ("now", "before"):
            if args.skip_evaluate or (name == "before" and args.before is None):
                continue
            evaluated[name], texts[name] = evaluate(artifact, data, args.before if name == "before" else None)
        same_evaluation = texts["now"] == texts["before"] if len(texts) == 2 else None

    def median(name: str, key: str) -> float | None:
        return statistics.median(r[key] for r in runs[name]) if runs[name] else None

    result = {
        "cpu": cpu_info(), "assets": args.assets, "days": args.days, "rows": rows, "windows": windows,
        "forecasts_written": scored, "window": WINDOW, "features": features,
        "every_window_at_once_mib": windows * WINDOW * features * 4 / 2**20,
        "scaled_features_mib": rows * features * 4 / 2**20,
        "runs": runs, "same_output_as_before": same, "seconds": time.perf_counter() - start,
        "evaluate": evaluated, "same_evaluation_as_before": same_evaluation,
        "now": {k: median("now", k) for k in ("wall_seconds", "peak_rss_mib", "cpu_seconds")},
        "before": {k: median("before", k) for k in ("wall_seconds", "peak_rss_mib", "cpu_seconds")},
    }
    lines = [f"finlite score of a forecaster on {args.assets:,} assets x {args.days:,} days ({rows:,} rows, "
             f"{windows:,} windows of {WINDOW} x {features}); CPU {result['cpu']['model']} ({result['cpu']['cores']} cores)",
             f"  every window's inputs at once would be {result['every_window_at_once_mib']:,.0f} MiB; the scaled "
             f"features {result['scaled_features_mib']:,.0f} MiB"]
    for name in ("now", "before"):
        if runs[name]:
            m = result[name]
            each = ", ".join(f"{r['wall_seconds']:.1f} s / {r['peak_rss_mib']:,.0f} MiB" for r in runs[name])
            lines.append(f"  {name:6s}: {m['wall_seconds']:.1f} s wall ({rows / m['wall_seconds'] / 1e3:,.0f} k rows/s), "
                         f"peak RSS {m['peak_rss_mib']:,.0f} MiB, CPU {m['cpu_seconds']:.1f} s (runs: {each})")
    if same is not None:
        lines.append(f"  the two outputs hold the same values, column by column: {same}")
    for name, m in evaluated.items():
        lines.append(f"  finlite evaluate, {name:6s}: {m['wall_seconds']:.1f} s wall, peak RSS {m['peak_rss_mib']:,.0f} "
                     f"MiB, CPU {m['cpu_seconds']:.1f} s")
    if same_evaluation is not None:
        lines.append(f"  the two evaluations' JSON is the same bytes: {same_evaluation}")
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
