"""Benchmark: synthetic portfolios at scale, and ``finlite score`` against the I/O floor.

Run with ``make bench`` (or ``python bench/scoring.py``; ``--rows`` to change the 10,000,000
rows, ``--skip-sba`` without the SBA loan book). In one run it measures:

1. ``finlite datasets synth --rows N`` (the synthetic portfolio generator): wall time of the whole
   command, peak memory, rows/s, the realised default rate; target ≤ 60 s for 10 M rows. On a
   200,000-row sample of that book it fits a logistic regression and LightGBM (scikit-learn /
   lightgbm, when installed) and reports their test AUC (the design aims at about 0.78).
2. Batch scoring near the hardware, for two schemas:

   - German credit's (7 numeric, 13 categorical columns): a student distilled and exported on
     the bundled data; the N-row input is bundled German credit rows resampled with a seed;
   - SBA's (money as text, high-cardinality City/Bank/Zip/NAICS): a student trained on a
     sample of the SBA 7(a) book (bench/_data.py) as it comes; the N-row input is SBA rows
     resampled with a seed.

   For each, side by side and alternating (``--runs`` times each, medians reported): the
   *floor*, a separate Python process that reads the model's feature columns with pyarrow
   (categorical columns dictionary-encoded, which is the faster read) and writes a Parquet file
   of a float32 score and an int8 decision per row, encoded as ``finlite score`` encodes them
   (scores without a Parquet dictionary, decisions with one), done two ways (one ``read_table`` and one
   ``write_table``; or streamed in 65,536-row batches) with the faster one taken as the floor, with
   one BLAS thread as ``finlite score`` has (finlite/_console.py);
   and ``finlite score`` on the same file (the whole command, start-up included). Printed: both times, the ratio (target ≤ 1.3),
   peak RSS of the command (target ≤ 2 GiB), rows/s, and whether the scores equal
   ``Predictor.predict_score`` on the first 20,000 rows.

With ``--reasons N`` each schema also gets one ``finlite score --reasons N`` run after the timed
ones (adverse-action reasons for every decided row): its time, its ratio to the run without, and
the decided rows explained per second.

The machine's CPU (finlite/_timing.py) and its load average before and after are recorded: on a
shared machine the load changes both times, which is why they are measured alternately in one
run. Writes ``bench/results/scoring.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
CACHE = HERE / ".cache" / "scoring"
FINLITE = str(Path(sys.executable).parent / "finlite")

_FLOOR = r"""
import sys, time
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
src, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
columns, dictionary = sys.argv[4].split("\x1f"), [c for c in sys.argv[5].split("\x1f") if c]
rng = np.random.default_rng(0)  # realistic scores: they must not compress away
# The same file as finlite score writes: scores plain (a dictionary of near-unique floats costs
# the writer about 0.5 s per 10 M rows), decisions dictionary-encoded.
plain = {"use_dictionary": ["decision"]}
start = time.perf_counter()
if mode == "table":  # the whole file in one read (Arrow's threads over columns and row groups), one write
    table = pq.read_table(src, columns=columns, read_dictionary=dictionary)
    score = rng.random(table.num_rows, dtype=np.float32)
    pq.write_table(pa.table({"score": score, "decision": (score >= 0.5).astype(np.int8)}), out, **plain)
else:  # streamed: batches in, batches out, as a scoring job would
    writer = None
    for batch in pq.ParquetFile(src, read_dictionary=dictionary).iter_batches(batch_size=65536, columns=columns):
        score = rng.random(batch.num_rows, dtype=np.float32)
        part = pa.table({"score": score, "decision": (score >= 0.5).astype(np.int8)})
        writer = writer or pq.ParquetWriter(out, part.schema, **plain)
        writer.write_table(part)
    writer.close()
print(f"{time.perf_counter() - start:.3f}")
"""


# A small launcher starts each measured command: Linux counts the memory a process had when it
# forked into its child's peak RSS, so forking straight from this (large) process would inflate it.
_LAUNCH = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "rss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime,
                  "rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr[-4000:]}))
"""


def _run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str, float]:
    """(wall seconds, peak RSS in MiB, stdout, CPU seconds) of a command run as a separate process
    (``env``: its environment, default this one's)."""
    launched = subprocess.run([sys.executable, "-c", _LAUNCH, *command], capture_output=True, text=True, check=True,
                              env=env)
    report = json.loads(launched.stdout)
    if report["rc"] != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed: {report['stderr']}")
    return report["wall"], report["rss_kib"] / 1024, report["stdout"].strip(), report["cpu"]


