"""``finlite bench``: how fast an artifact scores on this CPU, per backend, side by side.

For each artifact (and an optional baseline, usually the teacher) and each backend it can run
on -- torch eager (or the boosting library's own predict for a GBDT), ONNX Runtime fp32 (for a
GBDT: its exported tree ensemble) and ONNX Runtime int8 when exported -- it measures in one process:

- batch-1 latency p50/p99 from a raw record (a dict: encoding included) and from an already
  encoded numeric vector;
- rows per second at a large batch of encoded rows.

Records are real rows of the artifact's test split when its training table can be found,
otherwise synthetic rows drawn from the preprocessor's statistics (the result says which).
The CPU model and its instruction-set features are recorded, because int8 results depend on them.
Speed-ups over a baseline compare deployed with deployed: each backend of the artifact against
the baseline's ONNX Runtime fp32 backend (the Predictor on its exported model) when it has one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finlite._limits import available_cores, check_count, check_memory
from finlite._timing import cpu_info, latency_us, throughput
from finlite._util import package_versions
from finlite.artifact import Artifact, load
from finlite.errors import DataError
from finlite.models.gbdt import remembered_scores
from finlite.runtime.encoder import Encoder

__all__ = ["bench", "render_bench"]

DEFAULT_BATCH = 65536
# Upper bounds: far above a useful measurement, far below "runs for hours" or "fills memory".
MAX_REPEATS = 1_000_000
MAX_RECORDS = 1_000_000


def _records(art: Artifact, n: int, seed: int) -> tuple[list[dict[str, Any]], str]:
    from finlite.artifact import prepare_table_like, recorded_table

    fields = list(art.schema.features)
    try:
        prepared = prepare_table_like(art, recorded_table(art))
        rows = prepared.frame.iloc[prepared.split.test][fields]
        rows = rows.sample(n=min(n, len(rows)), random_state=seed) if len(rows) > n else rows
        records: list[dict[str, Any]] = [{str(k): (None if isinstance(v, float) and v != v else v)
                                          for k, v in r.items()} for r in rows.to_dict("records")]
        return records, f"{len(records)} rows of the test split"
    except DataError:
        rng = np.random.default_rng(seed)
        pre = art.tabular
        records = []
        for _ in range(n):
            # A standard normal draw of each encoded column, in its own units, within its training
            # range (a squashed column's draw beyond ±1 would be infinite).
            rec: dict[str, Any] = {s.name: float(np.clip(s.raw(np.asarray(rng.standard_normal())),
                                                         -np.inf if s.low is None else s.low,
                                                         np.inf if s.high is None else s.high))
                                   for s in pre.numeric_}
            for c in pre.categorical_:
                # A column whose training values were all rare has no kept category: one of its rare ones.
                choices: list[str | None] = [*(c.categories or c.other)] or [None]
                rec[c.name] = choices[int(rng.integers(len(choices)))]
            records.append(rec)
        return records, f"{n} synthetic rows (training table not found)"


@contextlib.contextmanager
def _one_thread(model: Any) -> Iterator[None]:
    """torch (and a boosting library's predict) on one thread while the context lasts: batch-1
    latency with every core swung 200-fold between runs for LightGBM on a loaded machine (an
    MLOps walk-through, 2026-12-06)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    own = getattr(model, "one_thread", None)
    try:
        with own() if callable(own) else contextlib.nullcontext():
            yield
    finally:
        torch.set_num_threads(before)


def _torch_backend(art: Artifact, encoder: Encoder, records: list[dict[str, Any]], x: np.ndarray,
                   big: np.ndarray, repeats: int) -> dict[str, Any]:
    model = art.model.eval()
    buf = np.zeros((1, encoder.n_features), dtype=np.float32)
    flat, tensor = buf.reshape(-1), torch.from_numpy(buf)

    def record(rec: dict[str, Any]) -> float:
        flat.fill(0.0)
        encoder.fill(rec, flat)
        return float(torch.sigmoid(model(tensor))[0])

    rows = [torch.from_numpy(x[i:i + 1]) for i in range(len(x))]
    big_t = torch.from_numpy(big)
    # Every timed call scores: a boosted model must not answer the repeated batch from memory.
    with torch.inference_mode(), remembered_scores(False):
        with _one_thread(model):  # batch 1 as a server scores it, and as ONNX Runtime is timed here
            out: dict[str, Any] = {"record": latency_us(record, records, repeats=repeats),
                                   "vector": latency_us(lambda t: torch.sigmoid(model(t)), rows,
                                                        repeats=repeats)}
        out.update({"rows_per_second": throughput(lambda t: torch.sigmoid(model(t)), big_t, len(big)),
                    "threads": torch.get_num_threads()})
    kind = art.manifest["model"]["kind"]
    library = art.manifest["model"].get("library")
    out["backend"] = f"{library} native" if kind == "gbdt" else "torch eager"
    return out


def _onnx_backend(path: Path, variant: str, records: list[dict[str, Any]], x: np.ndarray, big: np.ndarray,
                  repeats: int) -> dict[str, Any]:
    from finlite.runtime.predictor import Predictor

    server = Predictor(path, variant=variant, threads=1)
    batch = Predictor(path, variant=variant, threads=available_cores())
    rows = [x[i:i + 1] for i in range(len(x))]
    return {"backend": f"onnxruntime {variant}", "file": server.file,
            "record": latency_us(server.score_record, records, repeats=repeats),
            "vector": latency_us(server.score_vector, rows, repeats=repeats),
            "rows_per_second": throughput(batch.score_vector, big, len(big)),
            "threads": available_cores()}


def _histories(art: Artifact, n: int, seed: int) -> tuple[list[dict[str, list[Any]]], np.ndarray, str]:
    """Up to ``n`` price histories (dicts of lists, the form a service receives), each the
    ``warmup + 1`` rows up to a date of the forecaster's test period, and those dates' windows."""
    from finlite.artifact import prepare_series_like, recorded_table

    market = art.market
    if market is None:  # pragma: no cover - dispatched on art.market
        raise DataError(f"{art.path} is not a market forecaster.")
    try:
        series = prepare_series_like(art, recorded_table(art))
    except DataError as exc:
        raise DataError(f"Benchmarking the forecaster {art.path} needs its price history to build real windows: "
                        f"{exc}", param="data") from exc
    spec, frame = market.spec, series.table.frame
    dates = frame[spec.date_column].to_numpy().astype("datetime64[D]")
    ids = frame[spec.id_column].astype(str).to_numpy() if spec.id_column else None
    test_dates = np.asarray(series.windows_test.dates).astype("datetime64[D]")
    test_ids = None if series.windows_test.ids is None else np.asarray(series.windows_test.ids).astype(str)
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(len(test_dates), size=min(n, len(test_dates)), replace=False))
    rows_needed = int(market.warmup) + 1
    columns = spec.columns()
    histories = []
    for i in picks:
        mine = np.ones(len(frame), dtype=bool) if ids is None or test_ids is None else ids == test_ids[i]
        end = int(np.flatnonzero(mine & (dates == test_dates[i]))[-1]) + 1
        rows = frame.iloc[max(end - rows_needed, 0):end]
        hist: dict[str, list[Any]] = {}
        for column in columns:
            values = rows[column]
            hist[column] = ([str(d) for d in values.to_numpy().astype("datetime64[D]")] if column == spec.date_column
                            else values.tolist())
        histories.append(hist)
    x = np.ascontiguousarray(series.windows_test.x[picks])
    return histories, x, f"{len(histories)} price histories of {rows_needed} rows from the test period"


