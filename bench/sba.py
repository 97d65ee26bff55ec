"""Benchmark: the SBA 7(a) loan book (899,164 loans, high-cardinality text, money as text) end to end.

Run with ``python bench/sba.py`` (part of ``make bench``). Every step is the ``finlite`` command a
user would type, run as a child process on the file as it comes (``bench/_data.py: sba_raw_csv``),
and measured from outside: wall time, CPU time and peak memory (``os.wait4``'s resource usage of
that one child). For each variant (with ``Term`` and without it: Term is suspected leakage, see
DATASETS.md) it runs

1. ``finlite train RAW --model lightgbm`` with the columns recorded after the outcome and the IDs
   dropped and Zip/NAICS read as categories (the teacher);
2. ``finlite compress TEACHER RAW`` (the default student);
3. ``finlite compress TEACHER RAW --input-bins 32 --epochs 20`` (the same with input bins at the
   teacher's split thresholds, which need fewer epochs);
4. ``finlite compress TEACHER RAW --preset balanced``;
5. ``finlite compress TEACHER RAW --search --budget B`` (the search's choice);
6. ``finlite search TEACHER RAW --input-bins 32 --budget B`` (``binsearch``: the same space with
   students that read binned inputs, which the search's summary suggests when plain ones miss;
   about 6 more minutes per variant);

then scores the held-out 20 % test split with each artifact and prints the table: AUC, agreement at
the teacher's 90th-percentile cut-off (the 10 % of loans the teacher flags), size, time, peak
memory, and the targets (train ≤ 3 min, compress ≤ 5 min, balanced ≤ 10 min, ≤ 4 GiB each; AUC
within 0.01 of the teacher and agreement ≥ 97 %). Finally it runs ``finlite train`` on the raw
file with no options at all (every column, money as text): it must succeed or stop with exit 2 and
a message, never a traceback. Writes ``bench/results/sba.json`` and the children's logs next to it.

The machine is shared and its load changes the wall times; CPU seconds are printed beside them.
``--rows N`` runs on a seeded sample of N loans (a quick check of the script, not the benchmark).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _data import CACHE, sba_raw_csv  # bench/ is run as a script directory

from finlite._timing import cpu_info

RESULTS = Path(__file__).parent / "results"
FINLITE = [sys.executable, "-c", "from finlite.cli import main; main()"]  # the `finlite` command
TARGET = ["--target", "MIS_Status", "--positive", "CHGOFF"]
# Recorded after the outcome (ChgOffDate, ChgOffPrinGr, BalanceGross) and identifiers.
DROP = ["ChgOffDate", "ChgOffPrinGr", "BalanceGross", "LoanNr_ChkDgt", "Name"]
CATEGORIES = ["Zip", "NAICS"]  # integer codes that are really categories
LIMITS_S = {"teacher": 180, "default": 300, "binned": 300, "balanced": 600}
#: The binned student's run: input bins at the teacher's splits, 20 epochs of distillation and fine-tuning.
BINNED = ["--input-bins", "32", "--epochs", "20"]
MAX_RSS = 4 << 30
MAX_AUC_DROP, MIN_AGREEMENT = 0.01, 0.97


def run_step(name: str, args: list[str], logs: Path) -> dict[str, Any]:
    """Run one command as a child process; its wall time, CPU time, peak memory and exit code."""
    log = logs / f"{name}.log"
    start = time.perf_counter()
    with log.open("w") as fh:
        fh.write("$ finlite " + " ".join(args) + "\n")
        fh.flush()
        proc = subprocess.Popen([*FINLITE, *args], stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    text = log.read_text()
    out = {"step": name, "rc": proc.returncode, "wall_s": round(wall, 1),
           "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_rss_bytes": usage.ru_maxrss * 1024,
           "traceback": "Traceback (most recent call last)" in text, "log": str(log)}
    print(f"  {name}: exit {out['rc']}, {wall:.0f} s wall, {out['cpu_s']:.0f} s CPU, "
          f"peak {out['peak_rss_bytes'] / 2**30:.2f} GiB", flush=True)
    if out["rc"] not in (0, 1):
        print("\n".join(text.splitlines()[-15:]), flush=True)
    return out


def agreement_at(p_teacher: np.ndarray, p_student: np.ndarray, quantile: float = 0.9) -> tuple[float, float]:
    """Share of rows on which both models make the same decision at the teacher's ``quantile`` score."""
    cut = float(np.quantile(p_teacher, quantile))
    return float(np.mean((p_teacher >= cut) == (p_student >= cut))), cut


