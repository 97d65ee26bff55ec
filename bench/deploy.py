"""Benchmark: the deployed student against the teacher it replaces, as a bank would run it.

Run with ``make bench`` (or ``python bench/deploy.py``). On the bundled German credit data it
trains two teachers (a torch MLP and LightGBM), distils and prunes a student from each, exports
the students to ONNX (fp32 and int8) and then measures, each comparison side by side in one run:

1. batch-1 latency in-process through the Predictor, from a raw record and from a numeric
   vector, against the teacher on the same records (torch eager MLP; LightGBM's own predict);
2. ``finlite score`` on a 1,000,000-row Parquet portfolio: rows per second end to end (the
   whole command, start-up included) and the command's peak memory;
3. ``finlite serve`` under 2,000 requests at 32 concurrent connections on loopback: errors,
   p50/p99 and requests per second;
4. parity: decisions flipped by the fp32 and int8 exports on the test split.

Targets (printed PASS/FAIL): student ≤ 25 µs p50 per raw record and ≤ 10 µs per vector; the
teacher ≥ 5× slower on the same record; ≥ 1,000,000 rows/s with peak memory < 2 GiB; no
service errors; no fp32 flips. Writes ``bench/results/deploy.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import finlite
from finlite.jobs.bench import bench
from finlite.jobs.export import export_artifact
from finlite.methods import MagnitudePruning
from finlite.training.loop import TrainConfig

HERE = Path(__file__).parent
FINLITE = str(Path(sys.executable).parent / "finlite")


def build(tmp: Path, seed: int) -> dict[str, dict[str, Path]]:
    """Teachers and exported students on German credit."""
    data = finlite.datasets.path("german_credit")
    pairs = {}
    for kind in ("mlp", "lightgbm"):
        teacher = finlite.train(data, target="creditability", positive="bad", seed=seed, model=kind,
                                config=TrainConfig(progress=False), out=tmp / f"{kind}_teacher")
        student = finlite.compress(teacher.path, data, pruning=MagnitudePruning(sparsity=0.5), seed=seed,
                                   out=tmp / f"{kind}_student", progress=False, timing=False)
        export_artifact(student.path, data, int8=True)
        pairs[kind] = {"teacher": teacher.path, "student": student.path}
    return pairs


def latency(pairs: dict[str, dict[str, Path]], repeats: int) -> dict:
    out = {}
    for kind, pair in pairs.items():
        result = bench(pair["student"], pair["teacher"], repeats=repeats, batch=65536)
        student = {b["backend"]: b for b in result["artifacts"][0]["backends"]}
        teacher = result["artifacts"][1]["backends"][0]
        fp32 = student["onnxruntime fp32"]
        out[kind] = {
            "teacher_backend": teacher["backend"],
            "student_record_p50_us": fp32["record"]["p50_us"], "student_record_p99_us": fp32["record"]["p99_us"],
            "student_vector_p50_us": fp32["vector"]["p50_us"], "student_vector_p99_us": fp32["vector"]["p99_us"],
            "teacher_record_p50_us": teacher["record"]["p50_us"], "teacher_vector_p50_us": teacher["vector"]["p50_us"],
            "record_speedup": teacher["record"]["p50_us"] / fp32["record"]["p50_us"],
            "vector_speedup": teacher["vector"]["p50_us"] / fp32["vector"]["p50_us"],
            "student_torch_record_p50_us": student["torch eager"]["record"]["p50_us"],
            "student_int8_record_p50_us": student["onnxruntime int8"]["record"]["p50_us"],
            "rows_per_second": {name: b["rows_per_second"] for name, b in student.items()},
            "teacher_rows_per_second": teacher["rows_per_second"],
            "cpu": result["cpu"],
        }
    return out


def portfolio(rows: int, seed: int) -> Path:
    """A Parquet portfolio of ``rows`` applications resampled from German credit, with ids (cached)."""
    path = HERE / ".cache" / f"german_portfolio_{rows}_{seed}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = finlite.datasets.load("german_credit").drop(columns=["creditability"])
        book = frame.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
        book.insert(0, "application_id", np.arange(rows, dtype=np.int64))
        book.to_parquet(path, index=False)
    return path


def batch_scoring(student: Path, rows: int, seed: int, tmp: Path, runs: int = 3) -> dict:
    """``finlite score`` on the portfolio ``runs`` times as a separate command; the median wall time
    (start-up, reading, encoding, scoring and writing included) and the largest peak memory."""
    source = portfolio(rows, seed)
    out = tmp / "scores.parquet"
    walls, peaks, output = [], [], ""
    for _ in range(runs):
        command = [FINLITE, "score", str(student), str(source), "-o", str(out), "--id-column", "application_id",
                   "--quiet", "--force"]
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own peak RSS, not a running maximum
        walls.append(time.perf_counter() - start)
        output = proc.stdout.read().strip() if proc.stdout else ""
        if status != 0:
            raise RuntimeError(f"finlite score failed: {proc.stderr.read() if proc.stderr else ''}")
        peaks.append(usage.ru_maxrss / 1024)
    scored = pd.read_parquet(out, columns=["application_id"])
    assert len(scored) == rows and scored["application_id"].is_monotonic_increasing
    wall = statistics.median(walls)
    return {"rows": rows, "input_bytes": source.stat().st_size, "wall_seconds": wall, "wall_seconds_runs": walls,
            "rows_per_second_end_to_end": rows / wall, "peak_rss_mib": max(peaks), "command_output": output}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _load(base: str, records: list[dict], total: int, concurrency: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        async def worker() -> None:
            for i in counter:
                start = time.perf_counter()
                try:
                    response = await client.post("/predict", json=records[i % len(records)])
                    if response.status_code != 200:
                        errors.append(f"HTTP {response.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1e3
    return {"requests": total, "concurrency": concurrency, "errors": len(errors), "error_kinds": sorted(set(errors)),
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "requests_per_second": total / elapsed}


def service(student: Path, total: int, concurrency: int, tmp: Path) -> dict:
    port = _free_port()
    audit = tmp / "audit.jsonl"
    proc = subprocess.Popen([FINLITE, "serve", str(student), "--port", str(port), "--audit-log", str(audit)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(150):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError("finlite serve did not start")
        frame = finlite.datasets.load("german_credit").drop(columns=["creditability"])
        records = json.loads(frame.head(500).to_json(orient="records"))
        result = asyncio.run(_load(base, records, total, concurrency))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    result["audit_lines"] = len(audit.read_text().splitlines())
    return result


def parity(pairs: dict[str, dict[str, Path]]) -> dict:
    out = {}
    for kind, pair in pairs.items():
        export = json.loads((pair["student"] / "manifest.json").read_text())["export"]
        out[kind] = {"rows": export["rows"], "fp32_flips": export["onnx"]["parity"]["flips"],
                     "fp32_max_abs_diff": export["onnx"]["parity"]["max_abs_diff"],
                     "int8_flips_vs_float": export["onnx_int8"]["against_float"]["flips"],
                     "int8_auc": export["onnx_int8"]["against_float"]["auc_int8"],
                     "float_auc": export["onnx_int8"]["against_float"]["auc_float"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the batch-scoring portfolio")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5000, help="timed batch-1 calls per measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pairs = build(tmp, args.seed)
        result = {"latency": latency(pairs, args.repeats),
                  "batch_scoring": batch_scoring(pairs["mlp"]["student"], args.rows, args.seed, tmp),
                  "service": service(pairs["mlp"]["student"], args.requests, args.concurrency, tmp),
                  "parity": parity(pairs)}
    out = HERE / "results" / "deploy.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")

    checks = []
    for kind, lat in result["latency"].items():
        print(f"{kind} teacher ({lat['teacher_backend']}) vs exported student (ONNX Runtime fp32), batch 1:")
        print(f"  raw record  student p50 {lat['student_record_p50_us']:.1f} µs (p99 {lat['student_record_p99_us']:.1f})"
              f"  teacher p50 {lat['teacher_record_p50_us']:.1f} µs  -> {lat['record_speedup']:.1f}x")
        print(f"  vector      student p50 {lat['student_vector_p50_us']:.1f} µs (p99 {lat['student_vector_p99_us']:.1f})"
              f"  teacher p50 {lat['teacher_vector_p50_us']:.1f} µs  -> {lat['vector_speedup']:.1f}x")
        print(f"  student torch eager record {lat['student_torch_record_p50_us']:.1f} µs, "
              f"ONNX int8 record {lat['student_int8_record_p50_us']:.1f} µs")
        checks += [(f"{kind}: student raw record p50 <= 25 µs", lat["student_record_p50_us"] <= 25),
                   (f"{kind}: student vector p50 <= 10 µs", lat["student_vector_p50_us"] <= 10),
                   (f"{kind}: teacher >= 5x slower on the same record", lat["record_speedup"] >= 5)]
    b = result["batch_scoring"]
    print(f"finlite score, {b['rows']:,}-row Parquet: {b['wall_seconds']:.2f} s end to end, median of 3 "
          f"({b['rows_per_second_end_to_end']:,.0f} rows/s), peak memory {b['peak_rss_mib']:.0f} MiB")
    print(f"  {b['command_output']}")
    checks += [("batch scoring >= 1,000,000 rows/s end to end", b["rows_per_second_end_to_end"] >= 1e6),
               ("batch scoring peak memory < 2 GiB", b["peak_rss_mib"] < 2048)]
    s = result["service"]
    print(f"finlite serve: {s['requests']} requests at {s['concurrency']} connections: {s['errors']} errors, "
          f"p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, {s['requests_per_second']:,.0f} req/s, "
          f"{s['audit_lines']} audit lines")
    checks.append(("service: no errors", s["errors"] == 0 and s["audit_lines"] == s["requests"]))
    for kind, p in result["parity"].items():
        print(f"parity ({kind} student, {p['rows']} test rows): fp32 flips {p['fp32_flips']} "
              f"(max |Δp| {p['fp32_max_abs_diff']:.1e}); int8 flips against float {p['int8_flips_vs_float']} "
              f"(AUC {p['float_auc']:.4f} -> {p['int8_auc']:.4f})")
        checks.append((f"{kind}: no fp32 decision flipped", p["fp32_flips"] == 0))
    cpu = next(iter(result["latency"].values()))["cpu"]
    print(f"CPU: {cpu['model']} ({cpu['cores']} cores), ISA {' '.join(cpu['isa'])}")
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    print(f"wrote {out}")
    if not all(ok for _, ok in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
