"""Benchmark: ``finlite serve`` against a bare FastAPI endpoint, under a compiled load generator.

Run with ``python bench/service.py`` (part of ``make bench``). It measures, side by side in one
run and on 127.0.0.1 only, with ``wrk`` (installed by this script with apt-get when missing):

1. **bare**: a FastAPI endpoint on the same uvicorn settings that reads the same JSON body,
   parses it (orjson, the parser the service uses) and returns a constant response: the cost
   of HTTP, the framework and the parse, which any service pays;
2. **bare-json**: the same with the standard ``json`` module and a returned dict (what a
   FastAPI endpoint usually looks like), for reference;
3. **service**: ``finlite serve`` on an exported artifact with the audit log on (the default),
   single records cycled from the German credit data.

Each is driven with single records at 32 connections for ``--duration`` seconds after a
warm-up; the servers are measured one after the other (never at once: the machine may have
2 cores) and the whole sequence is repeated ``--rounds`` times, alternating, and the median
round is reported. Then ``finlite serve --workers 1`` against ``--workers 2``.

Targets (printed PASS/FAIL): service >= 0.8x the bare endpoint's requests/s and p99 <= 2x the
bare endpoint's p99, and no failed request. Writes ``bench/results/service.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Module level: the bare endpoints' annotations are strings (postponed evaluation) that FastAPI
# resolves in this module's namespace.
from fastapi import FastAPI, Request, Response

HERE = Path(__file__).parent
FINLITE = str(Path(sys.executable).parent / "finlite")
CONNECTIONS = 32

_LUA = r"""
local bodies = {%(bodies)s}
local headers = {["Content-Type"] = "application/json"}
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/predict", headers, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%%d,"duration_us":%%d,"socket_errors":%%d,"non2xx":%%d,' ..
    '"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\n', summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


# -- the bare endpoint, run in a child process ----------------------------------------------------
def bare_app(parser: str) -> Any:
    """A FastAPI app whose /predict parses the JSON body and returns a constant."""
    app = FastAPI()
    if parser == "orjson":
        import orjson

        constant = orjson.dumps({"score": 0.5, "decision": 0})

        @app.post("/predict")
        async def predict(request: Request) -> Response:
            orjson.loads(await request.body())
            return Response(constant, media_type="application/json")
    else:
        @app.post("/predict")
        async def predict_json(request: Request) -> dict[str, Any]:
            json.loads(await request.body())
            return {"score": 0.5, "decision": 0}

    return app


