"""Research bench: does an MLP student follow a boosted teacher better when its numeric inputs are
binned at the teacher's own split thresholds?

Run with ``python bench/sba_student_inputs.py`` after ``python bench/sba.py`` has written the SBA
teachers (``bench/.cache/sba-runs/{term,noterm}/teacher``). Not part of ``make bench``: it measures a
design option (note17's D5), not a finlite feature.

A LightGBM teacher is a sum of step functions of its inputs; an MLP over standardised numbers must
build every step out of ReLUs, and on SBA the students keep only about 97 % of the teacher's
decisions (issue 10 asks for 97 %, the ``balanced`` preset's gate for 99 %). The piecewise-linear
encoding of Gorishniy et al. (2022, "On Embeddings for Numerical Features in Tabular Deep
Learning") gives each numeric column one input per bin, ``clip((x − lo) / (hi − lo), 0, 1)``, with
the bins' edges here taken from the teacher's split thresholds on that column (at most ``--bins``
per column, chosen at gain-weighted quantiles of the thresholds when there are more). One-hot and
two-valued columns pass through unchanged.

Both students are trained by finlite's own :func:`~finlite.methods.distill.distill` with the
classic ``compress`` settings at this size (soft-target distillation, widths 128-64, one-cycle at
1e-2, the teacher's out-of-fold outputs on the training rows), differing only in the input layer and
for ``--epochs`` epochs each (the classic run trains 60). Printed per variant: test AUC and its drop,
agreement with the teacher at its 90th-percentile cut-off and at 0.5, and training seconds.
Writes ``bench/results/sba_student_inputs.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _data import CACHE, sba_raw_csv  # bench/ is run as a script directory
from torch import nn

from finlite._timing import cpu_info

RESULTS = Path(__file__).parent / "results"


def split_edges(booster: Any, x: np.ndarray, max_bins: int) -> list[np.ndarray | None]:
    """Per encoded column, the sorted split thresholds a LightGBM booster uses on it (None for a
    column with at most two values or no split): at most ``max_bins - 1`` edges, at gain-weighted
    quantiles of the thresholds when the trees use more."""
    splits: dict[int, list[tuple[float, float]]] = {j: [] for j in range(x.shape[1])}
    stack = [tree["tree_structure"] for tree in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            splits[node["split_feature"]].append((float(node["threshold"]), float(node.get("split_gain", 1.0))))
            stack += [node["left_child"], node["right_child"]]
    edges: list[np.ndarray | None] = []
    for j in range(x.shape[1]):
        if not splits[j] or len(np.unique(x[:50_000, j])) <= 2:
            edges.append(None)
            continue
        at = np.array([t for t, _ in splits[j]])
        gain = np.array([g for _, g in splits[j]])
        unique = np.unique(at)
        if len(unique) > max_bins - 1:
            order = np.argsort(at)
            share = np.cumsum(gain[order]) / gain.sum()
            picks = np.searchsorted(share, np.linspace(0, 1, max_bins + 1)[1:-1])
            unique = np.unique(at[order][np.minimum(picks, len(at) - 1)])
        edges.append(unique.astype(np.float32))
    return edges


class PiecewiseLinear(nn.Module):
    """Each binned column becomes one input per bin, ``clip((x − lo) / (hi − lo), 0, 1)`` (the first
    and last bins one unit wide beyond the outer edges); the other columns pass through."""

    def __init__(self, edges: list[np.ndarray | None]) -> None:
        super().__init__()
        lo: list[float] = []
        width: list[float] = []
        column: list[int] = []
        for j, e in enumerate(edges):
            if e is None:
                continue
            bounds = np.concatenate([[e[0] - 1.0], e, [e[-1] + 1.0]])
            lo += bounds[:-1].tolist()
            width += np.diff(bounds).tolist()
            column += [j] * (len(bounds) - 1)
        self.register_buffer("lo", torch.tensor(lo, dtype=torch.float32))
        self.register_buffer("width", torch.tensor(width, dtype=torch.float32))
        self.register_buffer("column", torch.tensor(column, dtype=torch.long))
        self.register_buffer("rest", torch.tensor([j for j, e in enumerate(edges) if e is None], dtype=torch.long))
        self.width_out = len(lo) + len(self.rest)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        binned = ((x[:, self.column] - self.lo) / self.width).clamp(0.0, 1.0)
        return torch.cat([binned, x[:, self.rest]], dim=1)


def run(variant: str, work: Path, data: Path, epochs: int, bins: int, seed: int) -> dict[str, Any]:
    """Plain and binned students for one teacher; their test AUC and agreement with it."""
    import finlite
    from finlite.artifact import prepare_like
    from finlite.evaluate.metrics import auc
    from finlite.methods.distill import Distillation, distill
    from finlite.methods.targets import distill_data, teacher_logits
    from finlite.models.mlp import TabularMLP
    from finlite.training.loop import TrainConfig

    path = work / variant / "teacher"
    if not (path / "manifest.json").is_file():
        sys.exit(f"{path} holds no teacher: run `python bench/sba.py` first (it writes the SBA teachers).")
    teacher = finlite.load(path)
    prepared = prepare_like(teacher, data)
    dd = distill_data(prepared, lambda x: teacher_logits(teacher.model, x),
                      train_logits=getattr(teacher.model, "oof_logits", None))
    t_test = teacher_logits(teacher.model, prepared.x_test).astype(np.float64)
    p_teacher = 1.0 / (1.0 + np.exp(-t_test))
    edges = split_edges(teacher.model.model, prepared.x_train, bins)
    front = PiecewiseLinear(edges)

    class BinnedMLP(TabularMLP):
        """The same MLP behind the piecewise-linear inputs (a bench-only model)."""

        def __init__(self) -> None:
            super().__init__(front.width_out, (128, 64), dropout=0.0)
            self.front = front

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(self.front(x))

    method = Distillation(hidden=(128, 64))
    config = TrainConfig(epochs=epochs, lr=1e-2, patience=epochs, schedule="onecycle", progress=False, seed=seed)
    out: dict[str, Any] = {"teacher_auc": auc(prepared.y_test, p_teacher), "test_rows": len(t_test),
                           "binned_columns": sum(e is not None for e in edges), "binned_inputs": front.width_out}
    cut = float(np.quantile(p_teacher, 0.9))
    for name, student in (("plain", TabularMLP(prepared.x_train.shape[1], (128, 64), dropout=0.0)),
                          ("binned", BinnedMLP())):
        torch.manual_seed(seed)
        start = time.perf_counter()
        model = distill(dd, student, method, train=config).model
        seconds = time.perf_counter() - start
        with torch.inference_mode():
            p = torch.sigmoid(model(torch.from_numpy(prepared.x_test))).numpy().astype(np.float64)
        out[name] = {"auc": auc(prepared.y_test, p), "auc_drop": out["teacher_auc"] - auc(prepared.y_test, p),
                     "agreement_p90": float(np.mean((p >= cut) == (p_teacher >= cut))),
                     "agreement_05": float(np.mean((p >= 0.5) == (p_teacher >= 0.5))),
                     "train_s": round(seconds, 1)}
        print(f"  {variant} {name:<6} AUC {out[name]['auc']:.4f} (drop {out[name]['auc_drop']:.4f})  "
              f"agreement p90 {out[name]['agreement_p90']:.2%}  at 0.5 {out[name]['agreement_05']:.2%}  "
              f"{seconds:.0f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=CACHE / "sba-runs", help="where bench/sba.py wrote the teachers")
    parser.add_argument("--variants", nargs="+", default=["term", "noterm"])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--bins", type=int, default=32, help="most bins per numeric column")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = sba_raw_csv()
    result: dict[str, Any] = {"cpu": cpu_info(), "epochs": args.epochs, "bins": args.bins, "seed": args.seed,
                              "variants": {}}
    for variant in args.variants:
        result["variants"][variant] = run(variant, args.work, data, args.epochs, args.bins, args.seed)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sba_student_inputs.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