def score(paths: dict[str, Path], data: Path) -> dict[str, dict[str, Any]]:
    """Test-split AUC, agreement and size of every artifact that was written."""
    import torch

    import finlite
    from finlite.artifact import prepare_like
    from finlite.data.io import read_table
    from finlite.evaluate.metrics import auc

    teacher = finlite.load(paths["teacher"])
    prepared = prepare_like(teacher, read_table(data))
    x = torch.from_numpy(prepared.x_test)
    p_teacher = teacher.model.predict_proba(x).numpy().astype(np.float64)
    out = {"teacher": {"auc": auc(prepared.y_test, p_teacher), "bytes": teacher.weights_bytes,
                       "test_rows": len(p_teacher)}}
    for name, path in paths.items():
        if name == "teacher" or not (path / "manifest.json").is_file():
            continue
        art = finlite.load(path)
        p = art.model.predict_proba(x).numpy().astype(np.float64)
        agree, cut = agreement_at(p_teacher, p)
        out[name] = {"auc": auc(prepared.y_test, p), "agreement_p90": agree, "cutoff_p90": cut,
                     "bytes": art.weights_bytes, "hidden": art.manifest["model"].get("hidden")}
    return out


def variant(name: str, data: Path, work: Path, logs: Path, options: list[str], budget: float,
            steps: list[str], reuse: dict[str, Any] | None = None) -> dict[str, Any]:
    """Teacher, default student, binned student, balanced, search and binned search on one set of columns.

    ``reuse``: the variant's record from an earlier run; its teacher (and its measurement) is
    kept when the artifact is still there, and so are the runs of steps not repeated now.
    """
    print(f"{name}:", flush=True)
    d = work / name
    paths = {k: d / k for k in ("teacher", "default", "binned", "balanced", "search", "binsearch")}
    earlier = {r["step"]: r for r in (reuse or {}).get("runs", [])}
    if f"{name}-teacher" in earlier and (paths["teacher"] / "manifest.json").is_file():
        print(f"  {name}-teacher: reused from the earlier run", flush=True)
        runs = [earlier.pop(f"{name}-teacher")]
    else:
        earlier = {}
        runs = [run_step(f"{name}-teacher", ["train", str(data), *TARGET, "--model", "lightgbm", *options,
                                             "--out", str(paths["teacher"]), "--force"], logs)]
    if runs[0]["rc"] != 0:
        return {"runs": runs, "scores": {}}
    runs += [r for step, r in earlier.items() if step.split("-", 1)[1] not in steps]
    compress = ["compress", str(paths["teacher"]), str(data), "--force"]
    if "default" in steps:
        runs.append(run_step(f"{name}-default", [*compress, "--out", str(paths["default"])], logs))
    if "binned" in steps:
        runs.append(run_step(f"{name}-binned", [*compress, *BINNED, "--out", str(paths["binned"])], logs))
    if "balanced" in steps:
        runs.append(run_step(f"{name}-balanced", [*compress, "--preset", "balanced", "--out",
                                                  str(paths["balanced"])], logs))
    if "search" in steps:
        runs.append(run_step(f"{name}-search", [*compress, "--search", "--budget", f"{budget:g}", "--out",
                                                str(paths["search"])], logs))
    if "binsearch" in steps:
        runs.append(run_step(f"{name}-binsearch", ["search", str(paths["teacher"]), str(data), "--force", "--input-bins",
                                                   "32", "--budget", f"{budget:g}", "--out", str(paths["binsearch"])],
                             logs))
    return {"runs": runs, "scores": score(paths, data)}


def sample(path: Path, rows: int) -> Path:
    """A seeded sample of ``rows`` loans of the raw file, as raw text (a quick check of the script)."""
    import pandas as pd

    out = CACHE / f"sba_raw_{rows}.csv"
    if not out.is_file():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.sample(n=min(rows, len(frame)), random_state=0).to_csv(out, index=False)
    return out


