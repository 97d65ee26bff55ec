"""Benchmark: finlite's recipes against PyTorch's and ONNX Runtime's quantize_dynamic, same teacher.

Run with ``make bench`` or ``python bench/peers.py`` (``--boosted`` runs only the second part,
``--quantizers`` only the first).

**Part 1, quantizers.** One MLP teacher (256-128) is trained on German credit; then, side by side
in one process:

- PyTorch ``torch.ao.quantization.quantize_dynamic`` on the teacher (int8 Linear layers);
- ONNX Runtime ``onnxruntime.quantization.quantize_dynamic`` on the teacher exported to ONNX;
- finlite's presets ``smallest`` and ``fastest`` and a plain distillation on the same teacher,
  in torch eager and (float students) in ONNX Runtime through finlite's exporter.

For each: bytes of what would be deployed, test AUC, agreement with the teacher at the cut-off,
and batch-1 latency (p50, microseconds) in the runtime that model runs in. Writes
``bench/results/peers.json``. The ONNX files are written by ``finlite.export.to_onnx``, the
exporter behind ``finlite export``.

**Part 2, the best ways to run a boosted teacher.** A LightGBM teacher (about 30 trees) is
trained on German credit's encoded columns and distilled into finlite's default student; both
are exported. On held-back rows (the test split, resampled to 100,000 rows), side by side:

- the student's Predictor from a raw record (``score_record``, encoding included) at batch 1,
  and ``Predictor.predict_score`` on a raw 100,000-row DataFrame (encoding included);
- the teacher run by LightGBM's own ``predict``, by ONNX Runtime (finlite's tree-ensemble
  export, through the Predictor), by lleaves (LLVM-compiled) and by treelite + TL2cgen (C
  compiled with gcc into a shared library), each on the already encoded rows: their best case,
  no encoding counted. A peer that does not install or compile is skipped with the reason.
  lleaves runs in its own interpreter (``.venv-peers``, made by ``make bench``; another one with
  ``FINLITE_PEERS_PYTHON``): lleaves 1.3 needs llvmlite < 0.45, and finlite needs 0.45 or
  later (its compiled block fill, and numba). It gets the same model file and the same rows (saved with numpy),
  is timed with the same helpers, and prints its timing back as JSON.

The student must beat every peer by at least 2x at both sizes. Prints the ratios and the CPU and
writes ``bench/results/peers_boosted.json``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType
from onnxruntime.quantization import quantize_dynamic as ort_quantize_dynamic

import finlite
from finlite._timing import latency_us
from finlite.artifact import prepare_like
from finlite.evaluate.fidelity import agreement
from finlite.evaluate.metrics import auc
from finlite.export.graph import to_onnx
from finlite.export.parity import onnx_session
from finlite.jobs.compress import compress_with_recipe
from finlite.models import TabularMLP
from finlite.recipe.presets import load_preset
from finlite.recipe.spec import Recipe
from finlite.training.loop import TrainConfig


def _latency_us(fn, x: np.ndarray) -> float:
    return latency_us(fn, [x], repeats=2000, warmup=50)["p50_us"]


def _export(model: torch.nn.Module, path: Path) -> ort.InferenceSession:
    """The model through finlite's own exporter, as ``finlite export`` writes it; a one-thread session."""
    onnx.save(to_onnx(model), str(path))
    return onnx_session(path.read_bytes())