def _one_market(art: Artifact, *, n_records: int, batch: int, repeats: int, seed: int) -> dict[str, Any]:
    """A forecaster's backends: "record" is one forecast from a price history (the features
    computed from the raw rows, as a service does), "vector" one scaled window."""
    from finlite._manifest import read_listed
    from finlite.export.parity import onnx_session, run_onnx
    from finlite.runtime.predictor import Predictor
    from finlite.tasks import get_task

    market = art.market
    if market is None:  # pragma: no cover - dispatched on art.market
        raise DataError(f"{art.path} is not a market forecaster.")
    check_memory(batch * market.spec.window * market.n_features * 4 * 2,
                 f"--batch {batch:,} (windows of {market.spec.window} x {market.n_features})",
                 f"use a smaller --batch (the default is {DEFAULT_BATCH:,})")
    histories, x, origin = _histories(art, n_records, seed)
    big = np.ascontiguousarray(np.resize(x, (batch, *x.shape[1:])))
    model = art.model.eval()
    task = get_task(art.task)
    rows = [x[i:i + 1] for i in range(len(x))]

    def eager_history(history: dict[str, list[Any]]) -> float:
        window = market.windows(history, "the history").x[-1:]
        return float(task.scores(model, window)[0])

    with torch.inference_mode():
        eager = {"backend": "torch eager", "record": latency_us(eager_history, histories, repeats=repeats),
                 "vector": latency_us(lambda t: model(torch.from_numpy(t)), rows, repeats=repeats),
                 "rows_per_second": throughput(lambda t: model(torch.from_numpy(t)), big, len(big)),
                 "threads": torch.get_num_threads()}
    backends = [eager]
    export = art.manifest.get("export", {})
    output = "probability" if task.decides else "prediction"
    for variant, key, name in (("fp32", "onnx", "model.onnx"), ("int8", "onnx_int8", "model_int8.onnx")):
        if "file" not in export.get(key, {}):
            continue
        server = Predictor(art.path, variant=variant, threads=1)
        one = onnx_session(read_listed(art.path, art.manifest, name))
        many = onnx_session(read_listed(art.path, art.manifest, name), threads=available_cores())

        def single(t: np.ndarray, s: Any = one) -> np.ndarray:
            return run_onnx(s, t, output)

        def batched(t: np.ndarray, s: Any = many) -> np.ndarray:
            return run_onnx(s, t, output)

        backends.append({"backend": f"onnxruntime {variant}", "file": name,
                         "record": latency_us(server.forecast, histories, repeats=repeats),
                         "vector": latency_us(single, rows, repeats=repeats),
                         "rows_per_second": throughput(batched, big, len(big)),
                         "threads": available_cores()})
    return {"artifact": str(art.path), "kind": art.manifest["model"]["kind"], "records": origin,
            "weights_bytes": art.weights_bytes, "exported": sorted(k for k in export if k.startswith("onnx")),
            "backends": backends}