def table(result: dict[str, Any]) -> str:
    """The printed table: one row per model and variant."""
    lines = [f"{'variant':<10} {'model':<9} {'AUC':>7} {'ΔAUC':>7} {'agree@p90':>9} {'size':>10} {'wall s':>7} "
             f"{'CPU s':>7} {'peak GiB':>8}  targets"]
    for vname, v in result["variants"].items():
        runs = {r["step"].split("-", 1)[1]: r for r in v["runs"]}
        scores = v["scores"]
        t_auc = scores.get("teacher", {}).get("auc")
        for model in ("teacher", "default", "binned", "balanced", "search", "binsearch"):
            r, s = runs.get(model), scores.get(model, {})
            if r is None:
                continue
            notes = []
            if model in LIMITS_S:
                notes.append(f"time {'ok' if r['wall_s'] <= LIMITS_S[model] else 'MISSED'} (≤{LIMITS_S[model]} s)")
                notes.append(f"memory {'ok' if r['peak_rss_bytes'] <= MAX_RSS else 'MISSED'}")
            if model != "teacher" and s and t_auc is not None:
                good = t_auc - s["auc"] <= MAX_AUC_DROP and s["agreement_p90"] >= MIN_AGREEMENT
                notes.append(f"fidelity {'ok' if good else 'MISSED'}")
            if r["rc"] != 0:
                notes.append(f"exit {r['rc']}")
            auc_s = f"{s['auc']:.4f}" if s else "-"
            drop = f"{t_auc - s['auc']:+.4f}" if s and model != "teacher" and t_auc is not None else ""
            agree = f"{s['agreement_p90']:.2%}" if s and "agreement_p90" in s else ""
            size = f"{s['bytes']:,}" if s else "-"
            lines.append(f"{vname:<10} {model:<9} {auc_s:>7} {drop:>7} {agree:>9} {size:>10} {r['wall_s']:>7.0f} "
                         f"{r['cpu_s']:>7.0f} {r['peak_rss_bytes'] / 2**30:>8.2f}  {', '.join(notes)}")
    raw = result.get("raw_as_it_comes")
    if raw:
        verdict = "ok" if raw["rc"] in (0, 2) and not raw["traceback"] else "FAILED"
        lines.append(f"raw file as it comes (no options): exit {raw['rc']}, traceback {raw['traceback']}: {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=None, help="a seeded sample of this many loans (quick check)")
    parser.add_argument("--variants", default="term,noterm", help="term, noterm or both (comma-separated)")
    parser.add_argument("--steps", default="default,binned,balanced,search,binsearch",
                        help="compress runs after the teacher")
    parser.add_argument("--budget", type=float, default=300.0, help="--budget of the search, in seconds")
    parser.add_argument("--no-raw", action="store_true", help="skip the run on the raw file with no options")
    parser.add_argument("--work", type=Path, default=CACHE / "sba-runs", help="where artifacts are written")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the teachers (and the steps not run now) of the last run's results file")
    args = parser.parse_args()

    data = sba_raw_csv() if args.rows is None else sample(sba_raw_csv(), args.rows)
    tag = "sba" if args.rows is None else f"sba-{args.rows}"
    logs = RESULTS / f"{tag}-logs"
    previous = json.loads((RESULTS / f"{tag}.json").read_text()) if args.reuse and (RESULTS / f"{tag}.json").is_file() \
        else {"variants": {}}
    if not args.reuse:
        shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True, exist_ok=True)
    base = [opt for c in DROP for opt in ("--drop", c)] + [opt for c in CATEGORIES for opt in ("--categorical", c)]
    options = {"term": base, "noterm": [*base, "--drop", "Term"]}
    steps = args.steps.split(",") if args.steps else []
    result: dict[str, Any] = {"data": str(data), "cpu": cpu_info(), "load_average_at_start": os.getloadavg(),
                              "targets": {"seconds": LIMITS_S, "peak_rss_bytes": MAX_RSS,
                                          "max_auc_drop": MAX_AUC_DROP, "min_agreement_p90": MIN_AGREEMENT},
                              "variants": {}}
    for name in [v for v in args.variants.split(",") if v]:
        result["variants"][name] = variant(name, data, args.work, logs, options[name], args.budget, steps,
                                           previous["variants"].get(name))
    for name, earlier in previous["variants"].items():  # variants not run now keep their results
        result["variants"].setdefault(name, earlier)
    if args.no_raw and "raw_as_it_comes" in previous:
        result["raw_as_it_comes"] = previous["raw_as_it_comes"]
    if not args.no_raw:
        print("raw file as it comes:", flush=True)
        result["raw_as_it_comes"] = run_step("raw-as-it-comes", ["train", str(data), "--target", "MIS_Status",
                                                                 "--model", "lightgbm", "--out",
                                                                 str(args.work / "raw"), "--force"], logs)
    result["load_average_at_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{tag}.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    text = table(result)
    (RESULTS / f"{tag}.txt").write_text(text + "\n")
    print(f"\nCPU: {result['cpu']['model']} ({result['cpu']['cores']} cores); load average "
          f"{result['load_average_at_start'][0]:.1f} at start, {result['load_average_at_end'][0]:.1f} at end")
    print(text)


if __name__ == "__main__":
    main()
