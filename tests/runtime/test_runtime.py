"""The torch-free runtime: the Predictor scores raw records exactly as the torch artifact does,
its encoder equals the training Preprocessor, and batch scoring streams files safely."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import finlite
from finlite._finite import float32_cutoff
from finlite.cli import app
from finlite.data import infer_schema
from finlite.data.preprocess import Encoding, Preprocessor
from finlite.data.schema import Schema
from finlite.errors import ArtifactError, DataError
from finlite.runtime import Encoder, Predictor, RecordErrors
from finlite.runtime.batch import score_file


def _records(frame: pd.DataFrame, fields: list[str]) -> list[dict]:
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in frame[fields].to_dict("records")]


def test_runtime_never_imports_torch_nor_pandas_for_a_record(exported_dir: Path) -> None:
    # A scoring service of a tabular model loads numpy and ONNX Runtime only: not torch, and not
    # pandas (the market code, which needs it, is imported only for a forecaster).
    from finlite import datasets

    code = (
        "import sys, json, csv\n"
        "from finlite.runtime import Predictor\n"
        f"p = Predictor({str(exported_dir)!r})\n"
        f"row = next(csv.DictReader(open({str(datasets.path('german_credit'))!r})))\n"
        "print(json.dumps({'score': p.score_record(row), 'torch': 'torch' in sys.modules,"
        " 'pandas': 'pandas' in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["torch"] is False and result["pandas"] is False and 0 < result["score"] < 1


def test_scoring_leaves_no_onnx_runtime_telemetry_behind(exported_dir: Path, tmp_path: Path) -> None:
    """ONNX Runtime 1.29+ wrote a device id and an event database under ~/.cache/Microsoft on import
    and may upload events (an SRE's review, 2026-12-05); finlite opts out before importing it,
    and a user's own setting is kept."""
    import os

    from finlite import datasets

    code = (
        "import os, csv\n"
        "from finlite.runtime import Predictor\n"
        f"p = Predictor({str(exported_dir)!r})\n"
        f"p.score_record(next(csv.DictReader(open({str(datasets.path('german_credit'))!r}))))\n"
        "print(os.environ['ORT_DISABLE_TELEMETRY'])\n"
    )
    # ONNX Runtime writes under $XDG_CACHE_HOME when set, else under $HOME/.cache: both point here.
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    home = tmp_path / "home"
    home.mkdir()
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "1" and not list(home.rglob("*")), sorted(home.rglob("*"))
    kept = subprocess.run([sys.executable, "-c", "import os, finlite; print(os.environ['ORT_DISABLE_TELEMETRY'])"],
                          capture_output=True, text=True, check=True, env={**env, "ORT_DISABLE_TELEMETRY": "0"})
    assert kept.stdout.strip() == "0"


def test_predictor_matches_the_torch_artifact(exported_dir: Path, german: pd.DataFrame) -> None:
    art = finlite.load(exported_dir)
    predictor = Predictor(exported_dir)
    frame = german.head(300)
    expected = art.predict_score(frame)
    assert np.abs(predictor.predict_score(frame) - expected).max() < 1e-5  # DataFrame
    records = _records(frame, predictor.fields)
    assert np.abs(predictor.predict_score(records) - expected).max() < 1e-5  # list of dicts
    singles = np.array([predictor.score_record(r) for r in records])  # the fast path, record by record
    assert np.abs(singles - expected).max() < 1e-5
    assert predictor.predict_score(records[7])[0] == pytest.approx(singles[7], abs=1e-7)  # one dict
    x = art.preprocessor.transform(frame)
    assert np.abs(predictor.score_vector(x[3]) - expected[3]).max() < 1e-5
    assert (predictor.predict(frame) == art.predict(frame)).all()
    int8 = Predictor(exported_dir, variant="int8")
    assert np.mean(int8.predict(frame) == art.predict(frame)) > 0.95


def test_score_vector_names_what_it_was_given_instead_of_rows(exported_dir: Path) -> None:
    """Text, ragged lists, None, a scalar, 3-D arrays and complex numbers raised numpy or ONNX
    Runtime errors (or, for complex, were scored with the imaginary part dropped)."""
    from finlite.errors import DataError

    predictor = Predictor(exported_dir)
    w = predictor.encoder.n_features
    cases = [([["a"] * w], "got values of type <U1"), ([[1.0] * w, [1.0]], "rows of different lengths"),
             (None, "got nothing"), (np.array(1.0), r"got an array of shape \(\)"),
             (np.ones((2, 3, w)), rf"got an array of shape \(2, 3, {w}\)"),
             (np.ones((1, w)) * (1 + 1j), "got complex numbers")]
    for rows, message in cases:
        with pytest.raises(DataError, match=message):
            predictor.score_vector(rows)
    assert predictor.score_vector(np.zeros((2, w), dtype=np.int64)).shape == (2,)  # whole numbers are numbers
    mixed = np.zeros((2, w), dtype=object)  # df.to_numpy() of float and bool columns
    mixed[0, 0] = True
    np.testing.assert_array_equal(predictor.score_vector(mixed), predictor.score_vector(mixed.astype(np.float32)))
    mixed[1, 1] = "1"
    with pytest.raises(DataError, match="got values of type object"):
        predictor.score_vector(mixed)


def test_fast_path_is_thread_safe(exported_dir: Path, german: pd.DataFrame) -> None:
    predictor = Predictor(exported_dir)
    records = _records(german.head(200), predictor.fields)
    expected = predictor.predict_score(records)
    results: dict[int, np.ndarray] = {}

    def work(k: int) -> None:
        results[k] = np.array([predictor.score_record(r) for r in records])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results.values():
        assert np.abs(got - expected).max() < 1e-6


def test_record_errors_name_every_field(exported_dir: Path, german: pd.DataFrame) -> None:
    predictor = Predictor(exported_dir)
    good = _records(german.head(2), predictor.fields)
    bad = dict(good[0], duration_in_month="ten", purpose={"a": 1})
    del bad["age_in_years"]
    with pytest.raises(RecordErrors) as info:
        predictor.predict_score([good[1], bad])
    problems = {(e.record, e.field, e.kind) for e in info.value.errors}
    assert problems == {(1, "duration_in_month", "type"), (1, "age_in_years", "missing"), (1, "purpose", "type")}
    assert "record 1, field 'duration_in_month': expected a number, got the text 'ten'" in str(info.value)
    score, unseen = predictor.explain_record(dict(good[0], purpose="time machine", credit_amount=None))
    assert unseen == ["purpose"] and 0 < score < 1
    with pytest.raises(DataError, match="Records must be a pandas DataFrame"):
        predictor.predict_score(42)


@pytest.mark.parametrize("text", ["24\xa0", "\u202f24", "24\u2003", "\u300024", " 24 ", "\t24\r"])
def test_a_number_padded_with_spaces_is_read_alike_on_every_path(exported_dir: Path, german: pd.DataFrame,
                                                                        text: str) -> None:
    """A no-break space from a spreadsheet: records and Arrow read "24\xa0" as 24, a DataFrame
    refused it as text (a review, 2026-12-03). One rule now: the text trimmed, then parsed."""
    predictor = Predictor(exported_dir)
    records = _records(german.head(3), predictor.fields)
    plain = predictor.predict_score([dict(r, duration_in_month=24) for r in records])
    padded = [dict(r, duration_in_month=text) for r in records]
    for given_as in (padded, pa.Table.from_pylist(padded), pd.DataFrame(padded)):
        np.testing.assert_array_equal(predictor.predict_score(given_as), plain)


@pytest.mark.parametrize("text", ["24\x1c", "\x1f24", "24\x85", "24\u2028", "\u202924", "\x1c", "2\x1e4"])
def test_a_number_beside_control_characters_is_refused_on_every_path(exported_dir: Path, german: pd.DataFrame,
                                                                     tmp_path: Path, text: str) -> None:
    """Python's str.strip and float() drop the separators U+001C-U+001F, NEL and the line and
    paragraph separators around digits, which a CSV reader and pandas do not read as a number:
    "24\x1c" was scored as 24 by score, serve and the Predictor (a review, 2026-12-04). Only
    spaces may surround a number; these are refused, naming the column and the text."""
    predictor = Predictor(exported_dir)
    records = _records(german.head(3), predictor.fields)
    padded = [dict(r, duration_in_month=text) for r in records]
    with pytest.raises(RecordErrors, match=r"field 'duration_in_month': expected a number, got the text"):
        predictor.predict_score(padded)
    with pytest.raises(RecordErrors, match=r"field 'duration_in_month': expected a number, got the text"):
        predictor.score_record(padded[0])
    for given_as in (pa.Table.from_pylist(padded), pd.DataFrame(padded)):
        with pytest.raises(DataError, match=r"Numeric column 'duration_in_month' .* holds the text"):
            predictor.predict_score(given_as)
    src = tmp_path / "book.csv"
    pd.DataFrame(padded).to_csv(src, index=False)
    with pytest.raises(DataError, match=r"Numeric column 'duration_in_month' in .*book\.csv holds the text"):
        score_file(predictor, src, tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()


def test_unexported_or_tampered_artifacts_are_refused(teacher_dir: Path, exported_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="has no exported fp32 model; run 'finlite export"):
        Predictor(teacher_dir)
    copy = tmp_path / "copy"
    shutil.copytree(exported_dir, copy)
    (copy / "preprocessor.json").write_text((copy / "preprocessor.json").read_text().replace("0", "1", 1))
    with pytest.raises(ArtifactError, match=r"preprocessor\.json.*altered after saving"):
        Predictor(copy)


# -- the encoder is the Preprocessor ---------------------------------------------------------
_CATS = ["a", "b", " c ", "", None, "zz-unseen", 3, 3.0]


_MONEY_TEXT = ["$60,000.00 ", "-$1,234.50", "(1,234.50)", "$-5", " 12 ", None, "", "1e3", "$0.99", "7,000", "$.5"]
_PERCENT_TEXT = ["13.56%", "-0.5 %", "100%", " 7 ", None, "", "1,234.5%", ".25%", "3", "45.3% "]
_ENCODINGS = [Encoding(), Encoding(max_categories=2, min_category_count=2),
              Encoding(max_categories=2, min_category_count=3, high_cardinality="target", smoothing=0.0),
              Encoding(max_categories=3, min_category_count=2, high_cardinality="onehot"),
              Encoding(numeric_center="median"),  # an imported booster's columns
              # Rare values unlisted: encoded as unseen ones (a data-protection walk-through, 2026-12-07).
              Encoding(max_categories=2, min_category_count=2, rare_values="unseen"),
              Encoding(max_categories=3, min_category_count=2, high_cardinality="onehot", rare_values="unseen")]


@st.composite
def _tables(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_train = draw(st.integers(5, 30))
    n_score = draw(st.integers(1, 20))
    num = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False), st.integers(-1000, 1000))
    text_cat = st.sampled_from(["a", "b", " c ", "", None, "zz"])
    city = st.sampled_from(["a", "b", " c ", "d", "e", "f", "g", "", None])

    def frame(n: int, unseen: bool) -> pd.DataFrame:
        cats = st.sampled_from(["a", "b", " c ", "", None, "new"] if unseen else ["a", "b", " c ", "", None])
        return pd.DataFrame({
            "x1": draw(st.lists(num, min_size=n, max_size=n)),
            "x2": draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=n, max_size=n)),
            "amt": pd.Series(draw(st.lists(st.sampled_from(_MONEY_TEXT), min_size=n, max_size=n)), dtype=object),
            "rate": pd.Series(draw(st.lists(st.sampled_from(_PERCENT_TEXT), min_size=n, max_size=n)), dtype=object),
            "colour": pd.Series(draw(st.lists(cats, min_size=n, max_size=n)), dtype=object),
            "code": draw(st.lists(st.sampled_from([1, 2, 3, None]), min_size=n, max_size=n)),
            "grade": pd.Series(draw(st.lists(text_cat, min_size=n, max_size=n)), dtype=object),
            # Many values for a small table: weight of evidence / target / capped one-hot by the budget.
            "city": pd.Series(draw(st.lists(st.one_of(city, st.just("unseen-city")) if unseen else city,
                                            min_size=n, max_size=n)), dtype=object),
            "y": draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n)),
        })

    train = frame(n_train, False)
    train.loc[0, ["x1", "x2"]] = [1.0, 0.5]  # every numeric column has a value somewhere
    train.loc[0, "amt"] = "$1.00"
    train.loc[0, "rate"] = "1%"
    return train, frame(n_score, True)


