"""Benchmark: ``finlite score --engine ray`` against the local run on the same 10 M rows, and scaling.

Run with ``make bench`` (or ``python bench/ray_scale.py``; ``--rows`` to change the 10,000,000
rows, ``--runs`` for more alternating repetitions). Needs Ray (``pip install 'finlite[ray]'``).

On one Parquet portfolio (German credit rows resampled with a seed, plus a ``loan_id``; row
groups of 250,000 rows) and a student distilled and exported on the bundled data, it runs side by
side, alternating, the whole ``finlite score`` command (start-up included):

- ``local``: the local engine (all cores);
- ``ray 1`` and ``ray 2``: ``--engine ray --workers 1`` and ``--workers 2`` on a local Ray that
  the command starts (one CPU per core) and stops.

It checks that every Ray output equals the local output row for row (ids and float32 scores),
and prints per run the command's wall time and the scoring time the command reports (after Ray
has started; the actors' start-up is inside it); Ray's overhead against the local run (the
ratio of wall times); the scaling from one to two workers; and the projection from the
per-worker rate to a cluster of N workers: rate(N) = min(N × per-worker rate, driver write
rate), time = Ray start-up + rows / rate(N). The driver write rate (ids, score and decision to
Parquet in 65,536-row chunks, as the driver writes them) is measured in the same run; it is the
ceiling because every score comes back to the driver. The projection assumes the cluster's
nodes read the input from shared storage at least as fast as this machine's disk.

On this machine (2 cores shared by the driver, Ray's own processes, the read tasks and the
actors) two actors cannot be twice as fast as one; the per-worker rate measured with one actor is
the honest unit for the projection. The CPU (finlite/_timing.py) and the load average before and
after are recorded. Writes ``bench/results/ray_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
CACHE = HERE / ".cache" / "ray_scale"
FINLITE = str(Path(sys.executable).parent / "finlite")
SCORED = re.compile(r"scored ([\d,]+) rows.* in ([\d.]+) s")


def student(folder: Path) -> Path:
    """A student distilled from an MLP teacher on German credit and exported (built once)."""
    import finlite
    from finlite.jobs.export import export_artifact
    from finlite.methods import MagnitudePruning
    from finlite.training.loop import TrainConfig

    out = folder / "student"
    if (out / "model.onnx").is_file():
        return out
    data = finlite.datasets.path("german_credit")
    teacher = finlite.train(data, target="creditability", positive="bad", seed=0, config=TrainConfig(progress=False),
                            out=folder / "teacher", overwrite=True)
    finlite.compress(teacher.path, data, pruning=MagnitudePruning(sparsity=0.5), seed=0, out=out, overwrite=True,
                     progress=False, timing=False)
    export_artifact(out, data)
    return out


def portfolio(folder: Path, rows: int, seed: int = 0) -> Path:
    """``rows`` German credit rows resampled with ``seed``, written in chunks (built once)."""
    import finlite

    path = folder / f"german_{rows}.parquet"
    if path.is_file() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    base = pa.Table.from_pandas(finlite.datasets.load("german_credit"), preserve_index=False)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, base.schema.append(pa.field("loan_id", pa.int64()))) as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            chunk = base.take(rng.integers(0, base.num_rows, n))
            writer.write_table(chunk.append_column("loan_id", pa.array(np.arange(start, start + n))),
                               row_group_size=250_000)
    tmp.replace(path)
    return path


def driver_write_rate(folder: Path, rows: int) -> float:
    """Rows/s at which one process writes ids, score and decision to Parquet in 65,536-row chunks."""
    rng = np.random.default_rng(1)
    chunk = 65536
    score = rng.random(chunk, dtype=np.float32)
    table = pa.table({"loan_id": pa.array(np.arange(chunk, dtype=np.int64)), "score": score,
                      "decision": (score >= 0.5).astype(np.int8)})
    out = folder / "write_rate.parquet"
    start = time.perf_counter()
    with pq.ParquetWriter(out, table.schema) as writer:
        for _ in range(0, rows, chunk):
            writer.write_table(table)
    seconds = time.perf_counter() - start
    out.unlink()
    return rows / seconds


def run(command: list[str]) -> dict:
    """Wall time of a whole command and the scoring time it reports."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    match = SCORED.search(done.stdout)
    if match is None:
        raise SystemExit(f"unexpected output of {' '.join(command)}:\n{done.stdout}")
    return {"wall_s": wall, "scoring_s": float(match.group(2)), "rows": int(match.group(1).replace(",", ""))}