# -- 1. the generator --------------------------------------------------------------------------------
def synth(rows: int, seed: int, tmp: Path) -> dict:
    out = tmp / "book.parquet"
    wall, peak, text, _ = _run([FINLITE, "datasets", "synth", "--rows", str(rows), "--seed", str(seed), "-o", str(out),
                             "--quiet"])
    meta = pq.read_metadata(out)
    result = {"rows": rows, "wall_seconds": wall, "rows_per_second": rows / wall, "peak_rss_mib": peak,
              "bytes": out.stat().st_size, "row_groups": meta.num_row_groups, "command_output": text,
              "target_seconds": 60.0, "pass": wall <= 60.0 * rows / 10_000_000}
    result["auc"] = _sample_auc(out)
    out.unlink()
    return result


def _sample_auc(book: Path, n: int = 200_000) -> dict:
    """Test AUC of logistic regression and LightGBM on the book's first ``n`` rows (half each)."""
    frame = pq.read_table(book).slice(0, n).to_pandas()
    y = frame.pop("defaulted").to_numpy()
    x = frame.drop(columns=["loan_id", "issue_month"])
    cats = ["home_ownership", "purpose", "grade"]
    half = len(x) // 2
    out: dict = {}
    try:
        import pandas as pd
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        dense = pd.get_dummies(x, columns=cats, dtype=float)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(dense[:half], y[:half])
        out["logistic_regression"] = float(roc_auc_score(y[half:], model.predict_proba(dense[half:])[:, 1]))
    except ImportError:
        out["logistic_regression"] = None
    try:
        import lightgbm as lgb
        from sklearn.metrics import roc_auc_score

        for c in cats:
            x[c] = x[c].astype("category")
        booster = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, verbose=-1, n_jobs=1)
        booster.fit(x[:half], y[:half])
        out["lightgbm"] = float(roc_auc_score(y[half:], booster.predict_proba(x[half:])[:, 1]))
    except ImportError:
        out["lightgbm"] = None
    out["sample_rows"] = len(x)
    return out


