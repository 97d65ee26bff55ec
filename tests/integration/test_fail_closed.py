"""Fail closed on numbers (issue 9, item 1): no bad value and no NaN score ever becomes a decision.

A numeric value that is not finite (inf, -inf, text that parses to inf such as "1e309") or does
not fit the model's float32 (1e300, 1e400) is refused on every path that encodes numbers, naming
the column, the row and the value; an empty or NA cell stays a missing value, imputed as in
training. A model that returns NaN raises ScoreError instead of deciding "not flagged".
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pyarrow as pa
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

import finlite
from finlite.cli import app
from finlite.data.preprocess import Preprocessor
from finlite.data.schema import Schema
from finlite.errors import DataError, ScoreError
from finlite.jobs.evaluate import evaluate_artifact
from finlite.runtime import Encoder, Predictor, RecordErrors
from finlite.runtime.batch import score_file

runner = CliRunner()

# The text as written in a CSV cell; how a message shows it once pandas has parsed the cell.
BAD = {"inf": "inf", "-inf": "-inf", "1e300": "1e+300", "1e400": "inf", "1e309": "inf"}
COLUMN, ROW = "credit_amount", 18  # row 18 of the data = index 17


def _with_bad_cell(frame: pd.DataFrame, text: str) -> pd.DataFrame:
    bad = frame.astype({COLUMN: object})
    bad.loc[ROW - 1, COLUMN] = text
    return bad


def _names_it(output: str, value: str) -> None:
    """The message names the column, the row and the value, and says how to fix it."""
    flat = " ".join(output.split())
    assert f"'{COLUMN}'" in flat and f"at row {ROW}" in flat and value in flat, flat
    assert "Fix or blank those values" in flat and "Traceback" not in output


def _fields(predictor: Predictor, frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in frame[predictor.fields].to_dict("records")]


# -- finlite score (batch, Arrow) ---------------------------------------------------------------
@pytest.mark.parametrize("text", list(BAD))
def test_score_refuses_non_finite_text_and_writes_nothing(text: str, exported_dir: Path, german: pd.DataFrame,
                                                          tmp_path: Path) -> None:
    src, out = tmp_path / "book.csv", tmp_path / "scores.csv"
    _with_bad_cell(german.head(40), text).to_csv(src, index=False)
    result = runner.invoke(app, ["score", str(exported_dir), str(src), "-o", str(out), "--chunk-rows", "7", "-q"])
    assert result.exit_code == 2, result.output
    _names_it(result.output, repr(text))  # the text as written in the file, e.g. '1e309'
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_score_refuses_inf_in_a_parquet_float_column(exported_dir: Path, german: pd.DataFrame,
                                                     tmp_path: Path) -> None:
    frame = german.head(40).astype({COLUMN: float})
    frame.loc[ROW - 1, COLUMN] = -np.inf
    src, out = tmp_path / "book.parquet", tmp_path / "scores.parquet"
    frame.to_parquet(src, index=False)
    result = runner.invoke(app, ["score", str(exported_dir), str(src), "-o", str(out), "-q"])
    assert result.exit_code == 2, result.output
    _names_it(result.output, "-inf")
    assert not out.exists()


def test_empty_and_na_cells_still_score_as_missing(exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    predictor = Predictor(exported_dir)
    frame = german.head(10).astype({COLUMN: object})
    frame.loc[2, COLUMN] = ""
    frame.loc[5, COLUMN] = "NA"
    src, out = tmp_path / "book.csv", tmp_path / "scores.csv"
    frame.to_csv(src, index=False)
    result = runner.invoke(app, ["score", str(exported_dir), str(src), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)["score"].to_numpy()
    records = _fields(predictor, german.head(10))
    for row in (2, 5):
        imputed = predictor.score_record(dict(records[row], **{COLUMN: None}))  # an explicit null
        assert scored[row] == pytest.approx(imputed, abs=1e-6)
        assert predictor.score_record(dict(records[row], **{COLUMN: math.nan})) == imputed  # NaN = missing
    as_frame = german.head(10).astype({COLUMN: float})
    as_frame.loc[[2, 5], COLUMN] = np.nan
    assert np.abs(predictor.predict_score(as_frame) - scored).max() < 1e-6


# -- the Predictor and finlite.load ------------------------------------------------------------
_RECORD_VALUES = [math.inf, -math.inf, 1e300, float("1e400"), "1e309", "inf", 10**400]


@pytest.mark.parametrize("value", _RECORD_VALUES, ids=["inf", "-inf", "1e300", "1e400", "text-1e309",
                                                       "text-inf", "int-1e400"])
def test_predictor_refuses_bad_numbers_in_records(value: object, exported_dir: Path, german: pd.DataFrame) -> None:
    predictor = Predictor(exported_dir)
    records = _fields(predictor, german.head(4))
    bad = dict(records[2], **{COLUMN: value})
    for call in (predictor.score_record, predictor.explain_record, predictor.predict_score, predictor.predict_proba,
                 predictor.predict):
        with pytest.raises(RecordErrors, match=rf"record 0, field '{COLUMN}': the number .* (not finite|does not fit)"):
            call(bad)  # one dict: the fast path and the batch path alike
    with pytest.raises(RecordErrors) as info:
        predictor.predict_score([records[0], records[1], bad, records[3]])
    (error,) = info.value.errors
    assert (error.record, error.field, error.kind) == (2, COLUMN, "value")
    shown = repr(value) if isinstance(value, (str, float)) else "1000000000"
    assert shown in str(info.value)
    assert predictor.score_record(records[2]) > 0  # the good record still scores


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e300, float("1e400"), "1e309"],
                         ids=["inf", "-inf", "1e300", "1e400", "text-1e309"])
def test_dataframes_with_bad_numbers_are_refused(value: object, exported_dir: Path, german: pd.DataFrame) -> None:
    frame = german.head(30).astype({COLUMN: object if isinstance(value, str) else float})
    frame.loc[ROW - 1, COLUMN] = value
    shown = repr(value) if isinstance(value, str) else repr(float(value))
    for predict in (Predictor(exported_dir).predict_score, Predictor(exported_dir).predict_proba,
                    Predictor(exported_dir).predict, finlite.load(exported_dir).predict_score,
                    finlite.load(exported_dir).predict_proba, finlite.load(exported_dir).predict):
        with pytest.raises(DataError) as info:
            predict(frame)
        _names_it(str(info.value), shown)


def test_a_filtered_frame_names_its_index_label(exported_dir: Path, german: pd.DataFrame) -> None:
    frame = german.head(30).astype({COLUMN: float})
    frame.loc[20, COLUMN] = np.inf
    with pytest.raises(DataError, match=r"holds inf at row 11 \(index 20\)"):
        Predictor(exported_dir).predict_score(frame.iloc[10:])


def test_a_boolean_record_field_is_a_type_error(exported_dir: Path, german: pd.DataFrame) -> None:
    predictor = Predictor(exported_dir)
    record = _fields(predictor, german.head(1))[0]
    with pytest.raises(RecordErrors) as info:
        predictor.predict_score([dict(record, **{COLUMN: True})])
    (error,) = info.value.errors
    assert error.kind == "type" and error.reason.startswith("expected a number, got a boolean")
    with pytest.raises(RecordErrors, match="expected a number, got a boolean"):
        predictor.score_record(dict(record, **{COLUMN: np.bool_(False)}))


# -- finlite evaluate and finlite train -------------------------------------------------------------
@pytest.mark.parametrize("text", list(BAD))
def test_evaluate_refuses_non_finite_values(text: str, exported_dir: Path, german: pd.DataFrame,
                                            tmp_path: Path) -> None:
    holdout = tmp_path / "holdout.csv"
    _with_bad_cell(german.head(60), text).to_csv(holdout, index=False)
    result = runner.invoke(app, ["evaluate", str(exported_dir), str(holdout), "--no-timing"])
    assert result.exit_code == 2, result.output
    _names_it(result.output, BAD[text])
    assert "brier" not in result.output


@pytest.mark.parametrize("text", list(BAD))
def test_train_refuses_non_finite_values(text: str, german: pd.DataFrame, tmp_path: Path) -> None:
    data, out = tmp_path / "train.csv", tmp_path / "model"
    _with_bad_cell(german.head(200), text).to_csv(data, index=False)
    result = runner.invoke(app, ["train", str(data), "--target", "creditability", "--out", str(out)])
    assert result.exit_code == 2, result.output
    _names_it(result.output, BAD[text])
    assert str(data) in " ".join(result.output.split()) and not out.exists()


def test_training_on_a_declared_numeric_text_column_refuses_inf(german: pd.DataFrame) -> None:
    frame = _with_bad_cell(german.head(100), "1e309")
    with pytest.raises(DataError, match=rf"'{COLUMN}' in DataFrame holds '1e309' at row {ROW}"):
        finlite.train(frame, target="creditability", numeric=[COLUMN], config=finlite.TrainConfig(epochs=1))


def test_a_value_whose_standardised_form_overflows_is_refused_everywhere() -> None:
    # A near-constant training column: its scale is tiny, so an ordinary 1.0 standardises beyond float32.
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=())
    pre = Preprocessor(schema).fit(pd.DataFrame({"x": [0.0, 1e-40, 0.0, 1e-40]}))
    encoder = Encoder(pre.to_dict())
    score = pd.DataFrame({"x": [0.0, 1.0]})
    with pytest.raises(DataError, match=r"'x' in batch\.csv holds 1\.0 at row 2, so far from the training data"):
        pre.transform(score, "batch.csv")
    with pytest.raises(DataError, match=r"'x' in batch\.csv holds 1\.0 at row 2, so far from the training data"):
        encoder.encode_arrow(pa.Table.from_pandas(score), source="batch.csv")
    with pytest.raises(RecordErrors, match=r"record 1, field 'x': the number 1\.0 is so far from the training data"):
        encoder.encode_records([{"x": 0.0}, {"x": 1.0}])


# -- the encoder and the Preprocessor refuse the same values ------------------------------------------
_EDGE = [math.inf, -math.inf, 1e300, -1e300, 3.5e38, 3.4e38, -3.4e38, 1e38, None, 0.0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_EDGE), st.floats(allow_nan=False), st.floats(-1e6, 1e6)),
                min_size=1, max_size=12),
       st.sampled_from([[0.0, 1.0, 2.0, None], [0.0, 1e-40, 0.0, 1e-40], [-3e38, 3e38, 0.0, 1.0]]))
def test_encoder_and_preprocessor_refuse_the_same_values(values: list, train: list) -> None:
    schema = Schema(target="y", positive="1", negative="0", numeric=("x",), categorical=("c",))
    pre = Preprocessor(schema).fit(pd.DataFrame({"x": train, "c": ["a", "b", "a", None]}))
    encoder = Encoder(pre.to_dict())
    frame = pd.DataFrame({"x": pd.Series(values, dtype=float), "c": ["a"] * len(values)})
    records = [{"x": v, "c": "a"} for v in values]
    outcomes = []
    for encode in (lambda: pre.transform(frame), lambda: encoder.encode_records(records)[0],
                   lambda: encoder.encode_arrow(pa.Table.from_pandas(frame, preserve_index=False))):
        try:
            outcomes.append(encode())
        except RecordErrors as exc:
            outcomes.append(f"row {exc.errors[0].record + 1}")
        except DataError as exc:
            outcomes.append(re.search(r"at row \d+", str(exc)).group(0)[3:])  # type: ignore[union-attr]
    if isinstance(outcomes[0], str):
        assert outcomes == [outcomes[0]] * 3  # all refuse, and name the same first row
    else:
        np.testing.assert_array_equal(outcomes[1], outcomes[0])
        np.testing.assert_array_equal(outcomes[2], outcomes[0])
        assert np.isfinite(outcomes[0]).all()


def test_typed_boolean_columns_stay_zero_one_in_tables() -> None:
    schema = Schema(target="y", positive="1", negative="0", numeric=("flag",), categorical=())
    train = pd.DataFrame({"flag": [True, False, True, None]}, dtype="boolean")
    pre = Preprocessor(schema).fit(train)
    encoder = Encoder(pre.to_dict())
    score = pd.DataFrame({"flag": pd.array([False, True, None], dtype="boolean")})
    np.testing.assert_array_equal(encoder.encode_arrow(pa.Table.from_pandas(score)), pre.transform(score))


# -- a model that returns NaN never decides ----------------------------------------------------------
def _nan_session(n_features: int, tmp_path: Path) -> ort.InferenceSession:
    """A real ONNX model whose score is sqrt(sigmoid(first input) - 0.5): NaN wherever that input
    is negative, in [0, 1] elsewhere."""
    pick = np.zeros((n_features, 1), dtype=np.float32)
    pick[0, 0] = 1.0
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "pick"], ["first"]), helper.make_node("Sigmoid", ["first"], ["p"]),
         helper.make_node("Sub", ["p", "half"], ["centred"]), helper.make_node("Sqrt", ["centred"], ["probability"])],
        "nan_model", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", n_features])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["rows", 1])],
        [numpy_helper.from_array(pick, "pick"), numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "nan.onnx"
    onnx.save(model, str(path))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture()
def nan_predictor(exported_dir: Path, tmp_path: Path) -> Predictor:
    predictor = Predictor(exported_dir)
    session = _nan_session(predictor.encoder.n_features, tmp_path)
    predictor.session, predictor._run = session, session.run
    return predictor


def test_a_nan_score_is_an_error_in_the_predictor(nan_predictor: Predictor, german: pd.DataFrame,
                                                  tmp_path: Path) -> None:
    frame = german.head(40)
    records = _fields(nan_predictor, frame)
    first = nan_predictor.encoder.encode_records(records)[0][:, 0]
    nan_rows = np.flatnonzero(first < 0)
    assert 5 < nan_rows.size < len(frame)  # some rows score, some do not
    bad = records[int(nan_rows[0])]
    for call in (nan_predictor.score_record, nan_predictor.explain_record, nan_predictor.predict_score,
                 nan_predictor.predict):
        with pytest.raises(ScoreError, match=r"non-finite score \(nan\) for the record; no decision was made"):
            call(bad)
    listed = ", ".join(str(r) for r in nan_rows[:5])
    with pytest.raises(ScoreError, match=rf"{nan_rows.size} of 40 records \(records {listed} and "
                                         rf"{nan_rows.size - 5} more\); no decision was made") as info:
        nan_predictor.predict(records)
    assert info.value.rows == nan_rows.tolist()
    with pytest.raises(ScoreError, match=rf"\(rows {', '.join(str(r + 1) for r in nan_rows[:5])} and"):
        nan_predictor.predict_score(frame)  # DataFrame rows are 1-based
    with pytest.raises(ScoreError, match="no decision was made"):
        nan_predictor.score_vector(nan_predictor.encode(frame))
    with pytest.raises(ScoreError, match="no decision was made"):
        nan_predictor.score_vector(nan_predictor.encode(bad)[0])  # one row: the bound fast path
    good = records[int(np.flatnonzero(first >= 0)[0])]
    assert math.isfinite(nan_predictor.score_record(good))


def test_a_nan_score_stops_batch_scoring(nan_predictor: Predictor, german: pd.DataFrame, tmp_path: Path) -> None:
    src, out = tmp_path / "book.csv", tmp_path / "scores.csv"
    german.head(50).to_csv(src, index=False)
    first = nan_predictor.encode(german.head(50))[:, 0]
    file_row = int(np.flatnonzero(first < 0)[0]) + 1
    with pytest.raises(ScoreError, match=rf"book\.csv \(rows {file_row}, .*no decision was made"):
        score_file(nan_predictor, src, out, chunk_rows=50)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _raw_session(n_features: int, tmp_path: Path) -> ort.InferenceSession:
    """A real ONNX model whose "probability" is its first input as it comes: finite, and outside
    [0, 1] wherever that standardised input is (a forged graph whose sigmoid was taken off)."""
    pick = np.zeros((n_features, 1), dtype=np.float32)
    pick[0, 0] = 1.0
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "pick"], ["probability"])],
        "raw_model", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", n_features])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["rows", 1])],
        [numpy_helper.from_array(pick, "pick")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "raw.onnx"
    onnx.save(model, str(path))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_a_probability_outside_zero_one_is_never_a_decision(exported_dir: Path, german: pd.DataFrame,
                                                             tmp_path: Path) -> None:
    """A review of 2026-12-04: a model.onnx whose "probability" was its logit (the hashes
    rewritten) scored -3.4 with exit 0; only finiteness was checked outside serve."""
    predictor = Predictor(exported_dir)
    session = _raw_session(predictor.encoder.n_features, tmp_path)
    predictor.session, predictor._run = session, session.run
    frame = german.head(40)
    records = _fields(predictor, frame)
    first = predictor.encoder.encode_records(records)[0][:, 0]
    bad_rows = np.flatnonzero((first < 0) | (first > 1))
    assert 0 < bad_rows.size < len(frame) and np.isfinite(first).all()
    bad = records[int(bad_rows[0])]
    for call in (predictor.score_record, predictor.explain_record, predictor.predict_score, predictor.predict):
        with pytest.raises(ScoreError, match=r"probability outside \[0, 1\] \(-?[0-9.e+-]+\) for the record; "
                                             "no decision was made"):
            call(bad)
    with pytest.raises(ScoreError, match=rf"outside \[0, 1\] .* for {bad_rows.size} of 40 records"):
        predictor.predict(records)
    with pytest.raises(ScoreError, match=rf"\(rows {bad_rows[0] + 1}[ ,)]"):
        predictor.predict_score(frame)
    with pytest.raises(ScoreError, match="outside"):
        predictor.score_vector(predictor.encode(bad)[0])  # one row: the bound fast path
    src, out = tmp_path / "book.csv", tmp_path / "scores.csv"
    frame.to_csv(src, index=False)
    with pytest.raises(ScoreError, match=rf"book\.csv \(rows {bad_rows[0] + 1}[ ,)].*no decision was made"):
        score_file(predictor, src, out, chunk_rows=40)
    assert not out.exists()


def _nan_artifact(teacher_dir: Path) -> finlite.Artifact:
    art = finlite.load(teacher_dir)
    with torch.no_grad():
        next(art.model.parameters()).fill_(math.nan)  # a genuinely broken model: every score is NaN
    return art


def test_an_artifact_whose_model_returns_nan_never_decides(teacher_dir: Path, german: pd.DataFrame,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    art = _nan_artifact(teacher_dir)
    for predict in (art.predict_score, art.predict_proba, art.predict):
        with pytest.raises(ScoreError, match=r"20 of 20 rows of the scoring data \(rows 1, 2, 3, 4, 5 and 15 more\); "
                                             "no decision was made"):
            predict(german.head(20))
    holdout = tmp_path / "holdout.csv"
    german.sample(80, random_state=1).to_csv(holdout, index=False)
    with pytest.raises(ScoreError, match="no decision was made"):
        evaluate_artifact(art, holdout, timing=False)
    with pytest.raises(ScoreError, match="no decision was made"):  # the compare path
        evaluate_artifact(finlite.load(teacher_dir), holdout, baseline=art, timing=False)
    monkeypatch.setattr("finlite.jobs.evaluate.load", lambda path, **_: art)
    result = runner.invoke(app, ["evaluate", str(teacher_dir), str(holdout), "--no-timing"])
    assert result.exit_code == 2 and "non-finite score" in result.output and "brier" not in result.output