@settings(max_examples=60, deadline=None)
@given(_tables(), st.sampled_from(_ENCODINGS))
def test_encoder_equals_the_preprocessor(tables: tuple[pd.DataFrame, pd.DataFrame], encoding: Encoding) -> None:
    """The runtime encoder (records and Arrow) equals the pandas Preprocessor for every encoding:
    rare values in the other bucket, weight of evidence / target encoding, money and percent text."""
    train, score = tables
    schema = Schema(target="y", positive="1", negative="0", numeric=("x1", "x2", "amt", "rate"),
                    categorical=("colour", "code", "grade", "city"), money=("amt",), percent=("rate",))
    pre = Preprocessor(schema, encoding).fit(train)
    encoder = Encoder(pre.to_dict())
    assert encoder.n_features == pre.n_features
    features = list(schema.features)
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
               for r in score[features].to_dict("records")]
    arrow = pa.Table.from_pandas(score.astype({"colour": "string", "grade": "string", "city": "string",
                                               "amt": "string", "rate": "string"}), preserve_index=False)
    try:
        expected = pre.transform(score)
    except DataError as exc:
        # A value far outside its column's training range: every path refuses that column.
        column = re.search(r"Numeric column '(\w+)'.*far outside what the model was trained on", str(exc))
        assert column is not None, str(exc)
        # The Arrow path reads column by column, as the Preprocessor does: the same column first.
        with pytest.raises(DataError, match=rf"'?{column[1]}'?.*far outside what the model was trained on"):
            encoder.encode_arrow(arrow)
        # The record path lists its first records' bad fields: another column may fill the list.
        with pytest.raises(DataError, match=r"field '(x1|x2|amt|rate)': the number .* far outside what the model was "
                                            r"trained on"):
            encoder.encode_records(records)
        return
    outside: list[list[str]] = []
    encoded, unseen = encoder.encode_records(records, outside=outside)
    np.testing.assert_array_equal(encoded, expected)
    np.testing.assert_array_equal(encoder.encode_arrow(arrow), expected)
    # Batch scoring counts the unseen categories of every field, one-hot or weight of evidence /
    # target encoded, as the record path reports them row by row; and the numbers beyond every
    # training value (serve names them per record).
    by_field = {f: sum(f in u for u in unseen) for f in schema.categorical}
    prepared = encoder.prepare_arrow(arrow)
    assert prepared.unseen == {f: n for f, n in by_field.items() if n}
    beyond = {f: sum(f in o for o in outside) for f in schema.numeric}
    assert prepared.outside == {f: n for f, n in beyond.items() if n}
    # A CSV is read as text: a code column with gaps, written from floats, holds "2.0" for the code
    # 2; every path reads it as that code (numeric_alias), not as an unseen category.
    as_text = pa.Table.from_pandas(score.astype("string"), preserve_index=False)
    np.testing.assert_allclose(encoder.encode_arrow(as_text), expected, rtol=1e-6)
    floats = score.assign(code=pd.Series([None if v is None or v != v else repr(float(v)) for v in score["code"]],
                                         dtype=object))
    np.testing.assert_array_equal(pre.transform(floats), expected)
    float_records = [{**r, "code": f} for r, f in zip(records, floats["code"], strict=True)]
    np.testing.assert_array_equal(encoder.encode_records(float_records)[0], expected)
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))  # through the JSON file's form
    np.testing.assert_array_equal(again.transform(score), expected)


def _far_valued_training(seed: int = 0) -> pd.DataFrame:
    """200 rows whose utilisation holds three values thousands of ranges beyond the rest: the
    column is squashed (Encoding.extremes)."""
    rng = np.random.default_rng(seed)
    util = rng.uniform(0, 1.5, 200)
    util[[5, 50, 150]] = [2_000.0, 30_000.0, 9_999_999.0]
    util[7] = np.nan
    return pd.DataFrame({"util": util, "n": rng.integers(0, 9, 200), "y": rng.integers(0, 2, 200)})


@functools.cache
def _far_valued_preprocessor() -> tuple[Preprocessor, dict]:
    schema = Schema(target="y", positive="1", negative="0", numeric=("util", "n"), categorical=())
    pre = Preprocessor(schema).fit(_far_valued_training())
    spec = json.loads(json.dumps(pre.to_dict()))
    assert "squash" in spec["numeric"][0]
    return pre, spec


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(-1e7, 1e7, allow_nan=False), st.floats(-2, 2, allow_nan=False),
                          st.integers(-10**6, 10**6), st.sampled_from([0, 0.75, 1.5, 2_000.0, 9_999_999.0]),
                          # beyond the training span (about -1e8 to 1.1e8): refused on every path
                          st.sampled_from([-5e8, 2e9, 1e30])),
                min_size=1, max_size=20))
def test_a_squashed_column_is_encoded_alike_on_every_path(values: list[float | int | None]) -> None:
    """A squashed column (its far values read through d / (1 + |d|)): the record path, the Arrow
    path (plain, and as text a CSV holds) and the pandas Preprocessor write the same float32 for
    any value, a blank, an integer, the far values themselves, and refuse the same ones."""
    pre, spec = _far_valued_preprocessor()
    encoder = Encoder(spec)
    score = pd.DataFrame({"util": pd.Series(values, dtype=object), "n": [1] * len(values)})
    records = [{"util": v, "n": 1} for v in values]
    arrow = pa.Table.from_pydict({"util": pa.array([None if v is None else float(v) for v in values], pa.float64()),
                                  "n": pa.array([1] * len(values), pa.int64())})
    try:
        expected = pre.transform(score.astype({"util": "float64"}))
    except DataError as exc:
        assert "far outside what the model was trained on" in str(exc), str(exc)
        with pytest.raises(DataError, match="far outside what the model was trained on"):
            encoder.encode_arrow(arrow)
        with pytest.raises(DataError, match=r"field 'util': the number .* far outside what the model was trained on"):
            encoder.encode_records(records)
        return
    np.testing.assert_array_equal(encoder.encode_records(records)[0], expected)
    np.testing.assert_array_equal(encoder.encode_arrow(arrow), expected)
    as_text = pa.Table.from_pydict({"util": pa.array([None if v is None else repr(v) for v in values], pa.string()),
                                    "n": pa.array(["1"] * len(values), pa.string())})
    np.testing.assert_array_equal(encoder.encode_arrow(as_text), expected)
    assert np.isfinite(expected).all()


