"""Benchmark: teacher vs distilled, pruned student on German credit over several seeds.

Run with ``make bench`` (or ``python bench/german_credit.py --seeds 5``). For each seed the
split, the teacher and the student change together; teacher and student are measured side
by side in the same process, so the size and speed ratios are comparable even on a noisy
machine. Writes ``bench/results/german_credit.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
from pathlib import Path

import finlite
from finlite.methods import MagnitudePruning
from finlite.training.loop import TrainConfig


def run(seeds: int) -> dict:
    data = finlite.datasets.path("german_credit")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(seeds):
            teacher = finlite.train(data, target="creditability", positive="bad", seed=seed,
                                    config=TrainConfig(progress=False), out=Path(tmp) / f"t{seed}")
            logistic = finlite.train(data, target="creditability", positive="bad", seed=seed, model="logistic",
                                     config=TrainConfig(progress=False))
            student = finlite.compress(teacher.path, data, pruning=MagnitudePruning(sparsity=0.5), progress=False)
            r = student.report
            rows.append({
                "seed": seed,
                "teacher_auc": r["teacher"]["auc"], "student_auc": r["student"]["auc"],
                "logistic_auc": logistic.metrics["test"]["auc"],
                "teacher_ks": r["teacher"]["ks"], "student_ks": r["student"]["ks"],
                "agreement": r["fidelity"]["agreement"], "psi": r["fidelity"]["psi"],
                "spearman": r["fidelity"]["spearman"],
                "teacher_bytes": r["teacher"]["model_bytes"], "student_bytes": r["student"]["model_bytes"],
                "size_ratio": r["ratios"]["size_ratio"],
                "teacher_p50_us": r["teacher"]["latency_p50_us"], "student_p50_us": r["student"]["latency_p50_us"],
                "teacher_rows_per_s": r["teacher"]["rows_per_second"],
                "student_rows_per_s": r["student"]["rows_per_second"],
            })
    summary = {}
    for key in rows[0]:
        if key == "seed":
            continue
        values = [row[key] for row in rows]
        summary[key] = {"mean": statistics.fmean(values), "sd": statistics.pstdev(values),
                        "min": min(values), "max": max(values)}
    return {"machine": platform.processor() or platform.machine(), "seeds": seeds, "runs": rows, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    result = run(args.seeds)
    out = Path(__file__).parent / "results" / "german_credit.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"{'seed':>4} {'teacher AUC':>11} {'student AUC':>11} {'logit AUC':>9} {'agree':>6} {'PSI':>6} "
          f"{'size x':>7} {'batch rows/s x':>14}")
    for row in result["runs"]:
        print(f"{row['seed']:>4} {row['teacher_auc']:>11.4f} {row['student_auc']:>11.4f} {row['logistic_auc']:>9.4f} "
              f"{row['agreement']:>6.1%} {row['psi']:>6.3f} {row['size_ratio']:>7.1f} "
              f"{row['student_rows_per_s'] / row['teacher_rows_per_s']:>14.1f}")
    s = result["summary"]
    print(f"teacher AUC {s['teacher_auc']['mean']:.3f} ± {s['teacher_auc']['sd']:.3f}; student AUC "
          f"{s['student_auc']['mean']:.3f} ± {s['student_auc']['sd']:.3f}; agreement min {s['agreement']['min']:.1%}; "
          f"size ratio min {s['size_ratio']['min']:.1f}x")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