def _one(path: str | Path, *, n_records: int, batch: int, repeats: int, seed: int) -> dict[str, Any]:
    art = load(path)
    if art.market is not None:
        return _one_market(art, n_records=n_records, batch=batch, repeats=repeats, seed=seed)
    encoder = Encoder(art.preprocessor.to_dict())
    # Checked before allocating: the batch matrix (float32), its copy while it is built, and the
    # scores of each backend, with room for the backends' own buffers.
    need = batch * (encoder.n_features * 4 * 2 + 64)
    check_memory(need, f"--batch {batch:,} ({encoder.n_features} encoded features per row)",
                 f"use a smaller --batch (the default is {DEFAULT_BATCH:,})")
    records, origin = _records(art, n_records, seed)
    x = encoder.encode_records(records)[0]
    big = np.ascontiguousarray(np.resize(x, (batch, x.shape[1])))
    backends = [_torch_backend(art, encoder, records, x, big, repeats)]
    export = art.manifest.get("export", {})
    if "onnx" in export:
        backends.append(_onnx_backend(art.path, "fp32", records, x, big, repeats))
    if "file" in export.get("onnx_int8", {}):
        backends.append(_onnx_backend(art.path, "int8", records, x, big, repeats))
    return {"artifact": str(art.path), "kind": art.manifest["model"]["kind"], "records": origin,
            "weights_bytes": art.weights_bytes, "exported": sorted(k for k in export if k.startswith("onnx")),
            "backends": backends}