def main() -> None:
    from finlite._timing import cpu_info

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=1, help="alternating repetitions of each command (medians)")
    args = parser.parse_args()
    try:
        import ray  # noqa: F401
    except ImportError:
        raise SystemExit("bench/ray_scale.py needs Ray: pip install 'finlite[ray]'") from None
    CACHE.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    art = student(CACHE)
    source = portfolio(CACHE, args.rows)
    write_rate = driver_write_rate(CACHE, args.rows)
    outs = {name: CACHE / f"out_{name.replace(' ', '')}.parquet" for name in ("local", "ray 1", "ray 2")}
    base = [FINLITE, "score", str(art), str(source), "--id-column", "loan_id", "--force", "--quiet"]
    commands = {"local": [*base, "-o", str(outs["local"])],
                "ray 1": [*base, "-o", str(outs["ray 1"]), "--engine", "ray", "--workers", "1"],
                "ray 2": [*base, "-o", str(outs["ray 2"]), "--engine", "ray", "--workers", "2"]}
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():  # alternating: the machine's load hits all of them
            runs[name].append(run(command))
    local_table = pq.read_table(outs["local"])
    identical = {name: pq.read_table(outs[name]).equals(local_table) for name in ("ray 1", "ray 2")}
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "scoring_s")}
           for name, rs in runs.items()}
    rows = args.rows
    per_worker = rows / med["ray 1"]["scoring_s"]
    startup = med["ray 1"]["wall_s"] - med["ray 1"]["scoring_s"]
    projection = []
    for n in (1, 2, 4, 8, 16, 32, 64, 128):
        rate = min(n * per_worker, write_rate)
        projection.append({"workers": n, "rows_per_second": rate, "seconds_10m": startup + 10_000_000 / rate,
                           "seconds_100m": startup + 100_000_000 / rate, "driver_bound": n * per_worker > write_rate})
    result = {
        "rows": rows, "runs": args.runs, "cpu": cpu_info(), "load_before": load_before, "load_after": os.getloadavg(),
        "ray_version": __import__("ray").__version__, "runs_raw": runs, "median": med,
        "identical_to_local": identical,
        "overhead_ray1_vs_local": med["ray 1"]["wall_s"] / med["local"]["wall_s"],
        "overhead_ray2_vs_local": med["ray 2"]["wall_s"] / med["local"]["wall_s"],
        "scaling_1_to_2_workers": med["ray 1"]["scoring_s"] / med["ray 2"]["scoring_s"],
        "per_worker_rows_per_second": per_worker, "ray_startup_s": startup,
        "driver_write_rows_per_second": write_rate, "projection": projection,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "ray_scale.json").write_text(json.dumps(result, indent=2) + "\n")

    cpu = result["cpu"]
    print(f"CPU: {cpu['model']} ({cpu['cores']} cores); load {load_before[0]:.1f} before, "
          f"{result['load_after'][0]:.1f} after; Ray {result['ray_version']}")
    print(f"{rows:,} rows of German credit's schema (Parquet), median of {args.runs} alternating run(s):")
    print(f"{'engine':<10}{'wall s':>9}{'scoring s':>11}{'rows/s (wall)':>15}  identical to local")
    for name in commands:
        m = med[name]
        same = "-" if name == "local" else ("yes" if identical[name] else "NO")
        print(f"{name:<10}{m['wall_s']:>9.2f}{m['scoring_s']:>11.2f}{rows / m['wall_s']:>15,.0f}  {same}")
    print(f"Ray's overhead against local scoring (wall time): {result['overhead_ray1_vs_local']:.2f}x with one "
          f"worker, {result['overhead_ray2_vs_local']:.2f}x with two; Ray start-up {startup:.1f} s")
    print(f"scaling from one to two workers: {result['scaling_1_to_2_workers']:.2f}x "
          f"(this machine has {cpu['cores']} cores for the driver, Ray and the actors together)")
    print(f"per-worker rate {per_worker:,.0f} rows/s; driver write ceiling {write_rate:,.0f} rows/s")
    print(f"{'workers':>8}{'rows/s':>14}{'10M rows s':>12}{'100M rows s':>13}")
    for p in projection:
        bound = "  (driver-bound)" if p["driver_bound"] else ""
        print(f"{p['workers']:>8}{p['rows_per_second']:>14,.0f}{p['seconds_10m']:>12.1f}{p['seconds_100m']:>13.1f}{bound}")
    print(f"wrote {HERE / 'results' / 'ray_scale.json'}")
    if not all(identical.values()):
        raise SystemExit("the Ray output differs from the local output")


if __name__ == "__main__":
    main()