def run_bare(parser: str, port: int) -> None:
    import uvicorn

    # The same settings finlite serve uses.
    uvicorn.run(bare_app(parser), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- set-up -------------------------------------------------------------------------------------------
def ensure_wrk() -> str:
    """The wrk binary; installed with apt-get (as root) when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing it with apt-get", flush=True)
    subprocess.run("apt-get update -qq && apt-get install -y -qq wrk", shell=True, check=True,
                   stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still missing after apt-get install; install it and run again.")
    return found


def make_artifact(tmp: Path, seed: int) -> Path:
    """A distilled, pruned, exported student on German credit (as the demo makes)."""
    import finlite
    from finlite.jobs.export import export_artifact
    from finlite.methods import MagnitudePruning

    data = finlite.datasets.path("german_credit")
    config = finlite.TrainConfig(epochs=40, patience=5, progress=False)
    teacher = finlite.train(data, target="creditability", positive="bad", seed=seed, config=config,
                            out=tmp / "teacher")
    student = finlite.compress(teacher.path, data, pruning=MagnitudePruning(sparsity=0.5), seed=seed, config=config,
                               fine_tune=config, out=tmp / "student", progress=False, timing=False)
    export_artifact(student.path, data)
    return student.path


def request_bodies(artifact: Path, n: int) -> list[bytes]:
    import orjson

    import finlite
    from finlite.runtime import Predictor

    fields = Predictor(artifact).fields
    frame = finlite.datasets.load("german_credit")[fields].head(n)
    return [orjson.dumps(r) for r in frame.to_dict("records")]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- measuring ----------------------------------------------------------------------------------------
class Server:
    """A server process on 127.0.0.1, stopped (with its workers) on exit."""

    def __init__(self, argv: list[str], port: int) -> None:
        self.port = port
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"server {argv} exited: {self.proc.stdout.read().decode() if self.proc.stdout else ''}")
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"server {argv} did not start in 90 s")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server and its worker processes."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # process group: the server's session
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the server and its worker processes
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wrk(binary: str, script: Path, server: Server, duration: float, warmup: float) -> dict[str, Any]:
    """One measurement: a warm-up, then ``duration`` seconds at 32 connections from one wrk thread.

    Besides wrk's numbers, the server's CPU time per request: less sensitive than requests/s
    to what else runs on the machine.
    """
    url = f"http://127.0.0.1:{server.port}/predict"
    base = [binary, "-t1", f"-c{CONNECTIONS}", "-s", str(script), "--timeout", "5s"]
    if warmup > 0:
        subprocess.run([*base, f"-d{max(1, round(warmup))}s", url], capture_output=True, check=True)
    cpu_before = server.cpu_seconds()
    out = subprocess.run([*base, f"-d{max(1, round(duration))}s", url], capture_output=True, text=True, check=True)
    cpu = server.cpu_seconds() - cpu_before
    match = re.search(r"^WRKJSON (.*)$", out.stdout, re.M)
    if match is None:
        raise SystemExit(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    result = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["server_cpu_us_per_request"] = cpu / max(1, result["requests"]) * 1e6
    result["p50_ms"] = result["p50_us"] / 1000
    result["p99_ms"] = result["p99_us"] / 1000
    return result


def fmt(name: str, r: dict[str, Any]) -> str:
    return (f"  {name:<22} {r['rps']:>8,.0f} req/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms   "
            f"failed {r['socket_errors'] + r['non2xx']}   server CPU {r['server_cpu_us_per_request']:5.0f} µs/request")


def median_round(rounds: list[dict[str, dict[str, Any]]], key: str) -> dict[str, Any]:
    """The round whose ratio to bare is the median (so the pair reported was measured together)."""
    ordered = sorted(rounds, key=lambda r: r[key]["rps"] / r["bare"]["rps"])
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifact", type=Path, help="exported artifact to serve (default: one made here)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per server per round")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (the median round is reported)")
    parser.add_argument("--no-workers", action="store_true", help="skip the --workers 1 vs 2 comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reasons", type=int, help="finlite serve --reasons (default: serve's own, 4 with a reference)")
    parser.add_argument("--bare-server", choices=["orjson", "json"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        run_bare(args.bare_server, args.port)
        return

    load_before = os.getloadavg()[0]
    binary = ensure_wrk()
    wrk_version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    with tempfile.TemporaryDirectory(prefix="finlite-service-bench-") as tmp_name:
        tmp = Path(tmp_name)
        artifact = args.artifact or make_artifact(tmp, args.seed)
        bodies = request_bodies(artifact, 200)
        script = tmp / "post.lua"
        script.write_text(_LUA % {"bodies": ", ".join("[=[" + b.decode() + "]=]" for b in bodies)})
        audit = tmp / "audit.jsonl"

        def service(workers: int = 1) -> Server:
            port = free_port()
            extra = [] if args.reasons is None else ["--reasons", str(args.reasons)]
            return Server([FINLITE, "serve", str(artifact), "--port", str(port), "--audit-log", str(audit),
                           "--workers", str(workers), *extra], port)

        def bare(kind: str) -> Server:
            port = free_port()
            return Server([sys.executable, __file__, "--bare-server", kind, "--port", str(port)], port)

        print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; load average before: {load_before:.2f}; "
              f"{wrk_version}", flush=True)
        print(f"wrk -t1 -c{CONNECTIONS} -d{args.duration:g}s, single records ({len(bodies)} cycled, "
              f"{statistics.mean(map(len, bodies)):.0f} bytes each), warm-up {args.warmup:g}s, {args.rounds} rounds",
              flush=True)
        rounds: list[dict[str, dict[str, Any]]] = []
        for i in range(args.rounds):
            measured: dict[str, dict[str, Any]] = {}
            # Alternate the order so a slow phase of the machine does not always hit the same server.
            order = ["bare", "bare-json", "service"] if i % 2 == 0 else ["service", "bare-json", "bare"]
            for name in order:
                server = service() if name == "service" else bare("orjson" if name == "bare" else "json")
                with server:
                    measured[name] = wrk(binary, script, server, args.duration, args.warmup)
            rounds.append(measured)
            print(f"round {i + 1}:", flush=True)
            for name in ("bare", "bare-json", "service"):
                print(fmt(name, measured[name]), flush=True)
        audited = len(audit.read_text().splitlines()) if audit.exists() else 0
        chosen = median_round(rounds, "service")
        ratio_rps = chosen["service"]["rps"] / chosen["bare"]["rps"]
        ratio_p99 = chosen["service"]["p99_ms"] / chosen["bare"]["p99_ms"]
        failed = sum(r[k]["socket_errors"] + r[k]["non2xx"] for r in rounds for k in r)
        served = sum(r["service"]["requests"] for r in rounds)

        scaling: dict[str, Any] = {}
        if not args.no_workers:
            for workers in (1, 2):
                with service(workers) as server:
                    scaling[f"workers_{workers}"] = wrk(binary, script, server, args.duration, args.warmup)
            scaling["speed_up"] = scaling["workers_2"]["rps"] / scaling["workers_1"]["rps"]

    checks = {
        "service >= 0.8x bare requests/s": ratio_rps >= 0.8,
        "service p99 <= 2x bare p99": ratio_p99 <= 2.0,
        "no failed request": failed == 0,
        "an audit line per delivered prediction": audited >= served,
    }
    print(f"\nmedian round (by the service/bare ratio), {args.duration:g} s each at {CONNECTIONS} connections:")
    for name in ("bare", "bare-json", "service"):
        print(fmt(name, chosen[name]))
    print(f"  service / bare:      {ratio_rps:.2f}x requests/s, {ratio_p99:.2f}x p99")
    print(f"  service / bare-json: {chosen['service']['rps'] / chosen['bare-json']['rps']:.2f}x requests/s, "
          f"{chosen['service']['p99_ms'] / chosen['bare-json']['p99_ms']:.2f}x p99")
    print(f"  audit log: {audited} lines for {served} delivered predictions counted by wrk")
    if scaling:
        print("finlite serve --workers 1 vs 2:")
        print(fmt("--workers 1", scaling["workers_1"]))
        print(fmt("--workers 2", scaling["workers_2"]))
        print(f"  speed-up {scaling['speed_up']:.2f}x (wrk shares the same cores)")
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    results = {
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "load_average_1m_at_start": load_before,
                    "python": platform.python_version(), "wrk": wrk_version},
        "settings": {"connections": CONNECTIONS, "duration_s": args.duration, "warmup_s": args.warmup,
                     "rounds": args.rounds, "wrk_threads": 1, "records_cycled": len(bodies)},
        "rounds": rounds, "median_round": chosen,
        "ratios": {"service_over_bare_rps": ratio_rps, "service_over_bare_p99": ratio_p99},
        "workers": scaling, "audit_lines": audited, "predictions_counted": served,
        "checks": checks, "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    out = HERE / "results" / "service.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True))
    print(f"written {out}")


if __name__ == "__main__":
    main()
