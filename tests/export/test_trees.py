"""Boosted teachers deploy through ONNX (tree ensembles), and the Predictor reads DataFrames
through the runtime encoder with the pandas Preprocessor's results and errors."""

from __future__ import annotations

import json
from pathlib import Path

# lightgbm and xgboost are in the test extra: a missing install must fail this file, not skip it.
import lightgbm  # noqa: F401
import numpy as np
import pandas as pd
import pytest
import xgboost  # noqa: F401
from typer.testing import CliRunner

import finlite
from finlite.errors import DataError, ExportError
from finlite.export import trees as export_module
from finlite.jobs.export import export_artifact
from finlite.runtime.predictor import Predictor

TARGET = "creditability"
# Few, shallow trees: the graphs are the same shape as a real teacher's, the training takes a second.
PARAMS = {"lightgbm": {"learning_rate": 0.3, "num_leaves": 7}, "xgboost": {"eta": 0.3, "max_depth": 3}}


def _test_rows(art_dir: Path, german: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The artifact's raw test rows (a DataFrame of its feature fields) and their encoding."""
    from finlite.artifact import prepare_like

    art = finlite.load(art_dir)
    prepared = prepare_like(art, german)
    frame = prepared.frame.iloc[prepared.split.test][list(art.schema.features)].reset_index(drop=True)
    return frame, prepared.x_test


@pytest.fixture(scope="module", params=["lightgbm", "xgboost"])
def boosted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, german_csv: Path) -> tuple[str, Path]:
    library = request.param
    out = tmp_path_factory.mktemp("boosted") / library
    finlite.train(german_csv, target=TARGET, model=library, gbdt_params=PARAMS[library], out=out)
    export_artifact(out, german_csv)
    return library, out


def test_boosted_teacher_exports_with_parity_and_scores_like_its_library(boosted: tuple[str, Path],
                                                                          german: pd.DataFrame) -> None:
    library, art_dir = boosted
    manifest = json.loads((art_dir / "manifest.json").read_text())
    parity = manifest["export"]["onnx"]["parity"]
    assert parity["passed"] and parity["flips"] == 0 and parity["max_abs_diff"] < 1e-5
    frame, x = _test_rows(art_dir, german)
    booster = finlite.load(art_dir).model.model
    own = booster.predict(x.astype(np.float64)) if library == "lightgbm" else booster.inplace_predict(x.astype(np.float64))
    predictor = Predictor(art_dir)
    got = predictor.predict_score(frame)
    assert got.shape == own.shape and np.abs(got - own).max() < 1e-5
    # One record through the bound-buffer fast path, and encoded rows, agree too.
    record = {k: (None if isinstance(v, float) and v != v else v) for k, v in frame.iloc[3].to_dict().items()}
    assert predictor.score_record(record) == pytest.approx(own[3], abs=1e-5)
    assert np.abs(predictor.score_vector(x) - own).max() < 1e-5


