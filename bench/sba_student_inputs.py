"""Research bench: does an MLP student follow a boosted teacher better when its numeric inputs are
binned at the teacher's own split thresholds?

Run with ``python bench/sba_student_inputs.py`` after ``python bench/sba.py`` has written the SBA
teachers (``bench/.cache/sba-runs/{term,noterm}/teacher``). Not part of ``make bench``: it isolates
the input layer of the distillation option ``input_bins`` (off by default).

A LightGBM teacher is a sum of step functions of its inputs; an MLP over standardised numbers must
build every step out of ReLUs, and on SBA the students keep only about 97 % of the teacher's
decisions (issue 10 asks for 97 %, the ``balanced`` preset's gate for 99 %). The piecewise-linear
encoding of Gorishniy et al. (2022, "On Embeddings for Numerical Features in Tabular Deep
Learning") gives each numeric column one input per bin, ``clip((x − lo) / (hi − lo), 0, 1)``, with
the bins' edges taken from the teacher's split thresholds on that column (at most ``--bins`` per
column, at gain-weighted quantiles of the thresholds when there are more): finlite's own
:class:`~finlite.models.bins.InputBins` and :func:`~finlite.models.bins.teacher_edges`. One-hot and
two-valued columns pass through unchanged.

Both students are trained by finlite's own :func:`~finlite.methods.distill.distill` with the
classic ``compress`` settings at this size (soft-target distillation, widths 128-64, one-cycle at
1e-2, the teacher's out-of-fold outputs on the training rows), differing only in the input layer and
for ``--epochs`` epochs each (the classic run trains 60). A third student bounds what any student
could reach: a LightGBM regressor (``--tree-student`` trees of 63 leaves; the teacher's own family,
so it can draw the same steps) fitted to the same teacher outputs. Printed per variant: test AUC and its drop,
agreement with the teacher at its 90th-percentile cut-off, at 0.5 and at its operating point (the
cut-off the recipes' agreement gates read), and training seconds. ``--hidden`` sets the MLP students'
widths and ``--transfer`` adds the ``balanced`` preset's kind of transfer set (mixup rows labelled by
the teacher, that many per training row).
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

from finlite._timing import cpu_info

RESULTS = Path(__file__).parent / "results"


def run(variant: str, work: Path, data: Path, epochs: int, bins: int, seed: int, trees: int = 0,
        hidden: tuple[int, ...] = (128, 64), transfer: float = 0.0) -> dict[str, Any]:
    """Plain and binned students for one teacher; their test AUC and agreement with it. ``hidden``:
    the students' widths; ``transfer``: mixup rows per training row labelled by the teacher (the
    ``balanced`` preset's transfer set is 1.0; 0: none)."""
    import finlite
    from finlite.artifact import prepare_like
    from finlite.evaluate.metrics import auc
    from finlite.methods.distill import Distillation, distill
    from finlite.methods.targets import distill_data, teacher_logits, with_transfer_for
    from finlite.models.bins import teacher_edges
    from finlite.models.mlp import TabularMLP
    from finlite.training.loop import TrainConfig

    path = work / variant / "teacher"
    if not (path / "manifest.json").is_file():
        sys.exit(f"{path} holds no teacher: run `python bench/sba.py` first (it writes the SBA teachers).")
    teacher = finlite.load(path)
    prepared = prepare_like(teacher, data)
    dd = distill_data(prepared, lambda x: teacher_logits(teacher.model, x),
                      train_logits=getattr(teacher.model, "oof_logits", None))
    if transfer:
        dd = with_transfer_for(dd, prepared, lambda x: teacher_logits(teacher.model, x), "mixup", transfer, 0.1, seed)
    t_test = teacher_logits(teacher.model, prepared.x_test).astype(np.float64)
    p_teacher = 1.0 / (1.0 + np.exp(-t_test))
    edges = teacher_edges(teacher.model, prepared.x_train, bins)
    binned = TabularMLP(prepared.x_train.shape[1], hidden, dropout=0.0, bins=edges)
    method = Distillation(hidden=hidden)
    config = TrainConfig(epochs=epochs, lr=1e-2, patience=epochs, schedule="onecycle", progress=False, seed=seed)
    out: dict[str, Any] = {"teacher_auc": auc(prepared.y_test, p_teacher), "test_rows": len(t_test),
                           "binned_columns": len(edges), "binned_inputs": binned.layers[0].in_features}
    cut = float(np.quantile(p_teacher, 0.9))
    gate_cut = float(teacher.manifest["cutoff"])  # the operating point the recipes' agreement gates read
    for name, student in (("plain", TabularMLP(prepared.x_train.shape[1], hidden, dropout=0.0)),
                          ("binned", binned)):
        torch.manual_seed(seed)
        start = time.perf_counter()
        model = distill(dd, student, method, train=config).model
        seconds = time.perf_counter() - start
        with torch.inference_mode():
            p = torch.sigmoid(model(torch.from_numpy(prepared.x_test))).numpy().astype(np.float64)
        out[name] = {"auc": auc(prepared.y_test, p), "auc_drop": out["teacher_auc"] - auc(prepared.y_test, p),
                     "agreement_p90": float(np.mean((p >= cut) == (p_teacher >= cut))),
                     "agreement_05": float(np.mean((p >= 0.5) == (p_teacher >= 0.5))),
                     "agreement_cutoff": float(np.mean((p >= gate_cut) == (p_teacher >= gate_cut))),
                     "train_s": round(seconds, 1)}
        print(f"  {variant} {name:<6} AUC {out[name]['auc']:.4f} (drop {out[name]['auc_drop']:.4f})  "
              f"agreement p90 {out[name]['agreement_p90']:.2%}  at 0.5 {out[name]['agreement_05']:.2%}  "
              f"at the cut-off {gate_cut:.3f} {out[name]['agreement_cutoff']:.2%}  {seconds:.0f} s", flush=True)
    if trees:
        out["tree"] = tree_student(dd.x_train, dd.t_train, prepared, p_teacher, cut, out["teacher_auc"], trees, seed)
        t = out["tree"]
        print(f"  {variant} tree   AUC {t['auc']:.4f} (drop {t['auc_drop']:.4f})  agreement p90 "
              f"{t['agreement_p90']:.2%}  at 0.5 {t['agreement_05']:.2%}  {t['train_s']:.0f} s  "
              f"({t['trees']} trees x {t['leaves']} leaves, {t['model_bytes'] / 1e6:.2f} MB)", flush=True)
    return out


