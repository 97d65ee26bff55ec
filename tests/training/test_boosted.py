"""Boosted teachers: trained with OOF scores, imported from saved files, distilled into MLPs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from typer.testing import CliRunner

import finlite
from finlite.cli import app
from finlite.errors import ConfigError, DataError
from finlite.jobs.compress import compress_with_recipe
from finlite.jobs.train import import_teacher
from finlite.recipe.spec import Recipe
from finlite.training.boosted import stratified_folds
from tests.conftest import FAST, make_loans


@pytest.fixture(scope="module")
def lgb_teacher(tmp_path_factory: pytest.TempPathFactory, german_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("gbdt") / "lgb"
    finlite.train(german_csv, target="creditability", model="lightgbm", out=out)
    return out


def test_stratified_folds_balance_classes() -> None:
    y = np.array([1] * 10 + [0] * 90)
    folds = stratified_folds(y, 5, seed=0)
    for k in range(5):
        assert (y[folds == k] == 1).sum() == 2 and (folds == k).sum() == 20
    # The same folds whichever class is positive; an older artifact's (each class shuffled in turn) as they were.
    rng = np.random.default_rng(4)
    mixed = rng.permutation(y)
    np.testing.assert_array_equal(stratified_folds(mixed, 5, seed=7), stratified_folds(1 - mixed, 5, seed=7))
    old, gen = np.empty(len(mixed), dtype=int), np.random.default_rng(7)
    for cls in (0, 1):
        rows = gen.permutation(np.flatnonzero(mixed == cls))
        old[rows] = np.arange(len(rows)) % 5
    np.testing.assert_array_equal(stratified_folds(mixed, 5, seed=7, one_shuffle=False), old)
    assert not np.array_equal(stratified_folds(1 - mixed, 5, seed=7, one_shuffle=False), old)


@pytest.mark.slow  # the first user of lgb_teacher pays for its 5-fold training (about 10 s)
def test_lightgbm_teacher_round_trips_with_oof(lgb_teacher: Path, german_csv: Path) -> None:
    art = finlite.load(lgb_teacher)
    model = art.model
    assert art.manifest["model"]["kind"] == "gbdt" and model.oof_folds == 5
    assert (lgb_teacher / "oof_logits.safetensors").is_file()
    oof = model.oof_logits
    assert oof is not None and len(oof) == art.manifest["data"]["split"]["rows"]["train"]
    # The OOF scores are not the model's own training scores (those are overfit, higher AUC).
    assert art.metrics["train_oof_auc"] < 0.95
    frame = pd.read_csv(german_csv)
    p = art.predict_score(frame.head(50))
    booster = lgb.Booster(model_str=bytes(model.booster.numpy().tobytes()).decode())
    x = art.preprocessor.transform(frame.head(50))
    assert np.allclose(p, booster.predict(x), atol=1e-6)
    assert art.weights_bytes < 2_000_000  # the weights file holds the trees only, not the OOF scores


@pytest.mark.slow  # trains lgb_teacher when run on its own
def test_distilling_a_boosted_teacher_uses_oof(lgb_teacher: Path, german_csv: Path, tmp_path: Path) -> None:
    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [16]}\n  - {method: magnitude_pruning}\n"
                              "gates:\n  auc: {max_drop: 0.1}\n")
    outcome = compress_with_recipe(lgb_teacher, german_csv, recipe, config=FAST, fine_tune=FAST, timing=False,
                                   out=tmp_path / "s", progress=False)
    assert outcome.passed and outcome.report["fidelity"]["agreement"] > 0.8
    assert outcome.report["teacher"]["parameters"] > 0  # tree nodes counted


@pytest.mark.slow  # trains lgb_teacher when run on its own
def test_pruning_first_on_a_boosted_teacher_is_a_config_error(lgb_teacher: Path, german_csv: Path) -> None:
    recipe = Recipe.from_yaml("steps:\n  - {method: magnitude_pruning}\n")
    with pytest.raises(finlite.ConfigError, match=r"step 1 \(magnitude_pruning\).*Put a distillation step first"):
        compress_with_recipe(lgb_teacher, german_csv, recipe, config=FAST, fine_tune=FAST, progress=False)


@pytest.mark.slow  # trains lgb_teacher when run on its own
def test_steps_after_a_rolled_back_distillation_are_skipped(lgb_teacher: Path, german_csv: Path) -> None:
    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [2]}\n  - {method: fp16}\n"
                              "gates:\n  size_bytes: {max: 1}\n")
    outcome = compress_with_recipe(lgb_teacher, german_csv, recipe, config=FAST, fine_tune=FAST, progress=False)
    assert [r.status for r in outcome.result.records] == ["rolled_back", "skipped"]
    assert outcome.model is None


def _numeric_loans(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    frame = make_loans(800)[["annual_income", "utilisation", "defaulted"]]
    path = tmp_path / "loans.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _saved_booster(library: str, x: pd.DataFrame, y: pd.Series, tmp_path: Path, params: dict[str, Any],
                   rounds: int) -> tuple[Path, np.ndarray]:
    """A binary booster trained by its own library on ``x``, saved as a user would save it, and its
    raw scores of ``x`` as that library computes them."""
    if library == "lightgbm":
        booster = lgb.train({"objective": "binary", "verbose": -1, **params}, lgb.Dataset(x, y), rounds)
        file = tmp_path / "model.txt"
        booster.save_model(str(file))
        return file, np.asarray(booster.predict(x, raw_score=True))
    booster = xgb.train({"objective": "binary:logistic", **params}, xgb.DMatrix(x, label=y), rounds)
    file = tmp_path / "model.json"
    booster.save_model(str(file))
    return file, np.asarray(booster.predict(xgb.DMatrix(x), output_margin=True))


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_imported_booster_scores_raw_columns_exactly(library: str, tmp_path: Path) -> None:
    path, frame = _numeric_loans(tmp_path)
    x, y = frame[["annual_income", "utilisation"]], (frame["defaulted"] == "yes").astype(int)
    file, raw = _saved_booster(library, x, y, tmp_path, {"num_leaves": 7} if library == "lightgbm" else
                               {"max_depth": 3, "eta": 0.2}, 30)
    if library == "lightgbm":  # its file carries its parameters: a learning rate would be ignored
        with pytest.raises(ConfigError, match="learning_rate is for XGBoost files"):
            import_teacher(file, path, target="defaulted", positive="yes", learning_rate=0.2)
    outcome = import_teacher(file, path, target="defaulted", positive="yes",
                             learning_rate=0.2 if library == "xgboost" else None, out=tmp_path / "teacher")
    art = finlite.load(outcome.path)
    # NaN incomes go through finlite's encoding (median + indicator) and come back as NaN.
    assert frame["annual_income"].isna().any()
    expected = 1 / (1 + np.exp(-raw))
    diff = np.abs(art.predict_score(frame) - expected)
    # Raw values come back from a float32 encoding, snapped to the number of few decimals they
    # were: every row is exact, also where XGBoost splits at an observed value.
    assert diff.max() < 1e-6
    parity = art.manifest["steps"][0]["parity"]
    assert parity["rows"] == len(frame) and parity["max_abs_diff"] == pytest.approx(diff.max(), abs=1e-6)
    assert parity["rows_above_1e-6"] == 0 and parity["decisions_flipped_at_0.5"] == 0
    assert art.manifest["steps"][0]["file_sha256"] and art.model.oof_logits is not None


def test_an_imported_booster_splits_by_account(tmp_path: Path) -> None:
    """import-teacher --group-column: each account's rows in one part and in one out-of-fold refit;
    a booster reading the account column is refused before anything is written."""
    frame = make_loans(300)[["annual_income", "utilisation", "defaulted"]]
    book = pd.concat([frame.assign(account=[f"A{i}" for i in range(len(frame))])] * 3, ignore_index=True)
    path = tmp_path / "book.csv"
    book.to_csv(path, index=False)
    x, y = book[["annual_income", "utilisation"]], (book["defaulted"] == "yes").astype(int)
    file, _ = _saved_booster("lightgbm", x, y, tmp_path, {"num_leaves": 7}, 20)
    outcome = import_teacher(file, path, target="defaulted", positive="yes", group_column="account",
                             out=tmp_path / "teacher")
    split = outcome.data.split
    parts = [set(book["account"].iloc[getattr(split, p)]) for p in ("train", "validation", "test")]
    assert split.method == "grouped" and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert finlite.load(outcome.path).manifest["data"]["split"]["config"]["group_column"] == "account"
    reading = book.assign(account_no=np.arange(len(book)) % 300)
    reading.to_csv(path, index=False)
    file, _ = _saved_booster("lightgbm", reading[["annual_income", "account_no"]], y, tmp_path, {"num_leaves": 7}, 5)
    with pytest.raises(ConfigError, match=r"reads 'account_no', the column given as --group-column"):
        import_teacher(file, path, target="defaulted", positive="yes", group_column="account_no",
                       out=tmp_path / "t2")
    assert not (tmp_path / "t2").exists()


def test_a_booster_trained_on_the_test_split_is_told_so(tmp_path: Path) -> None:
    """A booster trained on the whole table, finlite's test split included, showed its in-sample
    test AUC as hold-out evidence, and a student compressed from it FAILed against that (a review,
    2026-12-04 evening). One trained on finlite's training and validation rows only is not warned of."""
    from finlite.data.split import SplitConfig, make_split

    rng = np.random.default_rng(1)
    n = 1200
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    logit = 0.8 * frame["x0"] - 0.6 * frame["x1"]
    frame["bad"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    x, y = frame.drop(columns=["bad"]), (frame["bad"] == "yes").astype(int)
    params = {"num_leaves": 63, "min_data_in_leaf": 2, "learning_rate": 0.3}
    whole, _ = _saved_booster("lightgbm", x, y, tmp_path, params, 200)
    seen = import_teacher(whole, path, target="bad", positive="yes")
    assert len(seen.warnings) == 1 and re.match(
        r"the booster ranks the test split far better \(AUC (?:0\.9\d+|1\.0000)\) than refits of its settings rank training rows "
        r"they did not see \(out-of-fold AUC 0\.\d+\): it was likely trained on the test split's rows", seen.warnings[0])
    split = make_split(frame, y.to_numpy(), SplitConfig())
    fit = np.concatenate([split.train, split.validation])
    (tmp_path / "own").mkdir()
    held, _ = _saved_booster("lightgbm", x.iloc[fit], y.iloc[fit], tmp_path / "own", params, 200)
    assert not import_teacher(held, path, target="bad", positive="yes").warnings


def test_parity_reads_money_text_as_finlite_reads_it(tmp_path: Path) -> None:
    """Incomes written "$52,000.00": the import scored exactly as the booster, yet its parity read
    the text as NaN and warned that 976 of 1,000 rows differed (a review, 2026-12-04 evening)."""
    _, frame = _numeric_loans(tmp_path)
    frame = frame.assign(annual_income=frame["annual_income"].round(0))
    x, y = frame[["annual_income", "utilisation"]], (frame["defaulted"] == "yes").astype(int)
    file, raw = _saved_booster("lightgbm", x, y, tmp_path, {"num_leaves": 7}, 30)
    money = frame.assign(annual_income=[None if pd.isna(v) else f"${v:,.2f}" for v in frame["annual_income"]])
    money.to_csv(tmp_path / "money.csv", index=False)
    outcome = import_teacher(file, tmp_path / "money.csv", target="defaulted", positive="yes", out=tmp_path / "t")
    art = finlite.load(outcome.path)
    assert "annual_income" in art.schema.money
    assert np.abs(art.predict_score(money) - 1 / (1 + np.exp(-raw))).max() < 1e-6
    parity = art.manifest["steps"][0]["parity"]
    assert parity["rows_above_1e-6"] == 0 and parity["max_abs_diff"] < 1e-6
    # No parity warning. (The booster was fitted on every row, test split included: the in-sample
    # warning may be given, and is right to be.)
    assert not [w for w in outcome.warnings if "differ" in w], outcome.warnings


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_an_imported_booster_splitting_at_observed_whole_and_cent_values_is_exact(library: str,
                                                                                 tmp_path: Path) -> None:
    """Ages and months (whole numbers) and incomes in cents: XGBoost splits at observed values
    (`age < 30`), which a raw value rebuilt from the float32 encoding as 29.999998 crossed
    (before: 100 of 3,000 rows off by up to 0.35, 4 decisions flipped)."""
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({"age": rng.integers(18, 80, n).astype(float), "months": rng.integers(6, 72, n).astype(float),
                          "income": np.round(rng.lognormal(10, 0.5, n), 2)})
    logit = -2 + 0.4 * (frame["age"] < 30) + 0.03 * frame["months"] - 1e-5 * frame["income"]
    frame["bad"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    x, y = frame[["age", "months", "income"]], (frame["bad"] == "yes").astype(int)
    file, raw = _saved_booster(library, x, y, tmp_path, {"num_leaves": 15} if library == "lightgbm" else
                               {"max_depth": 4, "eta": 0.3, "tree_method": "hist"}, 60)
    outcome = import_teacher(file, path, target="bad", positive="yes",
                             learning_rate=0.3 if library == "xgboost" else None, out=tmp_path / "teacher")
    expected = 1 / (1 + np.exp(-raw))
    assert np.abs(finlite.load(outcome.path).predict_score(frame) - expected).max() < 1e-6
    # The exported tree ensemble decides every split as the model does (parity checked by export),
    # and the deployed Predictor matches the library too.
    from finlite.jobs.export import export_artifact
    from finlite.runtime import Predictor

    export_artifact(outcome.path, path)
    deployed = Predictor(outcome.path).predict_score(frame.drop(columns=["bad"]))
    assert np.abs(deployed - expected).max() < 1e-6


def test_an_imported_xgboost_booster_places_full_precision_values_on_their_side_of_each_split(tmp_path: Path) -> None:
    """XGBoost splits at observed values; an income of many digits or a ratio rebuilt from the
    float32 encoding is no number of few decimals to snap to, and landed on the wrong side of its
    own split (before: 80 of 1,500 rows off, in the model and in the exported graph alike). Each
    threshold now has its place in the encoding, and every row scores as the booster scores it."""
    rng = np.random.default_rng(0)
    n = 1500
    frame = pd.DataFrame({f"income_{i}": np.round(rng.lognormal(11 + i, 1.5, n), 2) for i in range(4)})
    frame["ratio"] = rng.random(n) * 7.3
    z = (frame - frame.mean()) / frame.std()
    logit = z.to_numpy() @ rng.normal(0, 1, frame.shape[1])
    frame["bad"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    x, y = frame.drop(columns=["bad"]), (frame["bad"] == "yes").astype(int)
    file, raw = _saved_booster("xgboost", x, y, tmp_path, {"max_depth": 5, "eta": 0.3, "tree_method": "hist"}, 100)
    outcome = import_teacher(file, path, target="bad", positive="yes", learning_rate=0.3, folds=2,
                             out=tmp_path / "teacher")
    # No row scores otherwise; the booster was trained on every row, the test split's too, and is told so.
    assert len(outcome.warnings) == 1 and "it was likely trained on the test split's rows" in outcome.warnings[0]
    expected = 1 / (1 + np.exp(-raw))
    assert np.abs(finlite.load(outcome.path).predict_score(frame) - expected).max() < 1e-6
    from finlite.jobs.export import export_artifact
    from finlite.runtime import Predictor

    export_artifact(outcome.path, path)
    assert np.abs(Predictor(outcome.path).predict_score(x) - expected).max() < 1e-6


def test_an_imported_lightgbm_booster_scores_zero_as_it_does_at_its_split_below_zero(tmp_path: Path) -> None:
    """LightGBM splits negatives from zero at -1e-35; the largest value it sends left encodes as zero
    does, and the exported graph sent rows with a zero left (0.88 where the booster gave 0.12, with
    decision 1), while the test split's rows held no zero and export passed (a review, 2026-12-03).
    Rows with a zero, on the booster's thresholds, and between them score as the booster scores
    them, in the model and through the deployed Predictor."""
    rng = np.random.default_rng(3)
    n = 2000
    change = rng.normal(0.3, 1, n)
    change[rng.random(n) < 0.001] = 0.0
    frame = pd.DataFrame({"change": change, "other": rng.normal(0, 1, n)})
    y = ((-change > 0) ^ (rng.random(n) < 0.1)).astype(int)
    frame["bad"] = np.where(y == 1, "yes", "no")
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    x = frame.drop(columns=["bad"])
    file, _ = _saved_booster("lightgbm", x, y, tmp_path, {"num_leaves": 7}, 30)
    booster = lgb.Booster(model_file=str(file))
    outcome = import_teacher(file, path, target="bad", positive="yes", folds=2, out=tmp_path / "teacher")
    from finlite.models.gbdt import split_points
    from finlite.runtime import Predictor

    exported = CliRunner().invoke(app, ["export", str(outcome.path), "--data", str(path)])
    assert exported.exit_code == 0, exported.output
    # The line says what the max counts: the test split and the rows at the split places.
    assert re.search(r"parity on the test split \(\d+ rows, and [\d,]+ rows at the booster's split places, cut-off",
                     exported.output), exported.output
    points = split_points("lightgbm", booster)[0]
    assert (points < 0).any() and np.isclose(points, -1e-35, rtol=1e-6, atol=0).any()  # zero's split is there
    between = (points[1:] + points[:-1]) / 2
    values = np.concatenate([[0.0], points, between])
    probe = pd.DataFrame({"change": np.tile(values, 3), "other": np.repeat([0.0, 1.0, -1.0], len(values))})
    expected = booster.predict(probe)
    assert np.abs(finlite.load(outcome.path).predict_score(probe) - expected).max() < 1e-6
    assert np.abs(Predictor(outcome.path).predict_score(probe) - expected).max() < 1e-6


@pytest.mark.parametrize("method", ["exact", "hist"])
def test_an_imported_xgboost_booster_scores_zero_as_it_does_beside_blanks(method: str, tmp_path: Path) -> None:
    """XGBoost splits zero from blanks at 1e-6 (exact) or 1e-5 (hist), a place on zero's own
    encoding: rows with a zero scored 0.80 where XGBoost gave 0.50, on 180 of 1,000 rows of the
    table (a review, 2026-12-03). Every row of the table, a zero included, scores as the booster
    scores it, in the model and through the deployed Predictor."""
    rng = np.random.default_rng(0)
    n = 1000
    balance = np.abs(rng.normal(5000, 3000, n))
    balance[rng.random(n) < 0.2] = 0.0
    balance[rng.random(n) < 0.2] = np.nan
    y = (rng.random(n) < np.where(np.isnan(balance), 0.9, np.where(balance <= 0, 0.5, 0.1))).astype(int)
    frame = pd.DataFrame({"balance": balance, "bad": np.where(y == 1, "yes", "no")})
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    x = frame[["balance"]]
    file, raw = _saved_booster("xgboost", x, y, tmp_path, {"tree_method": method, "max_depth": 3}, 20)
    outcome = import_teacher(file, path, target="bad", positive="yes", learning_rate=0.3, folds=2,
                             out=tmp_path / "teacher")
    assert not outcome.warnings
    from finlite.jobs.export import export_artifact
    from finlite.runtime import Predictor

    export_artifact(outcome.path, path)
    probe = pd.DataFrame({"balance": [0.0, -0.0, np.nan, 1e-9, 250.0]})
    own = xgb.Booster(model_file=str(file))
    for rows, expected in ((x, 1 / (1 + np.exp(-raw))), (probe, own.predict(xgb.DMatrix(probe)))):
        assert np.abs(finlite.load(outcome.path).predict_score(rows) - expected).max() < 1e-6
        assert np.abs(Predictor(outcome.path).predict_score(rows) - expected).max() < 1e-6


def test_import_errors_name_the_problem(tmp_path: Path) -> None:
    path, frame = _numeric_loans(tmp_path)
    x = frame[["annual_income", "utilisation"]].rename(columns={"utilisation": "dti"})
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(x, (frame["defaulted"] == "yes")), 5)
    file = tmp_path / "model.txt"
    booster.save_model(str(file))
    with pytest.raises(DataError, match=r"reads column\(s\) \['dti'\] that .*loans\.csv lacks"):
        import_teacher(file, path, target="defaulted", positive="yes")
    garbage = tmp_path / "model.bin"
    garbage.write_bytes(b"not a model")
    runner = CliRunner()
    res = runner.invoke(app, ["import-teacher", str(garbage), str(path), "--target", "defaulted", "--out",
                              str(tmp_path / "t")])
    assert res.exit_code == 2 and "neither a LightGBM text model nor an XGBoost" in res.output


def test_import_names_duplicate_features_and_text_without_advice_it_cannot_take(tmp_path: Path) -> None:
    """Two features of one name reached an internal parameter's message ("the 'input' parameter of
    BoostedEnsemble"); text in a column the booster reads was told to "declare the column
    categorical", which import-teacher cannot do (the booster reads a number there)."""
    path, frame = _numeric_loans(tmp_path)
    x, y = frame[["annual_income", "utilisation"]], (frame["defaulted"] == "yes").astype(int)
    file, _ = _saved_booster("lightgbm", x, y, tmp_path, {"num_leaves": 7}, 5)
    twice = tmp_path / "twice.txt"
    twice.write_bytes(file.read_bytes().replace(b"feature_names=annual_income utilisation",
                                                b"feature_names=utilisation utilisation"))
    with pytest.raises(DataError, match=r"names feature\(s\) \['utilisation'\] more than once.*its own name"):
        import_teacher(twice, path, target="defaulted", positive="yes")
    texts = frame.astype({"utilisation": object})
    texts.loc[[3, 9], "utilisation"] = "n/a?"
    texts.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(DataError, match=r"'utilisation' in \S*text\.csv holds the text 'n/a\?' at row 4 \(2 such rows\); "
                                        r"fix or blank those values\.$"):
        import_teacher(file, tmp_path / "text.csv", target="defaulted", positive="yes")


def test_a_booster_of_the_other_class_and_a_pipe_are_refused(tmp_path: Path) -> None:
    """A booster trained on 'no' as the positive class imported with exit 0 (test AUC 0.12): its
    cut-off would flag the best applicants. A named pipe given as the booster hung the command."""
    path, frame = _numeric_loans(tmp_path)
    x, y = frame[["annual_income", "utilisation"]], (frame["defaulted"] == "yes").astype(int)
    file, _ = _saved_booster("lightgbm", x, 1 - y, tmp_path, {"num_leaves": 7}, 30)
    with pytest.raises(DataError, match=r"ranks defaulted='yes' \(the positive class here\) below 'no': AUC 0\.\d+ on the "
                                        r"training rows.*scores P\(defaulted='no'\).*pass positive='no' only if 'no' is "
                                        r"the outcome to flag.*train the booster again with defaulted='yes' as its "
                                        r"label 1 and import that"):
        import_teacher(file, path, target="defaulted", positive="yes", out=tmp_path / "t")
    assert not (tmp_path / "t").exists()
    assert import_teacher(file, path, target="defaulted", positive="no", out=tmp_path / "t2").path is not None
    pipe = tmp_path / "booster.pipe"
    os.mkfifo(pipe)
    with pytest.raises(ConfigError, match="not a regular file"):
        import_teacher(pipe, path, target="defaulted", positive="yes")


def test_a_blank_where_training_had_none_is_imputed_and_the_import_warns(tmp_path: Path) -> None:
    """A column with no missing value in the training split has no indicator: a blank there is
    imputed with the median, not sent down the booster's missing branch (forcing indicators left
    the student's weights for them untrained: a review, 2026-12-03). The import counts the
    table's rows where that changes the score, and the CLI says so, naming the file's row."""
    _, frame = _numeric_loans(tmp_path)
    frame = frame.assign(annual_income=frame["annual_income"].fillna(frame["annual_income"].median()))
    x, y = frame[["annual_income", "utilisation"]], (frame["defaulted"] == "yes").astype(int)
    file, _ = _saved_booster("xgboost", x, y, tmp_path, {"max_depth": 3, "eta": 0.2}, 30)
    # Three blanks in the last rows (an out-of-time test split never seen missing in training),
    # and an unlabelled row first, so the file's row numbers differ from the labelled rows'.
    blanked = frame.copy()
    blanked.loc[len(frame) - 3:, "utilisation"] = np.nan
    unlabelled = blanked.head(1).assign(defaulted=np.nan)
    table = pd.concat([unlabelled, blanked], ignore_index=True).assign(
        day=lambda d: pd.date_range("2020-01-01", periods=len(d), freq="D").strftime("%Y-%m-%d"))
    table.to_csv(tmp_path / "later.csv", index=False)
    own = xgb.Booster(model_file=str(file)).inplace_predict(blanked[["annual_income", "utilisation"]].to_numpy(float))
    res = CliRunner().invoke(app, ["import-teacher", str(file), str(tmp_path / "later.csv"), "--target", "defaulted",
                                   "--positive", "yes", "--date-column", "day", "--learning-rate", "0.2",
                                   "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    art = finlite.load(tmp_path / "t")
    parity = art.manifest["steps"][0]["parity"]
    ours = art.predict_score(blanked.drop(columns=["defaulted"]))
    differ = np.flatnonzero(np.abs(ours - own) > 1e-6)
    assert parity["rows_above_1e-6"] == differ.size > 0 and set(differ) <= set(range(len(frame) - 3, len(frame)))
    # The file's data row: one unlabelled row above, so 1-based position + 1.
    assert parity["first_row_above"] == differ[0] + 2
    assert f"warning: {differ.size:,} of {len(frame):,} rows of the table score differently from the booster" in res.output
    assert f"first at data row {differ[0] + 2};" in res.output and "imputed with the median" in res.output
    # In Python, the same words are in the outcome (also when nothing is saved).
    outcome = import_teacher(file, tmp_path / "later.csv", target="defaulted", positive="yes", date_column="day",
                             learning_rate=0.2)
    assert outcome.path is None and len(outcome.warnings) == 1
    assert outcome.warnings[0].startswith(f"{differ.size:,} of {len(frame):,} rows of the table score differently")


def test_an_import_that_would_not_score_as_the_booster_is_refused(tmp_path: Path) -> None:
    """The parity of the wrapped teacher and the booster was recorded and ignored; LightGBM's
    sigmoid:k and random forests gave other probabilities than the booster's while the recorded
    parity (raw against raw) read 0; a table column named '<feature>__is_missing' was read as the
    indicator; the booster reading the split's date column or its own label raised tracebacks or
    misleading advice (a review, 2026-12-03)."""
    path, frame = _numeric_loans(tmp_path)
    x, y = frame[["annual_income", "utilisation"]], (frame["defaulted"] == "yes").astype(int)
    for params, match in (({"sigmoid": 3.0}, r"trained with sigmoid=3: .* Train it again without the sigmoid"),
                          ({"boosting": "rf", "bagging_freq": 1, "bagging_fraction": 0.8},
                           r"is a random forest \(boosting=rf\)")):
        booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7, **params}, lgb.Dataset(x, y), 5)
        file = tmp_path / "odd.txt"
        booster.save_model(str(file))
        with pytest.raises(ConfigError, match=match):
            import_teacher(file, path, target="defaulted", positive="yes", out=tmp_path / "t")
    assert not (tmp_path / "t").exists()
    names = frame.assign(utilisation__is_missing=0.0)
    names.to_csv(tmp_path / "names.csv", index=False)
    both = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(names[["utilisation", "utilisation__is_missing"]],
                                                                        y), 3)
    both.save_model(str(tmp_path / "both.txt"))
    with pytest.raises(DataError, match=r"reads column\(s\) \['utilisation__is_missing'\], named as finlite names"):
        import_teacher(tmp_path / "both.txt", tmp_path / "names.csv", target="defaulted", positive="yes")
    dated = frame.assign(opened=np.arange(len(frame)) + 20150101, label=frame["defaulted"])
    dated.to_csv(tmp_path / "dated.csv", index=False)
    reads_date = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(dated[["utilisation", "opened"]], y), 3)
    reads_date.save_model(str(tmp_path / "date.txt"))
    with pytest.raises(ConfigError, match=r"reads 'opened', the column given as --date-column"):
        import_teacher(tmp_path / "date.txt", tmp_path / "dated.csv", target="defaulted", positive="yes",
                       date_column="opened")
    leak = lgb.train({"objective": "binary", "verbose": -1},
                     lgb.Dataset(dated[["utilisation"]].assign(defaulted=y.astype(float)), y), 3)
    leak.save_model(str(tmp_path / "leak.txt"))
    with pytest.raises(DataError, match=r"reads 'defaulted', the target: it was trained on its own label"):
        import_teacher(tmp_path / "leak.txt", path, target="defaulted", positive="yes")


