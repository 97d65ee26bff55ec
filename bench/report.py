"""Benchmark: the validation report on real data, timed, sized and checked for empty sections.

Run with ``make bench`` or ``python bench/report.py``. Two cases, as the issue names them:

- **fraud**: the ULB card-fraud table (284,807 payments; its test split is 57,000 rows of 30
  numeric features; downloaded once, see ``bench/_data.py``), a LightGBM teacher as in
  ``bench/fraud.py``, compressed with ``--preset balanced``;
- **markets**: the market demo (``finlite demo --markets``: an LSTM on the bundled S&P 500,
  distilled into a GRU and pruned).

Making the teacher and the student is set-up, not timed. What is timed is the report itself:
:func:`finlite.jobs.report.rebuild_report` with the data, which builds every section again from
the artifact, its teacher and the table (the work compress does after training, less the cost
section's latency measurement, which a rebuild takes from the stored report), and each
section's seconds (from the report job's debug log). Per case it prints the report build
seconds (target: under 60 s), the bytes of report.html (target: under 2 MB), the sections
present and whether any is empty (every section must carry metrics and a table or a plot),
and the CPU, and whether every target was met. Writes ``bench/results/report.json``.

``--smoke`` (or ``FINLITE_BENCH_SMOKE=1``) runs the same code on small local data instead (the
bundled German credit with a LightGBM teacher, and a 400-day synthetic price series with a small
GRU): a check of the benchmark itself on a busy machine, not a measurement of the targets.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import finlite
from finlite._limits import available_cores
from finlite._timing import cpu_info
from finlite.jobs.compress import compress_with_recipe
from finlite.jobs.report import rebuild_report
from finlite.recipe.presets import load_preset
from finlite.training.loop import TrainConfig

TARGET_SECONDS = 60.0
TARGET_BYTES = 2 * 1024 * 1024

# As bench/fraud.py: 170,000 training rows take larger batches than German credit's 64.
DISTILL = TrainConfig(batch_size=1024, epochs=40, patience=6, lr=3e-3, progress=False)
FINE_TUNE = TrainConfig(batch_size=1024, epochs=15, patience=4, lr=1e-3, progress=False)
QUICK = TrainConfig(epochs=5, patience=2, progress=False)


class _SectionTimes(logging.Handler):
    """Collects "report section X built in S s" from the report job's debug log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "report section %s built in %.3f s" and isinstance(record.args, tuple):
            name, seconds = record.args
            self.seconds[str(name)] = self.seconds.get(str(name), 0.0) + float(seconds)


def _empty(section: dict[str, Any]) -> str | None:
    """Why a section counts as empty (no metrics, or neither a table nor a plot), or None."""
    if not section.get("metrics"):
        return "no metrics"
    tables = [t for t in section.get("tables") or [] if t.get("rows")]
    plots = [p for p in section.get("plots") or [] if any(s.get("x") for s in p.get("series") or [])]
    if not tables and not plots:
        return "no table or plot"
    return None


def measure(student: Path, data: Path | str) -> dict[str, Any]:
    """Rebuild ``student``'s report from the data, timed; its size and its sections checked."""
    logger = logging.getLogger("finlite.jobs.report")
    handler = _SectionTimes()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            folder = rebuild_report(student, data, out=Path(tmp) / "report")
            seconds = time.perf_counter() - start
            html = (folder / "report.html").stat().st_size
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
            # The rebuild from the data must give the very bytes compress wrote into the artifact.
            identical = {name: (folder / name).read_bytes() == (student / name).read_bytes()
                         for name in ("report.json", "report.html", "MODEL_CARD.md", "flips.csv")
                         if (student / name).exists()}
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    sections = report.get("sections") or []
    empty = {s["id"]: why for s in sections if (why := _empty(s)) is not None}
    return {"seconds": seconds, "html_bytes": html, "sections": [s["id"] for s in sections],
            "statuses": {s["id"]: s.get("status") for s in sections}, "empty": empty,
            "omitted": report.get("omitted") or [], "section_seconds": handler.seconds, "identical": identical,
            "met": {"seconds": seconds < TARGET_SECONDS, "html_bytes": html < TARGET_BYTES, "no_empty": not empty,
                    "byte_identical": all(identical.values())}}


# -- the cases --------------------------------------------------------------------------------
def fraud_case(tmp: Path, seed: int, smoke: bool) -> dict[str, Any]:
    """A LightGBM teacher and its ``balanced`` student; the student's report measured."""
    if smoke:
        data: Path | str = finlite.datasets.path("german_credit")
        target, positive, label = "creditability", "bad", "German credit (smoke)"
        train, tune = QUICK, QUICK
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        from _data import ulb_fraud  # bench/ is run as a script directory

        data, target, positive, label = ulb_fraud(), "Class", 1, "ULB card fraud"
        train, tune = DISTILL, FINE_TUNE
    recipe = load_preset("balanced")
    if smoke:  # the same steps; German credit's students do not pass balanced's gates in a few epochs
        recipe = replace(recipe, gates=[])
    start = time.perf_counter()
    finlite.train(data, target=target, positive=positive, model="lightgbm", seed=seed, out=tmp / "fraud-teacher",
                  config=TrainConfig(progress=False))
    # ULB has no categorical column to segment by: the payment amount, in quartile bands, is what a
    # fraud team would look at first (a segments section on every case, none omitted for want of one).
    outcome = compress_with_recipe(tmp / "fraud-teacher", data, recipe, config=train,
                                   fine_tune=tune, out=tmp / "fraud-student", progress=False, timing=not smoke,
                                   segments=() if smoke else ("Amount",))
    if outcome.path is None:
        return {"case": label, "error": "no step of the balanced preset passed its gates; no student to report on"}
    setup = time.perf_counter() - start
    test_rows = finlite.load(outcome.path).manifest["data"]["split"]["rows"]["test"]
    return {"case": label, "setup_seconds": setup, "test_rows": test_rows, **measure(outcome.path, data)}