# -- 2. scoring ----------------------------------------------------------------------------------------
def german_student() -> Path:
    import finlite
    from finlite.jobs.export import export_artifact
    from finlite.methods import MagnitudePruning

    student = CACHE / "german_student"
    data = finlite.datasets.path("german_credit")
    if (student / "model.onnx").is_file():
        return _with_reasons(student, data)
    config = finlite.TrainConfig(epochs=40, patience=5, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        finlite.train(data, target="creditability", hidden=(64, 32), config=config, out=Path(tmp) / "teacher")
        finlite.compress(Path(tmp) / "teacher", data, student_hidden=(16,), pruning=MagnitudePruning(sparsity=0.5),
                         config=config, fine_tune=config, out=student, timing=False, progress=False, overwrite=True)
    export_artifact(student, data)
    return student


_SBA_DROP = ["ChgOffDate", "ChgOffPrinGr", "BalanceGross", "LoanNr_ChkDgt", "Name"]  # after the outcome; ids
_SBA_CODES = ["Zip", "NAICS"]  # integer codes that are categories
_SBA_MONEY = ["DisbursementGross", "GrAppv", "SBA_Appv"]


def sba_student(train_rows: int, seed: int) -> Path:
    """A student on a sample of the SBA book as it comes (money as text), Zip and NAICS as categories."""
    import pandas as pd
    from _data import sba_raw_csv

    import finlite
    from finlite.jobs.export import export_artifact

    student = CACHE / f"sba_student_{train_rows}_{seed}"
    data = CACHE / f"sba_sample_{train_rows}_{seed}.parquet"
    if (student / "model.onnx").is_file() and data.is_file():
        return _with_reasons(student, data)
    frame = pd.read_csv(sba_raw_csv(), low_memory=False).drop(columns=_SBA_DROP)
    sample = frame.sample(n=train_rows, random_state=seed).reset_index(drop=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    sample.astype({c: "string" for c in sample.columns if sample[c].dtype == object}).to_parquet(data, index=False)
    config = finlite.TrainConfig(epochs=15, patience=3, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        finlite.train(data, target="MIS_Status", positive="CHGOFF", categorical=_SBA_CODES, hidden=(64, 32),
                      config=config, out=Path(tmp) / "teacher")
        finlite.compress(Path(tmp) / "teacher", data, student_hidden=(32,), config=config, fine_tune=config,
                         out=student, timing=False, progress=False, overwrite=True)
    export_artifact(student, data)
    return student


def _with_reasons(student: Path, data: Path) -> Path:
    """A cached student exported before exports recorded a reasons reference and the fields' bins:
    exported again (the same model; the manifest gains ``export.reasons`` and
    ``export.stability``), so the run measured is the one a fresh export gets."""
    from finlite.jobs.export import export_artifact

    manifest = json.loads((student / "manifest.json").read_text())
    if not {"reasons", "stability"} <= set(manifest.get("export") or {}):
        export_artifact(student, data)
    return student


def resampled(name: str, source: pa.Table, rows: int, seed: int) -> Path:
    """``rows`` rows drawn with replacement from ``source`` (seeded), written in 1 M-row groups."""
    path = CACHE / f"{name}_{rows}_{seed}.parquet"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    writer = None
    for lo in range(0, rows, 1 << 20):
        n = min(1 << 20, rows - lo)
        part = source.take(pa.array(rng.integers(0, source.num_rows, n)))
        part = part.append_column("row_id", pa.array(np.arange(lo, lo + n, dtype=np.int64)))
        if writer is None:
            writer = pq.ParquetWriter(tmp, part.schema)
        writer.write_table(part)
    writer.close()
    tmp.replace(path)
    return path


def german_book(rows: int, seed: int) -> Path:
    import pyarrow.csv as pacsv

    import finlite

    return resampled("german", pacsv.read_csv(finlite.datasets.path("german_credit")), rows, seed)


def sba_book(rows: int, seed: int) -> Path:
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    from _data import sba_raw_csv

    # Typed as a bank's Parquet export would be: numbers as numbers (money parsed from
    # "$60,000.00 "), Zip and NAICS as integer codes, names and places as text.
    table = pacsv.read_csv(sba_raw_csv(), convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in [*_SBA_MONEY, "ApprovalFY"]}))
    table = table.drop_columns([c for c in _SBA_DROP if c in table.column_names])
    for name in _SBA_MONEY:
        text = pc.replace_substring_regex(table.column(name), r"[$,\s]", "")
        table = table.set_column(table.schema.get_field_index(name), name, pc.cast(text, pa.float64()))
    # A few fiscal years are written like "1976A": read as the year.
    year = pc.cast(pc.replace_substring_regex(table.column("ApprovalFY"), "[^0-9]", ""), pa.int64())
    table = table.set_column(table.schema.get_field_index("ApprovalFY"), "ApprovalFY", year)
    return resampled("sba", table, rows, seed)


def scoring(name: str, student: Path, book: Path, runs: int, tmp: Path, reasons: int = 0) -> dict:
    from finlite.runtime import Predictor

    predictor = Predictor(student)
    fields = predictor.fields
    dictionary = [c for c in getattr(predictor.encoder, "category_fields", fields) if c in fields]
    out_floor, out_score = tmp / f"{name}_floor.parquet", tmp / f"{name}_scores.parquet"
    floor_cmd = [sys.executable, "-c", _FLOOR, str(book), str(out_floor), "MODE", "\x1f".join(fields),
                 "\x1f".join(dictionary)]
    score_cmd = [FINLITE, "score", str(student), str(book), "-o", str(out_score), "--force", "--quiet"]
    # The floor's process gets one BLAS thread, as `finlite score` does (finlite/_console.py): numpy's
    # OpenBLAS otherwise spins a thread per core for about 0.1 CPU-s at import, in both processes.
    floor_env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    floors: dict[str, list[float]] = {"table": [], "stream": []}
    floor_cpu: dict[str, list[float]] = {"table": [], "stream": []}
    scores, score_cpu, peaks, floor_peaks, outputs = [], [], [], [], []
    for _ in range(runs):  # alternating, so a change of load hits all three
        for mode, walls in floors.items():
            wall, peak, _, cpu = _run([mode if part == "MODE" else part for part in floor_cmd], floor_env)
            walls.append(wall)
            floor_cpu[mode].append(cpu)
            floor_peaks.append(peak)
        wall, peak, text, cpu = _run(score_cmd)
        scores.append(wall)
        score_cpu.append(cpu)
        peaks.append(peak)
        outputs.append(text)
    rows = pq.read_metadata(book).num_rows
    explained = None
    if reasons:  # once, after the timed runs: adverse-action reasons for every decided row
        out_reasons = tmp / f"{name}_reasons.parquet"
        wall, peak, text, cpu = _run([*score_cmd[:5], str(out_reasons), *score_cmd[6:], "--reasons", str(reasons)])
        decided = int(pq.read_table(out_reasons, columns=["decision"]).column("decision").to_numpy().sum())
        explained = {"reasons": reasons, "seconds": wall, "cpu_seconds": cpu, "peak_rss_mib": peak,
                     "rows_per_second": rows / wall, "decided_rows": decided,
                     "decided_rows_explained_per_second": decided / wall,
                     "vs_without_reasons": wall / statistics.median(scores), "command_output": text}
    # The scores of the fast path equal the Predictor's on the same rows.
    head = pq.read_table(book, columns=fields).slice(0, 20_000).to_pandas()
    written = pq.read_table(out_score, columns=["score"]).slice(0, 20_000).column("score").to_numpy()
    expected = predictor.predict_score(head).astype(np.float32)
    # The floor is the faster of the two plain pyarrow jobs (median of each).
    floor_mode = min(floors, key=lambda m: statistics.median(floors[m]))
    floor, score = statistics.median(floors[floor_mode]), statistics.median(scores)
    return {"schema": name, "rows": rows, "input_bytes": book.stat().st_size, "features": len(fields),
            "encoded_width": predictor.encoder.n_features, "floor_seconds": floor, "score_seconds": score,
            "ratio": score / floor, "floor_mode": floor_mode, "floor_runs": floors,
            # CPU seconds (user + system) of each process: what the load of a shared machine changes least.
            "floor_cpu_seconds": statistics.median(floor_cpu[floor_mode]),
            "score_cpu_seconds": statistics.median(score_cpu), "floor_cpu_runs": floor_cpu, "score_cpu_runs": score_cpu, "score_runs": scores, "peak_rss_mib": max(peaks),
            "floor_peak_rss_mib": max(floor_peaks), "rows_per_second": rows / score,
            "scores_equal_predictor": bool(np.array_equal(written, expected)),
            "max_abs_diff_vs_predictor": float(np.abs(written - expected).max()), "command_output": outputs[-1],
            "target_ratio": 1.3, "target_rss_mib": 2048,
            "pass": score / floor <= 1.3 and max(peaks) <= 2048, "with_reasons": explained}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sba-train-rows", type=int, default=20_000)
    parser.add_argument("--skip-sba", action="store_true")
    parser.add_argument("--skip-synth", action="store_true")
    parser.add_argument("--skip-german", action="store_true")
    parser.add_argument("--reasons", type=int, default=0,
                        help="also time one 'finlite score --reasons N' run per schema (0: not)")
    args = parser.parse_args()

    import finlite
    from finlite._timing import cpu_info

    # finlite's bytecode compiled up front, as a wheel install has it: with PYTHONDONTWRITEBYTECODE
    # set, an edited source tree would otherwise be compiled again inside every timed command.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(finlite.__file__).parent)], check=True,
                   stdout=subprocess.DEVNULL)
    result: dict = {"cpu": cpu_info(), "load_average_before": os.getloadavg(), "rows": args.rows}
    with tempfile.TemporaryDirectory(dir=HERE / ".cache" if (HERE / ".cache").is_dir() else None) as name:
        tmp = Path(name)
        if not args.skip_synth:
            result["synth"] = s = synth(args.rows, args.seed, tmp)
            print(f"synth: {s['rows']:,} rows in {s['wall_seconds']:.1f} s ({s['rows_per_second']:,.0f} rows/s), "
                  f"peak {s['peak_rss_mib']:.0f} MiB, {s['bytes'] / 2**20:.0f} MiB on disk "
                  f"[{'PASS' if s['pass'] else 'FAIL'} ≤ 60 s per 10 M]; AUC on a {s['auc']['sample_rows']:,}-row "
                  f"sample: logistic {s['auc']['logistic_regression']}, LightGBM {s['auc']['lightgbm']}")
        cases = [] if args.skip_german else [("german", german_student, german_book)]
        if not args.skip_sba:
            cases.append(("sba", lambda: sba_student(args.sba_train_rows, args.seed), sba_book))
        result["scoring"] = []
        for schema, make_student, make_book in cases:
            student, book = make_student(), make_book(args.rows, args.seed)
            r = scoring(schema, student, book, args.runs, tmp, args.reasons)
            result["scoring"].append(r)
            print(f"score {schema}: {r['rows']:,} rows, {r['features']} fields -> {r['encoded_width']} inputs; floor "
                  f"{r['floor_seconds']:.2f} s ({r['floor_mode']}), finlite score {r['score_seconds']:.2f} s, ratio "
                  f"{r['ratio']:.2f} [{'PASS' if r['ratio'] <= 1.3 else 'FAIL'} ≤ 1.3]; CPU seconds "
                  f"{r['floor_cpu_seconds']:.2f} vs {r['score_cpu_seconds']:.2f}; peak {r['peak_rss_mib']:.0f} MiB "
                  f"[{'PASS' if r['peak_rss_mib'] <= 2048 else 'FAIL'} ≤ 2 GiB], {r['rows_per_second']:,.0f} rows/s, "
                  f"scores equal the Predictor's: {r['scores_equal_predictor']}")
            w = r["with_reasons"]
            if w:
                print(f"  with --reasons {w['reasons']}: {w['seconds']:.2f} s ({w['vs_without_reasons']:.1f}x the run "
                      f"without), {w['decided_rows']:,} decided rows explained at "
                      f"{w['decided_rows_explained_per_second']:,.0f}/s, peak {w['peak_rss_mib']:.0f} MiB")
    result["load_average_after"] = os.getloadavg()
    print(f"cpu: {result['cpu']['model']} ({result['cpu']['cores']} cores); load average before "
          f"{result['load_average_before'][0]:.1f}, after {result['load_average_after'][0]:.1f}")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "scoring.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
