"""Benchmark: finlite's recipes against PyTorch's and ONNX Runtime's quantize_dynamic, same teacher.

Run with ``make bench`` or ``python bench/peers.py``. One MLP teacher (256-128) is trained on
German credit; then, side by side in one process:

- PyTorch ``torch.ao.quantization.quantize_dynamic`` on the teacher (int8 Linear layers);
- ONNX Runtime ``onnxruntime.quantization.quantize_dynamic`` on the teacher exported to ONNX;
- finlite's presets ``smallest`` and ``fastest`` and a plain distillation on the same teacher,
  in torch eager and (float students) in ONNX Runtime through finlite's exporter.

For each: bytes of what would be deployed, test AUC, agreement with the teacher at the cut-off,
and batch-1 latency (p50, microseconds) in the runtime that model runs in. Writes
``bench/results/peers.json``. The ONNX files are written by ``finlite.export.to_onnx``, the
exporter behind ``finlite export``.
"""

from __future__ import annotations

import io
import json
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
from finlite.evaluate.fidelity import agreement
from finlite.evaluate.metrics import auc
from finlite.export import onnx_session, to_onnx
from finlite.models import TabularMLP
from finlite.recipe import Recipe, load_preset
from finlite.training import TrainConfig
from finlite.workflow import compress_with_recipe, prepare_like


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


def main() -> None:
    result = run()
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "peers.json").write_text(json.dumps(result, indent=2))
    print(f"{'method':<28}{'size':>11}{'ratio':>8}{'AUC':>8}{'agree':>9}{'p50 µs':>9}  runtime")
    for r in result["rows"]:
        if "auc" not in r:
            print(f"{r['method']:<28}  {r['note']}")
            continue
        print(f"{r['method']:<28}{r['size_bytes'] / 1024:>9.1f}Ki{r['size_ratio']:>7.1f}x{r['auc']:>8.4f}"
              f"{r['agreement']:>9.1%}{r['latency_p50_us']:>9.1f}  {r['runtime']}")


if __name__ == "__main__":
    main()