def _synthetic_prices(path: Path, n: int = 400, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = 0.3 * r[t - 1] + rng.normal(0.0, 0.01)
    frame = pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d"),
                          "close": 100.0 * np.exp(np.cumsum(r)), "volume": rng.integers(1_000, 5_000, n)})
    frame.to_csv(path, index=False)
    return path


def markets_case(tmp: Path, seed: int, smoke: bool) -> dict[str, Any]:
    """The market demo's student (or, for --smoke, a small GRU on a synthetic series); its report measured."""
    start = time.perf_counter()
    if smoke:
        from finlite.data.market import MarketSpec
        from finlite.jobs.forecast import train_forecaster

        data: Path = _synthetic_prices(tmp / "prices.csv")
        train_forecaster(data, spec=MarketSpec(objective="direction", window=10, volume_column="volume"),
                         model="gru", hidden=(8,), seed=seed, config=QUICK, out=tmp / "m-teacher", progress=False)
        finlite.compress(tmp / "m-teacher", data, student_hidden=(4,), config=QUICK, fine_tune=QUICK,
                         out=tmp / "m-student", progress=False, timing=False, seed=seed)
        student, label = tmp / "m-student", "synthetic prices (smoke)"
    else:
        out = tmp / "demo-markets"
        subprocess.run([sys.executable, "-c", "from finlite.cli import main; main()", "demo", "--markets",
                        "--out", str(out), "--seed", str(seed), "--quiet"], check=True, stdout=subprocess.DEVNULL)
        data, student, label = finlite.datasets.path("sp500"), out / "student", "market demo (S&P 500)"
    setup = time.perf_counter() - start
    test_rows = finlite.load(student).manifest["data"]["split"]["rows"].get("test")
    return {"case": label, "setup_seconds": setup, "test_rows": test_rows, **measure(student, data)}


def render(result: dict[str, Any]) -> str:
    """One block per case: seconds, bytes, sections, and the verdict."""
    cpu = result["cpu"]
    lines = [f"CPU: {cpu['model']} ({cpu['cores']} cores, {result['cores']} available); ISA: {' '.join(cpu['isa'])}"
             + ("  [SMOKE: small local data, not the targets' data]" if result["smoke"] else "")]
    for case in result["cases"]:
        if "error" in case:
            lines.append(f"{case['case']}: {case['error']}")
            continue
        met = case["met"]
        lines.append(f"{case['case']} ({case['test_rows']} test rows; set-up {case['setup_seconds']:.1f} s, not counted)")
        lines.append(f"  report build: {case['seconds']:.1f} s (target < {TARGET_SECONDS:.0f} s: "
                     f"{'met' if met['seconds'] else 'MISSED'})")
        lines.append(f"  report.html: {case['html_bytes']:,} bytes (target < 2 MB: {'met' if met['html_bytes'] else 'MISSED'})")
        statuses = case["statuses"]
        lines.append("  sections: " + ", ".join(f"{s} {statuses[s]}" for s in case["sections"]))
        slow = sorted(case["section_seconds"].items(), key=lambda kv: -kv[1])[:4]
        if slow:
            lines.append("  slowest sections: " + ", ".join(f"{k} {v:.2f} s" for k, v in slow))
        if case["omitted"]:
            lines.append("  omitted: " + "; ".join(f"{o['id']} ({o['reason']})" for o in case["omitted"]))
        lines.append("  empty sections: " + (", ".join(f"{k} ({v})" for k, v in case["empty"].items()) or "none"))
        differ = [name for name, same in case["identical"].items() if not same]
        lines.append("  rebuilt byte for byte as compress wrote it: "
                     + ("yes (" + ", ".join(case["identical"]) + ")" if not differ else "NO: " + ", ".join(differ)))
    lines.append(f"targets: {'met' if result['all_met'] else 'NOT met'}")
    return "\n".join(lines)


def run(seed: int = 0, smoke: bool = False, cases: tuple[str, ...] = ("fraud", "markets")) -> dict[str, Any]:
    result: dict[str, Any] = {"cpu": cpu_info(), "cores": available_cores(), "smoke": smoke, "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name in cases:
            folder = Path(tmp) / name
            folder.mkdir()
            case = fraud_case(folder, seed, smoke) if name == "fraud" else markets_case(folder, seed, smoke)
            result["cases"].append(case)
    result["all_met"] = all("met" in c and all(c["met"].values()) for c in result["cases"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", default=os.environ.get("FINLITE_BENCH_SMOKE") == "1",
                        help="small local data instead of ULB fraud and the S&P 500 demo (checks the benchmark only)")
    parser.add_argument("--case", choices=("fraud", "markets"), action="append",
                        help="run only this case (repeatable); default: both")
    args = parser.parse_args()
    result = run(args.seed, args.smoke, tuple(args.case or ("fraud", "markets")))
    if not args.smoke:
        out = Path(__file__).parent / "results"
        out.mkdir(exist_ok=True)
        (out / "report.json").write_text(json.dumps(result, indent=2))
    print(render(result))


if __name__ == "__main__":
    main()