def tree_student(x_train: np.ndarray, targets: np.ndarray, prepared: Any, p_teacher: np.ndarray, cut: float,
                 teacher_auc: float, trees: int, seed: int, leaves: int = 63) -> dict[str, Any]:
    """A LightGBM student (the teacher's own family) fitted to the teacher's logits on the training
    rows, the targets the MLP students distil from: how many decisions does a student keep when it
    can draw the same steps? (Not a finlite method: it only bounds what an MLP could reach.)"""
    import lightgbm as lgb

    from finlite.evaluate.metrics import auc

    start = time.perf_counter()
    booster = lgb.train({"objective": "regression", "num_leaves": leaves, "learning_rate": 0.1, "verbose": -1,
                         "num_threads": 2, "seed": seed, "deterministic": True},
                        lgb.Dataset(x_train, np.asarray(targets, dtype=np.float64).reshape(-1)), num_boost_round=trees)
    seconds = time.perf_counter() - start
    p = 1.0 / (1.0 + np.exp(-booster.predict(prepared.x_test)))
    return {"auc": auc(prepared.y_test, p), "auc_drop": teacher_auc - auc(prepared.y_test, p),
            "agreement_p90": float(np.mean((p >= cut) == (p_teacher >= cut))),
            "agreement_05": float(np.mean((p >= 0.5) == (p_teacher >= 0.5))), "train_s": round(seconds, 1),
            "trees": trees, "leaves": leaves, "model_bytes": len(booster.model_to_string().encode())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=CACHE / "sba-runs", help="where bench/sba.py wrote the teachers")
    parser.add_argument("--variants", nargs="+", default=["term", "noterm"])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--bins", type=int, default=32, help="most bins per numeric column")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 64], help="the MLP students' widths")
    parser.add_argument("--transfer", type=float, default=0.0,
                        help="mixup transfer rows per training row (balanced's is 1.0; 0: none)")
    parser.add_argument("--tree-student", type=int, default=300, metavar="TREES",
                        help="also fit a LightGBM student of this many trees to the same targets (0: none)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = sba_raw_csv()
    result: dict[str, Any] = {"cpu": cpu_info(), "epochs": args.epochs, "bins": args.bins, "seed": args.seed,
                              "hidden": args.hidden, "transfer": args.transfer, "variants": {}}
    for variant in args.variants:
        result["variants"][variant] = run(variant, args.work, data, args.epochs, args.bins, args.seed,
                                           args.tree_student, tuple(args.hidden), args.transfer)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sba_student_inputs.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