# -- batch scoring -------------------------------------------------------------------------------
def test_score_parquet_in_chunks_with_ids(exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    frame = german.sample(n=2500, replace=True, random_state=0).reset_index(drop=True)
    frame.insert(0, "account", [f"A{i:05d}" for i in range(len(frame))])
    src, out = tmp_path / "book.parquet", tmp_path / "scores.parquet"
    frame.to_parquet(src, index=False)
    predictor = Predictor(exported_dir)
    summary = score_file(predictor, src, out, id_columns=["account"], chunk_rows=300)
    assert summary.rows == 2500 and summary.rows_per_second > 0
    scored = pq.read_table(out).to_pandas()
    assert list(scored.columns) == ["account", "score", "decision"]
    assert (scored["account"] == frame["account"]).all()
    assert np.abs(scored["score"] - predictor.predict_score(frame)).max() < 1e-6
    assert (scored["decision"] == (scored["score"] >= predictor.cutoff)).all()
    assert summary.positives == int(scored["decision"].sum())


def test_chunk_rows_bounds_the_rows_of_a_csv_chunk(exported_dir: Path, german: pd.DataFrame, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Arrow cuts a CSV by bytes (a block of at least 1 MiB): 2,500 rows came as one chunk whatever
    # --chunk-rows said (a review, 2026-12-04). The writer is handed each chunk as scored.
    from finlite.runtime import batch

    frame = german.sample(n=2500, replace=True, random_state=1).reset_index(drop=True)
    src, out = tmp_path / "book.csv", tmp_path / "scores.parquet"
    frame.to_csv(src, index=False)
    predictor = Predictor(exported_dir)
    sizes: list[int] = []
    write = batch._Writer.write

    def counted(self: batch._Writer, table: pa.Table) -> None:
        sizes.append(table.num_rows)
        write(self, table)

    monkeypatch.setattr(batch._Writer, "write", counted)
    summary = score_file(predictor, src, out, chunk_rows=300, workers=1)
    assert summary.rows == 2500
    assert max(sizes) <= 300 and sum(sizes) == 2500, sizes
    assert np.abs(pq.read_table(out).column("score").to_numpy() - predictor.predict_score(frame)).max() < 1e-6


def test_a_long_csv_header_is_read_and_a_first_line_beyond_a_mebibyte_is_named(exported_dir: Path,
                                                                               german: pd.DataFrame,
                                                                               tmp_path: Path) -> None:
    # The header was read from a 64 KiB block: a longer one (a wide table's names) failed as
    # "Empty CSV file" (a review, 2026-12-04). It is read again from the scoring block (1 MiB).
    # Compressed too: a .csv.gz of a long header is small on disk (a review of the change).
    import gzip

    from finlite.runtime.ray_engine import _file_columns

    frame = german.head(20).copy()
    frame["note_" + "x" * 100_000] = 1  # a column the model does not use, with a 100 kB name
    predictor = Predictor(exported_dir)
    text = ",".join(f"c{i}" for i in range(300_000))  # 2 MB and no line end
    for name in ("wide.csv", "wide.csv.gz"):
        src = tmp_path / name
        frame.to_csv(src, index=False)
        assert score_file(predictor, src, tmp_path / f"{name}.scores.csv").rows == 20
        line = tmp_path / name.replace("wide", "line")
        line.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
        with pytest.raises(DataError, match=r"line\.csv.*first line is longer than 1 MiB, with no line end"):
            score_file(predictor, line, tmp_path / "none.csv")
        with pytest.raises(DataError, match=r"line\.csv.*first line is longer than 1 MiB, with no line end"):
            _file_columns(line, "csv")  # the Ray path's header
    assert not (tmp_path / "none.csv").exists()


@given(cutoff=st.floats(min_value=0.0, max_value=1.0), score=st.floats(min_value=0.0, max_value=1.0, width=32))
def test_the_float32_cutoff_decides_as_the_exact_comparison(cutoff: float, score: float) -> None:
    s = np.float32(score)
    assert bool(s >= float32_cutoff(cutoff)) == (float(s) >= cutoff)
    for near in (np.nextafter(s, np.float32(0)), np.nextafter(s, np.float32(2))):  # the scores around it
        assert bool(near >= float32_cutoff(cutoff)) == (float(near) >= cutoff)


def test_score_decides_a_score_at_the_rounded_cutoff_as_the_predictor(exported_dir: Path, german: pd.DataFrame,
                                                                      tmp_path: Path) -> None:
    # A cut-off just above a row's float32 score rounds (to nearest) onto that score: finlite score
    # compared float32 with float32 and declined the row the Predictor and serve approve (a review,
    # 2026-12-03). The cut-off is put there by re-hashing a copy of the artifact.
    from tests.test_artifact_trust import rehash

    rows = german.head(40)
    scores = Predictor(exported_dir).predict_score(rows).astype(np.float32)
    s = scores[int(np.argmax(scores))]
    cutoff = float(s) + (float(np.nextafter(s, np.float32(2))) - float(s)) / 4
    assert np.float32(cutoff) == s and cutoff > float(s)
    art = tmp_path / "student"
    shutil.copytree(exported_dir, art)

    def at(manifest: dict) -> None:
        manifest["cutoff"] = manifest["operating_point"]["cutoff"] = cutoff

    rehash(art, at)
    predictor = Predictor(art)
    src, out = tmp_path / "rows.parquet", tmp_path / "scores.parquet"
    rows.to_parquet(src, index=False)
    summary = score_file(predictor, src, out)
    scored = pq.read_table(out).to_pandas()
    assert list(scored["decision"]) == list(predictor.predict(rows)), "score and the Predictor decide alike"
    assert int(scored["decision"].max()) == 0 and summary.positives == 0  # the top row is below the cut-off


def test_score_csv_and_a_bad_value_leaves_nothing(exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    frame = german.head(700).copy()
    src, out = tmp_path / "book.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    runner = CliRunner()
    result = runner.invoke(app, ["score", str(exported_dir), str(src), "-o", str(out), "--chunk-rows", "100", "-q"])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert len(scored) == 700 and "scored 700 rows" in result.output
    assert np.abs(scored["score"] - Predictor(exported_dir).predict_score(frame)).max() < 1e-6
    frame = frame.astype({"credit_amount": object})
    frame.loc[612, "credit_amount"] = "12k"
    frame.to_csv(src, index=False)
    bad_out = tmp_path / "bad.parquet"
    result = runner.invoke(app, ["score", str(exported_dir), str(src), "-o", str(bad_out), "--chunk-rows", "100"])
    assert result.exit_code == 2
    assert "'credit_amount'" in result.output and "'12k' at row 613" in result.output
    assert not bad_out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(("args", "message"), [
    (["--id-column", "nope"], "Id column(s) 'nope' are not in"),
    (["--id-column", "purpose,age_in_years"],
     "To copy several, name each on its own: --id-column purpose --id-column age_in_years."),
    (["--force", "--chunk-rows", "0"], "--chunk-rows must be a positive"),
])
def test_score_bad_options(args: list[str], message: str, exported_dir: Path, german: pd.DataFrame,
                           tmp_path: Path) -> None:
    src = tmp_path / "book.parquet"
    german.head(10).to_parquet(src)
    result = CliRunner().invoke(app, ["score", str(exported_dir), str(src), "-o", str(tmp_path / "o.csv"), *args])
    assert result.exit_code == 2 and message in result.output


def test_score_refuses_missing_columns_and_existing_output(exported_dir: Path, german: pd.DataFrame,
                                                           tmp_path: Path) -> None:
    src, out = tmp_path / "book.parquet", tmp_path / "o.csv"
    german.drop(columns=["purpose", "age_in_years"]).head(10).to_parquet(src)
    with pytest.raises(DataError, match=r"lacks 2 column.*age_in_years, purpose|lacks 2 column.*purpose"):
        score_file(Predictor(exported_dir), src, out)
    assert not out.exists()
    out.write_text("keep me")
    german.head(10).to_parquet(src)
    with pytest.raises(DataError, match="already exists; choose another path or pass overwrite=True"):
        score_file(Predictor(exported_dir), src, out)
    assert out.read_text() == "keep me"
    # A library caller is told its own parameter (the command line shows the flags instead).
    with pytest.raises(DataError, match=re.escape("name each on its own: id_columns=['purpose', 'age_in_years'].")):
        score_file(Predictor(exported_dir), src, tmp_path / "ids.csv", id_columns=["purpose,age_in_years"])


def test_score_never_replaces_an_output_that_appears_while_it_runs(exported_dir: Path, german: pd.DataFrame,
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The check before the work is minutes old when the scores are renamed into place: another
    run's file written meanwhile was silently replaced (a review, 2026-12-04)."""
    from finlite import _paths

    src, out = tmp_path / "book.parquet", tmp_path / "o.csv"
    german.head(10).to_parquet(src)

    def other_writer(name: str) -> None:
        if name == "score-before-rename":
            out.write_text("another run's scores")

    monkeypatch.setattr(_paths, "kill_point", other_writer)
    with pytest.raises(DataError, match=r"out='.*o\.csv' appeared while this run wrote it .* left as it is") as info:
        score_file(Predictor(exported_dir), src, out)
    assert out.read_text() == "another run's scores"
    from finlite.cli import in_flags  # told once on the command line, not "pass --force (--force)"

    assert in_flags(info.value).endswith("Choose another path, or pass --force to replace it.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.parquet", "o.csv"]  # no temporary file left
    out.unlink()
    summary = score_file(Predictor(exported_dir), src, out, overwrite=True)  # --force: replaced, as asked
    assert summary.rows == 10 and out.read_text().startswith('"score","decision"')
    # A link at -o is refused with or without --force: neither written through nor replaced.
    target = tmp_path / "kept.csv"
    target.write_text("kept")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    monkeypatch.undo()
    for overwrite in (False, True):
        with pytest.raises(DataError, match="is a symbolic link; finlite neither writes through a link nor replaces"):
            score_file(Predictor(exported_dir), src, link, overwrite=overwrite)
    assert link.is_symlink() and target.read_text() == "kept"


def test_a_damaged_parquet_page_is_named_with_its_file(exported_dir: Path, german: pd.DataFrame,
                                                      tmp_path: Path) -> None:
    """A page damaged in the middle of a Parquet file fails while the rows are read, after the
    file opened: Arrow's "Couldn't deserialize thrift" reached the user with "(None); check the
    path and its permissions" (a review, 2026-12-04)."""
    src, out = tmp_path / "book.parquet", tmp_path / "o.csv"
    pq.write_table(pa.Table.from_pandas(german, preserve_index=False), src, row_group_size=100)
    column = pq.ParquetFile(src).metadata.row_group(5).column(1)
    data = bytearray(src.read_bytes())
    for i in range(column.data_page_offset + 30, column.data_page_offset + 70):
        data[i] ^= 0xFF  # the sixth row group's page header
    src.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"Cannot read '.*book\.parquet' as Parquet after its first [\d,]+ rows "
                                        r"\(.*\): the file is damaged or incomplete\. Write it again"):
        score_file(Predictor(exported_dir), src, out, chunk_rows=100)
    assert not out.exists()


def test_a_parquet_decompression_bomb_is_refused_from_its_footer(exported_dir: Path, german: pd.DataFrame,
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """78 KB of zstd pages held 2 GB of text: score took 8 GB and train 6.9 GB, exit 0 (a security
    review, 2026-12-04 night; only .csv.gz was bounded). Refused by score, score --engine's
    reader and read_table from the sizes in the footer, before any page is read."""
    from finlite import _util
    from finlite.data.io import read_table

    rows = german.head(4).copy()
    rows["purpose"] = ["x" * (3 << 20) + str(i) for i in range(4)]  # 3 MiB a value, 12 MiB in all
    wide = tmp_path / "wide.parquet"
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), wide, compression="zstd", use_dictionary=False)
    assert wide.stat().st_size < 20_000
    for read in (lambda: score_file(Predictor(exported_dir), wide, tmp_path / "o.csv"), lambda: read_table(wide)):
        with pytest.raises(DataError, match=r"Column 'purpose' of '.*wide\.parquet' holds [\d,]+ bytes per row on "
                                            r"average; finlite reads values of at most 1,048,576 bytes"):
            read()
    # The whole file's expansion: 100 times its size at most (a floor of 256 MiB, lowered here).
    monkeypatch.setattr(_util, "PARQUET_MIN_LIMIT", 1 << 20)
    many = pd.concat([german] * 3, ignore_index=True)
    many["purpose"] = "y" * 20_000  # 60 MB of one repeated value, a few KB compressed
    packed = tmp_path / "packed.parquet"
    pq.write_table(pa.Table.from_pandas(many, preserve_index=False), packed, compression="zstd", use_dictionary=False)
    for read in (lambda: score_file(Predictor(exported_dir), packed, tmp_path / "o.csv"), lambda: read_table(packed)):
        with pytest.raises(DataError, match=r"'.*packed\.parquet' decodes to [\d,]+ bytes or more, [\d,]+ times "
                                            r"its [\d,]+ bytes \(finlite reads at most 100 times"):
            read()
    # Text whose pages record less than it decodes to (DELTA_BYTE_ARRAY): bounded as training reads it.
    delta = tmp_path / "delta.parquet"
    pq.write_table(pa.table({"purpose": pa.array(["d" * 500] * 20_000)}), delta, use_dictionary=False,
                   column_encoding={"purpose": "DELTA_BYTE_ARRAY"})
    with pytest.raises(DataError, match=r"'.*delta\.parquet' decodes to [\d,]+ bytes or more in its first"):
        read_table(delta)
    assert not (tmp_path / "o.csv").exists()
    # Stored with a dictionary (pyarrow's default), the pages hold one copy and the indices: the
    # decoded size is bounded as the rows are read (23 KB decoded to 10 GB; the diff's review).
    repeated = pa.table({**{c: pa.array(np.repeat(german[c].to_numpy()[:1], 3000)) for c in german.columns},
                         "purpose": pa.DictionaryArray.from_arrays(pa.array(np.zeros(3000, np.int32)),
                                                                   pa.array(["z" * 20_000]))})
    dictionary = tmp_path / "dictionary.parquet"
    pq.write_table(repeated, dictionary, store_schema=False)  # no Arrow schema: read back as plain text
    assert pq.ParquetFile(dictionary).metadata.row_group(0).column(list(german.columns).index("purpose")) \
        .has_dictionary_page
    with pytest.raises(DataError, match=r"'.*dictionary\.parquet' decodes to [\d,]+ bytes or more in its first"):
        read_table(dictionary)
    from finlite._util import check_parquet_decoded, check_parquet_size

    check_parquet_size(dictionary)  # the footer records the dictionary's one copy: the rows tell
    with pytest.raises(DataError, match=r"'.*dictionary\.parquet' decodes to [\d,]+ bytes or more in its first"):
        check_parquet_decoded(dictionary)  # a batch at a time, never the whole table
    # score reads a categorical field dictionary-encoded (one copy of each value): it is not decoded.
    assert score_file(Predictor(exported_dir), dictionary, tmp_path / "o.csv").unseen == {"purpose": 3000}
    (tmp_path / "o.csv").unlink()
    # A column whose name holds a dot is one column, counted under its own name.
    dotted = rows.rename(columns={"purpose": "loan.purpose"})
    dotted_path = tmp_path / "dotted.parquet"
    pq.write_table(pa.Table.from_pandas(dotted, preserve_index=False), dotted_path, compression="zstd",
                   use_dictionary=False)
    monkeypatch.setattr(_util, "PARQUET_MIN_LIMIT", 256 << 20)  # the floor again: the value's size decides
    with pytest.raises(DataError, match=r"Column 'loan\.purpose' of .* bytes per row on average"):
        check_parquet_size(dotted_path, ["loan.purpose", "age_in_years"])
    # A plain file is read as before.
    plain = tmp_path / "plain.parquet"
    german.to_parquet(plain)
    assert score_file(Predictor(exported_dir), plain, tmp_path / "o.csv").rows == len(german)


def test_a_batch_larger_than_its_footer_says_is_refused_as_it_is_read(tmp_path: Path) -> None:
    """A footer that under-records its pages passes the size check; the rows, as read, do not."""
    from finlite._util import check_parquet_batch

    big = pa.record_batch({"id": pa.array(["q" * (3 << 20)] * 2), "x": pa.array([1.0, 2.0])})
    with pytest.raises(DataError, match=r"Rows 11-12 of '.*book\.parquet' hold [\d,]+ bytes, more than 1,048,576 "
                                        r"\(1 MiB\) a value on average, more than its footer records"):
        check_parquet_batch(tmp_path / "book.parquet", big, 11)
    check_parquet_batch(tmp_path / "book.parquet", pa.record_batch({"x": pa.array([1.0] * 10)}), 1)
    # A column read dictionary-encoded carries its row group's dictionary so far in every batch:
    # 40,001 distinct merchants past the writer's dictionary page limit, then a 1-row batch
    # holding all of them, were refused as "more than its footer records" (the diff's review).
    merchants = tmp_path / "merchants.parquet"
    pq.write_table(pa.table({"merchant": [f"merchant {i:06d} of a long name" for i in range(40_001)]}), merchants)
    reader = pq.ParquetFile(merchants, read_dictionary=["merchant"])
    first = 1
    for batch in reader.iter_batches(batch_size=20_000):
        check_parquet_batch(merchants, batch, first)
        first += batch.num_rows
    assert first == 40_002 and batch.num_rows == 1 and batch.nbytes > (1 << 20)


@pytest.mark.parametrize("spelled", ["credit_amount ", "Credit_Amount", "credit_amount\u202e", "\ufeffcredit_amount"])
def test_a_missing_column_names_its_near_miss_in_the_file(exported_dir: Path, german: pd.DataFrame, tmp_path: Path,
                                                          spelled: str) -> None:
    """A column differing only in case, spaces or invisible characters is never read under the
    model's name, but the message now points at it (a review, 2026-12-04)."""
    src = tmp_path / "book.parquet"
    german.head(5).rename(columns={"credit_amount": spelled}).to_parquet(src)
    with pytest.raises(DataError, match=r"lacks 1 column\(s\) .*: credit_amount\. .* Spelled otherwise in the file: "
                                        + re.escape(f"{spelled!r} for 'credit_amount'; rename them")):
        score_file(Predictor(exported_dir), src, tmp_path / "o.csv")


def test_a_name_in_another_unicode_form_is_said_to_be_one() -> None:
    """'Bürgen' decomposed (u + U+0308, as some macOS tools write it) prints like 'Bürgen', so the
    near miss read as no hint (a European modeller's walk-through, 2026-12-07)."""
    import unicodedata

    from finlite.runtime.batch import _near_names

    decomposed = unicodedata.normalize("NFD", "Bürgen")
    assert _near_names(["Bürgen"], [decomposed, "x"]) == (
        f"{decomposed!r} for 'Bürgen' (the same letters in another Unicode form: write the name composed (NFC), as "
        "the model has it)")
    # The other way round: the model was trained on the decomposed name (a review, 2026-12-07).
    assert _near_names([decomposed], ["Bürgen"]) == (
        f"'Bürgen' for {decomposed!r} (the same letters in another Unicode form: write the name decomposed (NFD), "
        "as the model has it)")
    assert _near_names(["credit_amount"], ["Credit_Amount"]) == "'Credit_Amount' for 'credit_amount'"


def test_a_renamed_column_is_guessed_among_the_files_other_columns(exported_dir: Path, german: pd.DataFrame,
                                                                    tmp_path: Path) -> None:
    """A column renamed by a feed ('revolving_util' for 'revol_util') was named missing with no
    hint (a monitoring walk-through, 2026-12-06): the nearest spelling among the columns no
    feature is named by is said as a guess, and a feature present is never offered."""
    src = tmp_path / "book.parquet"
    german.head(5).rename(columns={"duration_in_month": "duration_in_months"}).assign(note="x").to_parquet(src)
    with pytest.raises(DataError, match=r"lacks 1 column\(s\) .*: duration_in_month\. .* Spelled otherwise in the "
                                        r"file: perhaps 'duration_in_months' for 'duration_in_month'"):
        score_file(Predictor(exported_dir), src, tmp_path / "o.csv")
    german.head(5).drop(columns=["purpose"]).to_parquet(src)  # nothing like it left: no guess
    with pytest.raises(DataError) as caught:
        score_file(Predictor(exported_dir), src, tmp_path / "o.csv")
    assert "Spelled otherwise" not in str(caught.value) and "lacks 1 column(s)" in str(caught.value)


@pytest.mark.parametrize(("kind", "said"), [
    ("gzip", r"the file is gzip-compressed; name it \.csv\.gz"),
    ("parquet", r"the file is Parquet, not CSV; name it \.parquet"),
    ("zip", r"the file is a zip archive \(an Excel \.xlsx workbook is one\); export the sheet as CSV"),
    ("utf16", r"the file is UTF-16 text; save it as UTF-8"),
    ("binary", r"the file holds NUL bytes: it is binary, not CSV text"),
])
def test_a_file_named_csv_that_is_not_csv_text_says_what_it_is(exported_dir: Path, german: pd.DataFrame,
                                                               tmp_path: Path, kind: str, said: str) -> None:
    """Arrow read these as rows of garbage ("line 2 has 2 field(s)") or as "Empty CSV file" (a
    review, 2026-12-04)."""
    import gzip
    import zipfile

    src = tmp_path / "book.csv"
    text = german.head(20).to_csv(index=False)
    if kind == "gzip":
        src.write_bytes(gzip.compress(text.encode()))
    elif kind == "parquet":
        german.head(20).to_parquet(src)
    elif kind == "zip":
        with zipfile.ZipFile(src, "w") as archive:
            archive.writestr("book.csv", text)
    elif kind == "utf16":
        src.write_bytes(text.encode("utf-16"))
    else:
        src.write_bytes(b"\x00\x01\x02\x03" * 200)
    with pytest.raises(DataError, match=r"Cannot read '.*book\.csv' as CSV.*: " + said) as info:
        score_file(Predictor(exported_dir), src, tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()
    # Arrow's excerpt of the bytes (raw, undecodable) is not quoted: what the file is says it all.
    assert "\x00" not in str(info.value) and "\ufffd" not in str(info.value) and "parse error" not in str(info.value)
    # Training and evaluation read a table through read_table (pandas), which told all of them
    # "not UTF-8 text" (a review, 2026-12-04).
    from finlite.data.io import read_table

    with pytest.raises(DataError, match=r"Data file '.*book\.csv' is not CSV text: " + said):
        read_table(src)
    result = CliRunner().invoke(app, ["evaluate", str(exported_dir), str(src)])
    assert result.exit_code == 2 and re.search(said, " ".join(result.output.split())), result.output
    if kind == "binary":  # a NUL inside a cell of a readable CSV is read, as score reads it (a review)
        cell = tmp_path / "cell.csv"
        cell.write_text(text.replace("radio/television", "radio\x00tv", 1))
        assert len(read_table(cell).frame) == 20


@pytest.mark.parametrize(("kind", "said"), [
    ("csv", r"the file holds text with separators, a CSV, not Parquet; name it \.csv"),
    ("gzip", r"the file is gzip-compressed, not Parquet; if it is a compressed CSV, name it \.csv\.gz"),
])
def test_a_file_named_parquet_that_is_not_parquet_says_what_it_is(exported_dir: Path, german: pd.DataFrame,
                                                                  tmp_path: Path, kind: str, said: str) -> None:
    """Arrow said only "Parquet magic bytes not found in footer" (a review, 2026-12-04)."""
    import gzip

    from finlite.data.io import read_table

    src = tmp_path / "book.parquet"
    text = german.head(20).to_csv(index=False).encode()
    src.write_bytes(gzip.compress(text) if kind == "gzip" else text)
    with pytest.raises(DataError, match=r"Cannot read '.*book\.parquet' as Parquet .*: " + said):
        score_file(Predictor(exported_dir), src, tmp_path / "o.csv")
    with pytest.raises(DataError, match=r"Data file '.*book\.parquet' is not Parquet: " + said):
        read_table(src)
    if kind == "csv":  # JSON lines hold commas too, and are no CSV to rename
        src.write_text('{"a": 1, "b": 2}\n')
        with pytest.raises(DataError, match=r"Parquet magic bytes") as info:
            read_table(src)
        assert "name it .csv" not in str(info.value)


def test_an_empty_parquet_file_is_still_checked_for_its_types(exported_dir: Path, german: pd.DataFrame,
                                                              tmp_path: Path) -> None:
    """No rows meant no batch for the encoder: a feed whose age was a timestamp passed with an
    empty output on day one and failed on day two (a review, 2026-12-04)."""
    table = pa.Table.from_pandas(german.head(0), preserve_index=False)
    good, bad = tmp_path / "empty.parquet", tmp_path / "wrong.parquet"
    pq.write_table(table, good)
    i = table.schema.get_field_index("age_in_years")
    pq.write_table(table.set_column(i, "age_in_years", pa.array([], pa.timestamp("us"))), bad)
    summary = score_file(Predictor(exported_dir), good, tmp_path / "o.parquet")
    assert summary.rows == 0 and pq.read_table(tmp_path / "o.parquet").num_rows == 0
    # Written, and said: an empty feed is not a quiet success (an SRE's review, 2026-12-05).
    assert summary.notes == ["warning: the input has no rows, so the output holds none; if a feed was expected "
                             "here, check the job that wrote the input"]
    header_only = tmp_path / "header.csv"
    german.head(0).to_csv(header_only, index=False)
    result = CliRunner().invoke(app, ["score", str(exported_dir), str(header_only), "-o", str(tmp_path / "h.csv"),
                                      "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["notes"][0].startswith("warning: the input has no rows")
    with pytest.raises(DataError, match=r"Numeric column 'age_in_years' .* has type timestamp\[us\]; the model needs "
                                        r"plain numbers there\. Convert the column to the number it stood for"):
        score_file(Predictor(exported_dir), bad, tmp_path / "o2.parquet")
    assert not (tmp_path / "o2.parquet").exists()


def test_bench_reports_every_backend(exported_dir: Path, teacher_dir: Path) -> None:
    result = CliRunner().invoke(app, ["bench", str(exported_dir), "--baseline", str(teacher_dir), "--repeats", "50",
                                      "--batch", "512", "--records", "20", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    student, teacher = report["artifacts"]
    assert [b["backend"] for b in student["backends"]] == ["torch eager", "onnxruntime fp32", "onnxruntime int8"]
    assert [b["backend"] for b in teacher["backends"]] == ["torch eager"]
    for backend in student["backends"]:
        assert 0 < backend["record"]["p50_us"] <= backend["record"]["p99_us"] and backend["rows_per_second"] > 0
    assert set(report["speedup_over_baseline"]) == {"torch eager", "onnxruntime fp32", "onnxruntime int8"}
    assert report["cpu"]["cores"] >= 1 and isinstance(report["cpu"]["isa"], list)
    assert student["records"] == "20 rows of the test split"
    table = CliRunner().invoke(app, ["bench", str(teacher_dir), "--repeats", "20", "--batch", "64", "--records", "5"])
    assert table.exit_code == 0 and "hint: run 'finlite export" in table.output and "CPU:" in table.output


@pytest.mark.parametrize("threads", [20_000, 10**6, 0, -5, "x", True, 2.0])
def test_the_predictors_thread_count_is_bounded_before_any_work(exported_dir: Path, threads: object) -> None:
    """threads=20000 hung the constructor at 1.7 GB; 'x' was a raw ValueError; 0 and -5 were taken as 1."""
    from finlite._limits import available_cores
    from finlite.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"'threads' parameter must be a positive whole number of at most "
                                          rf"{max(64, available_cores())}; got {threads!r}\. 1 \(the default\) suits a "
                                          "server"):
        Predictor(exported_dir, threads=threads)  # type: ignore[arg-type]


def test_what_is_not_one_record_or_an_artifact_path_gets_finlites_error(exported_dir: Path) -> None:
    """score_record([1, 2]) and finlite.load(None) were raw TypeErrors (a review, 2026-12-02)."""
    from finlite.errors import ConfigError

    predictor = Predictor(exported_dir)
    for bad in ([1, 2], "text", 5):
        with pytest.raises(RecordErrors, match=rf"expected an object of fields \(a dict of field to value\), got "
                                               rf"{type(bad).__name__}"):
            predictor.score_record(bad)  # type: ignore[arg-type]
        with pytest.raises(RecordErrors, match="expected an object of fields"):
            predictor.explain_record(bad)  # type: ignore[arg-type]
    for bad in (None, 123):
        with pytest.raises(ConfigError, match=rf"named by its folder's path .*; got {type(bad).__name__}"):
            finlite.load(bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="named by its folder's path"):
            Predictor(bad)  # type: ignore[arg-type]


def test_a_frame_or_table_decides_alike_in_every_slice(exported_dir: Path, german: pd.DataFrame,
                                                        tmp_path: Path) -> None:
    """A boolean in an untyped numeric column was refused in the whole frame and scored as 1 in a
    slice that held only it (Arrow typed the slice bool); a feature column twice in an Arrow table
    raised a bare KeyError; bytes as binary_view were scored as an unseen category (a review,
    2026-12-03)."""
    predictor = Predictor(exported_dir)
    rows = german.drop(columns=["creditability"]).head(8).reset_index(drop=True)
    odd = rows.astype({"credit_amount": object})
    odd.loc[1, "credit_amount"] = True
    for part in (odd, odd.iloc[[1]], odd.iloc[[1]].reset_index(drop=True)):
        with pytest.raises(DataError, match=r"Column 'credit_amount' in the DataFrame holds the boolean True"):
            predictor.predict_score(part)
    # Among floats, Arrow read the boolean as 1.0 without a word (a review, 2026-12-03).
    for n in (8, 300):
        floats = german.drop(columns=["creditability"]).head(n).reset_index(drop=True)
        floats = floats.astype({"credit_amount": float}).astype({"credit_amount": object})
        floats.loc[1, "credit_amount"] = True
        with pytest.raises(DataError, match=r"Column 'credit_amount' in the DataFrame holds the boolean True"):
            predictor.predict_score(floats)
    # A column typed bool reads as 1/0 only where the model learnt 0..1 there: credit_amount as
    # true/false would score every amount as 1 (a nightly run's walk-through, 2026-12-05: a count
    # arriving as count > 0 in Parquet scored, exit 0). In a frame, an Arrow table and a scored file.
    typed = rows.assign(credit_amount=[True, False] * 4)
    refused = r"'credit_amount' in .* arrives as true/false \(a boolean column\), but the model learnt numbers from 250 to"
    for records in (typed, pa.Table.from_pandas(typed, preserve_index=False)):
        with pytest.raises(DataError, match=refused):
            predictor.predict_score(records)
    pq.write_table(pa.Table.from_pandas(typed, preserve_index=False), tmp_path / "typed.parquet")
    with pytest.raises(DataError, match=refused):
        score_file(predictor, tmp_path / "typed.parquet", tmp_path / "scored.csv")
    assert not (tmp_path / "scored.csv").exists()
    encoder = predictor._encoder
    assert encoder is not None
    encoder.spans["credit_amount"] = (0.0, 1.0)  # as for a 0/1 flag (or a boolean column in training)
    assert np.isfinite(predictor.predict_score(typed)).all()
    table = pa.Table.from_pandas(rows, preserve_index=False)
    twice = pa.Table.from_arrays([*table.columns, table.column("telephone")], names=[*table.column_names, "telephone"])
    with pytest.raises(DataError, match=r"has the column\(s\) 'telephone' more than once; .* Rename or drop the copies"):
        predictor.predict_score(twice)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())  # an AttributeError before
    with pytest.raises(DataError, match=r"Records from Arrow must be a pyarrow Table or RecordBatch; got "
                                        r"RecordBatchReader \(a reader: read_all\(\) it first\)"):
        predictor.predict_score(reader)
    extra = pa.Table.from_arrays([*table.columns, table.column("telephone")], names=[*table.column_names, "note"])
    assert np.allclose(predictor.predict_score(extra), predictor.predict_score(rows))  # extra columns are ignored
    if hasattr(pa, "binary_view"):
        i = table.column_names.index("telephone")
        raw = pa.array([str(v).encode() for v in rows["telephone"]], pa.binary()).cast(pa.binary_view())
        with pytest.raises(DataError, match=r"Categorical column 'telephone' .* has type binary_view"):
            predictor.predict_score(table.set_column(i, "telephone", raw))


@pytest.mark.skipif(not hasattr(pa, "string_view"), reason="pyarrow without view types")
def test_text_as_an_arrow_view_reads_as_text(exported_dir: Path, german: pd.DataFrame) -> None:
    """A DataFrame column of string_view (Polars writes them) raised pandas' bare
    NotImplementedError above four rows (a review, 2026-12-03). Numeric text as a view in an Arrow
    table reads as the same text does (it was refused; a Parquet file written from views keeps
    them: a review, 2026-12-05)."""
    predictor = Predictor(exported_dir)
    rows = german.drop(columns=["creditability"]).head(8).reset_index(drop=True)
    plain = predictor.predict_score(rows)
    viewed = rows.assign(purpose=pd.Series(pa.array(rows["purpose"].tolist(), pa.string_view()),
                                           dtype=pd.ArrowDtype(pa.string_view())))
    assert np.array_equal(predictor.predict_score(viewed), plain)
    assert np.array_equal(predictor.predict_score(viewed.head(2)), plain[:2])
    table = pa.Table.from_pandas(rows, preserve_index=False)
    i = table.column_names.index("credit_amount")
    text = table.column("credit_amount").cast(pa.string()).cast(pa.string_view())
    assert np.array_equal(predictor.predict_score(table.set_column(i, "credit_amount", text)), plain)
    from finlite.data import infer_schema
    from finlite.data.io import read_table

    frame = read_table(german.assign(purpose=pd.Series(pa.array(german["purpose"].tolist(), pa.string_view()),
                                                         dtype=pd.ArrowDtype(pa.string_view())))).frame
    assert "purpose" in infer_schema(frame, "creditability").categorical


def test_a_notebooks_float16_and_object_booleans_train_as_their_plain_types(german: pd.DataFrame,
                                                                            tmp_path: Path) -> None:
    """A float16 column ended training in pandas' bare NotImplementedError ("float16 indexes are not
    supported"), and an object column of True/False was read as numbers and refused ("send 1 or 0")
    where a bool column is a categorical (a notebook walk-through, 2026-12-06). Both are read as
    float32 and pandas' boolean, as from a Parquet file, and train."""
    from finlite.data import infer_schema
    from finlite.data.io import frame_sha256, read_table
    from finlite.training.loop import TrainConfig

    flags = pd.Series((np.arange(len(german)) % 3 == 0), dtype=object)
    flags[5] = None
    odd = german.assign(age_in_years=german["age_in_years"].astype(np.float16), flag=flags)
    frame = read_table(odd).frame
    assert frame["age_in_years"].dtype == np.float64 and frame["flag"].dtype == "boolean"
    schema = infer_schema(frame, "creditability")
    assert "flag" in schema.categorical and "age_in_years" in schema.numeric
    typed = read_table(odd.assign(flag=flags.astype("boolean"))).frame
    assert frame_sha256(frame) == frame_sha256(typed)  # the same table as one typed boolean
    # A float16 Parquet file and the CSV written from the same frame are one table (float16 is read
    # as the number it is written as: 0.787, not 0.78710938).
    half = pd.DataFrame({"x": np.random.default_rng(0).random(50).astype(np.float16), "y": range(50)})
    half.to_parquet(tmp_path / "h.parquet", index=False)
    half.to_csv(tmp_path / "h.csv", index=False)
    assert frame_sha256(read_table(tmp_path / "h.parquet").frame) == frame_sha256(read_table(tmp_path / "h.csv").frame)
    outcome = finlite.train(odd, target="creditability", out=tmp_path / "t", config=TrainConfig(epochs=1, progress=False))
    assert "flag" in outcome.data.schema.categorical


def test_the_bench_table_keeps_a_space_between_large_latencies() -> None:
    """Fixed widths ran a slow teacher's latencies together: "61.6µs12326.3µs" (a review, 2026-12-03)."""
    from finlite.jobs.bench import render_bench

    def backend(name: str, p50: float, p99: float) -> dict[str, object]:
        return {"backend": name, "record": {"p50_us": p50, "p99_us": p99}, "vector": {"p50_us": 61.6, "p99_us": 12326.3},
                "rows_per_second": 1234567.0}

    result = {"batch": 100_000, "artifacts": [{"artifact": "/x/teacher", "kind": "gbdt", "weights_bytes": 10,
                                               "records": "5 rows", "backends": [backend("torch eager", 24003.3, 60108.5),
                                                                                  backend("onnxruntime fp32", 5.0, 9.0)]}],
              "cpu": {"model": "cpu", "cores": 2, "isa": []}, "versions": {}}
    lines = render_bench(result).splitlines()
    assert lines[2].split() == ["teacher", "torch", "eager", "24003.3µs", "60108.5µs", "61.6µs", "12326.3µs", "1,234,567"]
    assert lines[3].split()[-5:] == ["5.0µs", "9.0µs", "61.6µs", "12326.3µs", "1,234,567"]
    assert len({len(line) for line in lines[:4] if line != lines[1]}) == 1  # the columns line up


def test_the_openapi_page_gives_each_numeric_field_its_accepted_range(exported_dir: Path) -> None:
    """The encoder's own bounds, with the training range where preprocessor.json records one."""
    from finlite.runtime.service import _record_schema

    predictor = Predictor(exported_dir)
    props = _record_schema(predictor)["properties"]
    for name, *_ in predictor.encoder.numeric:
        low, high = predictor.encoder.bounds[name]
        number = props[name]["anyOf"][0]
        assert (number["minimum"], number["maximum"]) == (low, high)
        assert "within 10 widths of the training range" in props[name]["description"]
    assert props["credit_amount"]["anyOf"][0]["maximum"] == pytest.approx(18424 * 11)


def test_a_missing_marker_sent_as_text_for_a_number_says_to_send_null(exported_dir: Path, german: pd.DataFrame) -> None:
    """"NA" is a CSV's missing cell, but in a record it is text: the refusal says what to send."""
    from finlite.runtime import Predictor
    from finlite.runtime.encoder import RecordErrors

    record = german.drop(columns="creditability").iloc[0].to_dict()
    predictor = Predictor(exported_dir)
    with pytest.raises(RecordErrors, match=r"field 'credit_amount': expected a number, got the text 'NA' \(send null "
                                           r"for an unknown value\)"):
        predictor.score_record({**record, "credit_amount": "NA"})
    with pytest.raises(RecordErrors, match=r"got the text 'lots'\.$"):
        predictor.score_record({**record, "credit_amount": "lots"})


def test_score_says_which_numbers_lie_beyond_every_training_value(exported_dir: Path, german: pd.DataFrame,
                                                                   tmp_path: Path) -> None:
    """An age of -5 beside training ages of 0 to 101 is accepted (within 10 of the range's widths)
    and was scored without a word (a walk-through, 2026-12-05): score counts such rows per field,
    in its notes, --json and the Parquet output's run record; a training value read back from
    float32 is no such row, and a column beyond in most rows is warned of."""
    from finlite.runtime import Predictor
    from finlite.runtime.batch import RUN_KEY, score_file

    predictor = Predictor(exported_dir)
    low, high = predictor.encoder.spans["age_in_years"]
    frame = german.drop(columns="creditability").head(300).copy()
    frame["age_in_years"] = frame["age_in_years"].astype(float)
    frame.loc[[3, 7], "age_in_years"] = [low - 5, high + 1]
    frame.to_parquet(tmp_path / "book.parquet", index=False)
    summary = score_file(predictor, tmp_path / "book.parquet", tmp_path / "out.parquet")
    assert summary.outside == {"age_in_years": 2} and summary.to_dict()["outside"] == {"age_in_years": 2}
    assert any(n.startswith("rows with a number beyond every value of the training table") and
               "age_in_years 2 (0.7%)" in n for n in summary.notes), summary.notes
    run = json.loads(pq.read_metadata(tmp_path / "out.parquet").metadata[RUN_KEY.encode()])
    assert run["outside"] == {"age_in_years": 2}
    german.drop(columns="creditability").head(300).to_parquet(tmp_path / "plain.parquet", index=False)
    assert score_file(predictor, tmp_path / "plain.parquet", tmp_path / "plain_out.parquet").outside == {}
    # The training range's ends, read back from float32 (a float32 Parquet column of the same rows).
    ends = german.drop(columns="creditability").head(2).copy()
    ends["age_in_years"] = np.array([low, high], dtype=np.float32)
    ends.to_parquet(tmp_path / "ends.parquet", index=False)
    assert score_file(predictor, tmp_path / "ends.parquet", tmp_path / "ends_out.parquet").outside == {}
    # A fractional end of the range, read back from float32, is no value beyond it.
    train = pd.DataFrame({"x": [0.1, 3.3, 7.7, 55.99] * 10, "y": [0, 1] * 20})
    from finlite.data import infer_schema

    pre = Preprocessor(infer_schema(train, "y"), Encoding()).fit(train)
    encoder = Encoder(pre.to_dict())
    assert encoder.prepare_arrow(pa.table({"x": np.array([0.1, 55.99], dtype=np.float32)})).outside == {}
    assert encoder.prepare_arrow(pa.table({"x": np.array([0.09, 56.5])})).outside == {"x": 2}
    # Most rows beyond: a change of units, warned of.
    units = frame.assign(age_in_years=frame["age_in_years"] * 0 + high * 3)
    units.to_parquet(tmp_path / "units.parquet", index=False)
    said = score_file(predictor, tmp_path / "units.parquet", tmp_path / "units_out.parquet").notes
    assert any(n.startswith("warning: column 'age_in_years' lies beyond every training value in 100% of the rows")
               for n in said), said


@pytest.mark.parametrize("encoding", [Encoding(), Encoding(max_categories=2, min_category_count=1)])
def test_a_csv_missing_marker_sent_as_text_is_a_blank_where_training_saw_blanks(tmp_path: Path,
                                                                                 encoding: Encoding) -> None:
    """LendingClub writes an unknown employment length as "n/a": pandas reads it from the CSV as a
    blank, and so does score's CSV reader, but the same text in a JSON record or a Parquet string
    was an unseen category, scored otherwise (a walk-through, 2026-12-05). Where training saw the
    column blank, every path now reads it as the blank; a column trained with such text as a value
    (a DataFrame's "NA" for North America) keeps it as that value."""
    rng = np.random.default_rng(0)
    emp = rng.choice(["< 1 year", "5 years", "10+ years", "n/a"], 300)
    region = rng.choice(["NA", "EU", "APAC"], 300)  # read as text: no blank in training
    src = tmp_path / "loans.csv"
    pd.DataFrame({"emp_length": emp, "region": region, "amount": rng.uniform(1, 9, 300),
                  "y": rng.integers(0, 2, 300)}).to_csv(src, index=False)
    train = pd.read_csv(src, keep_default_na=True)
    train["region"] = region  # as a Parquet file or a DataFrame holds it
    assert train["emp_length"].isna().sum() == (emp == "n/a").sum()
    schema = Schema(target="y", positive="1", negative="0", numeric=("amount",), categorical=("emp_length", "region"))
    pre = Preprocessor(schema, encoding).fit(train)
    encoder = Encoder(json.loads(json.dumps(pre.to_dict())))
    base = {"amount": 5.0, "region": "EU"}
    blank, _ = encoder.encode_records([{**base, "emp_length": None}])
    for marker in ("n/a", "N/A", "NA", "NULL", " null "):
        as_text, unseen = encoder.encode_records([{**base, "emp_length": marker}])
        assert unseen == [[]]
        np.testing.assert_array_equal(as_text, blank)
        table = pa.Table.from_pydict({"amount": [5.0], "emp_length": [marker], "region": ["EU"]})
        np.testing.assert_array_equal(encoder.encode_arrow(table), blank)
        frame = pd.DataFrame({"amount": [5.0], "emp_length": pd.Series([marker], dtype=object), "region": ["EU"]})
        np.testing.assert_array_equal(pre.transform(frame), blank)
    # "NA" was a value of region in training: still that value, not the blank nor unseen.
    na_region, unseen = encoder.encode_records([{"amount": 5.0, "emp_length": "5 years", "region": "NA"}])
    eu_region, _ = encoder.encode_records([{"amount": 5.0, "emp_length": "5 years", "region": "EU"}])
    assert unseen == [[]] and not np.array_equal(na_region, eu_region)
    # A column training never saw blank: the marker is unseen there, on every path alike.
    _, unseen = encoder.encode_records([{"amount": 5.0, "emp_length": "5 years", "region": "n/a"}])
    assert unseen == [["region"]]
    table = pa.Table.from_pydict({"amount": [5.0], "emp_length": ["5 years"], "region": ["n/a"]})
    assert encoder.prepare_arrow(table).unseen == {"region": 1}
    # A dictionary of more than 64 values (looked up through Arrow's text kernels): the same.
    many = [f"v{i}" for i in range(70)]
    big = pa.Table.from_pydict({"amount": [5.0] * 72, "emp_length": ["n/a", None, *many],
                                "region": ["EU"] * 72}).combine_chunks()
    big = big.set_column(1, "emp_length", pa.compute.dictionary_encode(big.column("emp_length")))
    rows = encoder.encode_arrow(big)
    np.testing.assert_array_equal(rows[0], rows[1])
    np.testing.assert_array_equal(rows[:1], blank)
    plain = big.set_column(1, "emp_length", big.column("emp_length").cast(pa.string()))
    np.testing.assert_array_equal(encoder.encode_arrow(plain), rows)


def test_a_training_value_of_a_negative_column_is_no_value_beyond_its_range() -> None:
    """-1 for "never" in months since a delinquency: the span a value is counted outside of was
    narrowed, not widened, on a negative side (np.spacing is negative there), so every -1 of the
    training rows themselves was counted beyond them (a review, 2026-12-05)."""
    rng = np.random.default_rng(6)
    train = pd.DataFrame({"mths": rng.integers(-1, 24, 300).astype(float), "neg": -rng.uniform(0.1, 5.0, 300),
                          "y": rng.integers(0, 2, 300)})
    train.loc[0, "neg"], train.loc[1, "neg"] = -0.1, -5.0
    schema = Schema(target="y", positive="1", negative="0", numeric=("mths", "neg"), categorical=())
    encoder = Encoder(json.loads(json.dumps(Preprocessor(schema).fit(train).to_dict())))
    assert encoder.prepare_arrow(pa.Table.from_pandas(train[["mths", "neg"]], preserve_index=False)).outside == {}
    as_float32 = train[["mths", "neg"]].astype(np.float32)
    assert encoder.prepare_arrow(pa.Table.from_pandas(as_float32, preserve_index=False)).outside == {}
    outside: list[list[str]] = []
    encoder.encode_records([{"mths": -1, "neg": -0.1}, {"mths": 23, "neg": float(np.float32(-0.1))},
                            {"mths": -2, "neg": -5.5}], outside=outside)
    assert outside == [[], [], ["mths", "neg"]]


def test_score_says_when_the_input_holds_the_identifier_it_did_not_copy(german: pd.DataFrame, tmp_path: Path) -> None:
    """Taiwan's ID, dropped as an identifier at training, was left out of the scores: decisions
    joined back to customers by row position alone, without a word (a walk-through, 2026-12-05)."""
    from finlite.jobs.export import export_artifact

    book = german.head(400).assign(client_id=[f"C{i:05d}" for i in range(400)])
    table = tmp_path / "train.csv"
    book.to_csv(table, index=False)
    out = tmp_path / "m"
    finlite.train(table, target="creditability", model="logistic", progress=False,
                  out=out)
    export_artifact(out)
    src = tmp_path / "book.csv"
    book.drop(columns="creditability").to_csv(src, index=False)
    runner = CliRunner()
    result = runner.invoke(app, ["score", str(out), str(src), "-o", str(tmp_path / "s.csv")])
    assert result.exit_code == 0, result.output
    assert ("note: the output has no id column, only the rows' order; book.csv holds 'client_id', which training "
            "dropped as an identifier: copy it with --id-column client_id") in " ".join(result.output.split())
    copied = runner.invoke(app, ["score", str(out), str(src), "-o", str(tmp_path / "t.csv"), "--id-column",
                                 "client_id"])
    assert copied.exit_code == 0 and "no id column" not in copied.output


def test_a_number_written_for_people_is_refused_with_the_advice_to_write_it_plain(
        exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    """'1,169' was refused with "fix or blank those values": blanking 88 % of the amounts scored
    them as the training median, exit 0 (a nightly run's walk-through, 2026-12-05)."""
    from finlite._finite import text_advice

    assert text_advice("1,169").startswith("write plain numbers") and text_advice("$35").startswith("write plain")
    assert text_advice("35%").startswith("write plain") and text_advice("abc") == "fix or blank those values"
    assert text_advice("36 months").startswith("write plain numbers there, as in training (the number without its")
    assert text_advice("10+ years").startswith("write plain") and text_advice("2020-01-01") == "fix or blank those values"
    predictor = Predictor(exported_dir)
    rows = german.drop(columns=["creditability"]).head(20).astype({"credit_amount": object})
    rows["credit_amount"] = [f"{v:,}" for v in german["credit_amount"].head(20)]
    advice = r"write plain numbers there, as in training \(no thousands separator, currency sign or %: 1169, not '1,169'\)"
    with pytest.raises(DataError, match=rf"Numeric column 'credit_amount' .*holds the text .*; {advice}"):
        predictor.predict_score(rows)
    rows.to_csv(tmp_path / "book.csv", index=False)
    with pytest.raises(DataError, match=rf"Numeric column 'credit_amount' in .*book\.csv.* holds the text .*; {advice}"):
        score_file(predictor, tmp_path / "book.csv", tmp_path / "scored.csv")


def test_an_amount_column_refused_at_scoring_is_advised_the_form_training_read(tmp_path: Path) -> None:
    """A column trained from "$1,169.00" and scored with "€1,169.00" was told to write numbers with
    "no thousands separator or currency sign", both of which training read (a file fuzz,
    2026-12-07): the advice is the form training read, on the DataFrame and file paths."""
    from finlite._finite import text_advice

    assert text_advice("€1,169.00", "money").startswith("write the amounts in the form the column's other values "
                                                        "take ('$' before")
    assert text_advice("12,5 %", "percent").startswith("write the percentages in the form the column's other values")
    assert text_advice("n/a", True) == "fix or blank those values"  # no digit: no amount to rewrite
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"amount": [f"${v:,.2f}" for v in rng.integers(500, 20_000, 400)],
                          "kind": rng.choice(["a", "b"], 400), "y": rng.integers(0, 2, 400)})
    pre = Preprocessor(infer_schema(train, "y"), Encoding()).fit(train)
    assert pre.schema.money == ("amount",)
    encoder = Encoder(pre.to_dict())
    rows = train.drop(columns="y").head(30).copy()
    rows.loc[3, "amount"] = "€1,169.00"
    advice = r"write the amounts in the form the column's other values take \('\$' before the number if any"
    with pytest.raises(DataError, match=rf"Numeric column 'amount' .*holds the text '€1,169\.00' at row 4 .*; {advice}"):
        encoder.prepare_arrow(pa.Table.from_pandas(rows, preserve_index=False), source="book.csv")
    with pytest.raises(DataError, match=rf"Numeric column 'amount' .*holds the text '€1,169\.00'.*; {advice}"):
        pre.transform(rows, "the rows")


def test_frames_fail_closed_whatever_their_dtypes(exported_dir: Path, german: pd.DataFrame) -> None:
    """What a cross-path fuzz found (2026-12-07) where the record path refused and a DataFrame did
    not: an Arrow-backed text column's blank cells were not looked into (a row of blanks scored and
    was approved; a blank passed no_impute); a pandas category column of bytes or tuples scored (the
    bytes as their text); Decimal("sNaN") raised decimal's InvalidOperation as a traceback; a date
    in a category field scored as an unseen category from a record and was refused from a column."""
    import datetime
    import subprocess
    import sys
    from decimal import Decimal

    predictor = Predictor(exported_dir)
    rows = german.drop(columns=["creditability"]).head(8).reset_index(drop=True)
    blank = rows.astype(str).astype(pd.ArrowDtype(pa.string()))
    blank.iloc[2] = " "
    with pytest.raises(DataError, match=r"Row label 2 of the DataFrame: every field the model reads is blank"):
        predictor.predict_score(blank)
    with pytest.raises(DataError, match=r"Row label 2 of the DataFrame: every field the model reads is blank"):
        predictor.predict_score(blank.astype(str).astype("category"))
    strict = Predictor(exported_dir, no_impute=True)
    one = rows.assign(purpose=rows["purpose"].astype(pd.ArrowDtype(pa.string())))
    one.loc[5, "purpose"] = ""
    with pytest.raises(DataError, match=r"Column 'purpose' of the DataFrame is blank at row label 5, and training"):
        strict.predict_score(one)
    for bad, what in ((rows["purpose"].iloc[0].encode(), "bytes"), ((rows["purpose"].iloc[0],), "tuple")):
        column = pd.Series([None, *rows["purpose"].iloc[1:]], dtype=object)
        column.iloc[0] = bad  # set apart: pandas reads a list holding a tuple as rows of a 2-D array
        cells = rows.assign(purpose=column.astype("category"))
        with pytest.raises(DataError, match=rf"Column 'purpose' in the DataFrame holds {what} .* at row 1; the model "
                                            r"needs one category"):
            predictor.predict_score(cells)
    signalling = rows.astype({"credit_amount": object})
    signalling.loc[3, "credit_amount"] = Decimal("sNaN")
    with pytest.raises(DataError, match=r"Column 'credit_amount' (of|in) the DataFrame holds Decimal\('sNaN'\) at row "
                                        r"4, a signalling NaN that is no number"):
        predictor.predict_score(signalling)
    from fractions import Fraction

    fractions = rows.astype({"credit_amount": object})
    fractions.loc[1, "credit_amount"] = Fraction(7882, 1)  # its text, "7882", was read; "15763/2" was not
    with pytest.raises(DataError, match=r"Column 'credit_amount' in the DataFrame holds Fraction 7882 at row 2; the "
                                        r"model needs one number as an int, a float or a Decimal"):
        predictor.predict_score(fractions)
    record = rows.iloc[0].to_dict()
    with pytest.raises(RecordErrors, match=r"expected a number, got Fraction"):
        predictor.score_record({**record, "credit_amount": Fraction(7882, 1)})
    for date in (datetime.date(2020, 1, 1), pd.Timestamp("2020-01-01"), np.datetime64("2020-01-01")):
        with pytest.raises(RecordErrors, match=r"field 'purpose': expected a category \(text or number\), got a date "
                                               r"or time"):
            predictor.score_record({**record, "purpose": date})
    blank_purpose = predictor.score_record({**record, "purpose": None})
    assert predictor.score_record({**record, "purpose": pd.NaT}) == blank_purpose
    assert predictor.score_record({**record, "purpose": np.datetime64("NaT")}) == blank_purpose  # blank, as in a frame
    mixed = rows.astype({"purpose": object})
    mixed.loc[2, "purpose"] = datetime.date(2020, 1, 1)  # a date among text: refused as the record path refuses it
    with pytest.raises(DataError, match=r"Categorical column 'purpose' in the DataFrame holds a date or time "
                                        r"\(2020-01-01\) at row 3, but the model was trained on categories"):
        predictor.predict_score(mixed)
    with pytest.raises(RecordErrors, match=r"field 'purpose': expected a category \(text or number\), got "
                                           r"Decimal\('sNaN'\), a signalling NaN"):
        predictor.score_record({**record, "purpose": Decimal("sNaN")})  # it was keyed as the text "sNaN"
    # A numpy datetime64 before a float32 in an object column killed the process inside pyarrow's
    # conversion (SIGSEGV): such a column goes to pandas, which names the value. Run apart, so a
    # crash fails this test and not the whole session.
    code = ("import numpy as np, pandas as pd, sys\nfrom finlite.runtime import Predictor\n"
            f"frame = pd.DataFrame({rows.head(6).to_dict('list')!r})\n"
            "frame['age_in_years'] = pd.Series([30, 40, 50, np.datetime64('2020-01-01'), 35, np.float32(1e38)], "
            "dtype=object)\n"
            f"try:\n    Predictor({str(exported_dir)!r}).predict_score(frame)\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "DataError Numeric column 'age_in_years'" in done.stdout, (done.returncode,
                                                                                               done.stderr[-500:])


def test_no_impute_refuses_only_the_blanks_training_never_saw_on_every_path() -> None:
    """A blank in a field training never saw blank is refused with ``no_impute`` (named by field
    and row), on the record path, the Arrow path and the flags alike; a field training saw blank
    keeps its learned treatment and scores as without the option (a fraud engineer's walk-through:
    a null was decided on the training median in any field)."""
    rng = np.random.default_rng(1)
    n = 400
    train = pd.DataFrame({"seen_blank": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 10, n)),
                          "never_blank": rng.normal(5, 1, n),
                          "kind": rng.choice(["a", "b", None], n), "plain": rng.choice(["x", "y"], n),
                          "y": rng.integers(0, 2, n)})
    schema = infer_schema(train, "y")
    pre = Preprocessor(schema, Encoding()).fit(train)
    strict, loose = Encoder(pre.to_dict()), Encoder(pre.to_dict())
    strict.no_impute = True
    ok = {"seen_blank": None, "never_blank": 4.0, "kind": None, "plain": "x"}  # blanks training learned
    np.testing.assert_array_equal(strict.encode_record(ok)[0], loose.encode_record(ok)[0])
    for field, blank in (("never_blank", None), ("never_blank", float("nan")), ("plain", None), ("plain", "  ")):
        with pytest.raises(RecordErrors, match=rf"field '{field}': blank, and training never saw this field blank"):
            strict.encode_record({**ok, field: blank})
        loose.encode_record({**ok, field: blank})  # without the option: imputed / unseen, as before
    with pytest.raises(RecordErrors) as caught:  # every refused field of every record, at once
        strict.encode_records([ok, {**ok, "never_blank": None, "plain": ""}])
    # ... and that record is blank in every field: an empty row, said besides (it is no applicant).
    assert [(e.record, e.field) for e in caught.value.errors] == [(1, "never_blank"), (1, "plain"),
                                                                  (1, "(every field)")]
    book = pd.DataFrame([ok, ok, {**ok, "never_blank": None}, ok])
    book["never_blank"] = book["never_blank"].astype(float)
    with pytest.raises(DataError, match=r"Column 'never_blank' of the input is blank in row 3, and training never saw"):
        strict.prepare_arrow(pa.Table.from_pandas(book, preserve_index=False))
    plain = pd.DataFrame([ok, {**ok, "plain": None}, {**ok, "plain": None}])
    with pytest.raises(DataError, match=r"Column 'plain' of the input is blank in row 2 \(and 1 more of rows 1–3\)"):
        strict.prepare_arrow(pa.Table.from_pandas(plain, preserve_index=False), first_row=1)
    learned = pd.DataFrame([ok, {**ok, "seen_blank": 3.0}])
    np.testing.assert_array_equal(strict.encode_arrow(pa.Table.from_pandas(learned, preserve_index=False)),
                                  loose.encode_arrow(pa.Table.from_pandas(learned, preserve_index=False)))


def test_no_impute_on_the_predictor_score_and_serve(exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    """German credit's training saw no blank: with no_impute every path refuses one, naming it;
    without, it is imputed as before (a forecaster refuses the option: tests/runtime/test_batch_forecast.py)."""
    from fastapi.testclient import TestClient

    from finlite.runtime.service import create_app

    frame = german.drop(columns="creditability").head(40).copy()
    frame["credit_amount"] = frame["credit_amount"].astype(float)
    frame.loc[[5, 9], "credit_amount"] = np.nan
    strict = Predictor(exported_dir, no_impute=True)
    for rows in (frame, frame.head(7), frame.astype({"purpose": object})):  # Arrow, record and pandas routes
        with pytest.raises(DataError, match=r"Column 'credit_amount' of the DataFrame is blank (in row 6|at row "
                                            r"label 5)"):
            strict.predict_proba(rows)
    assert np.isfinite(Predictor(exported_dir).predict_proba(frame)).all()
    # A clean frame with text columns on the pandas route scores (the blank check's array was
    # read-only under pandas 3: a review), and a categorical blank is named.
    clean = frame.dropna().astype({"purpose": object})
    np.testing.assert_allclose(strict.predict_proba(clean), Predictor(exported_dir).predict_proba(clean))
    with pytest.raises(DataError, match=r"Column 'purpose' of the DataFrame is blank at row label"):
        strict.predict_proba(clean.assign(purpose=[None, *list(clean["purpose"][1:])]))
    frame.to_csv(tmp_path / "book.csv", index=False)
    with pytest.raises(DataError, match=r"Column 'credit_amount' of .*book\.csv is blank in row 6 \(and 1 more"):
        score_file(strict, tmp_path / "book.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    clean = frame.dropna()
    clean.to_csv(tmp_path / "clean.csv", index=False)
    summary = score_file(strict, tmp_path / "clean.csv", tmp_path / "clean.parquet")
    assert summary.provenance["no_impute"] is True and summary.rows == 38
    client = TestClient(create_app(strict))
    record = {k: (None if pd.isna(v) else v) for k, v in frame.iloc[5].to_dict().items()}
    answer = client.post("/predict", json=record)
    assert answer.status_code == 422 and "blank, and training never saw this field blank" in answer.text
    assert client.post("/predict", json={**record, "credit_amount": 1200}).status_code == 200
    assert TestClient(create_app(Predictor(exported_dir))).post("/predict", json=record).json()["imputed"] == [
        "credit_amount"]


def test_a_row_blank_in_every_field_is_refused_on_every_path(exported_dir: Path, german: pd.DataFrame,
                                                              tmp_path: Path) -> None:
    """A spreadsheet's trailing ",,,," lines were scored on the training medians alone and approved
    (a data engineer's walk-through, 2026-12-06): refused on the record, Arrow and pandas routes,
    by score (nothing written) and by serve (422), naming the row; a row with one value scores."""
    from fastapi.testclient import TestClient

    from finlite.runtime.service import create_app

    predictor = Predictor(exported_dir)
    frame = german.drop(columns="creditability").head(40).copy()
    empty = {name: None for name in frame.columns}
    with pytest.raises(RecordErrors, match=r"every field the model reads is blank"):
        predictor.predict_proba(empty)
    blanked = pd.concat([frame, pd.DataFrame([empty, empty])], ignore_index=True)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    arrow = pa.Table.from_pandas(blanked.astype(dict.fromkeys(numeric, float)), preserve_index=False)
    with pytest.raises(DataError, match=r"Row 41 \(and 1 more of rows 1–42\) of the input: every field the model "
                                        r"reads is blank: an empty row"):
        predictor.encoder.prepare_arrow(arrow)  # the Arrow route
    with pytest.raises(DataError, match=r"Row label 40 \(and 1 more row\(s\)\) of the DataFrame: every field"):
        predictor.predict_proba(blanked)
    with pytest.raises(DataError, match=r"Row label 40 \(and 1 more row\(s\)\) of the DataFrame: every field"):
        predictor.predict_proba(blanked.astype({"credit_amount": object}).assign(
            credit_amount=lambda f: f["credit_amount"].map(lambda v: v if pd.notna(v) else " ")))  # the pandas route
    one_value = {**empty, "credit_amount": 1200}
    assert np.isfinite(predictor.predict_proba(one_value)).all()  # one value is an applicant: scored
    (tmp_path / "book.csv").write_text(frame.to_csv(index=False) + "," * (frame.shape[1] - 1) + "\n")
    with pytest.raises(DataError, match=r"Row 41 of .*book\.csv: every field the model reads is blank"):
        score_file(predictor, tmp_path / "book.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    answer = TestClient(create_app(predictor)).post("/predict", json=empty)
    assert answer.status_code == 422 and "every field the model reads is blank" in answer.text


def test_an_empty_row_is_found_however_it_is_blank_and_a_learned_no_hit_row_is_scored() -> None:
    """The Arrow path looked at nulls alone: float NaN, "" and "  " made an all-blank row pass (a
    review, 2026-12-06). And a model whose every field training saw blank learned such rows (a
    bureau's no-hit applicant): they are scored, not refused."""
    rng = np.random.default_rng(0)
    n = 400
    train = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "c": rng.choice(["a", "b"], n),
                          "y": rng.integers(0, 2, n)})
    pre = Preprocessor(infer_schema(train, "y"), Encoding()).fit(train)
    encoder = Encoder(pre.to_dict())
    assert not encoder.blanks_learned
    ok = {"x": 0.1, "z": 0.2, "c": "a"}
    forms = [pa.table({"x": pa.array([0.1, np.nan]), "z": pa.array([0.2, np.nan]), "c": pa.array(["a", ""])}),
             pa.table({"x": pa.array([0.1, None], pa.float64()), "z": pa.array([0.2, np.nan]),
                       "c": pa.array(["a", "   "]).dictionary_encode()}),
             pa.table({"x": pa.array(["0.1", " "]), "z": pa.array(["0.2", ""]), "c": pa.array(["a", None])})]
    for table in forms:
        with pytest.raises(DataError, match=r"Row 2 of the input: every field the model reads is blank"):
            encoder.prepare_arrow(table)
    encoder.encode_arrow(pa.Table.from_pylist([ok, {**ok, "x": None, "z": None}]))  # one value left: scored
    # Training rows blank in every field: the no-hit row is a learned pattern, scored on every path.
    hit = train.copy()
    hit.loc[:39, ["x", "z", "c"]] = None
    fitted = Preprocessor(infer_schema(hit, "y"), Encoding()).fit(hit)
    assert fitted.to_dict()["all_blank_rows"] == 40
    assert Preprocessor.from_dict(fitted.to_dict()).to_dict()["all_blank_rows"] == 40  # kept through a reload
    learned = Encoder(fitted.to_dict())
    assert learned.blanks_learned
    empty = {"x": None, "z": None, "c": None}
    assert np.isfinite(learned.encode_record(empty)[0]).all()
    assert np.isfinite(learned.encode_arrow(pa.Table.from_pylist([ok, empty]))).all()
    # Each field blank somewhere, but never all at once: an empty line is still no applicant (the
    # per-field rule let it through: a review, 2026-12-06).
    scattered = train.copy()
    scattered.loc[:9, "x"], scattered.loc[10:19, "z"], scattered.loc[20:29, "c"] = None, None, None
    spread = Preprocessor(infer_schema(scattered, "y"), Encoding()).fit(scattered).to_dict()
    assert spread["all_blank_rows"] == 0
    strict = Encoder(spread)
    assert not strict.blanks_learned
    with pytest.raises(RecordErrors, match=r"every field the model reads is blank"):
        strict.encode_record(empty)
    # A file written before the count falls back on each field's own blanks.
    older = Encoder({k: v for k, v in spread.items() if k != "all_blank_rows"})
    assert older.all_blank_rows is None and older.blanks_learned