def run(seed: int = 0) -> dict:
    data = finlite.datasets.path("german_credit")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        teacher = finlite.train(data, target="creditability", positive="bad", seed=seed,
                                config=TrainConfig(progress=False), out=tmp / "teacher")
        art = finlite.load(teacher.path)
        prepared = prepare_like(art, data)
        x, y = prepared.x_test, prepared.y_test
        one = x[:1]
        net = art.model.eval()
        with torch.inference_mode():
            p_teacher = net.predict_proba(torch.from_numpy(x)).numpy()

        def row(name: str, size: int, p: np.ndarray, latency: float, runtime: str) -> dict:
            return {"method": name, "size_bytes": size, "size_ratio": art.weights_bytes / size, "auc": auc(y, p),
                    "agreement": agreement(p_teacher, p, art.cutoff), "latency_p50_us": latency, "runtime": runtime}

        with torch.inference_mode():
            rows.append(row("teacher fp32", art.weights_bytes, p_teacher,
                            _latency_us(lambda a: net(torch.from_numpy(a)), one), "torch eager"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated; we measure it anyway
                tq = torch.ao.quantization.quantize_dynamic(net, {torch.nn.Linear}, dtype=torch.qint8)
            buffer = io.BytesIO()
            torch.save(tq.state_dict(), buffer)  # in memory only: its usual on-disk form is a pickle
            p = torch.sigmoid(tq(torch.from_numpy(x))).numpy()
            rows.append(row("torch quantize_dynamic", buffer.getbuffer().nbytes, p,
                            _latency_us(lambda a: tq(torch.from_numpy(a)), one), "torch eager"))
        fp32 = tmp / "teacher.onnx"
        s32 = _export(net, fp32)
        p = s32.run(None, {"x": x})[0][:, 0]
        rows.append(row("teacher ONNX fp32", fp32.stat().st_size, p, _latency_us(lambda a: s32.run(None, {"x": a}), one),
                        "ONNX Runtime"))
        int8 = tmp / "teacher.int8.onnx"
        ort_quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        s8 = onnx_session(int8.read_bytes())
        p = s8.run(None, {"x": x})[0][:, 0]
        rows.append(row("ORT quantize_dynamic", int8.stat().st_size, p, _latency_us(lambda a: s8.run(None, {"x": a}), one),
                        "ONNX Runtime"))
        fast = TrainConfig(progress=False)
        recipes = [("finlite distillation [16]", Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [16]}\n")),
                   ("finlite preset smallest", load_preset("smallest")),
                   ("finlite preset fastest", load_preset("fastest"))]
        for name, recipe in recipes:
            outcome = compress_with_recipe(art, data, recipe, config=fast, fine_tune=fast, out=tmp / name.replace(" ", "_"),
                                           progress=False, timing=False)
            if outcome.model is None:
                rows.append({"method": name, "note": "no step passed the gates"})
                continue
            student = outcome.model.eval()
            with torch.inference_mode():
                p = student.predict_proba(torch.from_numpy(x)).numpy()
                latency = _latency_us(lambda a, m=student: m(torch.from_numpy(a)), one)
            r = row(name, finlite.load(outcome.path).weights_bytes, p, latency, "torch eager")
            r["steps"] = [f"{rec.method['method']}: {rec.status}" for rec in outcome.result.records]
            r["gates_passed_on_test"] = outcome.passed
            rows.append(r)
            if isinstance(student, TabularMLP) and not student.factorised:
                # The same float student in ONNX Runtime: what the Predictor serves.
                path = tmp / f"{name.replace(' ', '_')}.onnx"
                sess = _export(student, path)
                p = sess.run(None, {"x": x})[0][:, 0]
                rows.append(row(f"{name} (ONNX)", path.stat().st_size, p,
                                _latency_us(lambda a, sess=sess: sess.run(None, {"x": a}), one), "ONNX Runtime"))
    return {"teacher": "MLP 256-128 on German credit (seed 0), test split of 200 rows", "rows": rows,
            "torch": torch.__version__, "onnxruntime": ort.__version__}


def _main_quantizers(out: Path) -> None:
    result = run()
    (out / "peers.json").write_text(json.dumps(result, indent=2))
    print(f"{'method':<28}{'size':>11}{'ratio':>8}{'AUC':>8}{'agree':>9}{'p50 µs':>9}  runtime")
    for r in result["rows"]:
        if "auc" not in r:
            print(f"{r['method']:<28}  {r['note']}")
            continue
        print(f"{r['method']:<28}{r['size_bytes'] / 1024:>9.1f}Ki{r['size_ratio']:>7.1f}x{r['auc']:>8.4f}"
              f"{r['agreement']:>9.1%}{r['latency_p50_us']:>9.1f}  {r['runtime']}")


# -- part 2: the best ways to run a boosted teacher ---------------------------------------------------
BIG = 100_000
TARGET_RATIO = 2.0


def _peer(name: str, build) -> tuple[dict | None, str | None]:
    """A peer's (batch-1 function, batch function) from ``build()``, or the reason it is skipped."""
    try:
        return build(), None
    except Exception as exc:  # noqa: BLE001 - an optional peer that does not install or compile is skipped
        return None, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}"


#: The interpreter lleaves runs in: ``make bench`` creates .venv-peers (lightgbm, lleaves,
#: llvmlite < 0.45, numpy), apart from the main venv, whose finlite needs llvmlite 0.45 or later.
PEERS_PYTHON = Path(os.environ.get("FINLITE_PEERS_PYTHON", Path(__file__).resolve().parents[1] / ".venv-peers"
                                   / "bin" / "python"))

# Run by PEERS_PYTHON: compiles the model with lleaves and times it with finlite's own helpers
# (finlite._timing needs numpy only), on the rows saved by the parent; prints one JSON line.
_LLEAVES_CHILD = """
import json, sys
import numpy as np
src, model_file, cache, rows_file, scores_file, singles, cores, rows = sys.argv[1:9]
sys.path.insert(0, src)
from finlite._timing import latency_us, throughput
import lleaves, llvmlite
from importlib.metadata import version
model = lleaves.Model(model_file=model_file)
model.compile(cache=cache)
x = np.load(rows_file)
cores, rows = int(cores), int(rows)
ones = [x[i:i + 1] for i in range(int(singles))]
lat = latency_us(lambda a: model.predict(a, n_jobs=1), ones, repeats=3000, warmup=300)
rate = throughput(lambda a: model.predict(a, n_jobs=cores), x, rows, min_seconds=1.0)
np.save(scores_file, np.asarray(model.predict(x, n_jobs=cores), dtype=np.float64).reshape(-1))
print(json.dumps({"batch1_p50_us": lat["p50_us"], "batch1_p99_us": lat["p99_us"], "rows_per_second": rate,
                  "python": sys.executable, "lleaves": version("lleaves"),
                  "llvmlite": llvmlite.__version__}))
"""


def _lleaves_in_peers_venv(model_file: Path, tmp: Path, x64: np.ndarray, singles: int, cores: int,
                           rows: int) -> dict:
    """lleaves timed in :data:`PEERS_PYTHON` on the same model file and rows: the row of the
    table (batch-1 latency over the first ``singles`` rows, rows/s on all of them) and its scores."""
    if not PEERS_PYTHON.is_file():
        raise FileNotFoundError(f"{PEERS_PYTHON} is missing; 'make bench' creates .venv-peers (lleaves needs "
                                "llvmlite < 0.45, apart from the main venv), or set FINLITE_PEERS_PYTHON")
    rows_file, scores_file = tmp / "lleaves_rows.npy", tmp / "lleaves_scores.npy"
    np.save(rows_file, x64)
    src = Path(__file__).resolve().parents[1] / "src"
    proc = subprocess.run([str(PEERS_PYTHON), "-c", _LLEAVES_CHILD, str(src), str(model_file), str(tmp / "lleaves.so"),
                           str(rows_file), str(scores_file), str(singles), str(cores), str(rows)],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"lleaves in {PEERS_PYTHON} failed: {proc.stderr.strip()[-500:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["input"] = f"encoded rows (encoding not counted); lleaves {row.pop('lleaves')}, llvmlite {row.pop('llvmlite')}"
    row["scores"] = np.load(scores_file)
    return row


def run_boosted(seed: int = 0, rows: int = BIG) -> dict:
    import lightgbm

    from finlite._limits import available_cores
    from finlite._timing import cpu_info, throughput
    from finlite.jobs.export import export_artifact
    from finlite.runtime.predictor import Predictor

    cores = available_cores()
    data = finlite.datasets.path("german_credit")
    result: dict = {"cpu": cpu_info(), "cores": cores, "rows": rows, "peers": [], "skipped": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # A teacher of about 30 trees: a high learning rate makes early stopping stop there.
        finlite.train(data, target="creditability", positive="bad", model="lightgbm", seed=seed,
                      gbdt_params={"learning_rate": 0.25, "num_leaves": 15}, out=tmp / "teacher")
        export_artifact(tmp / "teacher", data)
        finlite.compress(tmp / "teacher", data, out=tmp / "student", progress=False, timing=False, seed=seed)
        export_artifact(tmp / "student", data)
        teacher_art, student_art = finlite.load(tmp / "teacher"), finlite.load(tmp / "student")
        booster = teacher_art.model.model
        prepared = prepare_like(teacher_art, data)
        fields = list(teacher_art.schema.features)
        held = prepared.frame.iloc[prepared.split.test][fields].reset_index(drop=True)
        frame = held.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
        records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                   for r in held.to_dict("records")]
        student1 = Predictor(tmp / "student", threads=1)
        student_n = Predictor(tmp / "student", threads=cores)
        x64 = student1.encode(frame).astype(np.float64)  # the teacher peers get encoded rows for free
        x32 = np.ascontiguousarray(x64, dtype=np.float32)
        singles64 = [x64[i:i + 1] for i in range(len(held))]
        singles32 = [x32[i:i + 1] for i in range(len(held))]
        p_teacher = booster.predict(x64)
        result["teacher"] = {"library": "lightgbm " + lightgbm.__version__, "trees": int(booster.num_trees()),
                             "encoded_features": int(x64.shape[1]), "auc": teacher_art.manifest["metrics"]["test"]["auc"]}
        result["student"] = {"model": student_art.manifest["model"], "weights_bytes": student_art.weights_bytes,
                             "auc": student_art.manifest["metrics"].get("test", {}).get("auc"),
                             "agreement_on_these_rows": agreement(p_teacher, student_n.predict_score(frame),
                                                                  teacher_art.cutoff)}

        def measure(name: str, one, many, args1: list, batch, note: str) -> dict:
            lat = latency_us(one, args1, repeats=3000, warmup=300)
            rate = throughput(many, batch, rows, min_seconds=1.0)
            row = {"name": name, "batch1_p50_us": lat["p50_us"], "batch1_p99_us": lat["p99_us"],
                   "rows_per_second": rate, "input": note}
            print(f"  measured {name}: {lat['p50_us']:.1f} µs at batch 1, {rate / 1e6:.2f} M rows/s at {rows:,}",
                  flush=True)
            return row

        student = measure("student: finlite Predictor (ONNX Runtime)", student1.score_record,
                          student_n.predict_score, records, frame,
                          "raw record (dict) / raw DataFrame: encoding included")
        # Where the student's time goes: the same Predictor on rows encoded beforehand (model only).
        slot = student1._slot()
        result["student_model_only"] = measure("student, encoded rows (model only)", slot.run_vector,
                                               student_n.score_vector, singles32, x32, "encoded rows")
        one_row = [held.iloc[i:i + 1] for i in range(min(len(held), 200))]
        student["one_row_dataframe_p50_us"] = latency_us(student1.predict_score, one_row, repeats=1000,
                                                         warmup=100)["p50_us"]
        result["student_row"] = student

        threads = {"num_threads": cores}
        peers = [("LightGBM predict", lambda: (lambda a: booster.predict(a, num_threads=1),
                                                lambda a: booster.predict(a, **threads), singles64, x64))]

        def onnx_teacher():
            # Its leanest call at batch 1: the row copied into an input already bound to the session
            # (IOBinding), one run, no checks; at 100,000 rows one run on every core.
            t1, tn = Predictor(tmp / "teacher", threads=1), Predictor(tmp / "teacher", threads=cores)
            slot = t1._slot()
            return slot.run_vector, tn.score_vector, singles32, x32
        peers.append(("ONNX Runtime tree ensemble (finlite export)", onnx_teacher))

        def deployed_teacher():
            # The teacher deployed as the student is: the same Predictor, raw record / raw DataFrame.
            t1, tn = Predictor(tmp / "teacher", threads=1), Predictor(tmp / "teacher", threads=cores)
            return t1.score_record, tn.predict_score, records, frame
        peers.append(("teacher deployed: Predictor, raw input", deployed_teacher))

        def lleaves_teacher():
            # Timed in its own interpreter (.venv-peers): lleaves 1.3 needs llvmlite < 0.45, the main
            # venv's finlite 0.45 or later. Same model file, same rows, same timing helpers.
            path = tmp / "teacher_lgb.txt"
            booster.save_model(str(path))
            return _lleaves_in_peers_venv(path, tmp, x64, len(singles64), cores, rows)
        peers.append(("lleaves (LLVM compiled)", lleaves_teacher))

        def treelite_teacher():
            import tl2cgen
            import treelite

            model = treelite.frontend.from_lightgbm(booster)
            lib = tmp / "treelite.so"
            tl2cgen.export_lib(model, toolchain="gcc", libpath=str(lib), params={"parallel_comp": cores},
                               nthread=cores)
            p1, pn = tl2cgen.Predictor(str(lib), nthread=1), tl2cgen.Predictor(str(lib), nthread=cores)
            return (lambda a: p1.predict(tl2cgen.DMatrix(a)), lambda a: pn.predict(tl2cgen.DMatrix(a)), singles64, x64)
        peers.append(("treelite + TL2cgen (gcc)", treelite_teacher))

        for name, build in peers:
            built, reason = _peer(name, build)
            if built is None:
                result["skipped"][name] = reason
                print(f"  skipped {name}: {reason}", flush=True)
                continue
            if isinstance(built, dict):  # measured in another interpreter: its row and its scores
                got = built.pop("scores")
                row = {"name": name, **built}
                print(f"  measured {name} in {row['python']}: {row['batch1_p50_us']:.1f} µs at batch 1, "
                      f"{row['rows_per_second'] / 1e6:.2f} M rows/s at {rows:,}", flush=True)
            else:
                one, many, args1, batch = built
                got = np.asarray(many(batch), dtype=np.float64).reshape(-1)
                row = measure(name, one, many, args1, batch, "raw record / raw DataFrame: encoding included"
                              if batch is frame else "encoded rows (encoding not counted)")
            row["max_abs_diff_vs_lightgbm"] = float(np.abs(got - p_teacher).max())
            row["student_speedup_batch1"] = row["batch1_p50_us"] / student["batch1_p50_us"]
            row["student_speedup_rows"] = student["rows_per_second"] / row["rows_per_second"]
            row["met"] = row["student_speedup_batch1"] >= TARGET_RATIO and row["student_speedup_rows"] >= TARGET_RATIO
            result["peers"].append(row)
    result["all_met"] = bool(result["peers"]) and all(r["met"] for r in result["peers"])
    return result


def render_boosted(result: dict) -> str:
    t, s, st = result["teacher"], result["student"], result["student_row"]
    lines = [f"teacher: {t['library']}, {t['trees']} trees on {t['encoded_features']} encoded features "
             f"(test AUC {t['auc']:.4f}); student: {s['model'].get('kind')} {s['model'].get('hidden', '')}, "
             f"{s['weights_bytes']:,} bytes (test AUC {s['auc']:.4f}, agreement {s['agreement_on_these_rows']:.1%})",
             f"{'':44}{'batch 1 p50':>12}{'p99':>9}{'rows/s at ' + format(result['rows'], ','):>20}"
             f"{'student x (batch 1, rows)':>28}",
             f"{st['name']:<44}{st['batch1_p50_us']:>10.1f}µs{st['batch1_p99_us']:>7.1f}µs"
             f"{st['rows_per_second']:>20,.0f}"]
    for r in result["peers"]:
        lines.append(f"{r['name']:<44}{r['batch1_p50_us']:>10.1f}µs{r['batch1_p99_us']:>7.1f}µs"
                     f"{r['rows_per_second']:>20,.0f}{r['student_speedup_batch1']:>13.1f}x{r['student_speedup_rows']:>8.1f}x"
                     f"  {'met' if r['met'] else 'MISSED'}")
    mo = result["student_model_only"]
    lines.append(f"({mo['name']}: {mo['batch1_p50_us']:.1f} µs at batch 1, {mo['rows_per_second']:,.0f} rows/s; "
                 "the difference is the encoding of raw input)")
    for name, reason in result["skipped"].items():
        lines.append(f"{name:<44}skipped: {reason}")
    lines.append(f"student, one-row DataFrame: {st['one_row_dataframe_p50_us']:.1f} µs (p50)")
    lines.append(f"target: the student >= {TARGET_RATIO:g}x every peer at both sizes: "
                 f"{'met' if result['all_met'] else 'NOT met'}")
    cpu = result["cpu"]
    lines.append(f"CPU: {cpu['model']} ({cpu['cores']} cores, {result['cores']} used); ISA: {' '.join(cpu['isa'])}")
    return "\n".join(lines)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boosted", action="store_true", help="only part 2 (the boosted teacher's peers)")
    parser.add_argument("--quantizers", action="store_true", help="only part 1 (the quantizers)")
    args = parser.parse_args()
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    if not args.boosted:
        _main_quantizers(out)
    if not args.quantizers:
        result = run_boosted()
        (out / "peers_boosted.json").write_text(json.dumps(result, indent=2))
        print(render_boosted(result))


if __name__ == "__main__":
    main()