def test_boosted_teacher_scores_files_and_serves(boosted: tuple[str, Path], german: pd.DataFrame,
                                                 tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from finlite.runtime.batch import score_file
    from finlite.runtime.service import create_app

    _, art_dir = boosted
    frame, _ = _test_rows(art_dir, german)
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    predictor = Predictor(art_dir)
    summary = score_file(predictor, source, tmp_path / "out.csv")
    scored = pd.read_csv(tmp_path / "out.csv")
    assert summary.rows == len(frame) == len(scored)
    assert np.abs(scored["score"].to_numpy() - predictor.predict_score(frame)).max() < 1e-6
    client = TestClient(create_app(predictor))
    record = {k: (None if isinstance(v, float) and v != v else v) for k, v in frame.iloc[0].to_dict().items()}
    body = client.post("/predict", json=record).json()
    assert body["score"] == pytest.approx(predictor.predict_score(frame.iloc[:1])[0], abs=1e-6)


@pytest.mark.slow
def test_bench_compares_deployed_with_deployed(boosted: tuple[str, Path]) -> None:
    from finlite.jobs.bench import bench

    _, art_dir = boosted
    result = bench(art_dir, art_dir, n_records=20, batch=256, repeats=20)
    names = [b["backend"] for b in result["artifacts"][1]["backends"]]
    assert names[1] == "onnxruntime fp32" and result["baseline_backend"] == "onnxruntime fp32"
    assert "baseline_hint" not in result


def test_a_tampered_tree_fails_parity(boosted: tuple[str, Path], german_csv: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong tree (leaves off, as a converter bug would make them) is caught before anything is written."""
    library, out = boosted
    before = (out / "model.onnx").read_bytes()
    which = "_lightgbm_trees" if library == "lightgbm" else "_xgboost_trees"
    real = getattr(export_module, which)

    def tampered(booster: object) -> tuple[object, float]:
        trees, base = real(booster)
        trees.leaf_weight = [w + 0.5 for w in trees.leaf_weight]  # every leaf of every tree nudged
        return trees, base

    monkeypatch.setattr(export_module, which, tampered)
    with pytest.raises(ExportError, match=r"does not match the model in memory.*max \|Δprobability\|.*flip"):
        export_artifact(out, german_csv)
    assert (out / "model.onnx").read_bytes() == before  # nothing written
    finlite.load(out)  # and the artifact still verifies


def test_cli_exports_a_boosted_teacher(boosted: tuple[str, Path], german_csv: Path) -> None:
    from finlite.cli import app

    _, out = boosted
    result = CliRunner().invoke(app, ["export", str(out), "--data", str(german_csv), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["export"]["onnx"]["parity"]["passed"]
    Predictor(out)  # the re-exported artifact still loads and verifies


def _numeric_book(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"income": rng.lognormal(10, 0.5, n), "utilisation": rng.uniform(0, 1.2, n),
                          "delinquencies": rng.integers(0, 4, n).astype(float)})
    logit = -1 + 2 * frame["utilisation"] + 0.6 * frame["delinquencies"] - 0.3 * np.log(frame["income"] / 2e4)
    frame["bad"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.loc[rng.random(n) < 0.1, "income"] = np.nan
    return frame


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_imported_booster_exports_in_columns_mode(library: str, tmp_path: Path) -> None:
    """An imported booster reads raw columns: the graph rebuilds them from the encoded row (NaN from the
    missing indicator) and scores them as the booster does."""
    import lightgbm as lgb
    import xgboost as xgb

    frame = _numeric_book()
    data = tmp_path / "book.csv"
    frame.to_csv(data, index=False)
    features = ["income", "utilisation", "delinquencies"]
    x, y = frame[features], frame["bad"].to_numpy()
    if library == "lightgbm":
        booster = lgb.train({"objective": "binary", "num_leaves": 7, "verbose": -1}, lgb.Dataset(x, y), 20)
        path = tmp_path / "model.txt"
    else:
        booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(x, label=y), 20)
        path = tmp_path / "model.json"
    booster.save_model(str(path))
    out = tmp_path / "teacher"
    finlite.import_teacher(path, data, target="bad", folds=2, out=out)
    record = export_artifact(out, data)
    assert record["onnx"]["parity"]["passed"] and record["onnx"]["parity"]["max_abs_diff"] < 1e-5
    predictor = Predictor(out)
    got = predictor.predict_score(frame[features])
    teacher = finlite.load(out).model
    wrapped = 1 / (1 + np.exp(-teacher.logits_np(predictor.encode(frame[features]))))
    assert np.abs(got - wrapped).max() < 1e-5  # the deployed graph is the wrapped teacher
    if library == "lightgbm":
        # LightGBM splits at midpoints, so the rebuilt raw columns score exactly as the booster
        # scores the raw table. (XGBoost splits on observed values; the import's own parity record
        # counts the rows where float32 rebuilding crosses one.)
        assert np.abs(got - booster.predict(x)).max() < 1e-5
    gap = {"income": None, "utilisation": 0.4, "delinquencies": 1.0}
    raw = pd.DataFrame([{"income": np.nan, "utilisation": 0.4, "delinquencies": 1.0}])
    own = booster.predict(raw) if library == "lightgbm" else booster.inplace_predict(raw)
    assert predictor.score_record(gap) == pytest.approx(float(own[0]), abs=1e-5)
    # A blank where training had none (utilisation) is scored on the median, unlike the booster's
    # missing branch: score says so, with --no-impute (a bring-your-own-model walk-through,
    # 2026-12-07); income, blank in training, scores as the booster does and is not named.
    from finlite.runtime.batch import score_file

    blanks = frame[features].head(200).copy()
    blanks.loc[:9, "utilisation"] = np.nan
    blanks.loc[10:19, "income"] = np.nan
    blanks.to_csv(tmp_path / "new.csv", index=False)
    summary = score_file(predictor, tmp_path / "new.csv", tmp_path / "scores.csv")
    [said] = [n for n in summary.notes if "its own missing-value rule" in n]
    assert said == (f"warning: this model is the booster imported from '{path.name}', and 10 blank value(s) in "
                    "'utilisation' (never blank in its training split) were scored on the training median, where the "
                    "booster itself reads a blank by its own missing-value rule (XGBoost each split's default branch; "
                    "LightGBM as its model file says for the column), so those rows' scores may differ from the "
                    "booster's. Pass --no-impute to refuse such rows instead.")


def test_zero_as_missing_against_its_threshold_is_refused() -> None:
    """A LightGBM split that sends zero (missing) to the side its threshold does not cannot be written
    as one ONNX node: the export says so instead of scoring zero differently."""
    class Dump:
        def dump_model(self) -> dict:
            leaf = {"leaf_value": 0.1}
            return {"tree_info": [{"tree_structure": {
                "split_index": 0, "split_feature": 0, "threshold": -1.5, "decision_type": "<=", "default_left": True,
                "missing_type": "Zero", "left_child": leaf, "right_child": leaf}}]}

    with pytest.raises(ExportError, match="zero_as_missing"):
        export_module._lightgbm_trees(Dump())
    # Said when the booster is imported, not first when it is deployed (a walk-through, 2026-12-07).
    from types import SimpleNamespace

    said = export_module.export_refusal(SimpleNamespace(library="lightgbm", model=Dump()))  # type: ignore[arg-type]
    assert said is not None and "zero_as_missing sends zero to the left" in said


def test_an_imported_booster_the_export_refuses_is_warned_of_at_import(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import lightgbm as lgb

    frame = _numeric_book()
    data = tmp_path / "book.csv"
    frame.to_csv(data, index=False)
    features = ["income", "utilisation", "delinquencies"]
    booster = lgb.train({"objective": "binary", "num_leaves": 7, "verbose": -1},
                        lgb.Dataset(frame[features], frame["bad"]), 10)
    booster.save_model(str(tmp_path / "model.txt"))
    plain = finlite.import_teacher(tmp_path / "model.txt", data, target="bad", folds=2, out=tmp_path / "a")
    assert not [w for w in plain.warnings if "cannot be exported" in w]
    monkeypatch.setattr(export_module, "export_refusal", lambda model: "a split no ONNX tree node can express")
    refused = finlite.import_teacher(tmp_path / "model.txt", data, target="bad", folds=2, out=tmp_path / "b")
    assert "this teacher cannot be exported ('finlite export' refuses it: a split no ONNX tree node can express); " \
           "it can be compressed, and its students exported, but not deployed itself." in refused.warnings


def test_xgboost_categorical_split_is_refused() -> None:
    """A categorical XGBoost split is a set test: written as x < threshold it would score wrongly."""
    import xgboost as xgb

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"c": pd.Categorical(rng.choice(list("abcd"), 200)), "n": rng.normal(size=200)})
    y = frame["c"].isin(["a", "c"]).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "tree_method": "hist"},
                        xgb.DMatrix(frame, y, enable_categorical=True), 2)
    with pytest.raises(ExportError, match="XGBoost tree 0 has a categorical split"):
        export_module._xgboost_trees(booster)


# -- DataFrames through the runtime encoder ------------------------------------------------------
@pytest.fixture(scope="module")
def lgb_predictor(boosted: tuple[str, Path]) -> Predictor:
    return Predictor(boosted[1])


def test_dataframe_equals_records_and_pandas_path(lgb_predictor: Predictor, german: pd.DataFrame) -> None:
    predictor = lgb_predictor
    pre = predictor._frame_encoder()
    frame = german[predictor.fields].sample(300, random_state=1).reset_index(drop=True)
    frame.loc[::7, "duration_in_month"] = np.nan  # gaps, imputed alike
    frame.loc[::11, "purpose"] = None
    frame.loc[5, "purpose"] = "a purpose never seen in training"
    frame.index = [f"A{i}" for i in range(len(frame))]  # labels, not positions
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
               for r in frame.to_dict("records")]
    expected = pre.transform(frame)
    for rows in (slice(0, 1), slice(0, 3), slice(0, 300)):  # the record-by-record and the Arrow paths
        part = frame.iloc[rows]
        np.testing.assert_array_equal(predictor.encode(part), expected[rows])
        by_record = predictor.predict_score(records[rows])
        np.testing.assert_array_equal(predictor.predict_score(part), by_record)
    # Columns in another order, extra columns, typed categories: the same rows.
    shuffled = frame[list(reversed(predictor.fields))].assign(extra=1)
    shuffled["purpose"] = shuffled["purpose"].astype("category")
    np.testing.assert_array_equal(predictor.encode(shuffled), expected)


def test_dataframe_edge_types_match_pandas(lgb_predictor: Predictor, german: pd.DataFrame) -> None:
    """Where Arrow or the record path could read a column differently, the result is still pandas'."""
    predictor = lgb_predictor
    pre = predictor._frame_encoder()
    base = german[predictor.fields].head(40).reset_index(drop=True)
    numeric = predictor.encoder.numeric[0][0]
    category = predictor.encoder.category_fields[0]
    variants = {
        "numbers as text": base.assign(**{numeric: base[numeric].astype(str)}),
        "numbers as objects": base.assign(**{numeric: base[numeric].astype(object)}),
        "floats in an object category": base.assign(**{category: [3.0] * 20 + [None] * 20}).astype({category: object}),
        "nullable ints": base.assign(**{numeric: base[numeric].astype("Int64")}),
    }
    for name, frame in variants.items():
        for rows in (slice(0, 1), slice(0, 40)):
            part = frame.iloc[rows]
            np.testing.assert_array_equal(predictor.encode(part), pre.transform(part), err_msg=name)
    # Booleans for a field the model learnt other numbers for: refused by every path alike (read
    # as 1/0 they scored every value above 0 as 1: a nightly run's walk-through, 2026-12-05).
    booleans = base.assign(**{numeric: base[numeric] > base[numeric].median()})
    for rows in (slice(0, 1), slice(0, 40)):
        for encode in (predictor.encode, pre.transform):
            with pytest.raises(DataError, match=rf"Numeric column '{numeric}' in .* arrives as true/false"):
                encode(booleans.iloc[rows])


@pytest.mark.parametrize("rows", [1, 40])
def test_dataframe_errors_are_the_pandas_errors(lgb_predictor: Predictor, german: pd.DataFrame, rows: int) -> None:
    predictor = lgb_predictor
    pre = predictor._frame_encoder()
    numeric = predictor.encoder.numeric[0][0]
    frame = german[predictor.fields].head(rows).reset_index(drop=True)
    frame.index = [f"R{i}" for i in range(rows)]
    bad_values = {"infinite": np.inf, "beyond float32": 1e300, "text": "twelve", "nan text": "nan"}
    for name, value in bad_values.items():
        broken = frame.astype({numeric: object})
        broken.iloc[rows - 1, broken.columns.get_loc(numeric)] = value
        with pytest.raises(DataError) as ours:
            predictor.predict_score(broken)
        with pytest.raises(DataError) as reference:
            pre.transform(broken, "the DataFrame")
        assert str(ours.value) == str(reference.value), name
        assert numeric in str(ours.value) and f"R{rows - 1}" in str(ours.value), name
    with pytest.raises(DataError, match="purpose"):
        predictor.predict_score(frame.drop(columns=["purpose"]))


def test_empty_dataframes(lgb_predictor: Predictor, german: pd.DataFrame) -> None:
    predictor = lgb_predictor
    empty = german[predictor.fields].head(0)
    assert predictor.predict_score(empty).shape == (0,)
    with pytest.raises(DataError, match="purpose"):
        predictor.predict_score(empty.drop(columns=["purpose"]))


def test_large_dataframe_on_several_threads(boosted: tuple[str, Path], german: pd.DataFrame) -> None:
    """Rows split between threads, each encoding into its slice of one matrix: the same rows."""
    from finlite.runtime import predictor as predictor_module

    two = Predictor(boosted[1], threads=2)
    frame = german[two.fields].sample(2 * predictor_module._PARALLEL_ROWS + 5, replace=True, random_state=2)
    frame.iloc[-1, 0] = np.nan
    np.testing.assert_array_equal(two.encode(frame), two._frame_encoder().transform(frame))
    broken = frame.astype({two.encoder.numeric[0][0]: object})
    broken.iloc[-3, 0] = "twelve"  # in the second thread's rows: the pandas error, with its row label
    with pytest.raises(DataError, match=f"text 'twelve' at row {len(frame) - 2}"):
        two.predict_score(broken.reset_index(drop=True))


def test_an_int8_predictor_of_a_boosted_teacher_says_why_there_is_none(boosted: tuple[str, Path]) -> None:
    """It advised 'finlite export --int8', which refuses a boosted teacher (a review, 2026-12-03)."""
    from finlite.errors import ArtifactError

    with pytest.raises(ArtifactError, match=r"is a boosted-tree model, which has no int8 form .* score it in float32 "
                                            r"\(without --int8\), or distil it into a student"):
        Predictor(boosted[1], variant="int8")


@pytest.mark.slow
def test_bench_says_when_the_baseline_is_not_deployed(boosted: tuple[str, Path], tmp_path: Path,
                                                      german_csv: Path) -> None:
    from finlite.jobs.bench import bench, render_bench

    plain = tmp_path / "plain"
    finlite.train(german_csv, target=TARGET, model="logistic", progress=False,
                  out=plain)
    result = bench(boosted[1], plain, n_records=10, batch=128, repeats=10)
    assert result["baseline_backend"] == "torch eager" and "finlite export BASELINE" in result["baseline_hint"]
    assert "finlite export BASELINE" in render_bench(result)


# -- boosted forecasters on windows of a series --------------------------------------------------
@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("objective", ["regression", "binary"])
def test_a_boosted_forecaster_on_windows_exports_with_parity(library: str, objective: str) -> None:
    """The graph reads windows [rows, window, features], flattens them (Reshape) as the model does,
    and outputs the forecast itself ("prediction", no Sigmoid) for a regression."""
    import torch

    from finlite.export.graph import to_onnx
    from finlite.runtime.predictor import model_session
    from finlite.training.boosted import fit_boosted_arrays

    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6, 4)).astype(np.float32)
    y = (0.7 * x[:, -1, 0] - 0.5 * x[:, -3, 2] + rng.normal(scale=0.3, size=500)).astype(np.float32)
    if objective == "binary":
        y = (y > 0).astype(np.float32)
    model = fit_boosted_arrays(x[:300], y[:300], x[300:400], y[300:400], library=library, objective=objective,
                               seed=0, params=PARAMS[library], folds=None)
    proto = to_onnx(model)
    ops = [n.op_type for n in proto.graph.node]
    assert ops[0] == "Reshape" and "TreeEnsembleRegressor" in ops
    shape = [d.dim_value or d.dim_param for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert shape == ["rows", 6, 4]
    session = model_session(proto.SerializeToString())
    outputs = [o.name for o in session.get_outputs()]
    with torch.inference_mode():
        raw = model(torch.from_numpy(x[400:])).numpy().astype(np.float64)
    if objective == "regression":
        assert outputs == ["prediction"] and "Sigmoid" not in ops
        want = raw
    else:
        assert outputs == ["probability", "logit"] and ops[-1] == "Sigmoid"
        want = 1 / (1 + np.exp(-raw))
    got = session.run([outputs[0]], {"x": x[400:]})[0].reshape(-1)
    assert np.abs(got - want).max() < 1e-5
    if objective == "regression":
        assert np.corrcoef(got, y[400:])[0, 1] > 0.6  # a forecast worth exporting, not a constant