def test_a_parameter_the_library_refuses_on_refit_is_named(tmp_path: Path) -> None:
    path, frame = _numeric_loans(tmp_path)
    x, y = frame[["annual_income", "utilisation"]], (frame["defaulted"] == "yes").astype(int)
    file, _ = _saved_booster("lightgbm", x, y, tmp_path, {"num_leaves": 7}, 5)
    bad = tmp_path / "bad.txt"
    text = file.read_bytes()
    assert b"[feature_fraction: 1]" in text
    bad.write_bytes(text.replace(b"[feature_fraction: 1]", b"[feature_fraction: 0]"))
    res = CliRunner().invoke(app, ["import-teacher", str(bad), str(path), "--target", "defaulted", "--positive", "yes",
                                   "--out", str(tmp_path / "t")])
    assert res.exit_code == 2, res.output
    assert "LightGBM refuses them: Check failed: (feature_fraction) > (0.0). Fix" in res.output
    assert "Fix that parameter in the model file" in res.output and "Traceback" not in res.output


def test_refits_that_learn_nothing_are_warned_of(tmp_path: Path) -> None:
    # min_data_in_leaf above a fold's rows: "out-of-fold AUC 0.5000" and exit 0, with nothing said
    # (a review, 2026-12-03); the student would learn from constant scores.
    path, frame = _numeric_loans(tmp_path)
    x, y = frame[["annual_income", "utilisation"]], (frame["defaulted"] == "yes").astype(int)
    file, _ = _saved_booster("lightgbm", x, y, tmp_path, {"num_leaves": 7}, 5)
    text = file.read_bytes()
    line = next(ln for ln in text.splitlines() if ln.startswith(b"[min_data_in_leaf: "))
    (tmp_path / "big_leaf.txt").write_bytes(text.replace(line, b"[min_data_in_leaf: 5000]"))
    res = CliRunner().invoke(app, ["import-teacher", str(tmp_path / "big_leaf.txt"), str(path), "--target", "defaulted",
                                   "--positive", "yes", "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert re.search(r"warning: the out-of-fold refits rank no better than chance \(AUC (?:0\.49\d\d|0\.50\d\d)\)",
                     res.output), res.output
    good = CliRunner().invoke(app, ["import-teacher", str(file), str(path), "--target", "defaulted", "--positive", "yes",
                                    "--out", str(tmp_path / "t2")])
    assert good.exit_code == 0 and "no better than chance" not in good.output, good.output
    outcome = import_teacher(tmp_path / "big_leaf.txt", path, target="defaulted", positive="yes")  # Python too
    assert any(w.startswith("the out-of-fold refits rank no better than chance") for w in outcome.warnings)


def test_an_imported_lightgbm_booster_with_a_split_at_infinity_imports_and_scores_as_itself(tmp_path: Path) -> None:
    """LightGBM writes threshold=inf for a split that sends blanks one way and every number the
    other; import-teacher refused such a file as malformed ("Save the model again": a review,
    2026-12-03)."""
    rng = np.random.default_rng(0)
    n = 1500
    balance = rng.normal(5000, 3000, n)
    balance[rng.random(n) < 0.2] = np.nan
    balance[rng.random(n) < 0.2] = 0.0
    other = rng.integers(-3, 4, n).astype(float)
    y = (np.isnan(balance) * 1.5 + (np.nan_to_num(balance) == 0) * 1.0 + rng.normal(0, 1, n) > 1.0).astype(int)
    frame = pd.DataFrame({"balance": balance, "other": other, "bad": np.where(y == 1, "yes", "no")})
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    x = frame[["balance", "other"]]
    file, _ = _saved_booster("lightgbm", x, y, tmp_path, {"num_leaves": 15, "min_data_in_leaf": 5, "seed": 0}, 40)
    assert re.search(r"^threshold=.*\binf\b", file.read_text(), re.MULTILINE)  # the case this test is about
    outcome = import_teacher(file, path, target="bad", positive="yes", folds=2, out=tmp_path / "teacher")
    from finlite.jobs.export import export_artifact
    from finlite.runtime import Predictor

    export_artifact(outcome.path, path)
    expected = lgb.Booster(model_file=str(file)).predict(x)
    assert np.abs(finlite.load(outcome.path).predict_score(x) - expected).max() < 1e-6
    assert np.abs(Predictor(outcome.path).predict_score(x) - expected).max() < 1e-6


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_an_import_whose_column_holds_extremes_scores_as_its_booster(library: str, tmp_path: Path) -> None:
    """Incomes with 1 % of 1e12 placeholders. Centred on their mean (about 1e10), every ordinary
    income encoded to nearly one float32 number, a few hundred dollars apart, and the teacher
    scored 2,156 of 6,000 rows unlike its booster (a review, 2026-12-05). An import's columns are
    centred on the median: ordinary values stay near zero, where float32 resolves them."""
    from finlite.jobs.export import export_artifact
    from finlite.runtime import Predictor

    rng = np.random.default_rng(0)
    n = 3_000
    income = rng.lognormal(10, 0.6, n)
    income[rng.random(n) < 0.01] = 1e12
    ratio = rng.random(n)
    risk = 1 / (1 + np.exp(-(2.0 * ratio - (np.minimum(income, 1e6) - 22_000) / 8_000 - 1.2)))
    frame = pd.DataFrame({"income": income, "ratio": ratio, "bad": (rng.random(n) < risk).astype(int)})
    frame.to_csv(tmp_path / "book.csv", index=False)
    file, raw = _saved_booster(library, frame[["income", "ratio"]], frame["bad"], tmp_path,
                               {"num_leaves": 15} if library == "lightgbm" else
                               {"max_depth": 4, "eta": 0.1, "tree_method": "hist"}, 100)
    outcome = import_teacher(file, tmp_path / "book.csv", target="bad", positive="1",
                             learning_rate=0.1 if library == "xgboost" else None, out=tmp_path / "t")
    parity = finlite.load(outcome.path).manifest["steps"][0]["parity"]
    assert parity["rows_above_1e-6"] == 0 and parity["decisions_flipped_at_cutoff"] == 0, parity
    assert parity["max_abs_diff"] < 1e-9
    assert not [w for w in outcome.warnings if "score differently from the booster" in w]
    spec = json.loads((tmp_path / "t" / "preprocessor.json").read_text())
    assert spec["encoding"]["numeric_center"] == "median"
    income_spec = next(d for d in spec["numeric"] if d["name"] == "income")
    assert income_spec["mean"] == income_spec["median"]  # the centre is the median, not ~1e10
    # Deployed: the exported graph through the torch-free Predictor, on every row of the book.
    export_artifact(tmp_path / "t", tmp_path / "book.csv")
    expected = 1 / (1 + np.exp(-raw))
    x = frame[["income", "ratio"]]
    assert np.abs(Predictor(tmp_path / "t").predict_score(x) - expected).max() < 1e-6
    # Centred on the mean, as before the fix, the same booster scored many rows unlike itself.
    from finlite.data.prepared import prepare
    from finlite.data.preprocess import Encoding
    from finlite.models.gbdt import BoostedEnsemble, load_booster

    booster = load_booster(library, file.read_bytes(), str(file))
    for center, differing in (("mean", lambda k: k > 100), ("median", lambda k: k == 0)):
        prepared = prepare(tmp_path / "book.csv", target="bad", positive="1", numeric=["income", "ratio"],
                           encoding=Encoding(numeric_center=center))
        specs = prepared.preprocessor.numeric_
        wrapped = BoostedEnsemble.from_booster(library, booster, input={
            "mode": "columns", "columns": ["income", "ratio"], "index": [0, 1], "mean": [s.mean for s in specs],
            "std": [s.std for s in specs], "missing_index": [-1, -1]})
        ours = 1 / (1 + np.exp(-wrapped.logits_np(prepared.preprocessor.transform(prepared.frame))))
        assert differing(int((np.abs(ours - expected) > 1e-6).sum())), center


def test_an_imports_parity_counts_flips_at_the_cut_off_and_export_says_so(tmp_path: Path) -> None:
    """Blanks only in the latest applications, so the training split (the earliest dates) has
    none: the teacher imputes them with the median where the booster takes its missing branch.
    The warning counted flips at 0.5 only (6, where 62 decisions at the artifact's cut-off
    differed), and export printed PASS against the teacher alone (a review, 2026-12-05)."""
    from typer.testing import CliRunner

    from finlite.cli import app
    from finlite.jobs.export import export_artifact

    rng = np.random.default_rng(0)
    n = 3_000
    income = rng.lognormal(10, 0.6, n)
    ratio = rng.random(n)
    risk = 1 / (1 + np.exp(-(2.0 * ratio - (income - 22_000) / 8_000 - 1.2)))
    bad = (rng.random(n) < risk).astype(int)
    ratio[n - n // 10:] = np.nan  # the latest tenth: in the test split only
    frame = pd.DataFrame({"day": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                          "income": income, "ratio": ratio, "bad": bad})
    frame.to_csv(tmp_path / "book.csv", index=False)
    file, _ = _saved_booster("xgboost", frame[["income", "ratio"]], frame["bad"], tmp_path,
                             {"max_depth": 4, "eta": 0.1, "tree_method": "hist"}, 100)
    outcome = import_teacher(file, tmp_path / "book.csv", target="bad", positive="1", learning_rate=0.1,
                             date_column="day", out=tmp_path / "t")
    parity = finlite.load(outcome.path).manifest["steps"][0]["parity"]
    assert parity["rows_above_1e-6"] > 0
    assert parity["first_row_above"] > n - n // 10  # a blank row, as the file numbers its data rows
    # The step import_booster returns stays plain JSON (its score arrays are handed over apart).
    from finlite.training.boosted import decision_flips_text, import_booster

    json.dumps(import_booster(file, tmp_path / "book.csv", target="bad", positive="1", learning_rate=0.1,
                              date_column="day")[2])
    assert decision_flips_text({"decisions_flipped_at_0.5": 1}) == "1 decision at 0.5 differs"
    assert decision_flips_text({"decisions_flipped_at_0.5": 3, "decisions_flipped_at_cutoff": 1, "cutoff": 0.28}) == \
        "1 decision at the cut-off 0.28 and 3 at 0.5 differ"
    assert parity["cutoff"] == pytest.approx(outcome.operating_point.cutoff)
    assert isinstance(parity["decisions_flipped_at_cutoff"], int)
    said = " ".join(outcome.warnings)
    assert decision_flips_text(parity) in said and "imputed with the median" in said
    record = export_artifact(tmp_path / "t", tmp_path / "book.csv")
    assert record["import_parity"]["rows_above_1e-6"] == parity["rows_above_1e-6"]
    assert "import_parity" not in finlite.load(tmp_path / "t").manifest["export"]
    result = CliRunner().invoke(app, ["export", str(tmp_path / "t"), "--data", str(tmp_path / "book.csv")])
    assert result.exit_code == 0 and "the export matches the teacher, not the booster" in result.output


def test_an_import_whose_table_is_in_other_units_than_its_booster_is_refused(tmp_path: Path) -> None:
    """A LightGBM booster trained on rates as fractions (0.05 to 0.28), imported with a table of
    "13.56%" (read as 13.56): every row scored from one leaf, and the parity check, reading the
    table as finlite does on both sides, found nothing (a review, 2026-12-05). Its feature_infos
    says the range it was trained on; the same table in its own units imports, and the command
    line says how its columns were read."""
    rng = np.random.default_rng(0)
    n = 1_500
    rate = rng.uniform(5, 28, n)
    bad = (rng.random(n) < 1 / (1 + np.exp(-(rate - 15) / 3))).astype(int)
    file, _ = _saved_booster("lightgbm", pd.DataFrame({"rate": rate / 100}), pd.Series(bad), tmp_path,
                             {"num_leaves": 7}, 30)
    pd.DataFrame({"rate": [f"{r:.2f}%" for r in rate], "bad": bad}).to_csv(tmp_path / "percent.csv", index=False)
    with pytest.raises(DataError, match=r"was trained on 'rate' from 0\.05\d* to 0\.2[78]\d* \(its feature_infos\), "
                                        r"but 100% of the table's values .* \(read as percentages: '13\.56%' is "
                                        r"13\.56\)\. Either the units differ"):
        import_teacher(file, tmp_path / "percent.csv", target="bad", positive="1")
    pd.DataFrame({"rate": [f"{r / 100:.4f}" for r in rate], "bad": bad}).to_csv(tmp_path / "fraction.csv",
                                                                                   index=False)
    import_teacher(file, tmp_path / "fraction.csv", target="bad", positive="1")
    # The command line prints how the table's columns were read.
    pd.DataFrame({"rate": [f"{r:.2f}%" for r in rate], "bad": bad}).to_csv(tmp_path / "p2.csv", index=False)
    file2, _ = _saved_booster("lightgbm", pd.DataFrame({"rate": np.round(rate, 2)}), pd.Series(bad), tmp_path,
                              {"num_leaves": 7}, 30)
    result = CliRunner().invoke(app, ["import-teacher", str(file2), str(tmp_path / "p2.csv"), "--target", "bad",
                                      "--positive", "1", "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    assert "note: column 'rate' read as percentages written as text" in result.output


def test_an_xgboost_import_whose_table_lies_beyond_its_splits_is_warned_of(tmp_path: Path) -> None:
    """An XGBoost file records no training range: a booster trained on rates as fractions, imported
    with the rates in percent, sent every row down one branch of each split on the rate and
    imported with exit 0 (note 76). Its splits say where the training rows were: the import warns,
    naming the column, the splits and the table's values; the same table in its own units does not."""
    from finlite.training.boosted import beyond_splits_note

    rng = np.random.default_rng(0)
    n = 1_500
    rate, income = rng.uniform(5, 28, n), rng.lognormal(10.5, 0.4, n)
    bad = (rng.random(n) < 1 / (1 + np.exp(-(rate - 15) / 3 + (income - 40_000) / 40_000))).astype(int)
    file, _ = _saved_booster("xgboost", pd.DataFrame({"rate": rate / 100, "income": income}), pd.Series(bad),
                             tmp_path, {"max_depth": 3, "eta": 0.2}, 30)
    pd.DataFrame({"rate": rate, "income": income, "bad": bad}).to_csv(tmp_path / "percent.csv", index=False)
    outcome = import_teacher(file, tmp_path / "percent.csv", target="bad", positive="1", learning_rate=0.2,
                             out=tmp_path / "t")
    step = finlite.load(tmp_path / "t").manifest["steps"][0]
    assert set(step["beyond_splits"]) == {"rate"}, step.get("beyond_splits")
    found = step["beyond_splits"]["rate"]
    assert found["share"] == 1.0 and 0.05 <= found["low"] < found["high"] <= 0.28
    assert found["min"] == pytest.approx(rate.min()) and found["max"] == pytest.approx(rate.max())
    note = beyond_splits_note(step)
    assert note is not None and note in outcome.warnings
    assert re.search(r"'rate': splits from 0\.0\d+ to 0\.2\d+, 100% of the table's values far beyond them \(from "
                     r"5\.\d+ to 2\d\.\d+\)", note), note
    # In the booster's own units: no warning (and the step records nothing).
    pd.DataFrame({"rate": rate / 100, "income": income, "bad": bad}).to_csv(tmp_path / "fraction.csv", index=False)
    same = import_teacher(file, tmp_path / "fraction.csv", target="bad", positive="1", learning_rate=0.2,
                          out=tmp_path / "t2")
    assert "beyond_splits" not in finlite.load(tmp_path / "t2").manifest["steps"][0]
    assert not any("beyond every split" in w for w in same.warnings)
    assert beyond_splits_note({}) is None
    # The other way round: a booster of percentages, a table of fractions (a hundredth of its splits).
    (tmp_path / "pct").mkdir()
    pct, _ = _saved_booster("xgboost", pd.DataFrame({"rate": rate, "income": income}), pd.Series(bad),
                            tmp_path / "pct", {"max_depth": 3, "eta": 0.2}, 30)
    import_teacher(pct, tmp_path / "fraction.csv", target="bad", positive="1", learning_rate=0.2, out=tmp_path / "t3")
    assert set(finlite.load(tmp_path / "t3").manifest["steps"][0]["beyond_splits"]) == {"rate"}
    # A code on most rows (999 for "never delinquent") is no other unit: trained on that very
    # table, the booster is not told of it (a review, 2026-12-07).
    months = np.where(rng.random(n) < 0.92, 999.0, rng.integers(0, 60, n).astype(float))
    late = (rng.random(n) < np.where(months < 60, 0.5, 0.2)).astype(int)
    coded, _ = _saved_booster("xgboost", pd.DataFrame({"months_since_delinq": months, "rate": rate / 100}),
                              pd.Series(late), tmp_path / "pct", {"max_depth": 3, "eta": 0.2}, 30)
    pd.DataFrame({"months_since_delinq": months, "rate": rate / 100, "bad": late}).to_csv(tmp_path / "coded.csv",
                                                                                        index=False)
    import_teacher(coded, tmp_path / "coded.csv", target="bad", positive="1", learning_rate=0.2, out=tmp_path / "t4")
    assert "beyond_splits" not in finlite.load(tmp_path / "t4").manifest["steps"][0]


def test_a_student_of_an_imported_booster_says_its_teacher_was_imported(tmp_path: Path) -> None:
    """The report and the card of a student of an imported booster never said the teacher was
    imported, nor carried its import's warnings, and read the booster's in-sample metrics as
    evidence (a bring-your-own-model walk-through, 2026-12-07)."""
    from finlite.jobs.compress import teacher_import

    path, frame = _numeric_loans(tmp_path)
    x, y = frame[["annual_income", "utilisation"]], (frame["defaulted"] == "yes").astype(int)
    file, _ = _saved_booster("lightgbm", x, y, tmp_path, {"num_leaves": 7}, 30)  # fitted on every row, test included
    teacher = import_teacher(file, path, target="defaulted", positive="yes", out=tmp_path / "t")
    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [8]}\n")
    outcome = compress_with_recipe(teacher.path, path, recipe, config=FAST, fine_tune=FAST, timing=False,
                                   out=tmp_path / "s", progress=False)
    imported = outcome.report["teacher_import"]
    assert imported["library"] == "lightgbm" and imported["file"] == "model.txt" and len(imported["file_sha256"]) == 64
    # Fitted on every row: its import warned that the test split is in-sample, and the card carries it.
    assert imported["warnings"] == list(teacher.warnings) and "likely trained on the test split's rows" in \
        imported["warnings"][0]
    card = (tmp_path / "s" / "MODEL_CARD.md").read_text()
    assert f"- **Imported teacher**: the teacher is a LightGBM booster imported from model.txt (sha256 " \
           f"{imported['file_sha256'][:16]}…), trained outside finlite" in card
    assert "cannot know which rows the booster was fitted or early-stopped on" in card
    assert json.loads((tmp_path / "s" / "report.json").read_text())["teacher_import"] == imported
    for warning in imported["warnings"]:
        assert f"- **Teacher import warning**: {warning[:60]}" in card
    assert teacher_import({"steps": [{"step": "train"}]}) is None and teacher_import({}) is None