def bench(artifact: str | Path, baseline: str | Path | None = None, *, n_records: int = 1000, batch: int = DEFAULT_BATCH,
          repeats: int = 3000, seed: int = 0) -> dict[str, Any]:
    """Measure ``artifact`` (and ``baseline``) on every backend available; see the module doc.

    Raises:
        ArtifactError: an artifact cannot be loaded.
        ConfigError: ``batch``, ``repeats`` or ``n_records`` is not positive or too large (``batch`` is
            checked against the memory available before anything is allocated).
    """
    batch = check_count(batch, "batch", low=1)
    repeats = check_count(repeats, "repeats", low=1, high=MAX_REPEATS,
                          fix="Each repeat is one timed call per backend; a few thousand give stable percentiles.")
    n_records = check_count(n_records, "n_records", low=1, high=MAX_RECORDS,
                            fix="The records are cycled through; a few thousand are plenty.")
    results = [_one(artifact, n_records=n_records, batch=batch, repeats=repeats, seed=seed)]
    if baseline is not None:
        results.append(_one(baseline, n_records=n_records, batch=batch, repeats=repeats, seed=seed))
    out: dict[str, Any] = {"cpu": cpu_info(), "versions": package_versions(("torch", "onnxruntime", "numpy")), "batch": batch, "repeats": repeats,
                           "artifacts": results}
    if baseline is not None:
        # Deployed against deployed: the baseline as served (the Predictor on its exported ONNX model,
        # a boosted teacher's tree ensemble included) when it is exported; else as it runs in memory.
        base_backends = results[1]["backends"]
        base = next((b for b in base_backends if b["backend"] == "onnxruntime fp32"), base_backends[0])
        if base is base_backends[0] and len(base_backends) == 1:
            out["baseline_hint"] = (f"the baseline is not exported, so it is timed in memory ({base['backend']}); run "
                                    "'finlite export BASELINE' to compare deployed with deployed")
        out["speedup_over_baseline"] = {
            b["backend"]: {"record_p50": base["record"]["p50_us"] / b["record"]["p50_us"],
                           "vector_p50": base["vector"]["p50_us"] / b["vector"]["p50_us"],
                           "rows_per_second": b["rows_per_second"] / base["rows_per_second"]}
            for b in results[0]["backends"]}
        out["baseline_backend"] = base["backend"]
    if not any(len(r["backends"]) > 1 for r in results):
        out["hint"] = "run 'finlite export ARTIFACT --int8' to add the ONNX Runtime backends"
    return out


def render_bench(result: dict[str, Any]) -> str:
    """The benchmark as a plain-text table."""
    titles = ["artifact", "backend", "record p50", "p99", "vector p50", "p99",
              f"rows/s (batch {result['batch']:,})"]
    rows = [[Path(art["artifact"]).name, b["backend"], f"{b['record']['p50_us']:.1f}µs", f"{b['record']['p99_us']:.1f}µs",
             f"{b['vector']['p50_us']:.1f}µs", f"{b['vector']['p99_us']:.1f}µs", f"{b['rows_per_second']:,.0f}"]
            for art in result["artifacts"] for b in art["backends"]]
    # Each column as wide as its widest cell, two spaces apart: fixed widths ran a slow model's
    # latencies together ("24003.3µs60108.5µs": a review, 2026-12-03).
    widths = [max(len(cell) for cell in column) for column in zip(titles, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                         for i, (cell, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    head = line(titles)
    lines = [head, "-" * len(head), *(line(row) for row in rows)]
    for art in result["artifacts"]:
        lines.append(f"{Path(art['artifact']).name}: {art['kind']}, weights {art['weights_bytes']:,} bytes; "
                     f"records: {art['records']}")
    if "speedup_over_baseline" in result:
        lines.append(f"speed-up over the baseline ({result['baseline_backend']}):")
        for backend, s in result["speedup_over_baseline"].items():
            lines.append(f"  {backend:<20} record {s['record_p50']:.1f}x, vector {s['vector_p50']:.1f}x, "
                         f"rows/s {s['rows_per_second']:.1f}x")
    cpu = result["cpu"]
    lines.append(f"CPU: {cpu['model']} ({cpu['cores']} cores); ISA: {' '.join(cpu['isa']) or 'unknown'}")
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()))
    for key in ("hint", "baseline_hint"):
        if key in result:
            lines.append(f"hint: {result[key]}")
    return "\n".join(lines)

